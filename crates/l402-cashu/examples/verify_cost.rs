//! Per-proof cost of P2PK verification (NUT-11 lock check + NUT-12 DLEQ) in µs.
//!
//! `cargo run --release -p l402-cashu --example verify_cost`
//!
//! A test mint signs P2PK-locked proofs with DLEQ here (NUT-00 blind signature, NUT-12 proof
//! with a random nonce), then `verify_p2pk` judges tokens of 1 and 64 proofs; the lock check
//! and the DLEQ are also timed alone.

use std::collections::BTreeMap;
use std::time::Instant;

use l402_cashu::{
    check_lock, dleq, encode_v4, hash_to_curve, parse_keys, parse_keysets, parse_token, verify_p2pk, Dleq, KeysetId,
    MintKeys, Policy, Proof, Token,
};
use secp256k1::{PublicKey, Scalar, SecretKey, SECP256K1};

const MINT: &str = "https://mint.example.com";
const NOW: u64 = 1_750_000_000;

fn random_key(seed: &mut u64) -> SecretKey {
    loop {
        let mut b = [0u8; 32];
        for chunk in b.chunks_mut(8) {
            // xorshift: enough for a benchmark's keys.
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes());
        }
        if let Ok(k) = SecretKey::from_slice(&b) {
            return k;
        }
    }
}

fn scalar(k: &SecretKey) -> Scalar {
    Scalar::from(*k)
}

/// The mint's side of NUT-00 and NUT-12, and the sender's unblinding: a proof with DLEQ.
fn sign(k: &SecretKey, id: KeysetId, amount: u64, secret: &str, seed: &mut u64) -> Option<Proof> {
    let a = PublicKey::from_secret_key(SECP256K1, k);
    let y = hash_to_curve(secret.as_bytes()).ok()?;
    let r = random_key(seed);
    let b_ = y.combine(&PublicKey::from_secret_key(SECP256K1, &r)).ok()?;
    let c_ = b_.mul_tweak(SECP256K1, &scalar(k)).ok()?;
    let p = random_key(seed);
    let r1 = PublicKey::from_secret_key(SECP256K1, &p);
    let r2 = b_.mul_tweak(SECP256K1, &scalar(&p)).ok()?;
    let e = dleq::hash_e(&[&r1, &r2, &a, &c_]);
    let ek = k.mul_tweak(&Scalar::from_be_bytes(e).ok()?).ok()?;
    let s = p.add_tweak(&scalar(&ek)).ok()?;
    let c = c_.combine(&a.mul_tweak(SECP256K1, &scalar(&r)).ok()?.negate(SECP256K1)).ok()?;
    Some(Proof {
        keyset_id: id,
        amount,
        secret: secret.to_string(),
        c: c.serialize(),
        dleq: Some(Dleq { e, s: s.secret_bytes(), r: r.secret_bytes() }),
        witness: None,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut secrets = BTreeMap::new();
    let mut pubs = BTreeMap::new();
    for i in 0..16 {
        let k = random_key(&mut seed);
        pubs.insert(1u64 << i, PublicKey::from_secret_key(SECP256K1, &k));
        secrets.insert(1u64 << i, k);
    }
    let id = l402_cashu::derive_v2_id(&pubs, "sat", 100, None);
    let keys_json: Vec<String> = pubs.iter().map(|(a, k)| format!(r#""{a}":"{}""#, hex(&k.serialize()))).collect();
    let keys = parse_keys(&format!(r#"{{"keysets":[{{"id":"{}","unit":"sat","keys":{{{}}}}}]}}"#, hex(&id), keys_json.join(",")));
    let info = parse_keysets(&format!(r#"{{"keysets":[{{"id":"{}","unit":"sat","active":true,"input_fee_ppk":100}}]}}"#, hex(&id)));
    let (Ok(mut keys), Ok(mut info)) = (keys, info) else { return eprintln!("keyset replies did not parse") };
    let Some(mut mint_keys) = MintKeys::new(MINT) else { return };
    if let Err(e) = mint_keys.insert(&info.remove(0), keys.remove(0)) {
        return eprintln!("keyset refused: {e}");
    }
    let ours_sk = random_key(&mut seed);
    let ours = PublicKey::from_secret_key(SECP256K1, &ours_sk);
    let lock = |n: usize| {
        format!(
            r#"["P2PK",{{"nonce":"{n:064x}","data":"{}","tags":[["sigflag","SIG_INPUTS"],["locktime","{}"]]}}]"#,
            hex(&ours.serialize()),
            NOW + 86_400
        )
    };
    let short = KeysetId::Short(KeysetId::Full(id).short());
    let proofs: Vec<Proof> = (0..64).filter_map(|n| sign(&secrets[&2], short, 2, &lock(n), &mut seed)).collect();
    let allowed = [MINT.to_string()];
    let policy = Policy { allowed_mints: &allowed, unit: "sat", price: 1, now: NOW };

    for n in [1usize, 64] {
        let text = encode_v4(&Token { mint: MINT.into(), unit: "sat".into(), memo: None, proofs: proofs[..n].to_vec() });
        let Ok(token) = parse_token(&text) else { return eprintln!("token did not parse") };
        if let Err(e) = verify_p2pk(&token, &mint_keys, &ours, &policy, 3600) {
            return eprintln!("refused: {e}");
        }
        let rounds = 2000 / n;
        let t0 = Instant::now();
        for _ in 0..rounds {
            let _ = std::hint::black_box(verify_p2pk(&token, &mint_keys, &ours, &policy, 3600));
        }
        let per_proof = t0.elapsed().as_secs_f64() * 1e6 / (rounds * n) as f64;
        let t0 = Instant::now();
        for _ in 0..rounds {
            let _ = std::hint::black_box(parse_token(&text));
        }
        let parse = t0.elapsed().as_secs_f64() * 1e6 / (rounds * n) as f64;
        println!("verify_p2pk, token of {n:2} proofs: {per_proof:7.1} µs per proof (parsing the token: {parse:5.1} µs per proof more)");
    }
    let p = &proofs[0];
    let a = pubs[&2];
    let rounds = 5000;
    let t0 = Instant::now();
    for _ in 0..rounds {
        let _ = std::hint::black_box(check_lock(&p.secret, &ours, NOW, 3600));
    }
    let lock_us = t0.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let Some(d) = p.dleq else { return };
    let t0 = Instant::now();
    for _ in 0..rounds {
        let _ = std::hint::black_box(dleq::verify_proof(&p.secret, &p.c, &d, &a));
    }
    let dleq_us = t0.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("lock check alone: {lock_us:.1} µs; DLEQ alone (hash_to_curve included): {dleq_us:.1} µs");
}
