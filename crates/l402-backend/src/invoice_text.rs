//! The invoice text that may stand in a response header: whatever a node returned, only its
//! normalised form is ever sent (payment-integrity item 7).
//!
//! BOLT12 ("Encoding") lets a reader accept `+` followed by optional whitespace as a
//! continuation, and bech32 is case-insensitive (BIP-173 forbids mixed case), so
//! `lni1qq+\r\n qq` decodes to the same invoice as `lni1qqqq`. A decoder that skips those bytes
//! is right to; sending the raw string would let a node write CR LF into our headers. The
//! normalised form has the continuations removed, is lowercase, and is strictly
//! `<hrp>1<data>` with the hrp of a Lightning invoice (`ln…`) and the data in the bech32
//! alphabet; anything else is an invalid reply.

/// The bech32 data alphabet (BIP-173).
const BECH32_DATA: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Longest invoice text accepted (BOLT11 invoices with long route hints and BOLT12 invoices
/// with blinded paths stay well below this).
pub const MAX_INVOICE_TEXT: usize = 8 * 1024;

/// The normalised text of `raw`, or why it cannot be sent.
pub fn normalize_invoice_text(raw: &str) -> Result<String, String> {
    if raw.len() > MAX_INVOICE_TEXT {
        return Err(format!("invoice text of {} bytes is longer than {MAX_INVOICE_TEXT}", raw.len()));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            // BOLT12 continuation: '+' then optional whitespace.
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            continue;
        }
        out.push(b.to_ascii_lowercase());
        i += 1;
    }
    let has_upper = bytes.iter().any(u8::is_ascii_uppercase);
    let has_lower = bytes.iter().any(u8::is_ascii_lowercase);
    if has_upper && has_lower {
        return Err("invoice text mixes upper and lower case".into());
    }
    let sep = out.iter().rposition(|&b| b == b'1').ok_or("invoice text has no bech32 separator")?;
    let (hrp, data) = (&out[..sep], &out[sep + 1..]);
    if !hrp.starts_with(b"ln") || !hrp.iter().all(u8::is_ascii_alphanumeric) {
        return Err("invoice text does not start with a Lightning prefix".into());
    }
    if data.is_empty() || !data.iter().all(|b| BECH32_DATA.contains(b)) {
        return Err("invoice text holds bytes outside the bech32 alphabet".into());
    }
    String::from_utf8(out).map_err(|_| "invoice text is not ASCII".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_clean_invoice() {
        assert_eq!(normalize_invoice_text("lnbcrt10u1pqqqsp5").as_deref(), Ok("lnbcrt10u1pqqqsp5"));
        assert_eq!(normalize_invoice_text("LNBCRT10U1PQQQ").as_deref(), Ok("lnbcrt10u1pqqq"));
    }

    #[test]
    fn removes_bolt12_continuations() {
        assert_eq!(normalize_invoice_text("lni1qq+\r\n qq+qq").as_deref(), Ok("lni1qqqqqq"));
    }

    #[test]
    fn refuses_header_injection_and_garbage() {
        for bad in [
            "lnbcrt1qq\r\nSet-Cookie: x=1",
            "lnbcrt1qq\r\n\r\n",
            "lni1qq\nqq",
            "lnbcrt1qq qq",
            "lnbcrt1qq\u{0}",
            "lnbcrt1qqb", // 'b' is not in the bech32 alphabet
            "bc1qqqq",
            "lnbcrt",
            "lnbcrt1",
            "LnBcRt1qq",
        ] {
            assert!(normalize_invoice_text(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_invoice_text(&"q".repeat(MAX_INVOICE_TEXT + 1)).is_err());
    }

    #[test]
    fn output_never_holds_control_bytes() {
        for raw in ["lni1qq+\r\n\r\nqq", "lni1+ \t\r\nqq", "lnbc1+"] {
            if let Ok(s) = normalize_invoice_text(raw) {
                assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s:?}");
            }
        }
    }
}
