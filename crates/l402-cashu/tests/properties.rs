//! No input panics a parser: arbitrary bytes and strings, and mutations of valid inputs, into
//! every entry point that reads untrusted text (the fuzz targets in fuzz/ explore further).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use l402_cashu::*;
use proptest::prelude::*;

const V4: &str = "cashuBo2F0gqJhaUgA_9SLj17PgGFwgaNhYQFhc3hAYWNjMTI0MzVlN2I4NDg0YzNjZjE4NTAxNDkyMThhZjkwZjcxNmE1MmJmNGE1ZWQzNDdlNDhlY2MxM2Y3NzM4OGFjWCECRFODGd5IXVW-07KaZCvuWHk3WrnnpiDhHki6SCQh88-iYWlIAK0mjE0fWCZhcIKjYWECYXN4QDEzMjNkM2Q0NzA3YTU4YWQyZTIzYWRhNGU5ZjFmNDlmNWE1YjRhYzdiNzA4ZWIwZDYxZjczOGY0ODMwN2U4ZWVhY1ghAjRWqhENhLSsdHrr2Cw7AFrKUL9Ffr1XN6RBT6w659lNo2FhAWFzeEA1NmJjYmNiYjdjYzY0MDZiM2ZhNWQ1N2QyMTc0ZjRlZmY4YjQ0MDJiMTc2OTI2ZDNhNTdkM2MzZGNiYjU5ZDU3YWNYIQJzEpxXGeWZN5qXSmJjY8MzxWyvwObQGr5G1YCCgHicY2FtdWh0dHA6Ly9sb2NhbGhvc3Q6MzMzOGF1Y3NhdA";
const SECRET: &str = r#"["P2PK",{"nonce":"859d4935c4907062a6297cf4e663e2835d90d97ecdd510745d32f6816323a41f","data":"0249098aa8b9d2fbec49ff8598feb17b592b986e62319a4fa488a3dc36387157a7","tags":[["sigflag","SIG_INPUTS"],["locktime","99999999999"]]}]"#;

fn key() -> PublicKey {
    PublicKey::from_slice(&[
        0x02, 0x49, 0x09, 0x8a, 0xa8, 0xb9, 0xd2, 0xfb, 0xec, 0x49, 0xff, 0x85, 0x98, 0xfe, 0xb1, 0x7b, 0x59, 0x2b, 0x98,
        0x6e, 0x62, 0x31, 0x9a, 0x4f, 0xa4, 0x88, 0xa3, 0xdc, 0x36, 0x38, 0x71, 0x57, 0xa7,
    ])
    .unwrap()
}

fn v4_bytes() -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&V4[6..]).unwrap()
}

fn everything(text: &str) {
    if let Ok(t) = parse_token(text) {
        assert!(!t.proofs.is_empty() && t.proofs.len() <= MAX_PROOFS);
        // What we read, we write back readable (grouped by keyset, so compared by content).
        let back = parse_token(&encode_v4(&t)).unwrap();
        assert_eq!((back.amount(), back.proofs.len(), &back.mint), (t.amount(), t.proofs.len(), &t.mint));
        let allowed = [t.mint.clone()];
        let policy = Policy { allowed_mints: &allowed, unit: &t.unit, price: 1, now: 0 };
        let _ = precheck(&t, &policy, None);
    }
    let _ = check_lock(text, &key(), 0, 0);
    let _ = parse_p2pk_secret(text);
    let _ = decode_request(text);
    let _ = parse_keys(text);
    let _ = parse_keysets(text);
    let _ = normalise_mint_url(text);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings(s in ".{0,300}") {
        everything(&s);
        everything(&format!("cashuB{s}"));
        everything(&format!("cashuA{s}"));
        everything(&format!("creqA{s}"));
    }

    #[test]
    fn arbitrary_cbor_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        everything(&format!("cashuB{b64}"));
        everything(&format!("creqA{b64}"));
        everything(&format!("cashuA{b64}"));
    }

    #[test]
    fn mutated_v4_tokens(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut b = v4_bytes();
        for (i, v) in flips {
            let i = i.index(b.len());
            b[i] = v;
        }
        everything(&format!("cashuB{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b)));
    }

    #[test]
    fn truncated_v4_tokens(n in 0usize..600) {
        let b = v4_bytes();
        let n = n.min(b.len());
        everything(&format!("cashuB{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b[..n])));
    }

    #[test]
    fn mutated_secrets(i in any::<prop::sample::Index>(), c in any::<char>(), cut in any::<prop::sample::Index>()) {
        let mut s: Vec<char> = SECRET.chars().collect();
        let at = i.index(s.len());
        s[at] = c;
        let s: String = s.into_iter().collect();
        everything(&s);
        let cut = cut.index(SECRET.len());
        everything(&SECRET[..cut]);
    }
}
