//! A small JSON-RPC 2.0 client for lightningd's unix socket (`<lightning-dir>/<network>/
//! lightning-rpc`, CLN `doc/developers-guide`, "JSON-RPC").
//!
//! lightningd answers the requests of one connection in order, and cln-rpc allows one in
//! flight per connection; this client keeps a small pool of connections, each used by
//! one call at a time. Connections open lazily on the first call that needs one, and a
//! connection is dropped after any error, timeout or cancellation (it is taken out of its
//! slot for the duration of a call and put back only after a clean reply).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use l402_backend::BackendError;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::Mutex;

use crate::framing::{read_json, FrameError, DEFAULT_MAX_REPLY_BYTES};

/// Default number of pooled connections.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Longest part of a node's error message kept in [`RpcError::Rpc`], in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// Why a call failed, before it is classified as a [`BackendError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// No connection or the connection failed: the node is down or restarting.
    Unavailable(String),
    /// The reply is not a JSON-RPC reply to this request.
    InvalidReply(String),
    /// lightningd answered with a JSON-RPC error object (`code`, sanitized `message`).
    Rpc {
        /// CLN's error code (`common/jsonrpc_errors.h`, e.g. 900 for a duplicate label).
        code: i64,
        /// The error message, control characters removed and truncated.
        message: String,
    },
}

impl RpcError {
    /// The [`BackendError`] this failure means for `backend`: unavailable, invalid
    /// reply, or rejected (with CLN's code).
    pub fn into_backend_error(self, backend: &'static str) -> BackendError {
        match self {
            RpcError::Unavailable(cause) => BackendError::Unavailable { backend, cause },
            RpcError::InvalidReply(cause) => BackendError::InvalidReply { backend, cause },
            RpcError::Rpc { code, message } => BackendError::Rejected {
                backend,
                cause: format!("CLN error {code}: {message}"),
            },
        }
    }
}

/// Keeps printable characters of a node's error message, at most [`MAX_MESSAGE_CHARS`].
fn sanitize(message: &str) -> String {
    let mut out: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out
}

/// JSON-RPC 2.0 client over lightningd's unix socket, safe to share between tasks.
pub struct RpcClient {
    path: PathBuf,
    slots: Vec<Mutex<Option<UnixStream>>>,
    next_slot: AtomicUsize,
    next_id: AtomicU64,
    max_reply_bytes: usize,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("path", &self.path)
            .field("pool_size", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client for the socket at `path` with `pool_size` connections (at least one).
    /// Opens nothing: connections are made by the first calls.
    pub fn new(path: impl Into<PathBuf>, pool_size: usize) -> RpcClient {
        RpcClient {
            path: path.into(),
            slots: (0..pool_size.max(1)).map(|_| Mutex::new(None)).collect(),
            next_slot: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }

    /// Sets the largest reply accepted, in bytes (default 1 MiB).
    pub fn with_max_reply_bytes(mut self, max: usize) -> RpcClient {
        self.max_reply_bytes = max;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `method` with named `params` and returns the `result` member of the reply.
    ///
    /// Not bounded in time by itself: callers wrap it in [`l402_backend::with_timeout`]
    /// (a cancelled call drops its connection).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let bytes = serde_json::to_vec(&request)
            .map_err(|e| RpcError::InvalidReply(format!("cannot encode request: {e}")))?;

        let start = self.next_slot.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut guard = None;
        for i in 0..self.slots.len() {
            if let Some(slot) = self.slots.get((start + i) % self.slots.len()) {
                if let Ok(g) = slot.try_lock() {
                    guard = Some(g);
                    break;
                }
            }
        }
        let mut guard = match guard {
            Some(g) => g,
            None => match self.slots.get(start) {
                Some(slot) => slot.lock().await,
                None => return Err(RpcError::Unavailable("empty connection pool".to_owned())),
            },
        };

        // A pooled connection may have been closed by the node since its last use
        // (restart): if it fails before any reply byte, retry once on a fresh one.
        if let Some(conn) = guard.take() {
            if let Ok((value, conn)) = self.exchange(conn, &bytes, id).await {
                *guard = conn;
                return value;
            }
        }
        let conn = self.connect().await?;
        match self.exchange(conn, &bytes, id).await {
            Ok((value, conn)) => {
                *guard = conn;
                value
            }
            Err(Stale) => Err(RpcError::Unavailable(
                "connection closed before the reply".to_owned(),
            )),
        }
    }

    async fn connect(&self) -> Result<UnixStream, RpcError> {
        UnixStream::connect(&self.path).await.map_err(|e| {
            let what = match e.kind() {
                ErrorKind::NotFound => "no socket".to_owned(),
                ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                ErrorKind::PermissionDenied => "permission denied".to_owned(),
                other => format!("cannot connect ({other})"),
            };
            RpcError::Unavailable(format!("{what} at {}", self.path.display()))
        })
    }

    /// Sends one request and reads its reply. `Err(Stale)` means the connection failed
    /// before any byte of a reply arrived. On success, also returns the connection if it
    /// may be reused.
    async fn exchange(
        &self,
        mut conn: UnixStream,
        request: &[u8],
        id: u64,
    ) -> Result<(Result<Value, RpcError>, Option<UnixStream>), Stale> {
        if conn.write_all(request).await.is_err() {
            return Err(Stale);
        }
        match read_json(&mut conn, self.max_reply_bytes).await {
            Err(FrameError::Io {
                got_bytes: false, ..
            }) => Err(Stale),
            Err(FrameError::Io { cause, .. }) => Ok((Err(RpcError::Unavailable(cause)), None)),
            Err(FrameError::Invalid(cause)) => Ok((Err(RpcError::InvalidReply(cause)), None)),
            Ok((reply, trailing)) => {
                let result = interpret(reply, id);
                // Reuse only a connection in step: no extra bytes, a reply to this id.
                let reusable = !trailing && !matches!(result, Err(RpcError::InvalidReply(_)));
                Ok((result, reusable.then_some(conn)))
            }
        }
    }
}

/// The connection failed before any reply byte arrived.
struct Stale;

/// Checks the JSON-RPC 2.0 envelope and extracts `result` or the `error` object.
fn interpret(reply: Value, id: u64) -> Result<Value, RpcError> {
    let Value::Object(mut reply) = reply else {
        return Err(RpcError::InvalidReply(
            "reply is not a JSON object".to_owned(),
        ));
    };
    if reply.get("id").and_then(Value::as_u64) != Some(id) {
        return Err(RpcError::InvalidReply(
            "reply id does not match the request".to_owned(),
        ));
    }
    if let Some(error) = reply.remove("error") {
        let code = error.get("code").and_then(Value::as_i64);
        let message = error.get("message").and_then(Value::as_str);
        return match (code, message) {
            (Some(code), Some(message)) => Err(RpcError::Rpc {
                code,
                message: sanitize(message),
            }),
            _ => Err(RpcError::InvalidReply(
                "error object without code and message".to_owned(),
            )),
        };
    }
    reply
        .remove("result")
        .ok_or_else(|| RpcError::InvalidReply("reply has neither result nor error".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope() {
        assert_eq!(
            interpret(json!({"jsonrpc":"2.0","id":3,"result":{"a":1}}), 3),
            Ok(json!({"a":1}))
        );
        assert!(matches!(
            interpret(json!({"id":4,"result":{}}), 3),
            Err(RpcError::InvalidReply(_))
        ));
        assert!(matches!(
            interpret(json!([1]), 3),
            Err(RpcError::InvalidReply(_))
        ));
        assert!(matches!(
            interpret(json!({"id":3}), 3),
            Err(RpcError::InvalidReply(_))
        ));
        assert_eq!(
            interpret(
                json!({"id":3,"error":{"code":900,"message":"Duplicate\nlabel"}}),
                3
            ),
            Err(RpcError::Rpc {
                code: 900,
                message: "Duplicate label".to_owned()
            })
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let m = sanitize(&"x".repeat(1000));
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert!(m.ends_with('…'));
    }

    #[test]
    fn classification() {
        let e = RpcError::Rpc {
            code: 900,
            message: "Duplicate label".into(),
        }
        .into_backend_error("cln");
        assert_eq!(e.kind(), "rejected");
        assert!(e.to_string().contains("900"));
        assert_eq!(
            RpcError::Unavailable("x".into())
                .into_backend_error("cln")
                .kind(),
            "unavailable"
        );
        assert_eq!(
            RpcError::InvalidReply("x".into())
                .into_backend_error("cln")
                .kind(),
            "invalid_reply"
        );
    }
}
