//! What went wrong talking to Redis, classified by what the caller must do. Every variant
//! means "answer 503 with `Retry-After`": the paywall never fails open on a store error.

use std::fmt;
use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};

/// Error code our Lua scripts raise when a key holds something they did not write.
pub(crate) const BAD_VALUE_CODE: &str = "L402BADVALUE";

/// A store operation that did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Redis cannot be reached or refuses to serve (connection refused or dropped, loading,
    /// read-only replica, cluster down, authentication failed), or a recent failure has not
    /// yet backed off.
    Unavailable {
        /// What happened, without secrets.
        cause: String,
    },
    /// No answer within the command (or connect) timeout.
    Timeout {
        /// The bound that was exceeded.
        after: Duration,
    },
    /// Redis answered something this store did not write or expect (a non-integer under a
    /// claim key, a wrong type, a script error).
    InvalidReply {
        /// What was wrong, without secrets.
        cause: String,
    },
}

impl StoreError {
    /// How long the client should wait before retrying (`Retry-After` of the 503).
    pub fn retry_after(&self) -> Duration {
        match self {
            StoreError::Unavailable { .. } => Duration::from_secs(2),
            StoreError::Timeout { .. } => Duration::from_secs(1),
            StoreError::InvalidReply { .. } => Duration::from_secs(5),
        }
    }

    /// A short stable name for logs and metrics: `unavailable`, `timeout`, `invalid_reply`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable { .. } => "unavailable",
            StoreError::Timeout { .. } => "timeout",
            StoreError::InvalidReply { .. } => "invalid_reply",
        }
    }

    /// Whether this error says the connection (or the server behind it) is unusable, so the
    /// store backs off and, for Sentinel, finds the master again.
    pub(crate) fn is_connection_failure(&self) -> bool {
        !matches!(self, StoreError::InvalidReply { .. })
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable { cause } => write!(f, "redis unavailable: {cause}"),
            StoreError::Timeout { after } => {
                write!(f, "redis timed out after {} ms", after.as_millis())
            }
            StoreError::InvalidReply { cause } => write!(f, "invalid redis reply: {cause}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Removes every configured password from `text`.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Classifies a redis-rs error. `timeout` is the bound reported if the error is a timeout.
pub(crate) fn classify(e: &RedisError, timeout: Duration, secrets: &[String]) -> StoreError {
    let cause = || scrub(&e.to_string(), secrets);
    if e.code() == Some(BAD_VALUE_CODE) || e.code() == Some("WRONGTYPE") {
        return StoreError::InvalidReply { cause: cause() };
    }
    if e.is_timeout() {
        return StoreError::Timeout { after: timeout };
    }
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
    {
        return StoreError::Unavailable { cause: cause() };
    }
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly
            | ServerErrorKind::Moved
            | ServerErrorKind::Ask
            | ServerErrorKind::NoPerm,
        ) => StoreError::Unavailable { cause: cause() },
        ErrorKind::Server(_) | ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
            StoreError::InvalidReply { cause: cause() }
        }
        ErrorKind::Extension => match e.code() {
            Some("NOAUTH" | "WRONGPASS" | "BUSY" | "NOREPLICAS" | "OOM") => {
                StoreError::Unavailable { cause: cause() }
            }
            _ => StoreError::InvalidReply { cause: cause() },
        },
        _ => StoreError::Unavailable { cause: cause() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_retry() {
        let u = StoreError::Unavailable { cause: "x".into() };
        let t = StoreError::Timeout {
            after: Duration::from_millis(500),
        };
        let i = StoreError::InvalidReply { cause: "y".into() };
        assert_eq!((u.kind(), t.kind(), i.kind()), ("unavailable", "timeout", "invalid_reply"));
        assert!(u.retry_after() >= Duration::from_secs(1));
        assert!(t.retry_after() >= Duration::from_secs(1));
        assert_eq!(t.to_string(), "redis timed out after 500 ms");
        assert!(u.is_connection_failure() && t.is_connection_failure());
        assert!(!i.is_connection_failure());
    }

    #[test]
    fn scrubs_passwords() {
        assert_eq!(
            scrub("auth pw1 failed for pw2", &["pw1".into(), "pw2".into()]),
            "auth *** failed for ***"
        );
    }

    #[test]
    fn classifies() {
        let io: RedisError = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert_eq!(classify(&io, Duration::ZERO, &[]).kind(), "unavailable");
        let to: RedisError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert_eq!(classify(&to, Duration::ZERO, &[]).kind(), "timeout");
    }
}
