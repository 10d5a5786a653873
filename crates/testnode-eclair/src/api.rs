//! Eclair's HTTP API as far as the L402 backend uses it: `POST /createinvoice` and
//! `POST /getreceivedinfo`, form-encoded parameters, HTTP Basic auth (any user, the API
//! password), JSON replies in Eclair's shapes.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use l402_backend::conformance::{GarbageKind, Mode};
use serde_json::{json, Value};

use crate::hex;
use crate::invoices::{now_unix, random32, Entry, DEFAULT_EXPIRY_SECS};
use crate::Inner;

/// Largest request body read, in bytes.
const MAX_BODY: usize = 64 * 1024;

pub type Body = Full<Bytes>;

pub(crate) fn reply(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    resp
}

fn json_reply(status: StatusCode, value: &Value) -> Response<Body> {
    reply(status, "application/json", value.to_string())
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_reply(status, &json!({ "error": message }))
}

fn html_garbage() -> Response<Body> {
    reply(
        StatusCode::OK,
        "text/html",
        "<html><body><h1>It works!</h1></body></html>",
    )
}

/// Basic auth with any user name and the API password (Eclair ignores the user).
fn authorized(req: &Request<Incoming>, password: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    match decoded.iter().position(|&b| b == b':') {
        Some(i) => decoded.get(i + 1..) == Some(password.as_bytes()),
        None => false,
    }
}

/// Reads the form parameters of the body.
async fn form(req: Request<Incoming>) -> Result<Vec<(String, String)>, String> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("cannot read body: {e}"))?
        .to_bytes();
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Eclair's JSON for an invoice (`createinvoice` reply, `invoice` in `getreceivedinfo`).
fn invoice_json(
    e: &Entry,
    node_id: &[u8; 33],
    reported_hash: &[u8; 32],
    serialized: &str,
) -> Value {
    json!({
        "prefix": "lnbcrt",
        "timestamp": e.created_at,
        "nodeId": hex::encode(node_id),
        "serialized": serialized,
        "description": e.description,
        "paymentHash": hex::encode(reported_hash),
        "expiry": e.expiry_secs,
        "minFinalCltvExpiry": 30,
        "amount": e.amount_msat,
        "features": { "activated": {}, "unknown": [] },
        "routingInfo": [],
    })
}

pub(crate) async fn handle(
    inner: Arc<Inner>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let mode = inner.mode();
    if let Mode::Slow(d) = mode {
        tokio::time::sleep(d).await;
    }
    // The body is read before answering, even a 401: closing a connection with unread
    // request bytes makes the kernel send a reset, which a client may see instead of the reply.
    let is_authorized = authorized(&req, &inner.password);
    let is_post = req.method() == Method::POST;
    let path = req.uri().path().to_owned();
    let params = form(req).await;
    if !is_authorized {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        );
        if let Ok(v) = "Basic realm=\"Access to the API\"".parse() {
            resp.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        return Ok(resp);
    }
    if !is_post {
        return Ok(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP method not allowed, supported methods: POST",
        ));
    }
    let params = match params {
        Ok(p) => p,
        Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e)),
    };
    let resp = match path.as_str() {
        "/createinvoice" => create_invoice(&inner, mode, &params),
        "/getreceivedinfo" => get_received_info(&inner, mode, &params),
        _ => error(
            StatusCode::NOT_FOUND,
            "The requested resource could not be found.",
        ),
    };
    Ok(resp)
}

fn create_invoice(inner: &Inner, mode: Mode, params: &[(String, String)]) -> Response<Body> {
    let Some(description) = param(params, "description") else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing description or descriptionHash",
        );
    };
    let amount_msat = match param(params, "amountMsat").map(str::parse::<u64>) {
        Some(Ok(a)) if a > 0 => a,
        Some(Ok(_)) => return error(StatusCode::BAD_REQUEST, "amountMsat must be positive"),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "amountMsat is not a number"),
        None => return error(StatusCode::BAD_REQUEST, "this test node needs amountMsat"),
    };
    let expiry_secs = match param(params, "expireIn").map(str::parse::<u64>) {
        Some(Ok(s)) if s > 0 => s,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "expireIn must be a positive number",
            )
        }
        None => DEFAULT_EXPIRY_SECS,
    };
    if mode == Mode::Garbage(GarbageKind::NotJson) {
        return html_garbage();
    }
    let issued_amount = if mode == Mode::WrongAmount {
        amount_msat.saturating_add(1)
    } else {
        amount_msat
    };
    let mut invoices = inner.invoices();
    let entry = match invoices.issue(issued_amount, description, expiry_secs) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let node_id = invoices.node_id();
    drop(invoices);
    let mut reported_hash = entry.payment_hash;
    let mut serialized = entry.bolt11.clone();
    match mode {
        Mode::Garbage(GarbageKind::WrongHash) => reported_hash = random32().unwrap_or([0; 32]),
        Mode::Garbage(GarbageKind::Unparsable) => {
            let tail = entry
                .bolt11
                .get(entry.bolt11.len() / 2..)
                .unwrap_or_default();
            serialized = format!("lnbcrt1garbage{tail}");
        }
        _ => {}
    }
    json_reply(
        StatusCode::OK,
        &invoice_json(&entry, &node_id, &reported_hash, &serialized),
    )
}

fn get_received_info(inner: &Inner, mode: Mode, params: &[(String, String)]) -> Response<Body> {
    let hash = if let Some(h) = param(params, "paymentHash") {
        match hex::decode32(h) {
            Some(h) => h,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "paymentHash is not 32 bytes of hex",
                )
            }
        }
    } else if let Some(inv) = param(params, "invoice") {
        match inv.parse::<lightning_invoice::Bolt11Invoice>() {
            Ok(i) => {
                use bitcoin::hashes::Hash as _;
                i.payment_hash().to_byte_array()
            }
            Err(_) => return error(StatusCode::BAD_REQUEST, "invoice is not a valid BOLT11"),
        }
    } else {
        return error(StatusCode::BAD_REQUEST, "missing paymentHash or invoice");
    };
    match mode {
        Mode::Garbage(GarbageKind::NotJson) => return html_garbage(),
        Mode::Garbage(GarbageKind::Unparsable) => {
            return json_reply(
                StatusCode::OK,
                &json!({ "status": 42, "paymentPreimage": [1, 2] }),
            )
        }
        _ => {}
    }
    let invoices = inner.invoices();
    let node_id = invoices.node_id();
    let Some(entry) = invoices.get(&hash).cloned() else {
        // Eclair answers an unknown payment hash with 404.
        return reply(StatusCode::NOT_FOUND, "text/plain", "Not found");
    };
    drop(invoices);
    let now = now_unix();
    let status = match entry.received_at {
        Some(at) => json!({
            "type": "received",
            "amount": entry.amount_msat,
            "receivedAt": { "unix": at },
        }),
        None if entry.expired(now) => json!({ "type": "expired" }),
        None => json!({ "type": "pending" }),
    };
    let preimage = if mode == Mode::Garbage(GarbageKind::WrongHash) {
        random32().unwrap_or([0; 32])
    } else {
        entry.preimage
    };
    json_reply(
        StatusCode::OK,
        &json!({
            "invoice": invoice_json(&entry, &node_id, &entry.payment_hash, &entry.bolt11),
            "paymentPreimage": hex::encode(&preimage),
            "paymentType": "Standard",
            "createdAt": { "unix": entry.created_at },
            "status": status,
        }),
    )
}
