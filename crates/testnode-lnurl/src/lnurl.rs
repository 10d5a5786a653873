//! The LNURL-pay endpoints (LUD-06, LUD-16, LUD-21, LUD-12 comments):
//!
//! | request | reply |
//! |---|---|
//! | `GET /.well-known/lnurlp/<user>` (LUD-16) or `GET /lnurlp/<user>` (LUD-06 URL) | payRequest document |
//! | `GET /lnurlp/<user>/callback?amount=<msat>[&comment=…]` | `{"pr","routes":[],"verify"}` |
//! | `GET /lnurlp/<user>/verify/<payment hash hex>` (LUD-21) | `{"status":"OK","settled","preimage","pr"}` |
//! | `GET /redirected/<any of the above>` | the same, with no [`Fault`] (target of a same-host redirect) |
//!
//! Every user name is known, each with its own invoices, unless a fault says otherwise. Errors
//! are LNURL errors, `200 {"status":"ERROR","reason":…}` (404 for an unknown path).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use l402_backend::conformance::{GarbageKind, Mode};
use lightning_invoice::Currency;
use serde_json::{json, Value};

use crate::body::Body;
use crate::fault::{Endpoint, Fault, HUGE_BODY_PADDING};
use crate::hex;
use crate::invoices::{random32, sha256, Order, INVOICE_EXPIRY_SECS};
use crate::Inner;

/// Largest request body read (LNURL requests are GETs), in bytes.
const MAX_BODY: usize = 16 * 1024;

/// Path prefix a [`Fault::RedirectSameHost`] redirects to.
pub const REDIRECTED_PREFIX: &str = "/redirected";

/// Host of the "other host" faults: loopback, but not where the node listens.
pub const OTHER_HOST: &str = "127.0.0.2";

/// Age and expiry of a [`Fault::ExpiredInvoice`], in seconds.
const EXPIRED_AGE_SECS: u64 = 7200;
const EXPIRED_EXPIRY_SECS: u64 = 60;

/// Amount added to the invoice under [`Mode::WrongAmount`], in msat (one satoshi, so that a
/// client comparing in satoshis sees it too).
const WRONG_AMOUNT_EXTRA_MSAT: u64 = 1000;

fn reply(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    resp
}

/// An LNURL error document (LUD-06).
pub(crate) fn lnurl_error(reason: &str) -> Value {
    json!({ "status": "ERROR", "reason": reason })
}

/// The user's `metadata` string, exactly as served and hashed into the invoices (LUD-06,
/// LUD-16 `text/identifier` is `<user>@127.0.0.1:<port>`).
pub fn metadata(user: &str, authority: &str) -> String {
    json!([
        ["text/plain", format!("Pay to {user} (testnode-lnurl)")],
        ["text/identifier", format!("{user}@{authority}")],
    ])
    .to_string()
}

/// Where a path leads.
struct Route<'a> {
    endpoint: Endpoint,
    user: &'a str,
    hash: Option<&'a str>,
}

fn route(path: &str) -> Option<Route<'_>> {
    let valid = |user: &str| !user.is_empty() && !user.contains('/');
    if let Some(user) = path.strip_prefix("/.well-known/lnurlp/") {
        return valid(user).then_some(Route {
            endpoint: Endpoint::PayRequest,
            user,
            hash: None,
        });
    }
    let rest = path.strip_prefix("/lnurlp/")?;
    let (user, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if !valid(user) {
        return None;
    }
    let (endpoint, hash) = match tail {
        "" => (Endpoint::PayRequest, None),
        "callback" => (Endpoint::Callback, None),
        t => match t.strip_prefix("verify/") {
            Some(h) if !h.is_empty() && !h.contains('/') => (Endpoint::Verify, Some(h)),
            _ => return None,
        },
    };
    Some(Route {
        endpoint,
        user,
        hash,
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
    let method = req.method().clone();
    let full_path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    // Read the (empty) body first: closing a connection with unread request bytes makes the
    // kernel send a reset, which the client may see instead of the reply.
    let _ = Limited::new(req.into_body(), MAX_BODY).collect().await;

    let (redirected, path) = match full_path.strip_prefix(REDIRECTED_PREFIX) {
        Some(p) if p.starts_with('/') => (true, p),
        _ => (false, full_path.as_str()),
    };
    let json_reply =
        |status, v: &Value| reply(status, "application/json", Body::full(v.to_string()));
    let Some(route) = route(path) else {
        return Ok(json_reply(
            StatusCode::NOT_FOUND,
            &lnurl_error("Unknown path"),
        ));
    };
    if method != Method::GET {
        return Ok(json_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            &lnurl_error("Use GET"),
        ));
    }
    inner.count(route.endpoint);
    let fault = if redirected {
        Fault::None
    } else {
        inner.fault_for(route.user)
    };
    let hits = fault.target().is_some_and(|t| t.covers(route.endpoint));

    if hits {
        let location = match fault {
            Fault::RedirectOtherHost(_) => Some(format!("{}{full_path}", inner.other_base_url())),
            Fault::RedirectSameHost(_) => Some(format!(
                "{}{REDIRECTED_PREFIX}{full_path}",
                inner.base_url()
            )),
            _ => None,
        };
        if let Some(mut location) = location {
            if !query.is_empty() {
                location.push('?');
                location.push_str(&query);
            }
            let mut resp = reply(StatusCode::FOUND, "text/plain", Body::full("redirect\n"));
            if let Ok(v) = location.parse() {
                resp.headers_mut().insert(LOCATION, v);
            }
            return Ok(resp);
        }
    }
    if mode == Mode::Garbage(GarbageKind::NotJson) {
        return Ok(reply(
            StatusCode::OK,
            "text/html",
            Body::full("<html><body><h1>It works!</h1></body></html>"),
        ));
    }

    let doc = match route.endpoint {
        Endpoint::PayRequest => pay_request(&inner, route.user, fault),
        Endpoint::Callback => callback(&inner, route.user, &query, mode, fault),
        Endpoint::Verify => verify(&inner, route.user, route.hash.unwrap_or_default(), mode),
    };
    let text = Bytes::from(doc.to_string());
    let body = match fault {
        Fault::HugeBody(_) if hits => {
            let mut padded = vec![b' '; HUGE_BODY_PADDING];
            padded.extend_from_slice(&text);
            Body::full(padded)
        }
        Fault::EndlessBody(_) if hits => Body::endless(),
        Fault::SlowDrip(_) if hits => Body::drip(text),
        _ => Body::full(text),
    };
    Ok(reply(StatusCode::OK, "application/json", body))
}

/// The payRequest document (LUD-06 step 3, LUD-16).
fn pay_request(inner: &Inner, user: &str, fault: Fault) -> Value {
    if fault == Fault::PayRequestError {
        return lnurl_error("Unknown user");
    }
    let params = inner.params();
    let host = if fault == Fault::CallbackOtherHost {
        inner.other_base_url()
    } else {
        inner.base_url()
    };
    json!({
        "tag": "payRequest",
        "callback": format!("{host}/lnurlp/{user}/callback"),
        "minSendable": params.min_sendable,
        "maxSendable": params.max_sendable,
        "metadata": metadata(user, &inner.authority()),
        "commentAllowed": params.comment_allowed,
    })
}

/// The callback (LUD-06 step 5, LUD-12 comment, LUD-21 verify URL).
fn callback(inner: &Inner, user: &str, query: &str, mode: Mode, fault: Fault) -> Value {
    if fault == Fault::CallbackError {
        return lnurl_error("Payee refuses to issue an invoice");
    }
    let mut amount = None;
    let mut comment = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "amount" => amount = Some(v.into_owned()),
            "comment" => comment = Some(v.into_owned()),
            _ => {}
        }
    }
    let Some(Ok(amount)) = amount.map(|a| a.parse::<u64>()) else {
        return lnurl_error("Invalid amount");
    };
    let params = inner.params();
    if amount < params.min_sendable || amount > params.max_sendable {
        return lnurl_error("Amount out of range");
    }
    if let Some(c) = &comment {
        if c.chars().count() as u64 > params.comment_allowed {
            return lnurl_error("Comment too long");
        }
    }
    let mut meta = metadata(user, &inner.authority());
    if fault == Fault::WrongDescriptionHash {
        meta.push(' ');
    }
    let (age_secs, expiry_secs) = if fault == Fault::ExpiredInvoice {
        (EXPIRED_AGE_SECS, EXPIRED_EXPIRY_SECS)
    } else {
        (0, INVOICE_EXPIRY_SECS)
    };
    let order = Order {
        user,
        amount_msat: if mode == Mode::WrongAmount {
            amount.saturating_add(WRONG_AMOUNT_EXTRA_MSAT)
        } else {
            amount
        },
        requested_msat: amount,
        comment,
        description_hash: sha256(meta.as_bytes()),
        currency: if fault == Fault::MainnetInvoice {
            Currency::Bitcoin
        } else {
            Currency::Regtest
        },
        age_secs,
        expiry_secs,
    };
    let issued = match inner.invoices().issue(order) {
        Ok(i) => i,
        Err(e) => return lnurl_error(&e),
    };
    let pr = if mode == Mode::Garbage(GarbageKind::Unparsable) {
        let tail = issued
            .bolt11
            .get(issued.bolt11.len() / 2..)
            .unwrap_or_default();
        format!("lnbcrt1garbage{tail}")
    } else {
        issued.bolt11
    };
    let verify_hash = if mode == Mode::Garbage(GarbageKind::WrongHash) {
        random32().unwrap_or([0; 32])
    } else {
        issued.payment_hash
    };
    let mut doc = json!({ "pr": pr, "routes": [] });
    if fault != Fault::NoVerify {
        let host = if fault == Fault::VerifyOtherHost {
            inner.other_base_url()
        } else {
            inner.base_url()
        };
        doc["verify"] = Value::String(format!(
            "{host}/lnurlp/{user}/verify/{}",
            hex::encode(&verify_hash)
        ));
    }
    doc
}

/// LUD-21 verify.
fn verify(inner: &Inner, user: &str, hash: &str, mode: Mode) -> Value {
    let found = hex::decode32(hash).and_then(|h| inner.invoices().get(&h).cloned());
    let Some(invoice) = found.filter(|i| i.user == user) else {
        return lnurl_error("Not found");
    };
    let preimage = if !invoice.settled {
        Value::Null
    } else if mode == Mode::Garbage(GarbageKind::WrongHash) {
        Value::String(hex::encode(&random32().unwrap_or([0; 32])))
    } else {
        Value::String(hex::encode(&invoice.preimage))
    };
    json!({
        "status": "OK",
        "settled": invoice.settled,
        "preimage": preimage,
        "pr": invoice.bolt11,
    })
}
