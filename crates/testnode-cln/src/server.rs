//! The unix-socket JSON-RPC server: one task accepting, one task per connection answering
//! requests in order, as lightningd does. Replies end with `"\n\n"` like lightningd's.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::methods::{Node, RpcFail};
use crate::mode::{GarbageKind, Mode};

/// Largest request accepted, in bytes.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Size of the `HugeReply` padding: over the 1 MiB the backend accepts.
const HUGE_REPLY_BYTES: usize = 2 * 1024 * 1024 + 17;

/// Binds `path`, replacing a stale socket file.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

/// Accepts connections while the mode is not [`Mode::Down`]; in `Down` the socket file is
/// removed and the listener closed, and it is bound again when the mode changes.
pub async fn accept_loop(
    node: Arc<Node>,
    path: PathBuf,
    mut listener: Option<UnixListener>,
    mut modes: watch::Receiver<Mode>,
) {
    loop {
        let down = *modes.borrow_and_update() == Mode::Down;
        if down {
            drop(listener.take());
            let _ = std::fs::remove_file(&path);
            if modes.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match bind(&path) {
                Ok(l) => l,
                Err(_) => {
                    // Cannot bind (path taken?): retry a little later.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        loop {
            tokio::select! {
                accepted = l.accept() => {
                    if let Ok((stream, _)) = accepted {
                        node.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::spawn(serve_connection(Arc::clone(&node), stream, modes.clone()));
                    }
                }
                changed = modes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *modes.borrow() == Mode::Down {
                        break;
                    }
                }
            }
        }
        // Leaving with the mode Down: the outer loop removes the socket.
        drop(l);
    }
}

/// Reads one JSON request (any framing: a value is parsed as soon as it is complete).
async fn read_request(conn: &mut UnixStream, buf: &mut Vec<u8>) -> io::Result<Option<Value>> {
    let mut chunk = [0u8; 8192];
    loop {
        let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let used = stream.byte_offset();
                buf.drain(..used);
                return Ok(Some(v));
            }
            Some(Err(e)) if !e.is_eof() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request is not JSON",
                ))
            }
            _ => {}
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request too large",
            ));
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// Answers the requests of one connection in order.
async fn serve_connection(node: Arc<Node>, mut conn: UnixStream, modes: watch::Receiver<Mode>) {
    let mut buf = Vec::new();
    while let Ok(Some(request)) = read_request(&mut conn, &mut buf).await {
        let mode = modes.borrow().clone();
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let reply: Vec<u8> = match mode {
            Mode::Down => return,
            Mode::Garbage(GarbageKind::NotJson) => b"this is not JSON {{{\n\n".to_vec(),
            Mode::Garbage(GarbageKind::HugeReply) => {
                let padding = "x".repeat(HUGE_REPLY_BYTES);
                envelope(&id, Ok(json!({ "padding": padding })))
            }
            Mode::Error { code, message } => envelope(&id, Err(RpcFail { code, message })),
            Mode::Slow(delay) => {
                tokio::time::sleep(delay).await;
                envelope(&id, answer(&node, &request, None))
            }
            Mode::Garbage(kind) => envelope(&id, answer(&node, &request, Some(kind))),
            Mode::Normal => envelope(&id, answer(&node, &request, None)),
        };
        if conn.write_all(&reply).await.is_err() {
            return;
        }
    }
}

fn answer(node: &Node, request: &Value, garbage: Option<GarbageKind>) -> Result<Value, RpcFail> {
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or(RpcFail {
            code: -32600,
            message: "Expected string for method".to_owned(),
        })?;
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    node.dispatch(method, &params, garbage)
}

/// A JSON-RPC 2.0 reply followed by lightningd's `"\n\n"`.
fn envelope(id: &Value, result: Result<Value, RpcFail>) -> Vec<u8> {
    let body = match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(RpcFail { code, message }) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    };
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.extend_from_slice(b"\n\n");
    bytes
}
