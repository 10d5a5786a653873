//! BOLT12 string encoding (BOLT12 "Encoding"): a human-readable prefix (`lno`, `lnr`,
//! `lni`), the separator `1`, then the TLV bytes in the bech32 alphabet **without** a
//! checksum. Readers accept `+` followed by optional whitespace between parts, and all
//! upper or all lower case.

/// The bech32 alphabet (BIP-173): value `i` is written as `CHARSET[i]`.
const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Longest BOLT12 string accepted, in bytes; bounds decoding work on hostile input.
/// Real offers and invoices (with several blinded paths) stay well below this.
pub const MAX_BOLT12_LEN: usize = 16 * 1024;

fn value_of(c: u8) -> Option<u8> {
    let lower = c.to_ascii_lowercase();
    CHARSET
        .iter()
        .position(|&x| x == lower)
        .and_then(|i| u8::try_from(i).ok())
}

/// Decodes a BOLT12 string whose prefix must be `hrp` (e.g. `"lni"`) into its TLV bytes.
///
/// Errors name the problem but never echo the input.
pub fn decode(s: &str, hrp: &str) -> Result<Vec<u8>, String> {
    if s.len() > MAX_BOLT12_LEN {
        return Err(format!(
            "string is {} bytes, longer than {MAX_BOLT12_LEN}",
            s.len()
        ));
    }
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = s.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Err("mixed upper and lower case".to_owned());
    }
    // BOLT12: "+" followed by optional whitespace joins parts of one string.
    let mut joined = Vec::with_capacity(s.len());
    let mut after_plus = false;
    for b in s.bytes() {
        if b == b'+' {
            after_plus = true;
            continue;
        }
        if after_plus && b.is_ascii_whitespace() {
            continue;
        }
        after_plus = false;
        joined.push(b.to_ascii_lowercase());
    }
    if after_plus {
        return Err("ends with '+'".to_owned());
    }
    let prefix = format!("{hrp}1");
    let data = joined
        .strip_prefix(prefix.as_bytes())
        .ok_or_else(|| format!("does not start with {prefix}"))?;
    if data.is_empty() {
        return Err("no data after the prefix".to_owned());
    }
    // 5-bit groups to bytes, most significant bit first; leftover bits must be zero
    // padding of fewer than 5 bits (bech32 conversion without padding).
    let mut out = Vec::with_capacity(data.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &c in data {
        let v = value_of(c).ok_or_else(|| "character outside the bech32 alphabet".to_owned())?;
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits >= 5 || acc != 0 {
        return Err("invalid padding".to_owned());
    }
    Ok(out)
}

/// Encodes TLV bytes as a lowercase BOLT12 string with prefix `hrp` (no checksum).
pub fn encode(hrp: &str, bytes: &[u8]) -> String {
    let mut s = String::with_capacity(hrp.len() + 1 + bytes.len() * 8 / 5 + 1);
    s.push_str(hrp);
    s.push('1');
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            s.push(char::from(CHARSET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        s.push(char::from(CHARSET[((acc << (5 - bits)) & 31) as usize]));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let s = encode("lni", &bytes);
            if bytes.is_empty() {
                assert!(decode(&s, "lni").is_err());
            } else {
                assert_eq!(decode(&s, "lni").unwrap(), bytes);
                assert_eq!(decode(&s.to_uppercase(), "lni").unwrap(), bytes);
            }
        }
    }

    #[test]
    fn joins_plus_parts() {
        let s = encode("lno", b"hello offers");
        let (a, b) = s.split_at(10);
        let joined = format!("{a}+ \n {b}");
        assert_eq!(decode(&joined, "lno").unwrap(), b"hello offers");
        assert!(decode(&format!("{s}+"), "lno").is_err());
    }

    #[test]
    fn refuses_bad_input() {
        let s = encode("lno", b"abc");
        assert!(decode(&s, "lni").is_err());
        assert!(decode("lno1bio", "lno").is_err()); // 'b', 'i', 'o' are not in the alphabet
        assert!(decode("lno1", "lno").is_err());
        assert!(decode("Lno1qq", "lno").is_err());
        assert!(decode(&"q".repeat(MAX_BOLT12_LEN + 1), "lno").is_err());
        // Non-zero padding bits.
        assert!(decode("lno1qp", "lno").is_err());
    }
}
