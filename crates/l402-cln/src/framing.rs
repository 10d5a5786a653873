//! Reading one JSON-RPC reply from lightningd's socket.
//!
//! lightningd writes each reply as one JSON object followed by `"\n\n"` (CLN
//! `doc/developers-guide`, "JSON-RPC": replies are separated by a blank line; cln-rpc's
//! `JsonCodec` splits on the same marker). A reply is parsed once such a marker arrives
//! (or the peer closes), and a reply larger than the limit is refused.

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Default largest reply accepted, in bytes (1 MiB): an `invoice`, `listinvoices` by
/// payment hash, `fetchinvoice` or `decode` reply is a few KiB.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Why no reply could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The connection failed or closed before a complete reply; `got_bytes` tells whether
    /// any byte of a reply arrived.
    Io {
        /// What failed.
        cause: String,
        /// True if part of a reply arrived before the failure.
        got_bytes: bool,
    },
    /// The bytes are not one JSON value, or there are too many of them.
    Invalid(String),
}

/// Reads one JSON value from `conn`. Returns the value and whether non-whitespace bytes
/// followed it (then the connection is out of step and must not be reused).
pub async fn read_json<R: AsyncRead + Unpin>(
    conn: &mut R,
    max_bytes: usize,
) -> Result<(Value, bool), FrameError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    // Position from which to look for the next "\n\n" marker.
    let mut scanned = 0usize;
    loop {
        let n = conn.read(&mut chunk).await.map_err(|e| FrameError::Io {
            cause: format!("reading the reply failed: {}", e.kind()),
            got_bytes: !buf.is_empty(),
        })?;
        let eof = n == 0;
        if let Some(read) = chunk.get(..n) {
            buf.extend_from_slice(read);
        }
        if buf.len() > max_bytes {
            return Err(FrameError::Invalid(format!(
                "reply larger than {max_bytes} bytes"
            )));
        }
        let marker = buf
            .get(scanned.saturating_sub(1)..)
            .is_some_and(|tail| tail.windows(2).any(|w| w == b"\n\n"));
        scanned = buf.len();
        if marker || eof {
            if let Some(parsed) = try_parse(&buf)? {
                return Ok(parsed);
            }
        }
        if eof {
            return Err(FrameError::Io {
                cause: "connection closed before a complete reply".to_owned(),
                got_bytes: !buf.is_empty(),
            });
        }
    }
}

/// `Ok(None)` if more bytes are needed.
fn try_parse(buf: &[u8]) -> Result<Option<(Value, bool)>, FrameError> {
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    match stream.next() {
        None => Ok(None),
        Some(Err(e)) if e.is_eof() => Ok(None),
        Some(Err(e)) => Err(FrameError::Invalid(format!(
            "reply is not JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))),
        Some(Ok(v)) => {
            let rest = buf.get(stream.byte_offset()..).unwrap_or_default();
            let trailing = rest.iter().any(|b| !b.is_ascii_whitespace());
            Ok(Some((v, trailing)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8], max: usize) -> Result<(Value, bool), FrameError> {
        let mut r = bytes;
        read_json(&mut r, max).await
    }

    #[tokio::test]
    async fn reads_terminated_object() {
        let (v, trailing) = read(b"{\"id\":1,\"result\":{}}\n\n", 1024).await.unwrap();
        assert_eq!(v["id"], 1);
        assert!(!trailing);
    }

    #[tokio::test]
    async fn reads_object_at_eof_and_notes_trailing_bytes() {
        let (_, trailing) = read(b"{\"a\":1}{\"b\":2}", 1024).await.unwrap();
        assert!(trailing);
    }

    #[tokio::test]
    async fn refuses_garbage_and_huge() {
        assert!(matches!(
            read(b"not json\n\n", 1024).await,
            Err(FrameError::Invalid(_))
        ));
        let huge = format!("{{\"x\":\"{}\"}}\n\n", "a".repeat(2000));
        assert!(matches!(
            read(huge.as_bytes(), 1024).await,
            Err(FrameError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn truncated_is_io() {
        assert!(matches!(
            read(b"{\"id\":1,", 1024).await,
            Err(FrameError::Io {
                got_bytes: true,
                ..
            })
        ));
        assert!(matches!(
            read(b"", 1024).await,
            Err(FrameError::Io {
                got_bytes: false,
                ..
            })
        ));
    }
}
