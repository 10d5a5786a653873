//! Payment detection without a preimage (`l402_auto_detect_payment`): asks the backend
//! whether the invoice of an already verified macaroon is settled. Runs only after the
//! macaroon's signature and caveats verified (`KeyRing::verify_unpaid`), never creates an
//! invoice.

use std::sync::Arc;
use std::time::Duration;

use l402_backend::{with_timeout, Backend};

use super::{collect_failures, failure_warnings, JobOutput};

/// Inputs of a lookup: plain owned data so the future is `Send + 'static`.
pub struct LookupJob {
    pub backend: Arc<dyn Backend>,
    pub payment_hash: [u8; 32],
    pub timeout: Duration,
}

impl LookupJob {
    pub async fn run(self) -> JobOutput {
        let name = self.backend.name();
        let (outcome, failures) = collect_failures(with_timeout(
            name,
            self.timeout,
            self.backend.lookup_invoice(&self.payment_hash.into()),
        ))
        .await;
        let warnings = failure_warnings(failures, outcome.as_ref().err());
        JobOutput::Lookup { outcome, warnings }
    }
}
