//! An invoice for a challenge, made off the main thread. The macaroon is minted on it by the
//! decision (`l402_gate::method::l402::offer`) when the result is back.

use std::sync::Arc;
use std::time::Duration;

use l402_backend::{normalize_invoice_text, with_timeout, Backend, BackendError, InvoiceRequest};
use l402_gate::{Cause, Failure, Invoiced, IoResult};

use super::{collect_failures, failure_warnings, Done};

/// Inputs of an invoice: plain owned data so the future is `Send + 'static`.
pub struct InvoiceJob {
    pub backend: Arc<dyn Backend>,
    /// The LNURL payee the invoice is asked of, if any (named in a timeout's log line).
    pub payee: Option<Arc<str>>,
    pub request: InvoiceRequest,
    pub timeout: Duration,
}

impl InvoiceJob {
    pub async fn run(self) -> Done {
        let started = std::time::Instant::now();
        let (outcome, failures) = collect_failures(self.make()).await;
        crate::metrics::count::invoice(self.backend.name(), started.elapsed(), outcome.as_ref().err());
        let warnings = failure_warnings(failures, outcome.as_ref().err());
        let result = outcome.map_err(|e| Failure {
            cause: Cause::Backend,
            retry_after: e.retry_after(),
            log: format!("l402: cannot create an invoice: {e}{}", super::from_payee(&e, self.payee.as_deref())),
        });
        (IoResult::Invoice(result), warnings)
    }

    async fn make(&self) -> Result<Invoiced, BackendError> {
        let name = self.backend.name();
        let invoice = with_timeout(name, self.timeout, self.backend.create_invoice(self.request.clone())).await?;
        // Only the normalised invoice text reaches a header, whatever the node sent.
        let text = normalize_invoice_text(&invoice.text)
            .map_err(|cause| BackendError::InvalidReply { backend: name, cause })?;
        let mut nonce = [0u8; l402_core::terms::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| BackendError::Unavailable {
            backend: name,
            cause: format!("the system random number generator failed: {e}"),
        })?;
        let bolt12 = invoice.kind == l402_backend::InvoiceKind::Bolt12;
        // A backend that cannot find the invoice from its hash alone (an LNURL verify URL)
        // gets its reference back through the token.
        let lookup = (!invoice.lookup.is_hash_only()).then(|| invoice.lookup.extra().to_vec());
        Ok(Invoiced { payment_hash: invoice.payment_hash, text, bolt12, nonce, lookup })
    }
}
