//! Backend errors, classified by what the caller must do.
//!
//! Every variant means "no invoice / no answer now": the module answers 503 with the
//! [`BackendError::retry_after`] delay and never grants access on an error.

use std::fmt;
use std::time::Duration;

/// Retry-After for a backend that is down or refused the connection.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);
/// Retry-After for a backend that did not answer in time.
pub const RETRY_AFTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry-After for a reply that failed a check: retrying soon is unlikely to help.
pub const RETRY_AFTER_INVALID_REPLY: Duration = Duration::from_secs(30);
/// Retry-After for a request the backend refused: likely a configuration problem.
pub const RETRY_AFTER_REJECTED: Duration = Duration::from_secs(30);

/// Longest `cause` text that [`fmt::Display`] prints, in bytes.
const MAX_CAUSE_LEN: usize = 256;

/// Errors classified by what the caller must do.
///
/// `cause` texts are written by backend code and must never contain credentials
/// (macaroons, runes, passwords, NWC secrets, preimages). `Display` additionally strips
/// control characters and truncates long causes so a hostile reply cannot forge log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// Backend down, connection refused, TLS failure: 503 + Retry-After.
    Unavailable {
        /// [`crate::Backend::name`] of the failing backend.
        backend: &'static str,
        /// What failed, without credentials.
        cause: String,
    },
    /// No answer within the configured time: 503 + Retry-After.
    Timeout {
        /// [`crate::Backend::name`] of the failing backend.
        backend: &'static str,
        /// The time limit that passed.
        after: Duration,
    },
    /// Garbage, wrong amount, wrong hash, bad signature, wrong preimage: 503, never accepted.
    InvalidReply {
        /// [`crate::Backend::name`] of the failing backend.
        backend: &'static str,
        /// What was wrong with the reply.
        cause: String,
    },
    /// The backend refused the request (amount out of range, memo too long, …): 503.
    Rejected {
        /// [`crate::Backend::name`] of the failing backend.
        backend: &'static str,
        /// Why it was refused.
        cause: String,
    },
}

impl BackendError {
    /// How long a client should wait before retrying (the `Retry-After` header).
    pub fn retry_after(&self) -> Duration {
        match self {
            BackendError::Unavailable { .. } => RETRY_AFTER_UNAVAILABLE,
            BackendError::Timeout { .. } => RETRY_AFTER_TIMEOUT,
            BackendError::InvalidReply { .. } => RETRY_AFTER_INVALID_REPLY,
            BackendError::Rejected { .. } => RETRY_AFTER_REJECTED,
        }
    }

    /// Name of the backend that failed.
    pub fn backend(&self) -> &'static str {
        match self {
            BackendError::Unavailable { backend, .. }
            | BackendError::Timeout { backend, .. }
            | BackendError::InvalidReply { backend, .. }
            | BackendError::Rejected { backend, .. } => backend,
        }
    }

    /// Short class name for metrics and variables: "unavailable", "timeout",
    /// "invalid_reply", "rejected".
    pub fn kind(&self) -> &'static str {
        match self {
            BackendError::Unavailable { .. } => "unavailable",
            BackendError::Timeout { .. } => "timeout",
            BackendError::InvalidReply { .. } => "invalid_reply",
            BackendError::Rejected { .. } => "rejected",
        }
    }
}

/// Writes `cause` with control characters replaced and at most [`MAX_CAUSE_LEN`] bytes.
fn write_cause(f: &mut fmt::Formatter<'_>, cause: &str) -> fmt::Result {
    let mut written = 0;
    for c in cause.chars() {
        if written + c.len_utf8() > MAX_CAUSE_LEN {
            return f.write_str("…");
        }
        written += c.len_utf8();
        if c.is_control() {
            f.write_str(" ")?;
        } else {
            fmt::Write::write_char(f, c)?;
        }
    }
    Ok(())
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unavailable { backend, cause } => {
                write!(f, "{backend}: backend unavailable: ")?;
                write_cause(f, cause)
            }
            BackendError::Timeout { backend, after } => {
                write!(f, "{backend}: no reply within {} ms", after.as_millis())
            }
            BackendError::InvalidReply { backend, cause } => {
                write!(f, "{backend}: invalid reply: ")?;
                write_cause(f, cause)
            }
            BackendError::Rejected { backend, cause } => {
                write!(f, "{backend}: request rejected: ")?;
                write_cause(f, cause)
            }
        }
    }
}

impl std::error::Error for BackendError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_backend_and_class() {
        let e = BackendError::Unavailable {
            backend: "lnd",
            cause: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "lnd: backend unavailable: connection refused"
        );
        assert_eq!(e.backend(), "lnd");
        assert_eq!(e.kind(), "unavailable");
        assert_eq!(e.retry_after(), RETRY_AFTER_UNAVAILABLE);

        let t = BackendError::Timeout {
            backend: "cln",
            after: Duration::from_millis(1500),
        };
        assert_eq!(t.to_string(), "cln: no reply within 1500 ms");
        assert_eq!(t.retry_after(), RETRY_AFTER_TIMEOUT);
        assert_eq!(t.backend(), "cln");
    }

    #[test]
    fn display_strips_control_chars_and_truncates() {
        let e = BackendError::InvalidReply {
            backend: "eclair",
            cause: format!("bad\r\nforged log line{}", "x".repeat(1000)),
        };
        let shown = e.to_string();
        assert!(!shown.contains('\n') && !shown.contains('\r'));
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let e = BackendError::Rejected {
            backend: "x",
            cause: "é".repeat(500),
        };
        assert!(e.to_string().ends_with('…'));
        assert_eq!(e.kind(), "rejected");
        assert_eq!(e.retry_after(), RETRY_AFTER_REJECTED);
    }
}
