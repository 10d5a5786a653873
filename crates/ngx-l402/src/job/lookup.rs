//! Payment detection without a preimage (`l402_auto_detect_payment`): asks the backend
//! whether the invoice of an already verified macaroon is settled. The decision asks only after
//! the macaroon's signature and caveats verified; this never creates an invoice.

use std::sync::Arc;
use std::time::Duration;

use l402_backend::{with_timeout, Backend, LookupRef, Settlement};
use l402_gate::{Cause, Failure, IoResult, Payment};

use super::{collect_failures, failure_warnings, Done};

/// Inputs of a lookup: plain owned data so the future is `Send + 'static`.
pub struct LookupJob {
    pub backend: Arc<dyn Backend>,
    /// The LNURL payee asked, if any (named in a timeout's log line).
    pub payee: Option<Arc<str>>,
    pub lookup: LookupRef,
    pub timeout: Duration,
}

impl LookupJob {
    pub async fn run(self) -> Done {
        let name = self.backend.name();
        let started = std::time::Instant::now();
        let (outcome, failures) = collect_failures(with_timeout(
            name,
            self.timeout,
            self.backend.lookup_invoice(&self.lookup),
        ))
        .await;
        let warnings = failure_warnings(failures, outcome.as_ref().err());
        let seen = match &outcome {
            Ok(Settlement::Settled { .. }) => "settled",
            Ok(Settlement::Open) => "open",
            Ok(_) => "gone",
            Err(_) => "error",
        };
        crate::metrics::count::lookup(name, started.elapsed(), seen);
        let result = match outcome {
            Ok(Settlement::Settled { .. }) => Ok(Payment::Settled),
            Ok(Settlement::Open) => Ok(Payment::Open),
            Ok(Settlement::Expired | Settlement::Canceled | Settlement::Unknown) => Ok(Payment::Gone),
            Err(e) => Err(Failure {
                cause: Cause::Backend,
                retry_after: e.retry_after(),
                log: format!("l402: cannot look up a payment: {e}{}", super::from_payee(&e, self.payee.as_deref())),
            }),
        };
        (IoResult::Lookup(result), warnings)
    }
}
