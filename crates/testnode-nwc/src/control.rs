//! The control endpoint of the `testnode-nwc` binary (127.0.0.1, no auth: test-only):
//!
//! | request | effect | reply |
//! |---|---|---|
//! | `POST /mode/normal` | answer correctly | `ok` |
//! | `POST /mode/slow?ms=2000` | answer after 2000 ms | `ok` |
//! | `POST /mode/down` (or `/mode/offline`) | close the relay connection, stay offline | `ok` |
//! | `POST /mode/garbage/<kind>` | `unparsable`, `wrong-hash`, `not-json`, `wrong-amount` | `ok` |
//! | `POST /mode/wrong-amount` | invoices for another amount | `ok` |
//! | `POST /mode/wrong-signer` | responses signed by another key | `ok` |
//! | `POST /mode/silent` (or `/mode/no-reply`) | stay connected, never answer | `ok` |
//! | `POST /mode/bad-signature` | responses whose `sig` does not verify | `ok` |
//! | `POST /mode/wrong-request` | responses `e`-tagged with another event id | `ok` |
//! | `POST /mode/undecryptable` | response content that does not decrypt | `ok` |
//! | `POST /mode/no-preimage` | settled lookups without the preimage | `ok` |
//! | `POST /mode/error/<CODE>` | NIP-47 error replies with `CODE` (e.g. `RATE_LIMITED`) | `ok` |
//! | `POST /settle/<bolt11 or payment hash>` | mark the invoice paid | preimage, hex |
//! | `GET /mode` | — | the current mode (`Normal`, `Slow(2s)`, `Error("RATE_LIMITED")`, …) |
//! | `GET /invoices` | — | JSON array of `{invoice, payment_hash, amount, description, state, created_at, expires_at, settled_at, preimage?}` |
//! | `GET /counters` | — | JSON `{connects, requests, make_invoice, lookup_invoice, replies, nip04, nip44, unauthorized}` |
//! | `GET /uri` | — | the connection URI (with the client secret: test-only) |
//!
//! Errors are 400 (bad request), 404 (unknown path or invoice), 405 (wrong method) or 500
//! (the wallet did not reconnect), with a one-line text body.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::invoices::now_unix;
use crate::{hex, Behaviour, GarbageKind, TestWallet};

type Body = Full<Bytes>;

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut body = body.into();
    body.push('\n');
    reply(status, "text/plain", body)
}

fn json(value: Value) -> Response<Body> {
    reply(StatusCode::OK, "application/json", value.to_string())
}

/// Parses a mode path after `/mode/`.
pub fn parse_mode(path: &str, query: Option<&str>) -> Result<Behaviour, String> {
    let ms = || {
        query
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "ms")
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    Ok(match path.replace('_', "-").as_str() {
        "normal" => Behaviour::Normal,
        "down" | "offline" => Behaviour::Offline,
        "slow" => Behaviour::Slow(Duration::from_millis(ms().ok_or("expected ?ms=<milliseconds>")?)),
        "wrong-amount" | "garbage/wrong-amount" => Behaviour::WrongAmount,
        "wrong-signer" => Behaviour::WrongSigner,
        "silent" | "no-reply" => Behaviour::Silent,
        "bad-signature" | "wrong-signature" => Behaviour::BadSignature,
        "wrong-request" => Behaviour::WrongRequest,
        "undecryptable" | "garbage/undecryptable" => Behaviour::Undecryptable,
        "no-preimage" => Behaviour::NoPreimage,
        "garbage/unparsable" => Behaviour::Garbage(GarbageKind::Unparsable),
        "garbage/wrong-hash" => Behaviour::Garbage(GarbageKind::WrongHash),
        "garbage/not-json" | "garbage/non-json" => Behaviour::Garbage(GarbageKind::NotJson),
        other => match other.strip_prefix("error/") {
            Some(code) if !code.is_empty() && code.len() <= 40 => {
                Behaviour::Error(code.replace('-', "_").to_ascii_uppercase())
            }
            _ => return Err(format!("unknown mode {other:?}")),
        },
    })
}

async fn handle(wallet: TestWallet, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let query = req.uri().query().map(str::to_owned);
    let method = req.method().clone();
    // Drain a (small) body so closing the connection never resets it.
    let _ = Limited::new(req.into_body(), 4096).collect().await;
    if method == Method::GET {
        return Ok(match path.as_str() {
            "/mode" => text(StatusCode::OK, format!("{:?}", wallet.behaviour())),
            "/invoices" => {
                let now = now_unix();
                json(Value::Array(wallet.invoices().iter().map(|e| e.to_json(now)).collect()))
            }
            "/counters" => json(wallet.counts().to_json()),
            "/uri" => text(StatusCode::OK, wallet.uri()),
            _ => text(StatusCode::NOT_FOUND, "unknown control path"),
        });
    }
    if method != Method::POST {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST"));
    }
    if let Some(target) = path.strip_prefix("/settle/") {
        return Ok(match wallet.settle(target) {
            Ok(preimage) => text(StatusCode::OK, hex::encode(&preimage)),
            Err(e) => text(StatusCode::NOT_FOUND, e),
        });
    }
    let Some(mode) = path.strip_prefix("/mode/") else {
        return Ok(text(StatusCode::NOT_FOUND, "unknown control path"));
    };
    let behaviour = match parse_mode(mode, query.as_deref()) {
        Ok(b) => b,
        Err(e) => return Ok(text(StatusCode::BAD_REQUEST, e)),
    };
    Ok(match wallet.set_behaviour(behaviour).await {
        Ok(()) => text(StatusCode::OK, "ok"),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
}

/// Serves the control endpoint for `wallet` on 127.0.0.1:`port` (0: a free port).
pub async fn serve(wallet: TestWallet, port: u16) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors, say: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let wallet = wallet.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(wallet.clone(), req));
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok((addr, task))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("normal", None).unwrap(), Behaviour::Normal);
        assert_eq!(parse_mode("down", None).unwrap(), Behaviour::Offline);
        assert_eq!(parse_mode("slow", Some("ms=250")).unwrap(), Behaviour::Slow(Duration::from_millis(250)));
        assert!(parse_mode("slow", None).is_err());
        assert_eq!(parse_mode("garbage/not_json", None).unwrap(), Behaviour::Garbage(GarbageKind::NotJson));
        assert_eq!(parse_mode("error/rate-limited", None).unwrap(), Behaviour::Error("RATE_LIMITED".into()));
        assert_eq!(parse_mode("wrong-signer", None).unwrap(), Behaviour::WrongSigner);
        assert_eq!(parse_mode("no-reply", None).unwrap(), Behaviour::Silent);
        assert_eq!(parse_mode("wrong_signature", None).unwrap(), Behaviour::BadSignature);
        assert_eq!(parse_mode("wrong-request", None).unwrap(), Behaviour::WrongRequest);
        assert_eq!(parse_mode("undecryptable", None).unwrap(), Behaviour::Undecryptable);
        assert_eq!(parse_mode("no-preimage", None).unwrap(), Behaviour::NoPreimage);
        assert!(parse_mode("error/", None).is_err());
        assert!(parse_mode("sideways", None).is_err());
    }
}
