//! Fuzz target: both credential parsers (bLIP-26, "Client HTTP
//! Authentication Headers") and, for whatever
//! parses, the whole verification path. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = [
        l402_core::parse_authorization(data),
        l402_core::parse_hex_macaroon(data),
    ];
    for cred in parsed.into_iter().flatten() {
        let _ = l402_core::verify_with_token_key(&cred, &[0u8; 32], "svc", 1_700_000_000);
    }
});
