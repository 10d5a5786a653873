//! The control endpoint of the `testnode-eclair` binary (127.0.0.1, no auth: test-only):
//!
//! | request | effect | reply |
//! |---|---|---|
//! | `POST /mode/normal` | answer correctly | `ok` |
//! | `POST /mode/slow?ms=2000` | answer after 2000 ms | `ok` |
//! | `POST /mode/down` | close the API listener and its connections | `ok` |
//! | `POST /mode/garbage/<kind>` | `unparsable`, `wrong-hash`, `wrong-amount`, `not-json` | `ok` |
//! | `POST /settle/<bolt11 or payment hash>` | mark the invoice received | preimage, hex |
//! | `GET /mode` | — | the current mode |
//!
//! Errors are 400 (bad request), 404 (unknown path or invoice) or 500 (cannot rebind the API
//! port), with a one-line text body.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{reply, Body};
use crate::{hex, GarbageKind, Mode, TestNode};

/// Parses a garbage kind as written in `/mode/garbage/<kind>` (`-` or `_` between words).
pub fn parse_garbage(kind: &str) -> Option<Mode> {
    match kind.replace('_', "-").as_str() {
        "unparsable" => Some(Mode::Garbage(GarbageKind::Unparsable)),
        "wrong-hash" => Some(Mode::Garbage(GarbageKind::WrongHash)),
        "not-json" | "non-json" => Some(Mode::Garbage(GarbageKind::NotJson)),
        "wrong-amount" => Some(Mode::WrongAmount),
        _ => None,
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut body = body.into();
    body.push('\n');
    reply(status, "text/plain", body)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn handle(node: TestNode, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let query = req.uri().query().map(str::to_owned);
    let method = req.method().clone();
    // Drain a (small) body so closing the connection never resets it.
    let _ = Limited::new(req.into_body(), 4096).collect().await;
    if method == Method::GET && path == "/mode" {
        return Ok(text(StatusCode::OK, format!("{:?}", node.mode())));
    }
    if method != Method::POST {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
    }
    if let Some(target) = path.strip_prefix("/settle/") {
        return Ok(match node.settle(target) {
            Ok(preimage) => text(StatusCode::OK, hex::encode(&preimage)),
            Err(e) => text(StatusCode::NOT_FOUND, e),
        });
    }
    let mode = match path.as_str() {
        "/mode/normal" => Mode::Normal,
        "/mode/down" => Mode::Down,
        "/mode/slow" => match query_param(query.as_deref(), "ms").map(str::parse::<u64>) {
            Some(Ok(ms)) => Mode::Slow(Duration::from_millis(ms)),
            _ => return Ok(text(StatusCode::BAD_REQUEST, "expected ?ms=<milliseconds>")),
        },
        other => match other.strip_prefix("/mode/garbage/").map(parse_garbage) {
            Some(Some(mode)) => mode,
            Some(None) => {
                return Ok(text(
                    StatusCode::BAD_REQUEST,
                    "garbage kinds: unparsable, wrong-hash, wrong-amount, not-json",
                ))
            }
            None => return Ok(text(StatusCode::NOT_FOUND, "unknown control path")),
        },
    };
    Ok(match node.set_mode(mode).await {
        Ok(()) => text(StatusCode::OK, "ok"),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot rebind: {e}"),
        ),
    })
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
