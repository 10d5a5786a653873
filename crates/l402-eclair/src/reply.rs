//! Lenient reading of Eclair's JSON replies. Field names have shifted between Eclair
//! versions (`amount` / `amountMsat`, `paymentRequest` / `invoice`, …),
//! so each value is looked up under every name it has had. Pure functions: no I/O.

use serde_json::Value;

/// What `createinvoice` returned, before [`l402_backend::check_invoice`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Created {
    pub(crate) bolt11: String,
    pub(crate) payment_hash: Option<[u8; 32]>,
    pub(crate) amount_msat: Option<u64>,
}

/// `status.type` of `getreceivedinfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Expired,
    Received,
}

/// What `getreceivedinfo` returned, before the preimage and amount checks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReceivedInfo {
    pub(crate) status: Status,
    pub(crate) preimage: Option<[u8; 32]>,
    /// Amount received (`status.amount`), when reported.
    pub(crate) received_msat: Option<u64>,
    /// Amount of the invoice, when reported.
    pub(crate) invoice_msat: Option<u64>,
    /// Payment hash the reply is about, when reported.
    pub(crate) payment_hash: Option<[u8; 32]>,
}

/// The first of `names` present (and not null) in object `v`.
fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| v.get(n).filter(|x| !x.is_null()))
}

/// An amount in msat: a JSON integer, or a string of digits (optionally ending in `msat`).
fn msat(v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| "amount is not a non-negative integer".to_owned()),
        Value::String(s) => s
            .trim()
            .trim_end_matches("msat")
            .parse()
            .map_err(|_| "amount is not a number".to_owned()),
        _ => Err("amount is not a number".to_owned()),
    }
}

fn amount_in(v: &Value) -> Result<Option<u64>, String> {
    field(v, &["amountMsat", "amount", "amount_msat"])
        .map(msat)
        .transpose()
}

/// 32 bytes from 64 hex digits.
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
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

/// Lowercase hex of 32 bytes.
pub(crate) fn to_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn hash_field(v: &Value, names: &[&str], what: &str) -> Result<Option<[u8; 32]>, String> {
    match field(v, names) {
        None => Ok(None),
        Some(Value::String(s)) => hex32(s)
            .map(Some)
            .ok_or_else(|| format!("{what} is not 32 bytes of hex")),
        Some(_) => Err(format!("{what} is not a string")),
    }
}

/// The invoice object of a reply (`invoice` in recent versions, `paymentRequest` before),
/// when it is an object.
fn invoice_object(v: &Value) -> Option<&Value> {
    field(v, &["invoice", "paymentRequest"]).filter(|x| x.is_object())
}

/// Reads a `createinvoice` reply: the invoice object itself (`serialized`, `paymentHash`,
/// `amount`), or one wrapping it.
pub(crate) fn parse_created(v: &Value) -> Result<Created, String> {
    if !v.is_object() {
        return Err("reply is not a JSON object".to_owned());
    }
    let inner = invoice_object(v);
    let bolt11 = [Some(v), inner]
        .into_iter()
        .flatten()
        .find_map(|o| field(o, &["serialized", "bolt11", "paymentRequest", "invoice"])?.as_str())
        .ok_or_else(|| "reply has no serialized invoice".to_owned())?
        .to_owned();
    let hash_names = ["paymentHash", "payment_hash"];
    let mut payment_hash = hash_field(v, &hash_names, "paymentHash")?;
    let mut amount_msat = amount_in(v)?;
    if let Some(inner) = inner {
        payment_hash = payment_hash.or(hash_field(inner, &hash_names, "paymentHash")?);
        amount_msat = amount_msat.or(amount_in(inner)?);
    }
    Ok(Created {
        bolt11,
        payment_hash,
        amount_msat,
    })
}

/// Reads a `getreceivedinfo` reply: `{status: {type, amount?}, paymentPreimage?, invoice?}`
/// (or `status` as a bare string, as older versions wrote it).
pub(crate) fn parse_received(v: &Value) -> Result<ReceivedInfo, String> {
    if !v.is_object() {
        return Err("reply is not a JSON object".to_owned());
    }
    let status_value = field(v, &["status"]).ok_or_else(|| "reply has no status".to_owned())?;
    let type_text = match status_value {
        Value::String(s) => s.as_str(),
        Value::Object(_) => field(status_value, &["type", "status"])
            .and_then(Value::as_str)
            .ok_or_else(|| "status has no type".to_owned())?,
        _ => return Err("status is neither an object nor a string".to_owned()),
    };
    let status = match type_text.to_ascii_lowercase().as_str() {
        "pending" => Status::Pending,
        "expired" => Status::Expired,
        "received" => Status::Received,
        other => {
            let shown: String = other.chars().take(32).collect();
            return Err(format!("unknown status type \"{}\"", shown.escape_debug()));
        }
    };
    let received_msat = if status_value.is_object() {
        amount_in(status_value)?
    } else {
        None
    };
    let preimage_names = ["paymentPreimage", "preimage", "payment_preimage"];
    let mut preimage = hash_field(v, &preimage_names, "paymentPreimage")?;
    if preimage.is_none() && status_value.is_object() {
        preimage = hash_field(status_value, &preimage_names, "paymentPreimage")?;
    }
    let hash_names = ["paymentHash", "payment_hash"];
    let mut payment_hash = hash_field(v, &hash_names, "paymentHash")?;
    let mut invoice_msat = None;
    if let Some(inv) = invoice_object(v) {
        payment_hash = payment_hash.or(hash_field(inv, &hash_names, "paymentHash")?);
        invoice_msat = amount_in(inv)?;
    }
    Ok(ReceivedInfo {
        status,
        preimage,
        received_msat,
        invoice_msat,
        payment_hash,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    const H: &str = "99ad128583ecf1cfc2b62a5f78bfbbef56565abe278be663ff937611e2e5920e";

    #[test]
    fn created_current_shape() {
        let v = json!({"prefix":"lnbcrt","serialized":"lnbcrt1x","paymentHash":H,"amount":21000});
        let c = parse_created(&v).unwrap();
        assert_eq!(c.bolt11, "lnbcrt1x");
        assert_eq!(c.payment_hash, hex32(H));
        assert_eq!(c.amount_msat, Some(21000));
    }

    #[test]
    fn created_lenient_shapes() {
        let v = json!({"serialized":"lnbcrt1x","paymentHash":H.to_uppercase(),"amountMsat":"21000msat"});
        assert_eq!(parse_created(&v).unwrap().amount_msat, Some(21000));
        let v = json!({"invoice":{"serialized":"lnbcrt1y","paymentHash":H,"amountMsat":5}});
        let c = parse_created(&v).unwrap();
        assert_eq!((c.bolt11.as_str(), c.amount_msat), ("lnbcrt1y", Some(5)));
        assert_eq!(c.payment_hash, hex32(H));
        let v = json!({"paymentRequest":"lnbcrt1z"});
        let c = parse_created(&v).unwrap();
        assert_eq!(
            (c.bolt11.as_str(), c.payment_hash, c.amount_msat),
            ("lnbcrt1z", None, None)
        );
    }

    #[test]
    fn created_garbage() {
        for v in [
            json!([1, 2]),
            json!("lnbcrt1x"),
            json!({}),
            json!({"serialized": 7}),
            json!({"serialized":"x","paymentHash":"abc"}),
            json!({"serialized":"x","paymentHash":7}),
            json!({"serialized":"x","amount":-1}),
            json!({"serialized":"x","amount":"lots"}),
        ] {
            assert!(parse_created(&v).is_err(), "{v}");
        }
    }

    #[test]
    fn received_shapes() {
        let v = json!({"paymentPreimage":H,"status":{"type":"pending"},
            "invoice":{"paymentHash":H,"amount":21000}});
        let r = parse_received(&v).unwrap();
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.invoice_msat, Some(21000));
        assert_eq!(r.payment_hash, hex32(H));
        let v = json!({"paymentPreimage":H,"status":{"type":"received","amount":21000,
            "receivedAt":{"unix":1}},"paymentRequest":{"paymentHash":H,"amountMsat":21000}});
        let r = parse_received(&v).unwrap();
        assert_eq!(r.status, Status::Received);
        assert_eq!(
            (r.received_msat, r.invoice_msat),
            (Some(21000), Some(21000))
        );
        assert_eq!(r.preimage, hex32(H));
        let v = json!({"status":"EXPIRED"});
        assert_eq!(parse_received(&v).unwrap().status, Status::Expired);
        let v = json!({"status":{"type":"received","amountMsat":"7","paymentPreimage":H}});
        let r = parse_received(&v).unwrap();
        assert_eq!((r.received_msat, r.preimage), (Some(7), hex32(H)));
    }

    #[test]
    fn received_garbage() {
        for v in [
            json!(null),
            json!({}),
            json!({"status": 42}),
            json!({"status": {}}),
            json!({"status": {"type": "paid-maybe"}}),
            json!({"status": {"type": "received"}, "paymentPreimage": [1, 2]}),
            json!({"status": {"type": "received"}, "paymentPreimage": "00"}),
        ] {
            assert!(parse_received(&v).is_err(), "{v}");
        }
        let long = "x".repeat(500);
        let e = parse_received(&json!({"status": {"type": long}})).unwrap_err();
        assert!(e.len() < 80, "{e}");
    }

    #[test]
    fn hex_round_trip() {
        let h = hex32(H).unwrap();
        assert_eq!(to_hex(&h), H);
        assert_eq!(hex32(&"g".repeat(64)), None);
        assert_eq!(hex32("é"), None);
    }
}
