//! Payment requests (NUT-18 "Payment Requests", version `A`), as a 402 carries them in
//! `X-Cashu` (NUT-24 "Server response"): `"creqA" + base64_urlsafe(CBOR(PaymentRequest))`.
//!
//! We build them; the decoder exists for round trips, tests and tools, and is bounded like the
//! token parser.

use crate::cbor::{self, Value};
use crate::token::base64_decode;

const PREFIX: &str = "creqA";
/// Longer request texts are refused by [`decode_request`].
pub const MAX_REQUEST_LEN: usize = 8 * 1024;

/// NUT-18 `NUT10Option`: the locking condition the payee requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nut10Option {
    /// `k`: the NUT-10 kind (`P2PK`).
    pub kind: String,
    /// `d`: the NUT-10 data (for P2PK our public key, compressed hex).
    pub data: String,
    /// `t`: NUT-10 tags.
    pub tags: Vec<Vec<String>>,
}

/// NUT-18 `Transport`. NUT-24 requests have none (in-band: the token comes back in `X-Cashu`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// `t`
    pub kind: String,
    /// `a`
    pub target: String,
    /// `g`
    pub tags: Vec<Vec<String>>,
}

/// NUT-18 `PaymentRequest`, fields in the spec's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentRequest {
    /// `i`
    pub id: Option<String>,
    /// `a`
    pub amount: Option<u64>,
    /// `u` ("MUST be set if `a` is set")
    pub unit: Option<String>,
    /// `s`
    pub single_use: Option<bool>,
    /// `m`
    pub mints: Vec<String>,
    /// `d`
    pub description: Option<String>,
    /// `t`
    pub transports: Vec<Transport>,
    /// `nut10`
    pub nut10: Option<Nut10Option>,
}

impl PaymentRequest {
    /// What a NUT-24 402 asks for: `amount` of `unit` from one of `mints`; with `lock_to`, a
    /// P2PK lock to that key with `SIG_INPUTS` (NUT-11).
    pub fn for_402(amount: u64, unit: &str, mints: &[String], lock_to: Option<&secp256k1::PublicKey>) -> PaymentRequest {
        PaymentRequest {
            amount: Some(amount),
            unit: Some(unit.to_string()),
            mints: mints.to_vec(),
            nut10: lock_to.map(|k| Nut10Option {
                kind: "P2PK".to_string(),
                data: crate::hex::encode(&k.serialize()),
                tags: vec![vec!["sigflag".to_string(), "SIG_INPUTS".to_string()]],
            }),
            ..PaymentRequest::default()
        }
    }

    /// `creqA…`, CBOR keys in the order NUT-18 lists them, absent fields omitted, padded
    /// base64url (as the spec's examples).
    pub fn encode(&self) -> String {
        let mut m = Vec::new();
        if let Some(i) = &self.id {
            m.push((text("i"), text(i)));
        }
        if let Some(a) = self.amount {
            m.push((text("a"), Value::Unsigned(a)));
        }
        if let Some(u) = &self.unit {
            m.push((text("u"), text(u)));
        }
        if let Some(s) = self.single_use {
            m.push((text("s"), Value::Bool(s)));
        }
        if !self.mints.is_empty() {
            m.push((text("m"), Value::Array(self.mints.iter().map(|s| text(s)).collect())));
        }
        if let Some(d) = &self.description {
            m.push((text("d"), text(d)));
        }
        if !self.transports.is_empty() {
            let ts = self
                .transports
                .iter()
                .map(|t| {
                    let mut e = vec![(text("t"), text(&t.kind)), (text("a"), text(&t.target))];
                    if !t.tags.is_empty() {
                        e.push((text("g"), tags(&t.tags)));
                    }
                    Value::Map(e)
                })
                .collect();
            m.push((text("t"), Value::Array(ts)));
        }
        if let Some(n) = &self.nut10 {
            let mut e = vec![(text("k"), text(&n.kind)), (text("d"), text(&n.data))];
            if !n.tags.is_empty() {
                e.push((text("t"), tags(&n.tags)));
            }
            m.push((text("nut10"), Value::Map(e)));
        }
        let mut out = Vec::new();
        cbor::encode(&Value::Map(m), &mut out);
        format!("{PREFIX}{}", crate::token::base64_encode(&out))
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn tags(t: &[Vec<String>]) -> Value {
    Value::Array(t.iter().map(|tag| Value::Array(tag.iter().map(|s| text(s)).collect())).collect())
}

/// Not a `creqA` request we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestError;

/// Decodes `creqA…` (padded or not). Unknown fields are ignored, known ones typed.
pub fn decode_request(s: &str) -> Result<PaymentRequest, RequestError> {
    if s.len() > MAX_REQUEST_LEN {
        return Err(RequestError);
    }
    let body = s.strip_prefix(PREFIX).ok_or(RequestError)?;
    let bytes = base64_decode(body).ok_or(RequestError)?;
    let Value::Map(m) = cbor::decode(&bytes).map_err(|_| RequestError)? else { return Err(RequestError) };
    let get = |k: &str| cbor::field(&m, k).map_err(|_| RequestError);
    let transports = match absent(get("t")?) {
        None => Vec::new(),
        Some(Value::Array(ts)) => ts
            .iter()
            .map(|t| {
                let Value::Map(t) = t else { return Err(RequestError) };
                let get = |k: &str| cbor::field(t, k).map_err(|_| RequestError);
                Ok(Transport {
                    kind: opt_text(get("t")?)?.ok_or(RequestError)?,
                    target: opt_text(get("a")?)?.ok_or(RequestError)?,
                    tags: opt_tags(get("g")?)?,
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(RequestError),
    };
    let nut10 = match absent(get("nut10")?) {
        None => None,
        Some(Value::Map(n)) => {
            let get = |k: &str| cbor::field(n, k).map_err(|_| RequestError);
            Some(Nut10Option {
                kind: opt_text(get("k")?)?.ok_or(RequestError)?,
                data: opt_text(get("d")?)?.ok_or(RequestError)?,
                tags: opt_tags(get("t")?)?,
            })
        }
        Some(_) => return Err(RequestError),
    };
    Ok(PaymentRequest {
        id: opt_text(get("i")?)?,
        amount: match absent(get("a")?) {
            None => None,
            Some(Value::Unsigned(a)) => Some(*a),
            Some(_) => return Err(RequestError),
        },
        unit: opt_text(get("u")?)?,
        single_use: match absent(get("s")?) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(RequestError),
        },
        mints: match absent(get("m")?) {
            None => Vec::new(),
            Some(Value::Array(ms)) => ms.iter().map(|v| opt_text(Some(v))?.ok_or(RequestError)).collect::<Result<_, _>>()?,
            Some(_) => return Err(RequestError),
        },
        description: opt_text(get("d")?)?,
        transports,
        nut10,
    })
}

/// Absent, null and undefined are all "not set" (the spec's own examples write `g: undefined`).
fn absent(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !matches!(v, Value::Null | Value::Other))
}

fn opt_text(v: Option<&Value>) -> Result<Option<String>, RequestError> {
    match absent(v) {
        None => Ok(None),
        Some(Value::Text(t)) => Ok(Some(t.clone())),
        Some(_) => Err(RequestError),
    }
}

fn opt_tags(v: Option<&Value>) -> Result<Vec<Vec<String>>, RequestError> {
    match absent(v) {
        None => Ok(Vec::new()),
        Some(Value::Array(tags)) => tags
            .iter()
            .map(|tag| match tag {
                Value::Array(vs) => vs.iter().map(|s| opt_text(Some(s))?.ok_or(RequestError)).collect(),
                _ => Err(RequestError),
            })
            .collect(),
        Some(_) => Err(RequestError),
    }
}
