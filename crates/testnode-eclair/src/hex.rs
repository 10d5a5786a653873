//! Lowercase hex, as Eclair writes hashes, preimages and node ids.

/// Lowercase hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Exactly 32 bytes from 64 hex digits (either case).
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn round_trip() {
        let b = [0xab; 32];
        assert_eq!(super::decode32(&super::encode(&b)), Some(b));
        assert_eq!(super::decode32(&"AB".repeat(32)), Some(b));
        assert_eq!(super::decode32("ab"), None);
        assert_eq!(super::decode32(&"zz".repeat(32)), None);
    }
}
