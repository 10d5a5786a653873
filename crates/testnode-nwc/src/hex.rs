//! Lower-case hex.

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly `2 * N` hex digits (either case) to `N` bytes.
fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// 64 hex digits to 32 bytes.
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    decode::<32>(text)
}

/// 128 hex digits to 64 bytes (a Schnorr signature).
pub fn decode64(text: &str) -> Option<[u8; 64]> {
    decode::<64>(text)
}
