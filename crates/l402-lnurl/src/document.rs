//! The payee's JSON replies, parsed strictly: the payRequest document (LUD-06 step 3), the
//! callback's reply (LUD-06 step 6, LUD-21 `verify`) and the verify reply (LUD-21). Every
//! `{"status":"ERROR","reason":…}` reply (LUD-06) is [`Reply::Error`].

use serde_json::Value;
use url::Url;

/// Longest `reason` text kept from an error reply, in characters.
const MAX_REASON_CHARS: usize = 200;
/// Longest metadata string accepted, in bytes (it may hold a base64 image, LUD-06).
pub const MAX_METADATA_BYTES: usize = 128 * 1024;

/// A reply or the payee's own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    Ok(T),
    /// `{"status":"ERROR","reason":…}`: the reason, printable and bounded.
    Error(String),
}

/// LUD-06 payRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    pub callback: Url,
    pub min_sendable_msat: u64,
    pub max_sendable_msat: u64,
    /// The metadata string exactly as served: the invoice's description hash commits to it.
    pub metadata: String,
    /// LUD-12: the longest comment the payee accepts (0 = none).
    pub comment_allowed: usize,
}

/// The callback's reply: the invoice and, with LUD-21, where to ask whether it settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub pr: String,
    pub verify: Option<String>,
}

/// LUD-21 verify reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    pub settled: bool,
    pub preimage: Option<[u8; 32]>,
    pub pr: Option<String>,
}

/// Printable, bounded text from a hostile reply, for a log line.
pub fn printable(s: &str) -> String {
    s.chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("reply is not JSON: {e}"))
}

/// The LUD-06 error form, if `v` is one.
fn error_reply(v: &Value) -> Option<String> {
    let status = v.get("status")?.as_str()?;
    if status.eq_ignore_ascii_case("ERROR") {
        let reason = v.get("reason").and_then(Value::as_str).unwrap_or("no reason given");
        Some(printable(reason))
    } else {
        None
    }
}

/// A non-negative integer field; LNURL servers send numbers, a few send numeric strings.
fn amount(v: &Value, field: &str) -> Result<u64, String> {
    match v.get(field) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("\"{field}\" is not a whole number of msat")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| format!("\"{field}\" is not a whole number of msat")),
        Some(_) => Err(format!("\"{field}\" is not a number")),
        None => Err(format!("\"{field}\" is missing")),
    }
}

/// Parses a payRequest document.
pub fn pay_request(body: &[u8]) -> Result<Reply<PayRequest>, String> {
    let v = parse_json(body)?;
    if let Some(reason) = error_reply(&v) {
        return Ok(Reply::Error(reason));
    }
    let tag = v.get("tag").and_then(Value::as_str).unwrap_or_default();
    if tag != "payRequest" {
        return Err(format!("tag is \"{}\", not \"payRequest\"", printable(tag)));
    }
    let callback = v
        .get("callback")
        .and_then(Value::as_str)
        .ok_or_else(|| "\"callback\" is missing".to_owned())?;
    let callback = Url::parse(callback).map_err(|e| format!("\"callback\" is not a URL: {e}"))?;
    let min_sendable_msat = amount(&v, "minSendable")?;
    let max_sendable_msat = amount(&v, "maxSendable")?;
    if min_sendable_msat > max_sendable_msat {
        return Err(format!("minSendable {min_sendable_msat} is above maxSendable {max_sendable_msat}"));
    }
    let metadata = v
        .get("metadata")
        .and_then(Value::as_str)
        .ok_or_else(|| "\"metadata\" is missing or not a string".to_owned())?;
    if metadata.len() > MAX_METADATA_BYTES {
        return Err(format!("\"metadata\" is longer than {MAX_METADATA_BYTES} bytes"));
    }
    let comment_allowed = match v.get("commentAllowed") {
        None | Some(Value::Null) => 0,
        Some(n) => n.as_u64().map(|n| n.min(2000) as usize).unwrap_or(0),
    };
    Ok(Reply::Ok(PayRequest {
        callback,
        min_sendable_msat,
        max_sendable_msat,
        metadata: metadata.to_owned(),
        comment_allowed,
    }))
}

/// Parses the callback's reply.
pub fn callback(body: &[u8]) -> Result<Reply<Callback>, String> {
    let v = parse_json(body)?;
    if let Some(reason) = error_reply(&v) {
        return Ok(Reply::Error(reason));
    }
    let pr = v
        .get("pr")
        .and_then(Value::as_str)
        .ok_or_else(|| "\"pr\" is missing or not a string".to_owned())?;
    let verify = v.get("verify").and_then(Value::as_str).map(str::to_owned);
    Ok(Reply::Ok(Callback { pr: pr.to_owned(), verify }))
}

/// Parses a LUD-21 verify reply.
pub fn verify(body: &[u8]) -> Result<Reply<Verify>, String> {
    let v = parse_json(body)?;
    if let Some(reason) = error_reply(&v) {
        return Ok(Reply::Error(reason));
    }
    let settled = v
        .get("settled")
        .and_then(Value::as_bool)
        .ok_or_else(|| "\"settled\" is missing or not a boolean".to_owned())?;
    let preimage = match v.get("preimage") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(hex32(s).ok_or_else(|| "\"preimage\" is not 32 bytes of hex".to_owned())?),
        Some(_) => return Err("\"preimage\" is not a string".to_owned()),
    };
    let pr = v.get("pr").and_then(Value::as_str).map(str::to_owned);
    Ok(Reply::Ok(Verify { settled, preimage, pr }))
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pay_request_is_parsed() {
        let body = br#"{"tag":"payRequest","callback":"https://x.example/cb?id=1","minSendable":1000,
            "maxSendable":"5000","metadata":"[[\"text/plain\",\"hi\"]]","commentAllowed":32}"#;
        let Reply::Ok(p) = pay_request(body).unwrap() else { panic!() };
        assert_eq!(p.callback.as_str(), "https://x.example/cb?id=1");
        assert_eq!((p.min_sendable_msat, p.max_sendable_msat, p.comment_allowed), (1000, 5000, 32));
        assert_eq!(p.metadata, r#"[["text/plain","hi"]]"#);
    }

    #[test]
    fn errors_and_garbage() {
        assert_eq!(
            pay_request(br#"{"status":"ERROR","reason":"no such user\n[alert] forged"}"#).unwrap(),
            Reply::Error("no such user?[alert] forged".into())
        );
        for bad in [
            &b"<html>"[..],
            br#"{"tag":"withdrawRequest"}"#,
            br#"{"tag":"payRequest","callback":"not a url","minSendable":1,"maxSendable":2,"metadata":"[]"}"#,
            br#"{"tag":"payRequest","callback":"https://x/","minSendable":-1,"maxSendable":2,"metadata":"[]"}"#,
            br#"{"tag":"payRequest","callback":"https://x/","minSendable":3,"maxSendable":2,"metadata":"[]"}"#,
            br#"{"tag":"payRequest","callback":"https://x/","minSendable":1,"maxSendable":2}"#,
            br#"[]"#,
        ] {
            assert!(pay_request(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(callback(br#"{"routes":[]}"#).is_err());
        assert_eq!(callback(br#"{"status":"ERROR"}"#).unwrap(), Reply::Error("no reason given".into()));
    }

    #[test]
    fn verify_reply() {
        let hex = "11".repeat(32);
        let body = format!(r#"{{"status":"OK","settled":true,"preimage":"{hex}","pr":"lnbc1"}}"#);
        let Reply::Ok(v) = verify(body.as_bytes()).unwrap() else { panic!() };
        assert!(v.settled);
        assert_eq!(v.preimage, Some([0x11; 32]));
        let Reply::Ok(v) = verify(br#"{"status":"OK","settled":false,"preimage":null}"#).unwrap() else { panic!() };
        assert!(!v.settled && v.preimage.is_none());
        assert!(verify(br#"{"status":"OK","settled":true,"preimage":"zz"}"#).is_err());
        assert!(verify(br#"{"status":"OK","settled":"yes"}"#).is_err());
    }
}
