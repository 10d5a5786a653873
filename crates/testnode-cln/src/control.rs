//! A tiny plain-HTTP control endpoint for the binary (tests in Rust use
//! [`crate::NodeHandle`] directly):
//!
//! - `POST /mode/normal`, `POST /mode/slow?ms=N`, `POST /mode/garbage/<kind>`,
//!   `POST /mode/down`, `POST /mode/error?code=N` -> `200 ok`;
//! - `POST /settle/<bolt11, lni1 or payment hash hex>` -> `200 <preimage hex>`, `404` if
//!   unknown or expired;
//! - `GET /offer` -> the node's offer; `GET /info` -> node id and socket path.
//!
//! One request per connection (`Connection: close`); no request body is read.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::keys::hex;
use crate::mode::{GarbageKind, Mode};
use crate::NodeHandle;

/// Largest request head read, in bytes.
const MAX_HEAD: usize = 16 * 1024;

/// Serves the control endpoint on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, node: NodeHandle) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            let node = node.clone();
            tokio::spawn(async move {
                let _ = handle(stream, node).await;
            });
        }
    }
}

async fn handle(mut stream: TcpStream, node: NodeHandle) -> io::Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || head.len() > MAX_HEAD {
            break;
        }
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&head);
    let first = text.lines().next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let (status, body) = route(method, target, &node);
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Maps a request to `(status, body)`.
pub fn route(method: &str, target: &str, node: &NodeHandle) -> (u16, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let ok = || (200, "ok\n".to_owned());
    match (method, path) {
        ("GET", "/offer") => (200, format!("{}\n", node.offer())),
        ("GET", "/info") => (
            200,
            format!(
                "node_id {}\nsocket {}\nmode {:?}\ninvoices {}\n",
                hex(&node.node_id()),
                node.socket_path().display(),
                node.mode(),
                node.invoice_count()
            ),
        ),
        ("POST", "/mode/normal") => {
            node.set_mode(Mode::Normal);
            ok()
        }
        ("POST", "/mode/down") => {
            node.set_mode(Mode::Down);
            ok()
        }
        ("POST", "/mode/slow") => match query_param(query, "ms").and_then(|v| v.parse().ok()) {
            Some(ms) => {
                node.set_mode(Mode::Slow(Duration::from_millis(ms)));
                ok()
            }
            None => (400, "expected ?ms=<milliseconds>\n".to_owned()),
        },
        ("POST", "/mode/error") => match query_param(query, "code").and_then(|v| v.parse().ok()) {
            Some(code) => {
                node.set_mode(Mode::Error {
                    code,
                    message: "test node error mode".to_owned(),
                });
                ok()
            }
            None => (400, "expected ?code=<integer>\n".to_owned()),
        },
        ("POST", p) if p.starts_with("/mode/garbage/") => {
            match p
                .trim_start_matches("/mode/garbage/")
                .parse::<GarbageKind>()
            {
                Ok(kind) => {
                    node.set_mode(Mode::Garbage(kind));
                    ok()
                }
                Err(e) => (400, format!("{e}\n")),
            }
        }
        ("POST", p) if p.starts_with("/settle/") => {
            match node.settle(p.trim_start_matches("/settle/")) {
                Some(preimage) => (200, format!("{}\n", hex(&preimage))),
                None => (404, "unknown or expired invoice\n".to_owned()),
            }
        }
        ("GET" | "POST", _) => (404, "not found\n".to_owned()),
        _ => (405, "method not allowed\n".to_owned()),
    }
}
