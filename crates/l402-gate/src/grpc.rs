//! How a verdict reads to a gRPC client (`Content-Type: application/grpc*`). gRPC over HTTP/2
//! carries its status in `grpc-status` / `grpc-message` with HTTP 200 ("Trailers-Only" response,
//! gRPC's PROTOCOL-HTTP2 document); an L402 challenge is given the way Aperture gives it: status
//! 13 with the `WWW-Authenticate` lines, which Aperture's client reads from the trailers.

use crate::Verdict;

/// gRPC status codes (gRPC's `statuscodes` document).
pub const INTERNAL: u32 = 13;
pub const UNAVAILABLE: u32 = 14;
pub const RESOURCE_EXHAUSTED: u32 = 8;
pub const INVALID_ARGUMENT: u32 = 3;

/// The `grpc-status` and `grpc-message` of a verdict that does not admit; `None` for one that
/// lets the request through (or was already answered).
pub fn status_of(verdict: &Verdict) -> Option<(u32, &'static str)> {
    Some(match verdict {
        Verdict::Admitted(_) | Verdict::AlreadyChallenged | Verdict::Preflight { .. } | Verdict::Session(_) => {
            return None
        }
        Verdict::Challenge(_) => (INTERNAL, "payment required"),
        Verdict::Pending { .. } => (INTERNAL, "payment required: payment not received yet"),
        Verdict::RateLimited { .. } => (RESOURCE_EXHAUSTED, "too many invoice requests"),
        Verdict::Unavailable { cause, .. } => (UNAVAILABLE, cause.text()),
        Verdict::Internal => (INTERNAL, "internal error"),
        Verdict::PaymentRejected { reason, .. } => (INVALID_ARGUMENT, reason.text()),
    })
}

/// Whether a `Content-Type` is gRPC's (`application/grpc`, `application/grpc+proto`, …).
pub fn is_grpc(content_type: &[u8]) -> bool {
    let prefix = b"application/grpc";
    content_type.len() >= prefix.len()
        && content_type[..prefix.len()].eq_ignore_ascii_case(prefix)
        && matches!(content_type.get(prefix.len()), None | Some(b'+' | b';'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cause, Challenge};
    use std::time::Duration;

    #[test]
    fn grpc_content_types() {
        assert!(is_grpc(b"application/grpc"));
        assert!(is_grpc(b"application/grpc+proto"));
        assert!(is_grpc(b"Application/GRPC; charset=x"));
        assert!(!is_grpc(b"application/grpc-web"));
        assert!(!is_grpc(b"application/grpcx"));
        assert!(!is_grpc(b"application/json"));
        assert!(!is_grpc(b""));
    }

    #[test]
    fn statuses() {
        let c = Challenge { reason: None, offers: Vec::new(), amount_msat: 1, token_id: None, payment_hash: None };
        assert_eq!(status_of(&Verdict::Challenge(c)), Some((INTERNAL, "payment required")));
        let u = Verdict::Unavailable { cause: Cause::Backend, retry_after: Duration::from_secs(1) };
        assert_eq!(status_of(&u).map(|s| s.0), Some(UNAVAILABLE));
        assert_eq!(status_of(&Verdict::RateLimited { retry_after: Duration::from_secs(1) }).map(|s| s.0), Some(RESOURCE_EXHAUSTED));
        assert_eq!(status_of(&Verdict::AlreadyChallenged), None);
    }
}
