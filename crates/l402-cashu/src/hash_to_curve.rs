//! `Y = hash_to_curve(secret)` (NUT-00, "Hash_to_curve"): the point a proof's secret maps to,
//! which the mint signs and which identifies the proof once spent.

use secp256k1::PublicKey;
use sha2::{Digest, Sha256};

/// NUT-00's domain separator.
const DOMAIN_SEPARATOR: &[u8] = b"Secp256k1_HashToCurve_Cashu_";

/// NUT-00 bounds the search by a 32-bit counter; a valid point turns up for about half of the
/// candidates, so this many misses in a row does not happen (2^-65536).
const MAX_COUNTER: u32 = 1 << 16;

/// No point found within [`MAX_COUNTER`] candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoPoint;

/// NUT-00: `msg_hash = SHA256(DOMAIN_SEPARATOR || message)`, then for `counter = 0, 1, …` the
/// first `02 || SHA256(msg_hash || counter as u32 little-endian)` that is a point.
pub fn hash_to_curve(message: &[u8]) -> Result<PublicKey, NoPoint> {
    let msg_hash = Sha256::new().chain_update(DOMAIN_SEPARATOR).chain_update(message).finalize();
    let mut candidate = [0u8; 33];
    candidate[0] = 0x02;
    for counter in 0..MAX_COUNTER {
        let h = Sha256::new().chain_update(msg_hash).chain_update(counter.to_le_bytes()).finalize();
        candidate[1..].copy_from_slice(&h);
        if let Ok(p) = PublicKey::from_slice(&candidate) {
            return Ok(p);
        }
    }
    Err(NoPoint)
}

/// A proof's `Y`: the point of its secret text's UTF-8 bytes, compressed.
pub fn proof_y(secret: &str) -> Result<[u8; 33], NoPoint> {
    hash_to_curve(secret.as_bytes()).map(|p| p.serialize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    /// tests/00-tests.md, "Hash-to-curve function" (cashubtc/nuts).
    #[test]
    fn nut00_vectors() {
        let vectors = [
            (
                "0000000000000000000000000000000000000000000000000000000000000000",
                "024cce997d3b518f739663b757deaec95bcd9473c30a14ac2fd04023a739d1a725",
            ),
            (
                "0000000000000000000000000000000000000000000000000000000000000001",
                "022e7158e11c9506f1aa4248bf531298daa7febd6194f003edcd9b93ade6253acf",
            ),
            (
                "0000000000000000000000000000000000000000000000000000000000000002",
                "026cdbe15362df59cd1dd3c9c11de8aedac2106eca69236ecd9fbe117af897be4f",
            ),
        ];
        for (msg, point) in vectors {
            let msg = hex::decode(msg).unwrap_or_default();
            assert_eq!(hash_to_curve(&msg).map(|p| hex::encode(&p.serialize())), Ok(point.to_string()));
        }
    }
}
