//! Fuzz target: Cashu token parsing (NUT-00 `cashuA`/`cashuB`) and, for whatever parses, the
//! precheck and a V4 re-encoding that must parse again. Raw bytes are also tried as the CBOR
//! body of a V4 token and of a NUT-18 `creqA` request. Nothing may panic.
#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    let mut texts = vec![format!("cashuB{b64}"), format!("cashuA{b64}")];
    if let Ok(s) = std::str::from_utf8(data) {
        texts.push(s.to_string());
    }
    for text in &texts {
        if let Ok(t) = l402_cashu::parse_token(text) {
            let again = l402_cashu::parse_token(&l402_cashu::encode_v4(&t));
            assert!(again.is_ok_and(|a| a.amount() == t.amount() && a.proofs.len() == t.proofs.len()));
            let allowed = [t.mint.clone()];
            let policy = l402_cashu::Policy { allowed_mints: &allowed, unit: &t.unit, price: 1, now: 0 };
            let _ = l402_cashu::precheck(&t, &policy, None);
        }
    }
    let _ = l402_cashu::decode_request(&format!("creqA{b64}"));
});
