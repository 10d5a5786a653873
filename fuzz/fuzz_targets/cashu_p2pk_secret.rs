//! Fuzz target: the NUT-10/NUT-11 P2PK secret parser and the lock check on top of it.
//! Nothing may panic; whatever the check accepts must parse as locked to our key alone.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// NUT-11's example key (tests/11-test.md).
const OUR_KEY: [u8; 33] = [
    0x02, 0x49, 0x09, 0x8a, 0xa8, 0xb9, 0xd2, 0xfb, 0xec, 0x49, 0xff, 0x85, 0x98, 0xfe, 0xb1, 0x7b, 0x59, 0x2b, 0x98,
    0x6e, 0x62, 0x31, 0x9a, 0x4f, 0xa4, 0x88, 0xa3, 0xdc, 0x36, 0x38, 0x71, 0x57, 0xa7,
];

fuzz_target!(|data: &[u8]| {
    let Ok(secret) = std::str::from_utf8(data) else { return };
    let _ = l402_cashu::parse_p2pk_secret(secret);
    let Ok(ours) = l402_cashu::PublicKey::from_slice(&OUR_KEY) else { return };
    if l402_cashu::check_lock(secret, &ours, 1_700_000_000, 3600).is_ok() {
        let s = l402_cashu::parse_p2pk_secret(secret);
        assert!(s.is_ok_and(|s| s.pubkeys.is_empty() && s.refund.is_empty() && s.other_tags.is_empty()));
    }
});
