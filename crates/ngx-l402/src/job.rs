//! Work done off the main thread, on the worker's runtime: what a suspended request waits for.

use std::sync::Arc;
use std::time::Duration;

use l402_backend::{with_timeout, Backend, BackendError, InvoiceRequest};
use l402_core::keys::KeyRing;
use l402_core::MintParams;

/// A finished job, handed back to the main thread by the bridge.
pub enum JobOutput {
    Challenge(Result<Challenge, BackendError>),
}

/// Everything a 402 answer needs, computed off the main thread.
pub struct Challenge {
    /// `WWW-Authenticate` values, in order (l402-wire.md §1).
    pub www_authenticate: Vec<String>,
}

/// Inputs of a challenge: plain owned data so the future is `Send + 'static`.
pub struct ChallengeJob {
    pub backend: Arc<dyn Backend>,
    pub keys: Arc<KeyRing>,
    pub service: String,
    pub amount_msat: u64,
    pub invoice_expiry_secs: u32,
    pub valid_until: Option<u64>,
    pub token_id: [u8; 32],
    pub legacy_lsat: bool,
    pub timeout: Duration,
}

impl ChallengeJob {
    /// Creates the invoice, then mints the macaroon bound to its payment hash.
    pub async fn run(self) -> JobOutput {
        let request = InvoiceRequest {
            amount_msat: self.amount_msat,
            memo: format!("L402 access to {}", self.service),
            expiry_secs: self.invoice_expiry_secs,
        };
        let name = self.backend.name();
        let created = with_timeout(name, self.timeout, self.backend.create_invoice(request)).await;
        let invoice = match created {
            Ok(invoice) => invoice,
            Err(e) => return JobOutput::Challenge(Err(e)),
        };
        let macaroon = self.keys.mint(&MintParams {
            payment_hash: invoice.payment_hash,
            token_id: self.token_id,
            service: &self.service,
            valid_until: self.valid_until,
            capabilities: None,
        });
        let b64 = macaroon.to_base64();
        JobOutput::Challenge(Ok(Challenge {
            www_authenticate: l402_core::challenge::www_authenticate(
                &b64,
                &invoice.bolt11,
                self.legacy_lsat,
            ),
        }))
    }
}
