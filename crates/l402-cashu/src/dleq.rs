//! Offline signature validation (NUT-12): a proof's DLEQ shows that its `C` was made with the
//! same private key `a` as the mint's public key `A` for its amount, so a proof we did not get
//! from the mint cannot be fabricated.
//!
//! Everything here is public (points, the proof's `e`, `s`, `r`); there is no secret to keep
//! constant-time.

use secp256k1::{PublicKey, Scalar, SecretKey, SECP256K1};
use sha2::{Digest, Sha256};

use crate::hash_to_curve::hash_to_curve;
use crate::hex;
use crate::token::Dleq;

/// The proof does not verify (a scalar out of range, a point at infinity, or `e` differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DleqInvalid;

/// NUT-12 "Hash function": SHA256 of the points' uncompressed (65-byte) hex forms
/// concatenated as text.
pub fn hash_e(points: &[&PublicKey]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in points {
        h.update(hex::encode(&p.serialize_uncompressed()).as_bytes());
    }
    h.finalize().into()
}

fn secret(b: &[u8; 32]) -> Result<SecretKey, DleqInvalid> {
    SecretKey::from_slice(b).map_err(|_| DleqInvalid)
}

fn scalar(b: &[u8; 32]) -> Result<Scalar, DleqInvalid> {
    Scalar::from_be_bytes(*b).map_err(|_| DleqInvalid)
}

/// `P − e·Q`, refusing the point at infinity.
fn minus_times(p: &PublicKey, e: &Scalar, q: &PublicKey) -> Result<PublicKey, DleqInvalid> {
    let eq = q.mul_tweak(SECP256K1, e).map_err(|_| DleqInvalid)?;
    p.combine(&eq.negate(SECP256K1)).map_err(|_| DleqInvalid)
}

/// NUT-12 "Alice … verifies DLEQ proof" on a blind signature: `R1 = s·G − e·A`,
/// `R2 = s·B' − e·C'`, `e == hash(R1, R2, A, C')`.
pub fn verify_blind(a: &PublicKey, b_: &PublicKey, c_: &PublicKey, e: &[u8; 32], s: &[u8; 32]) -> Result<(), DleqInvalid> {
    let e_scalar = scalar(e)?;
    let s_key = secret(s)?;
    let s_scalar = scalar(s)?;
    let sg = PublicKey::from_secret_key(SECP256K1, &s_key);
    let r1 = minus_times(&sg, &e_scalar, a)?;
    let sb = b_.mul_tweak(SECP256K1, &s_scalar).map_err(|_| DleqInvalid)?;
    let r2 = minus_times(&sb, &e_scalar, c_)?;
    if hash_e(&[&r1, &r2, a, c_]) == *e {
        Ok(())
    } else {
        Err(DleqInvalid)
    }
}

/// NUT-12 "Carol (another user) verifies DLEQ proof": with `Y = hash_to_curve(secret)`,
/// `C' = C + r·A` and `B' = Y + r·G`, the blind signature's proof must verify. Returns `Y`
/// (the proof's identity, NUT-00) so the caller does not hash again.
pub fn verify_proof(secret_text: &str, c: &[u8; 33], dleq: &Dleq, a: &PublicKey) -> Result<PublicKey, DleqInvalid> {
    let c = PublicKey::from_slice(c).map_err(|_| DleqInvalid)?;
    let y = hash_to_curve(secret_text.as_bytes()).map_err(|_| DleqInvalid)?;
    let r_key = secret(&dleq.r)?;
    let r_scalar = scalar(&dleq.r)?;
    let ra = a.mul_tweak(SECP256K1, &r_scalar).map_err(|_| DleqInvalid)?;
    let c_ = c.combine(&ra).map_err(|_| DleqInvalid)?;
    let rg = PublicKey::from_secret_key(SECP256K1, &r_key);
    let b_ = y.combine(&rg).map_err(|_| DleqInvalid)?;
    verify_blind(a, &b_, &c_, &dleq.e, &dleq.s)?;
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyset::parse_point;

    fn p(s: &str) -> PublicKey {
        parse_point(s).unwrap()
    }
    fn b32(s: &str) -> [u8; 32] {
        hex::decode_array(s).unwrap()
    }

    // tests/12-tests.md (cashubtc/nuts).

    #[test]
    fn nut12_hash_e() {
        let one = p("020000000000000000000000000000000000000000000000000000000000000001");
        let c_ = p("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2");
        assert_eq!(
            hex::encode(&hash_e(&[&one, &one, &one, &c_])),
            "a4dc034b74338c28c6bc3ea49731f2a24440fc7c4affc08b31a93fc9fbe6401e"
        );
    }

    #[test]
    fn nut12_deterministic_nonce_vector_verifies() {
        let a = p("02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5");
        let b_ = p("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2");
        let c_ = p("0244eccfc7a348274458bb38044c7f3c389b3c2086c7ec18b5812d2877ab937787");
        let e = b32("2a16ffee280aff3c429045607f9b8e0bf8b35910c44c1b20b9dfaf01b263d7b3");
        let s = b32("9df27731238334718d120d4f74611a7c668233f988e687ac3fb188f0a34a2dab");
        assert_eq!(verify_blind(&a, &b_, &c_, &e, &s), Ok(()));
        let mut s2 = s;
        s2[31] ^= 1;
        assert_eq!(verify_blind(&a, &b_, &c_, &e, &s2), Err(DleqInvalid));
    }

    #[test]
    fn nut12_blind_signature_vector() {
        let a = p("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
        let b_ = p("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2");
        let c_ = p("02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2");
        let e = b32("9818e061ee51d5c8edc3342369a554998ff7b4381c8652d724cdf46429be73d9");
        let s = b32("9818e061ee51d5c8edc3342369a554998ff7b4381c8652d724cdf46429be73da");
        assert_eq!(verify_blind(&a, &b_, &c_, &e, &s), Ok(()));
        assert_eq!(verify_blind(&a, &b_, &c_, &s, &e), Err(DleqInvalid));
    }

    #[test]
    fn nut12_proof_vector() {
        let a = p("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
        let secret = "daf4dd00a2b68a0858a80450f52c8a7d2ccf87d375e43e216e0c571f089f63e9";
        let c: [u8; 33] = hex::decode_array("024369d2d22a80ecf78f3937da9d5f30c1b9f74f0c32684d583cca0fa6a61cdcfc").unwrap();
        let dleq = Dleq {
            e: b32("b31e58ac6527f34975ffab13e70a48b6d2b0d35abc4b03f0151f09ee1a9763d4"),
            s: b32("8fbae004c59e754d71df67e392b6ae4e29293113ddc2ec86592a0431d16306d8"),
            r: b32("a6d13fcd7a18442e6076f5e1e7c887ad5de40a019824bdfa9fe740d302e8d861"),
        };
        assert!(verify_proof(secret, &c, &dleq, &a).is_ok());
        // Another secret, another key, another r, a tampered C: all refused.
        assert_eq!(verify_proof("x", &c, &dleq, &a), Err(DleqInvalid));
        let other = p("02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5");
        assert_eq!(verify_proof(secret, &c, &dleq, &other), Err(DleqInvalid));
        let mut d2 = dleq;
        d2.r[0] ^= 1;
        assert_eq!(verify_proof(secret, &c, &d2, &a), Err(DleqInvalid));
        let mut c2 = c;
        c2[0] = 0x03;
        assert_eq!(verify_proof(secret, &c2, &dleq, &a), Err(DleqInvalid));
        // Scalars out of range or zero.
        let mut d3 = dleq;
        d3.s = [0xff; 32];
        assert_eq!(verify_proof(secret, &c, &d3, &a), Err(DleqInvalid));
        let mut d4 = dleq;
        d4.r = [0; 32];
        assert_eq!(verify_proof(secret, &c, &d4, &a), Err(DleqInvalid));
    }
}
