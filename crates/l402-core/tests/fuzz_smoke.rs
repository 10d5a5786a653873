//! A bounded, deterministic stand-in for the cargo-fuzz targets in `fuzz/`
//! (which need nightly): a few hundred thousand mutated and random inputs go
//! through every parser, and any credential that parses through verification.
//! The property is only that nothing panics; the run stops after ~4 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use l402_core::caveat::preimage_predicate;
use l402_core::{
    hex_encode, parse_authorization, parse_hex_macaroon, sha256, verify_with_token_key, KeyRing,
    Macaroon, MintParams, RootKey,
};

const ITERATIONS: usize = 300_000;
const TIME_BUDGET: Duration = Duration::from_secs(4);

/// xorshift64*: deterministic, no dependency, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        const INTERESTING: &[u8] = b"\x00\x01\x02\x04\x06\x20\x7f\x80\xff:,= +/-_0aAfFzL";
        if self.next() % 2 == 0 {
            INTERESTING[self.below(INTERESTING.len())]
        } else {
            self.next() as u8
        }
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if at < input.len() => input[at] ^= 1 << rng.below(8),
            1 if at < input.len() => input[at] = rng.byte(),
            2 => input.insert(at, rng.byte()),
            3 if at < input.len() => {
                input.remove(at);
            }
            4 => input.truncate(at),
            _ => {
                let end = (at + rng.below(64)).min(input.len());
                let chunk = input[at..end].to_vec();
                let to = rng.below(input.len() + 1);
                input.splice(to..to, chunk);
            }
        }
    }
}

fn seeds() -> (Vec<Vec<u8>>, [u8; 32]) {
    let preimage = [0x42u8; 32];
    let ring = KeyRing::new(vec![RootKey::from_material(&[b'k'; 32]).unwrap()]).unwrap();
    let mac = ring.mint(&MintParams {
        payment_hash: sha256(&preimage),
        token_id: [7; 32],
        service: "svc",
        valid_until: Some(2_000_000_000),
        capabilities: Some("read,write"),
        lookup: None,
    });
    let token_key = ring.minting_token_root_key(&[7; 32]);
    let mut paid = mac.clone();
    paid.add_first_party_caveat(&preimage_predicate(&preimage));
    let b64 = mac.to_base64();
    let url_safe = b64.replace('+', "-").replace('/', "_").replace('=', "");
    let hex = hex_encode(&preimage);
    let seeds = vec![
        format!("L402 {b64}:{hex}").into_bytes(),
        format!("LSAT {url_safe}:{}", hex.to_uppercase()).into_bytes(),
        format!("L402 LSAT {b64},{b64}:{hex}").into_bytes(),
        format!("L402 {}", paid.to_base64()).into_bytes(),
        hex_encode(&paid.encode_v2()).into_bytes(),
        mac.encode_v2(),
        paid.encode_v2(),
        b"0011identifier i\n002fsignature                                 \n".to_vec(),
        b"L402 AGIAJEemVQUTEyNCR0exk7ek90Cg==:1234abcd1234abcd1234abcd".to_vec(),
    ];
    (seeds, token_key)
}

#[test]
fn parsers_survive_mutated_and_random_input() {
    let (seeds, token_key) = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut done = 0;
    while done < ITERATIONS && started.elapsed() < TIME_BUDGET {
        for _ in 0..1000 {
            let mut input = if rng.below(10) == 0 {
                (0..rng.below(300)).map(|_| rng.byte()).collect()
            } else {
                seeds[rng.below(seeds.len())].clone()
            };
            mutate(&mut rng, &mut input);
            for cred in [parse_authorization(&input), parse_hex_macaroon(&input)]
                .into_iter()
                .flatten()
            {
                let _ = verify_with_token_key(&cred, &token_key, "svc", 1_900_000_000);
            }
            if let Ok(mac) = Macaroon::decode(&input) {
                let _ = mac.verify_signature(&token_key);
                assert_eq!(Macaroon::decode(&mac.encode_v2()).as_ref(), Ok(&mac));
            }
        }
        done += 1000;
    }
    assert!(done >= 10_000, "ran only {done} inputs");
    eprintln!("fuzz smoke: {done} inputs in {:?}", started.elapsed());
}
