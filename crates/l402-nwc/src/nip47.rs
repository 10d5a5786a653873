//! NIP-47 messages: the wallet's info event (kind 13194), request contents (kind 23194) and
//! the replies (kind 23195), with the error codes mapped to [`BackendError`]s.
//!
//! Everything here reads untrusted text (the relay and the wallet are not trusted): sizes are
//! bounded by the relay client, every field is checked, and error causes quote at most a short,
//! escaped piece of what the wallet sent.

use std::time::{SystemTime, UNIX_EPOCH};

use l402_backend::{check_invoice, check_preimage, BackendError, Invoice, InvoiceRequest, Settlement};
use serde_json::{json, Map, Value};

use crate::config::decode_hex;
use crate::NAME;

/// Info event kind (NIP-47 "Info Event"): replaceable, published by the wallet service.
pub const KIND_INFO: u16 = 13194;
/// Request event kind (client → wallet).
pub const KIND_REQUEST: u16 = 23194;
/// Response event kind (wallet → client).
pub const KIND_RESPONSE: u16 = 23195;

/// How request and response contents are encrypted (NIP-47 "Encryption").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    /// NIP-04 (AES-256-CBC): the default of wallets that publish no `encryption` tag.
    Nip04,
    /// NIP-44 version 2 (ChaCha20 + HMAC-SHA256, padded): preferred when the wallet offers it.
    Nip44V2,
}

impl Encryption {
    /// The name used in `encryption` tags.
    pub fn tag_value(self) -> &'static str {
        match self {
            Encryption::Nip04 => "nip04",
            Encryption::Nip44V2 => "nip44_v2",
        }
    }
}

/// What the wallet's info event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletInfo {
    /// The encryption requests use: NIP-44 v2 when offered, NIP-04 otherwise.
    pub encryption: Encryption,
    /// The methods the wallet offers (`None`: no info event was found, nothing is known).
    pub methods: Option<Vec<String>>,
}

impl WalletInfo {
    /// What is assumed of a wallet that published no info event: NIP-04, methods unknown.
    pub const UNKNOWN: WalletInfo = WalletInfo { encryption: Encryption::Nip04, methods: None };

    /// Reads an info event's content (space-separated methods) and `encryption` tag values
    /// (space-separated schemes; absent: NIP-04 only).
    pub fn from_event_parts(content: &str, encryption_tag: Option<&str>) -> WalletInfo {
        let methods = content
            .split_whitespace()
            .take(64)
            .map(|m| m.chars().take(64).collect())
            .collect();
        let nip44 = encryption_tag.is_some_and(|t| t.split_whitespace().any(|s| s == "nip44_v2"));
        WalletInfo {
            encryption: if nip44 { Encryption::Nip44V2 } else { Encryption::Nip04 },
            methods: Some(methods),
        }
    }

    /// Whether the wallet offers `method` (true when nothing is known).
    pub fn offers(&self, method: &str) -> bool {
        self.methods.as_ref().is_none_or(|m| m.iter().any(|x| x == method))
    }
}

/// The JSON content of a request (before encryption).
pub fn request_content(method: &str, params: Value) -> String {
    json!({ "method": method, "params": params }).to_string()
}

/// `make_invoice` parameters: amount in msat, description, expiry in seconds.
pub fn make_invoice_params(req: &InvoiceRequest) -> Value {
    json!({
        "amount": req.amount_msat,
        "description": req.memo,
        "expiry": req.expiry_secs,
    })
}

/// `lookup_invoice` parameters.
pub fn lookup_invoice_params(payment_hash: &[u8; 32]) -> Value {
    json!({ "payment_hash": hex(payment_hash) })
}

/// A decoded reply: the `result` object, or the wallet's error.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `result` (an object).
    Result(Map<String, Value>),
    /// `error.code` and `error.message`.
    Error {
        /// The NIP-47 error code (upper case, at most 40 characters).
        code: String,
        /// The wallet's message (at most 200 characters).
        message: String,
    },
}

fn invalid(cause: impl Into<String>) -> BackendError {
    BackendError::InvalidReply { backend: NAME, cause: cause.into() }
}

fn rejected(cause: impl Into<String>) -> BackendError {
    BackendError::Rejected { backend: NAME, cause: cause.into() }
}

fn unavailable(cause: impl Into<String>) -> BackendError {
    BackendError::Unavailable { backend: NAME, cause: cause.into() }
}

/// A short, escaped excerpt of untrusted text for an error message.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let mut s: String = text.chars().take(max_chars).collect::<String>().escape_debug().to_string();
    if text.chars().count() > max_chars {
        s.push('…');
    }
    s
}

/// Parses a decrypted reply to `method`: a JSON object with `result_type` equal to the method
/// (when present), and either a non-null `error` object or a `result` object.
pub fn parse_reply(method: &str, plaintext: &str) -> Result<Reply, BackendError> {
    let value: Value = serde_json::from_str(plaintext)
        .map_err(|_| invalid(format!("{method}: reply content is not JSON")))?;
    let Value::Object(mut obj) = value else {
        return Err(invalid(format!("{method}: reply content is not a JSON object")));
    };
    match obj.get("result_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == method => {}
        Some(other) => {
            return Err(invalid(format!(
                "{method}: reply is for {}",
                excerpt(&other.to_string(), 40)
            )))
        }
    }
    match obj.remove("error") {
        None | Some(Value::Null) => {}
        Some(Value::Object(err)) => {
            let code = err.get("code").and_then(Value::as_str).unwrap_or("OTHER");
            let message = err.get("message").and_then(Value::as_str).unwrap_or("");
            return Ok(Reply::Error {
                code: code.chars().take(40).collect::<String>().to_ascii_uppercase(),
                message: message.chars().take(200).collect(),
            });
        }
        Some(_) => return Err(invalid(format!("{method}: reply error is not an object"))),
    }
    match obj.remove("result") {
        Some(Value::Object(result)) => Ok(Reply::Result(result)),
        _ => Err(invalid(format!("{method}: reply has neither a result object nor an error"))),
    }
}

/// Maps a NIP-47 error code to a [`BackendError`]:
///
/// | code | error | why |
/// |---|---|---|
/// | `RATE_LIMITED`, `INTERNAL`, `OTHER`, unknown codes | `Unavailable` | transient: retrying later may work |
/// | `NOT_IMPLEMENTED`, `UNSUPPORTED_ENCRYPTION` | `Rejected` | the wallet cannot do this: configuration |
/// | `UNAUTHORIZED`, `RESTRICTED`, `QUOTA_EXCEEDED`, `INSUFFICIENT_BALANCE` | `Rejected` | the connection lacks a permission or budget: configuration |
/// | `PAYMENT_FAILED` | `Rejected` | the wallet refused the operation |
/// | `NOT_FOUND` | `Rejected` (lookups turn it into [`Settlement::Unknown`] first) | |
///
/// The message quotes the code and an escaped excerpt of the wallet's message.
pub fn error_for(method: &str, code: &str, message: &str) -> BackendError {
    let cause = format!("{method}: wallet error {}: {}", excerpt(code, 40), excerpt(message, 120));
    match code {
        "NOT_IMPLEMENTED" | "UNSUPPORTED_ENCRYPTION" | "UNAUTHORIZED" | "RESTRICTED"
        | "QUOTA_EXCEEDED" | "INSUFFICIENT_BALANCE" | "PAYMENT_FAILED" | "NOT_FOUND" => {
            rejected(cause)
        }
        _ => unavailable(cause),
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A 32-byte hex field of a result: `Ok(None)` when absent, null or empty.
fn hash_field(method: &str, result: &Map<String, Value>, name: &str) -> Result<Option<[u8; 32]>, BackendError> {
    match result.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let mut out = [0u8; 32];
            if decode_hex(s, &mut out) {
                Ok(Some(out))
            } else {
                Err(invalid(format!("{method}: {name} is not 64 hex digits")))
            }
        }
        Some(_) => Err(invalid(format!("{method}: {name} is not a string"))),
    }
}

/// Turns a `make_invoice` reply into a checked [`Invoice`] ([`check_invoice`]: amount, the
/// reported payment hash, signature, expiry).
pub fn invoice_from_reply(req: &InvoiceRequest, reply: Reply) -> Result<Invoice, BackendError> {
    const METHOD: &str = "make_invoice";
    let result = match reply {
        Reply::Result(r) => r,
        Reply::Error { code, message } => return Err(error_for(METHOD, &code, &message)),
    };
    let bolt11 = result
        .get("invoice")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{METHOD}: result has no invoice")))?;
    let expected = hash_field(METHOD, &result, "payment_hash")?;
    check_invoice(NAME, bolt11, req, expected, now_unix())
}

/// Turns a `lookup_invoice` reply for `payment_hash` into a [`Settlement`]: settled when
/// `settled_at` is set or `state` is `settled`, and only with a preimage that passes
/// [`check_preimage`] (a claim without one is an invalid reply); `expired` state or a past `expires_at` is Expired; `failed` is
/// Canceled; otherwise Open. The error `NOT_FOUND` is [`Settlement::Unknown`].
pub fn settlement_from_reply(payment_hash: &[u8; 32], reply: Reply) -> Result<Settlement, BackendError> {
    const METHOD: &str = "lookup_invoice";
    let result = match reply {
        Reply::Result(r) => r,
        Reply::Error { code, .. } if code == "NOT_FOUND" => return Ok(Settlement::Unknown),
        Reply::Error { code, message } => return Err(error_for(METHOD, &code, &message)),
    };
    if let Some(reported) = hash_field(METHOD, &result, "payment_hash")? {
        if reported != *payment_hash {
            return Err(invalid(format!("{METHOD}: reply is for another payment hash")));
        }
    }
    let state = match result.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
        Some(_) => return Err(invalid(format!("{METHOD}: state is not a string"))),
    };
    let settled_at = match result.get("settled_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| invalid(format!("{METHOD}: settled_at is not a number")))?),
    };
    let settled = settled_at.is_some_and(|t| t > 0) || state.as_deref() == Some("settled");
    if settled {
        // Believed only with the preimage (NIP-47 `lookup_invoice`: `preimage` of a paid
        // invoice): it must hash to the payment hash (BOLT 11 `p` field), else the claim is
        // an invalid reply, never a settlement.
        let Some(preimage) = hash_field(METHOD, &result, "preimage")? else {
            return Err(invalid(format!("{METHOD}: settled without a preimage")));
        };
        check_preimage(NAME, payment_hash, &preimage)?;
        return Ok(Settlement::Settled { preimage: Some(preimage) });
    }
    let expires_at = result.get("expires_at").and_then(Value::as_u64);
    Ok(match state.as_deref() {
        Some("expired") => Settlement::Expired,
        Some("failed") => Settlement::Canceled,
        _ if expires_at.is_some_and(|t| t <= now_unix()) => Settlement::Expired,
        _ => Settlement::Open,
    })
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn lookup(hash: &[u8; 32], text: &str) -> Result<Settlement, BackendError> {
        settlement_from_reply(hash, parse_reply("lookup_invoice", text)?)
    }

    fn preimage_and_hash() -> ([u8; 32], [u8; 32]) {
        use bitcoin::hashes::{sha256, Hash};
        let p = [9u8; 32];
        (p, sha256::Hash::hash(&p).to_byte_array())
    }

    #[test]
    fn info_prefers_nip44() {
        let i = WalletInfo::from_event_parts("make_invoice lookup_invoice", Some("nip44_v2 nip04"));
        assert_eq!(i.encryption, Encryption::Nip44V2);
        assert!(i.offers("lookup_invoice") && !i.offers("pay_invoice"));
        let i = WalletInfo::from_event_parts("make_invoice", None);
        assert_eq!(i.encryption, Encryption::Nip04);
        assert!(!i.offers("lookup_invoice"));
        let i = WalletInfo::from_event_parts("", Some("nip04"));
        assert_eq!(i.encryption, Encryption::Nip04);
        assert!(WalletInfo::UNKNOWN.offers("anything"));
    }

    #[test]
    fn hostile_replies_are_invalid() {
        for text in [
            "",
            "not json",
            "[]",
            "null",
            "\"x\"",
            r#"{"result_type":"pay_invoice","result":{}}"#,
            r#"{"result_type":7,"result":{}}"#,
            r#"{"result_type":"lookup_invoice"}"#,
            r#"{"result_type":"lookup_invoice","result":[1]}"#,
            r#"{"result_type":"lookup_invoice","error":"boom"}"#,
        ] {
            let e = parse_reply("lookup_invoice", text).unwrap_err();
            assert_eq!(e.kind(), "invalid_reply", "{text}: {e}");
        }
        let hash = [1u8; 32];
        for text in [
            r#"{"result":{"payment_hash":"zz"}}"#,
            r#"{"result":{"payment_hash":7}}"#,
            &format!(r#"{{"result":{{"payment_hash":"{}"}}}}"#, hex(&[2; 32])),
            r#"{"result":{"state":5}}"#,
            r#"{"result":{"settled_at":"yesterday"}}"#,
            r#"{"result":{"settled_at":1,"preimage":"abc"}}"#,
            &format!(r#"{{"result":{{"settled_at":1,"preimage":"{}"}}}}"#, hex(&[3; 32])),
        ] {
            let e = lookup(&hash, text).unwrap_err();
            assert_eq!(e.kind(), "invalid_reply", "{text}: {e}");
        }
    }

    #[test]
    fn lookup_states() {
        let (preimage, hash) = preimage_and_hash();
        let h = hex(&hash);
        let p = hex(&preimage);
        assert_eq!(lookup(&hash, &format!(r#"{{"result":{{"payment_hash":"{h}"}}}}"#)).unwrap(), Settlement::Open);
        assert_eq!(lookup(&hash, r#"{"result":{"state":"pending","expires_at":99999999999}}"#).unwrap(), Settlement::Open);
        assert_eq!(lookup(&hash, r#"{"result":{"state":"expired"}}"#).unwrap(), Settlement::Expired);
        assert_eq!(lookup(&hash, r#"{"result":{"expires_at":1}}"#).unwrap(), Settlement::Expired);
        assert_eq!(lookup(&hash, r#"{"result":{"state":"failed"}}"#).unwrap(), Settlement::Canceled);
        assert_eq!(
            lookup(&hash, &format!(r#"{{"result":{{"settled_at":1700000000,"preimage":"{p}"}}}}"#)).unwrap(),
            Settlement::Settled { preimage: Some(preimage) }
        );
        for text in [
            r#"{"result":{"state":"settled","preimage":"","settled_at":null}}"#,
            r#"{"result":{"state":"settled"}}"#,
            r#"{"result":{"settled_at":1700000000,"preimage":null}}"#,
        ] {
            assert_eq!(lookup(&hash, text).unwrap_err().kind(), "invalid_reply", "{text}");
        }
        assert_eq!(
            lookup(&hash, r#"{"result_type":"lookup_invoice","error":{"code":"NOT_FOUND","message":"no"},"result":null}"#).unwrap(),
            Settlement::Unknown
        );
    }

    #[test]
    fn error_codes_are_classified_and_escaped() {
        let kind = |code: &str| error_for("make_invoice", code, "m").kind();
        for code in ["RATE_LIMITED", "INTERNAL", "OTHER", "SOMETHING_NEW"] {
            assert_eq!(kind(code), "unavailable", "{code}");
        }
        for code in [
            "NOT_IMPLEMENTED", "UNSUPPORTED_ENCRYPTION", "UNAUTHORIZED", "RESTRICTED",
            "QUOTA_EXCEEDED", "INSUFFICIENT_BALANCE", "PAYMENT_FAILED", "NOT_FOUND",
        ] {
            assert_eq!(kind(code), "rejected", "{code}");
        }
        let e = error_for("make_invoice", "OTHER", &format!("line\nforged{}", "x".repeat(500)));
        let shown = e.to_string();
        assert!(!shown.contains('\n') && shown.len() < 400, "{shown}");
        let r = parse_reply("make_invoice", r#"{"error":{"code":"rate_limited"}}"#).unwrap();
        assert_eq!(r, Reply::Error { code: "RATE_LIMITED".into(), message: String::new() });
    }

    #[test]
    fn make_invoice_reply_needs_an_invoice() {
        let req = InvoiceRequest { amount_msat: 1000, memo: "m".into(), expiry_secs: 60 };
        for text in [
            r#"{"result":{}}"#,
            r#"{"result":{"invoice":7}}"#,
            r#"{"result":{"invoice":"lnbcrt1garbage"}}"#,
            r#"{"result":{"invoice":"lnbcrt1garbage","payment_hash":"00"}}"#,
        ] {
            let e = invoice_from_reply(&req, parse_reply("make_invoice", text).unwrap()).unwrap_err();
            assert_eq!(e.kind(), "invalid_reply", "{text}: {e}");
        }
        let e = invoice_from_reply(
            &req,
            parse_reply("make_invoice", r#"{"error":{"code":"RESTRICTED","message":"no make_invoice"}}"#).unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), "rejected");
        assert!(e.to_string().contains("RESTRICTED"), "{e}");
    }

    #[test]
    fn request_contents() {
        let req = InvoiceRequest { amount_msat: 21_000, memo: "a \"memo\"".into(), expiry_secs: 600 };
        let v: Value = serde_json::from_str(&request_content("make_invoice", make_invoice_params(&req))).unwrap();
        assert_eq!(v["method"], "make_invoice");
        assert_eq!(v["params"]["amount"], 21_000);
        assert_eq!(v["params"]["description"], "a \"memo\"");
        assert_eq!(v["params"]["expiry"], 600);
        let v: Value = serde_json::from_str(&request_content("lookup_invoice", lookup_invoice_params(&[0xab; 32]))).unwrap();
        assert_eq!(v["params"]["payment_hash"], "ab".repeat(32));
    }
}
