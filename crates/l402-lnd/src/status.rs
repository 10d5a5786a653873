//! gRPC status -> [`BackendError`], by what the caller must do (gRPC status codes,
//! grpc/doc/statuscodes.md; LND returns most of its own refusals as `UNKNOWN` with a text,
//! and `NOT_FOUND` for an unknown invoice since 0.15).

use std::error::Error as _;
use std::time::Duration;

use l402_backend::BackendError;
use tonic::{Code, Status};

use crate::backend::NAME;

/// Classifies a failed call. `macaroon_hex` is removed from the cause, should a server or a
/// proxy echo it. A server-side `DEADLINE_EXCEEDED` is a timeout of `timeout`.
pub(crate) fn classify(status: &Status, macaroon_hex: &[u8], timeout: Duration) -> BackendError {
    let message = scrub(status.message(), macaroon_hex);
    let cause = format!("{:?}: {message}", status.code());
    // A status made by tonic itself from a local failure (connection, HTTP/2, decoding)
    // carries the underlying error as its source; one sent by the server does not.
    let local = status.source().is_some();
    match status.code() {
        Code::Unavailable | Code::Cancelled | Code::Aborted => unavailable(cause),
        Code::DeadlineExceeded => BackendError::Timeout {
            backend: NAME,
            after: timeout,
        },
        Code::Internal | Code::DataLoss | Code::Ok => {
            if message.contains("decode") || status.code() != Code::Internal {
                invalid(cause)
            } else if local {
                unavailable(cause)
            } else {
                invalid(cause)
            }
        }
        Code::Unknown if local => unavailable(cause),
        Code::Unknown
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::AlreadyExists
        | Code::ResourceExhausted
        | Code::NotFound
        | Code::Unimplemented => BackendError::Rejected {
            backend: NAME,
            cause,
        },
    }
}

fn unavailable(cause: String) -> BackendError {
    BackendError::Unavailable {
        backend: NAME,
        cause,
    }
}

fn invalid(cause: String) -> BackendError {
    BackendError::InvalidReply {
        backend: NAME,
        cause,
    }
}

/// `text` with every occurrence of the macaroon's hex (either case) replaced.
pub(crate) fn scrub(text: &str, macaroon_hex: &[u8]) -> String {
    let Ok(lower) = std::str::from_utf8(macaroon_hex) else {
        return text.to_owned();
    };
    if lower.is_empty() {
        return text.to_owned();
    }
    text.replace(lower, "<macaroon>")
        .replace(&lower.to_ascii_uppercase(), "<macaroon>")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let kind = |s: Status| classify(&s, b"0201ab", Duration::from_secs(1)).kind();
        assert_eq!(kind(Status::unavailable("down")), "unavailable");
        assert_eq!(kind(Status::unauthenticated("no macaroon")), "rejected");
        assert_eq!(kind(Status::permission_denied("perm")), "rejected");
        assert_eq!(kind(Status::invalid_argument("bad")), "rejected");
        assert_eq!(kind(Status::unknown("memo too large")), "rejected");
        assert_eq!(
            kind(Status::internal("failed to decode Protobuf message")),
            "invalid_reply"
        );
        assert_eq!(kind(Status::data_loss("x")), "invalid_reply");
        assert_eq!(kind(Status::cancelled("x")), "unavailable");
        assert_eq!(kind(Status::deadline_exceeded("x")), "timeout");
    }

    #[test]
    fn macaroon_is_scrubbed() {
        let s = Status::unauthenticated("bad macaroon 0201AB and 0201ab");
        let e = classify(&s, b"0201ab", Duration::from_secs(1));
        let shown = format!("{e} {e:?}");
        assert!(!shown.to_lowercase().contains("0201ab"), "{shown}");
        assert!(shown.contains("<macaroon>"));
    }
}
