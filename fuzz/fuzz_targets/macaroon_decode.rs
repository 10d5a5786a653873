//! Fuzz target: the macaroon decoder (V2 binary, V1 packets, V1 base64; libmacaroons
//! `doc/format.txt` and `v1.c`). Nothing may panic, and whatever decodes re-encodes to V2
//! and decodes to the same macaroon.
#![no_main]

use l402_core::Macaroon;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mac) = Macaroon::decode(data) {
        let again = Macaroon::decode(&mac.encode_v2());
        assert_eq!(again.as_ref(), Ok(&mac));
        let _ = mac.verify_signature(&[0u8; 32]);
    }
});
