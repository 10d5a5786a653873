//! Text encodings of binary values: hex (preimages, hex carriers) and base64
//! (macaroons in challenges and credentials, bLIP-26, "L402 HTTP/gRPC Protocol Specification").

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

pub(crate) fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex of either letter case into `out`; `None` unless `text` is
/// exactly `2 * out.len()` hex digits.
fn hex_decode_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    if text.len() != out.len().checked_mul(2)? {
        return None;
    }
    for (pair, slot) in text.chunks_exact(2).zip(out.iter_mut()) {
        let (high, low) = match pair {
            [high, low] => (hex_value(*high)?, hex_value(*low)?),
            _ => return None,
        };
        *slot = (high << 4) | low;
    }
    Some(())
}

/// Exactly 64 hex digits, any case, to 32 bytes (a preimage or a hash).
pub(crate) fn hex_decode_32(text: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex_decode_into(text, &mut out)?;
    Some(out)
}

/// Hex of any even length up to `max_bytes` decoded bytes; `None` otherwise.
pub(crate) fn hex_decode(text: &[u8], max_bytes: usize) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() / 2 > max_bytes {
        return None;
    }
    let mut out = vec![0u8; text.len() / 2];
    hex_decode_into(text, &mut out)?;
    Some(out)
}

/// `base64` STANDARD alphabet with padding: what the challenge carries (bLIP-26,
/// "Server HTTP Authentication Headers"; RFC 4648 §4, as Aperture emits it).
pub(crate) fn base64_standard(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

const UNPADDED: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::RequireNone)
    .with_decode_allow_trailing_bits(false);
const STANDARD_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, UNPADDED);
const URL_SAFE_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, UNPADDED);

/// Decodes base64 in the standard or the URL-safe alphabet, padded or not, with
/// no whitespace (bLIP-26, "Client HTTP Authentication Headers"; RFC 4648 §4 and §5).
/// Padding, when present, must be complete; mixing the two alphabets is rejected.
/// `max_bytes` caps the decoded size before anything is allocated.
pub(crate) fn base64_decode_lenient(text: &[u8], max_bytes: usize) -> Option<Vec<u8>> {
    let unpadded_len = text
        .iter()
        .rposition(|&c| c != b'=')
        .map_or(0, |last| last + 1);
    let (unpadded, padding) = text.split_at_checked(unpadded_len)?;
    if !padding.is_empty() && (padding.len() > 2 || text.len() % 4 != 0) {
        return None;
    }
    if unpadded.is_empty() || unpadded.len().saturating_mul(3) / 4 > max_bytes {
        return None;
    }
    let url_safe = unpadded.iter().any(|&c| c == b'-' || c == b'_');
    let standard = unpadded.iter().any(|&c| c == b'+' || c == b'/');
    let engine = match (standard, url_safe) {
        (true, true) => return None,
        (_, false) => &STANDARD_UNPADDED,
        (false, true) => &URL_SAFE_UNPADDED,
    };
    let decoded = engine.decode(unpadded).ok()?;
    (decoded.len() <= max_bytes).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_any_case() {
        let bytes = hex_decode(b"00fFaB10", 16).unwrap();
        assert_eq!(bytes, [0x00, 0xff, 0xab, 0x10]);
        assert_eq!(hex_encode(&bytes), "00ffab10");
        assert_eq!(hex_decode(b"abc", 16), None);
        assert_eq!(hex_decode(b"zz", 16), None);
        assert_eq!(hex_decode(b"0000", 1), None);
        assert_eq!(hex_decode_32(&[b'1'; 63]), None);
        assert_eq!(hex_decode_32(&[b'1'; 64]), Some([0x11; 32]));
    }

    #[test]
    fn base64_forms() {
        let want = vec![0xfb, 0xff, 0xbf];
        assert_eq!(base64_decode_lenient(b"+/+/", 10), Some(want.clone()));
        assert_eq!(base64_decode_lenient(b"-_-_", 10), Some(want));
        assert_eq!(base64_decode_lenient(b"+_-/", 10), None);
        assert_eq!(base64_decode_lenient(b"AQ==", 10), Some(vec![1]));
        assert_eq!(base64_decode_lenient(b"AQ", 10), Some(vec![1]));
        assert_eq!(
            base64_decode_lenient(b"AR", 10),
            None,
            "non-canonical trailing bits"
        );
        assert_eq!(base64_decode_lenient(b"AQ=", 10), None);
        assert_eq!(base64_decode_lenient(b"AQ===", 10), None);
        assert_eq!(base64_decode_lenient(b"AQID====", 10), None);
        assert_eq!(base64_decode_lenient(b"A===", 10), None);
        assert_eq!(base64_decode_lenient(b"AQ==AQ==", 10), None);
        assert_eq!(base64_decode_lenient(b"AQI=", 10), Some(vec![1, 2]));
        assert_eq!(base64_decode_lenient(b"A Q==", 10), None);
        assert_eq!(base64_decode_lenient(b"", 10), None);
        assert_eq!(base64_decode_lenient(b"====", 10), None);
        assert_eq!(base64_decode_lenient(b"AAAAAAAA", 6), Some(vec![0; 6]));
        assert_eq!(base64_decode_lenient(b"AAAAAAAAAA", 6), None);
    }
}
