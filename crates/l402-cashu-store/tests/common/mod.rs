//! Tokens of fresh random proofs for the store's tests (the store checks Ys, not signatures).

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use l402_cashu::{proof_y, Dleq, KeysetId, Proof, Token};

pub const MINT: &str = "https://mint.example.com";

/// 64 random hex digits (std's per-process random hasher keys, no extra crate).
pub fn random_secret() -> String {
    let mut s = String::new();
    for _ in 0..4 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0);
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

/// A token of `n` proofs of 1, 2, 4, … sat with random secrets, a DLEQ and a witness on the
/// first, and their Ys.
pub fn token(n: usize) -> (Token, Vec<[u8; 33]>) {
    let id = KeysetId::Full([0x01; 33]);
    let proofs: Vec<Proof> = (0..n)
        .map(|i| Proof {
            keyset_id: id,
            amount: 1 << (i % 20),
            secret: random_secret(),
            c: [0x02; 33],
            dleq: (i == 0).then_some(Dleq { e: [1; 32], s: [2; 32], r: [3; 32] }),
            witness: (i == 0).then(|| "{\"signatures\":[\"00\"]}".to_string()),
        })
        .collect();
    let ys = proofs.iter().map(|p| proof_y(&p.secret).unwrap()).collect();
    (Token { mint: MINT.into(), unit: "sat".into(), memo: None, proofs }, ys)
}
