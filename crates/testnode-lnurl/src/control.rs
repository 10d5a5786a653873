//! The control endpoint (127.0.0.1, plain HTTP, no auth: test-only). Bodies and replies are
//! JSON; errors are 400 (bad request), 404 (unknown path or invoice) or 500 (cannot rebind the
//! LNURL port) with `{"error":"…"}`.
//!
//! | request | body | reply |
//! |---|---|---|
//! | `GET /state` | — | `{"base_url","tls","mode","fault","user_faults","params","counters"}` |
//! | `GET /mode` | — | mode JSON (below) |
//! | `POST /mode` | mode JSON | `{"ok":true}` |
//! | `POST /mode/normal`, `/mode/down`, `/mode/slow?ms=N`, `/mode/garbage/<kind>` | — | `{"ok":true}` |
//! | `GET /fault` | — | `{"fault":<fault JSON>,"user_faults":{"<user>":<fault JSON>}}` |
//! | `POST /fault` | `{"fault":"<name>","on":"<target>","user":"<user>"}` | `{"ok":true}` |
//! | `POST /fault/clear` | — | `{"ok":true}` (global and per-user faults cleared) |
//! | `GET /params`, `POST /params` | `{"min_sendable","max_sendable","comment_allowed"}` (any subset) | the params |
//! | `POST /settle` | `{"payment_hash":"<hex>"}` or `{"invoice":"<bolt11>"}` | `{"preimage":"<hex>"}` |
//! | `POST /settle/<hash or bolt11>` | — | `{"preimage":"<hex>"}` |
//! | `GET /invoices[?user=U]` | — | `[{"user","payment_hash","amount_msat","requested_msat","comment","settled","preimage","pr"}]` |
//! | `GET /counters` | — | `{"connections","tls_handshakes","pay_request","callback","verify"}` |
//! | `POST /counters/reset` | — | `{"ok":true}` |
//! | `POST /reset` | — | `{"ok":true}`: Normal mode, no fault, default params, counters 0 |
//!
//! Mode JSON: `{"mode":"normal"}`, `{"mode":"slow","ms":2000}`, `{"mode":"down"}`,
//! `{"mode":"garbage","kind":"unparsable"|"wrong-hash"|"not-json"}`, `{"mode":"wrong-amount"}`.
//! Fault JSON: `{"fault":"<name>"}`, plus `"on":"all"|"pay-request"|"callback"|"verify"` for
//! the transport faults (`huge-body`, `endless-body`, `slow-drip`, `redirect-other-host`,
//! `redirect-same-host`; `on` defaults to `all`). In `POST /fault`, `user` is optional
//! (absent: the global fault); with a user, `"fault":null` removes that user's own fault.
//! `settled` invoices list their `preimage`, others `null`.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::body::Body;
use crate::{hex, Counters, Fault, GarbageKind, IssuedInvoice, Mode, PayParams, Target, TestNode};

/// Largest control request body, in bytes.
const MAX_BODY: usize = 64 * 1024;

/// The JSON of a mode (see the module documentation).
pub fn mode_json(mode: Mode) -> Value {
    match mode {
        Mode::Normal => json!({ "mode": "normal" }),
        Mode::Slow(d) => json!({ "mode": "slow", "ms": d.as_millis() as u64 }),
        Mode::Down => json!({ "mode": "down" }),
        Mode::Garbage(kind) => json!({ "mode": "garbage", "kind": garbage_name(kind) }),
        Mode::WrongAmount => json!({ "mode": "wrong-amount" }),
    }
}

fn garbage_name(kind: GarbageKind) -> &'static str {
    match kind {
        GarbageKind::Unparsable => "unparsable",
        GarbageKind::WrongHash => "wrong-hash",
        GarbageKind::NotJson => "not-json",
    }
}

/// Parses a garbage kind (`-` or `_` between words); `wrong-amount` gives [`Mode::WrongAmount`].
pub fn parse_garbage(kind: &str) -> Option<Mode> {
    match kind.replace('_', "-").as_str() {
        "unparsable" => Some(Mode::Garbage(GarbageKind::Unparsable)),
        "wrong-hash" => Some(Mode::Garbage(GarbageKind::WrongHash)),
        "not-json" | "non-json" => Some(Mode::Garbage(GarbageKind::NotJson)),
        "wrong-amount" => Some(Mode::WrongAmount),
        _ => None,
    }
}

/// Parses mode JSON.
pub fn parse_mode(v: &Value) -> Result<Mode, String> {
    let name = v["mode"].as_str().ok_or("expected {\"mode\":\"…\"}")?;
    match name.replace('_', "-").as_str() {
        "normal" => Ok(Mode::Normal),
        "down" => Ok(Mode::Down),
        "wrong-amount" => Ok(Mode::WrongAmount),
        "slow" => v["ms"]
            .as_u64()
            .map(|ms| Mode::Slow(Duration::from_millis(ms)))
            .ok_or_else(|| "slow needs \"ms\": <milliseconds>".to_owned()),
        "garbage" => v["kind"]
            .as_str()
            .and_then(parse_garbage)
            .ok_or_else(|| "garbage needs \"kind\": unparsable, wrong-hash or not-json".to_owned()),
        other => Err(format!(
            "unknown mode {other:?}: normal, slow, down, garbage, wrong-amount"
        )),
    }
}

/// The JSON of a fault (see the module documentation).
pub fn fault_json(fault: Fault) -> Value {
    match fault.target() {
        Some(t) => json!({ "fault": fault.name(), "on": t.name() }),
        None => json!({ "fault": fault.name() }),
    }
}

/// Parses fault JSON (`fault`, optional `on`).
pub fn parse_fault(v: &Value) -> Result<Fault, String> {
    let target = match v.get("on").and_then(Value::as_str) {
        None => Target::All,
        Some(t) => Target::parse(t)
            .ok_or_else(|| format!("unknown target {t:?}: all, pay-request, callback, verify"))?,
    };
    let name = v["fault"].as_str().ok_or("expected {\"fault\":\"…\"}")?;
    Fault::parse(name, target)
        .ok_or_else(|| format!("unknown fault {name:?}: {}", Fault::NAMES.join(", ")))
}

fn params_json(p: PayParams) -> Value {
    json!({
        "min_sendable": p.min_sendable,
        "max_sendable": p.max_sendable,
        "comment_allowed": p.comment_allowed,
    })
}

fn counters_json(c: Counters) -> Value {
    json!({
        "connections": c.connections,
        "tls_handshakes": c.tls_handshakes,
        "pay_request": c.pay_request,
        "callback": c.callback,
        "verify": c.verify,
    })
}

fn invoice_json(i: &IssuedInvoice) -> Value {
    json!({
        "user": i.user,
        "payment_hash": hex::encode(&i.payment_hash),
        "amount_msat": i.amount_msat,
        "requested_msat": i.requested_msat,
        "comment": i.comment,
        "settled": i.settled,
        "preimage": if i.settled { Value::String(hex::encode(&i.preimage)) } else { Value::Null },
        "pr": i.bolt11,
    })
}

fn user_faults_json(node: &TestNode) -> Value {
    let map: Map<String, Value> = node
        .user_faults()
        .into_iter()
        .map(|(u, f)| (u, fault_json(f)))
        .collect();
    Value::Object(map)
}

fn reply(status: StatusCode, v: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::full(format!("{v}\n")));
    *resp.status_mut() = status;
    if let Ok(ct) = "application/json".parse() {
        resp.headers_mut().insert(CONTENT_TYPE, ct);
    }
    resp
}

fn ok() -> Response<Body> {
    reply(StatusCode::OK, &json!({ "ok": true }))
}

fn fail(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    reply(status, &json!({ "error": message.into() }))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn switch_mode(node: &TestNode, mode: Mode) -> Response<Body> {
    match node.set_mode(mode).await {
        Ok(()) => ok(),
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot rebind: {e}"),
        ),
    }
}

fn settle(node: &TestNode, target: &str) -> Response<Body> {
    match node.settle(target) {
        Ok(p) => reply(StatusCode::OK, &json!({ "preimage": hex::encode(&p) })),
        Err(e) => fail(StatusCode::NOT_FOUND, e),
    }
}

fn set_fault(node: &TestNode, body: &Value) -> Result<(), String> {
    let user = body.get("user").and_then(Value::as_str);
    match (user, body.get("fault")) {
        (Some(u), Some(Value::Null)) => node.set_user_fault(u, None),
        (Some(u), _) => node.set_user_fault(u, Some(parse_fault(body)?)),
        (None, _) => node.set_fault(parse_fault(body)?),
    }
    Ok(())
}

fn set_params(node: &TestNode, body: &Value) -> Result<PayParams, String> {
    let mut p = node.params();
    for (name, field) in [
        ("min_sendable", &mut p.min_sendable),
        ("max_sendable", &mut p.max_sendable),
        ("comment_allowed", &mut p.comment_allowed),
    ] {
        match body.get(name) {
            None => {}
            Some(v) => {
                *field = v
                    .as_u64()
                    .ok_or_else(|| format!("{name} must be a number"))?
            }
        }
    }
    node.set_params(p);
    Ok(p)
}

async fn handle(node: TestNode, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let query = req.uri().query().map(str::to_owned);
    let method = req.method().clone();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(fail(
                StatusCode::BAD_REQUEST,
                format!("cannot read body: {e}"),
            ))
        }
    };
    let json_body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(fail(
                    StatusCode::BAD_REQUEST,
                    format!("body is not JSON: {e}"),
                ))
            }
        }
    };
    let bad = |e: String| fail(StatusCode::BAD_REQUEST, e);
    let resp = match (&method, path.as_str()) {
        (&Method::GET, "/state") => reply(
            StatusCode::OK,
            &json!({
                "base_url": node.base_url(),
                "tls": node.is_tls(),
                "mode": mode_json(node.mode()),
                "fault": fault_json(node.fault()),
                "user_faults": user_faults_json(&node),
                "params": params_json(node.params()),
                "counters": counters_json(node.counters()),
            }),
        ),
        (&Method::GET, "/mode") => reply(StatusCode::OK, &mode_json(node.mode())),
        (&Method::POST, "/mode") => match parse_mode(&json_body) {
            Ok(m) => switch_mode(&node, m).await,
            Err(e) => bad(e),
        },
        (&Method::POST, "/mode/normal") => switch_mode(&node, Mode::Normal).await,
        (&Method::POST, "/mode/down") => switch_mode(&node, Mode::Down).await,
        (&Method::POST, "/mode/wrong-amount") => switch_mode(&node, Mode::WrongAmount).await,
        (&Method::POST, "/mode/slow") => {
            match query_param(query.as_deref(), "ms").map(|ms| ms.parse::<u64>()) {
                Some(Ok(ms)) => switch_mode(&node, Mode::Slow(Duration::from_millis(ms))).await,
                _ => bad("expected ?ms=<milliseconds>".to_owned()),
            }
        }
        (&Method::GET, "/fault") => reply(
            StatusCode::OK,
            &json!({ "fault": fault_json(node.fault()), "user_faults": user_faults_json(&node) }),
        ),
        (&Method::POST, "/fault") => match set_fault(&node, &json_body) {
            Ok(()) => ok(),
            Err(e) => bad(e),
        },
        (&Method::POST, "/fault/clear") => {
            node.clear_faults();
            ok()
        }
        (&Method::GET, "/params") => reply(StatusCode::OK, &params_json(node.params())),
        (&Method::POST, "/params") => match set_params(&node, &json_body) {
            Ok(p) => reply(StatusCode::OK, &params_json(p)),
            Err(e) => bad(e),
        },
        (&Method::POST, "/settle") => {
            match json_body["payment_hash"]
                .as_str()
                .or_else(|| json_body["invoice"].as_str())
            {
                Some(target) => settle(&node, target),
                None => bad("expected {\"payment_hash\":…} or {\"invoice\":…}".to_owned()),
            }
        }
        (&Method::GET, "/invoices") => {
            let user = query_param(query.as_deref(), "user");
            let list: Vec<Value> = node
                .invoices(user.as_deref())
                .iter()
                .map(invoice_json)
                .collect();
            reply(StatusCode::OK, &Value::Array(list))
        }
        (&Method::GET, "/counters") => reply(StatusCode::OK, &counters_json(node.counters())),
        (&Method::POST, "/counters/reset") => {
            node.reset_counters();
            ok()
        }
        (&Method::POST, "/reset") => match node.reset().await {
            Ok(()) => ok(),
            Err(e) => fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot rebind: {e}"),
            ),
        },
        (&Method::POST, p) if p.starts_with("/settle/") => {
            settle(&node, p.trim_start_matches("/settle/"))
        }
        (&Method::POST, p) if p.starts_with("/mode/garbage/") => {
            match parse_garbage(p.trim_start_matches("/mode/garbage/")) {
                Some(m) => switch_mode(&node, m).await,
                None => {
                    bad("garbage kinds: unparsable, wrong-hash, wrong-amount, not-json".to_owned())
                }
            }
        }
        _ => fail(
            StatusCode::NOT_FOUND,
            format!("unknown control request {method} {path}"),
        ),
    };
    Ok(resp)
}

/// Serves the control endpoint for `node` on 127.0.0.1:`port` (0: a free port).
pub async fn serve(node: TestNode, port: u16) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let node = node.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(node.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, task))
}
