//! Plain-HTTP control API of the test node binary, on 127.0.0.1 only:
//!
//! | request | effect | reply |
//! |---|---|---|
//! | `POST /mode/normal` | answer like LND | `ok` |
//! | `POST /mode/slow?ms=N` | wait N ms before every answer | `ok` |
//! | `POST /mode/wrong-hash`, `/mode/garbage`, `/mode/wrong-amount`, `/mode/wrong-preimage` | bad replies ([`crate::Mode`]) | `ok` |
//! | `POST /mode/down` | close the gRPC listener, drop connections | `ok` |
//! | `GET /mode` | | the mode |
//! | `POST /settle/<bolt11 or hash hex>` | mark paid | preimage hex |
//! | `POST /cancel/<bolt11 or hash hex>` | cancel | `ok` |
//! | `GET /info` | | `grpc`, `cert`, `macaroon`, `node_id`, `invoices` lines |
//!
//! Errors are 400 (bad request) or 404 (unknown invoice or path), with a one-line text.

use std::convert::Infallible;
use std::sync::Weak;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::{Mode, TestNode};

/// Serves the control API until the node is dropped.
pub(crate) async fn run(listener: TcpListener, node: Weak<TestNode>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let node = node.clone();
                async move { Ok::<_, Infallible>(handle(&req, &node)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text + "\n")));
    *response.status_mut() = status;
    response
}

/// The value of `name` in a query string.
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn handle(req: &Request<Incoming>, node: &Weak<TestNode>) -> Response<Full<Bytes>> {
    let Some(node) = node.upgrade() else {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "node stopped".to_owned());
    };
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let ok = || reply(StatusCode::OK, "ok".to_owned());
    match (req.method(), path) {
        (&Method::GET, "/mode") => reply(StatusCode::OK, node.mode().to_string()),
        (&Method::GET, "/info") => reply(
            StatusCode::OK,
            format!(
                "grpc {}\ncert {}\nmacaroon {}\nnode_id {}\ninvoices {}",
                node.address(),
                node.cert_path().display(),
                node.macaroon_path().display(),
                node.node_id(),
                node.invoice_count()
            ),
        ),
        (&Method::POST, p) if p.starts_with("/mode/") => {
            let ms = match query_value(query, "ms").map(str::parse::<u64>) {
                None => None,
                Some(Ok(ms)) => Some(ms),
                Some(Err(_)) => return reply(StatusCode::BAD_REQUEST, "bad ms".to_owned()),
            };
            match Mode::parse(&p["/mode/".len()..], ms) {
                Ok(mode) => {
                    node.set_mode(mode);
                    ok()
                }
                Err(e) => reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::POST, p) if p.starts_with("/settle/") => {
            match node.settle(&p["/settle/".len()..]) {
                Ok(preimage) => reply(StatusCode::OK, hex::encode(preimage)),
                Err(e) => reply(StatusCode::NOT_FOUND, e),
            }
        }
        (&Method::POST, p) if p.starts_with("/cancel/") => {
            match node.cancel(&p["/cancel/".len()..]) {
                Ok(()) => ok(),
                Err(e) => reply(StatusCode::NOT_FOUND, e),
            }
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            format!("no such control: {} {path}", req.method()),
        ),
    }
}
