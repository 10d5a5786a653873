//! Reading fields of lightningd's replies (CLN `doc/schemas/*.json`). Amounts are `msat`
//! values: integers since v23.05, strings like `"1000msat"` before; both are accepted.
//! Errors name the field, never its content.

use serde_json::Value;

/// A string field.
pub fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("reply has no string field {name}"))
}

/// An unsigned integer field.
pub fn u64_field(v: &Value, name: &str) -> Result<u64, String> {
    v.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("reply has no unsigned integer field {name}"))
}

/// An `msat` field: an integer, or a string of digits followed by `msat`.
pub fn msat_field(v: &Value, name: &str) -> Result<u64, String> {
    let bad = || format!("reply field {name} is not an msat amount");
    match v.get(name) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad),
        Some(Value::String(s)) => {
            let digits = s.strip_suffix("msat").ok_or_else(bad)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            digits.parse().map_err(|_| bad())
        }
        _ => Err(format!("reply has no msat field {name}")),
    }
}

/// A field holding 32 bytes as 64 hex digits (payment hashes, preimages).
pub fn hex32_field(v: &Value, name: &str) -> Result<[u8; 32], String> {
    parse_hex32(str_field(v, name)?)
        .ok_or_else(|| format!("reply field {name} is not 32 hex bytes"))
}

/// Parses 64 hex digits.
pub fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    parse_hex::<32>(s)
}

/// Parses exactly `2 * N` hex digits (either case) into `N` bytes.
pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hi = (*pair.first()? as char).to_digit(16)?;
        let lo = (*pair.get(1)? as char).to_digit(16)?;
        *out.get_mut(i)? = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn msat_forms() {
        let v = json!({"a": 1000, "b": "2000msat", "c": "2000", "d": -1, "e": "msat"});
        assert_eq!(msat_field(&v, "a"), Ok(1000));
        assert_eq!(msat_field(&v, "b"), Ok(2000));
        assert!(msat_field(&v, "c").is_err());
        assert!(msat_field(&v, "d").is_err());
        assert!(msat_field(&v, "e").is_err());
        assert!(msat_field(&v, "missing").is_err());
    }

    #[test]
    fn hex32() {
        let h = to_hex(&[0xab; 32]);
        assert_eq!(parse_hex32(&h), Some([0xab; 32]));
        assert_eq!(parse_hex32(&h.to_uppercase()), Some([0xab; 32]));
        assert_eq!(parse_hex32(&h[..62]), None);
        assert_eq!(parse_hex32(&format!("{}zz", &h[..62])), None);
        assert!(hex32_field(&json!({"x": h}), "x").is_ok());
        assert!(hex32_field(&json!({"x": 1}), "x").is_err());
    }
}
