//! A 402 answer, made off the main thread: the Redis rate check (when claims live in Redis),
//! the price (Redis override of the seed's dynamic pricing), the invoice, the macaroon.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use l402_backend::{normalize_invoice_text, with_timeout, Backend, BackendError, InvoiceRequest};
use l402_core::keys::KeyRing;
use l402_core::{MintParams, Terms};
use l402_redis::{RedisStore, StoreError};
use l402_usage::{Rate, RateOutcome};

use super::{collect_failures, failure_warnings, JobOutput, WorkerPrices};

/// Everything a 402 answer needs, computed off the main thread.
pub struct Challenge {
    /// `WWW-Authenticate` values, in order (l402-wire.md §1).
    pub www_authenticate: Vec<String>,
    /// The invoice is a BOLT12 invoice (`lni1…`): answered with `X-L402-Invoice-Type: bolt12`.
    pub bolt12: bool,
}

/// Why no challenge was made.
pub enum ChallengeError {
    /// The payment backend failed: 503.
    Backend(BackendError),
    /// Too many invoice requests from this client (Redis rate limit): 429.
    RateLimited(Duration),
    /// The Redis rate check could not run: 503 (a rate limit never fails open).
    Store(StoreError),
    /// The Redis price could not be read: 503 (a token is never sold at a guessed price).
    Price(StoreError),
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeError::Backend(e) => write!(f, "cannot create an invoice: {e}"),
            ChallengeError::RateLimited(_) => f.write_str("invoice rate limit reached for this client"),
            ChallengeError::Store(e) => write!(f, "cannot check the invoice rate limit in Redis: {e}"),
            ChallengeError::Price(e) => write!(f, "cannot read the price from Redis: {e}"),
        }
    }
}

/// The Redis side of a challenge, when Redis is configured.
pub struct RedisPart {
    pub store: RedisStore,
    /// Rate limit of the location and this client's key (`l402_usage::keys::rate_key`).
    pub rate: Option<(Rate, [u8; 16])>,
    /// Look the price up under this path (`l402_redis_price on`).
    pub price_path: Option<String>,
    pub prices: WorkerPrices,
}

/// Inputs of a challenge: plain owned data so the future is `Send + 'static`.
pub struct ChallengeJob {
    pub backend: Arc<dyn Backend>,
    pub keys: Arc<KeyRing>,
    pub service: String,
    /// The location's price (fixed or from its nginx variable).
    pub amount_msat: u64,
    pub invoice_expiry_secs: u32,
    pub valid_until: Option<u64>,
    /// Fresh random bytes of the token id ([`Terms::token_id`]).
    pub nonce: [u8; l402_core::terms::NONCE_LEN],
    pub legacy_lsat: bool,
    pub timeout: Duration,
    pub redis: Option<RedisPart>,
}

impl ChallengeJob {
    /// Rate check, price, invoice, then the macaroon bound to the invoice's payment hash.
    pub async fn run(self) -> JobOutput {
        let mut warnings = Vec::new();
        let (outcome, failures) = collect_failures(self.make(&mut warnings)).await;
        let final_error = match &outcome {
            Err(ChallengeError::Backend(e)) => Some(e),
            _ => None,
        };
        warnings.extend(failure_warnings(failures, final_error));
        JobOutput::Challenge { outcome, warnings }
    }

    async fn make(&self, warnings: &mut Vec<String>) -> Result<Challenge, ChallengeError> {
        let mut amount_msat = self.amount_msat;
        if let Some(redis) = &self.redis {
            if let Some((rate, key)) = &redis.rate {
                match redis.store.rate_check(key, *rate).await {
                    Ok(RateOutcome::Allowed) => {}
                    Ok(RateOutcome::Limited { retry_after_secs }) => {
                        return Err(ChallengeError::RateLimited(Duration::from_secs(retry_after_secs)))
                    }
                    Ok(RateOutcome::StoreFull) => {
                        return Err(ChallengeError::Store(StoreError::InvalidReply {
                            cause: "rate check reported a full store".into(),
                        }))
                    }
                    Err(e) => return Err(ChallengeError::Store(e)),
                }
            }
            if let Some(path) = &redis.price_path {
                amount_msat = redis
                    .prices
                    .lookup(&redis.store, path, amount_msat, warnings)
                    .await
                    .map_err(ChallengeError::Price)?;
            }
        }
        let request = InvoiceRequest {
            amount_msat,
            memo: format!("L402 access to {}", self.service),
            expiry_secs: self.invoice_expiry_secs,
        };
        let name = self.backend.name();
        let invoice = with_timeout(name, self.timeout, self.backend.create_invoice(request))
            .await
            .map_err(ChallengeError::Backend)?;
        // The token is bound to what this invoice asks for and to its minted lifetime.
        let terms = Terms { paid_msat: amount_msat, valid_until: self.valid_until };
        let macaroon = self.keys.mint(&MintParams {
            payment_hash: invoice.payment_hash,
            token_id: terms.token_id(self.nonce),
            service: &self.service,
            valid_until: self.valid_until,
            capabilities: None,
        });
        // Only the normalised invoice text reaches a header, whatever the node sent.
        let text = normalize_invoice_text(&invoice.text).map_err(|cause| {
            ChallengeError::Backend(BackendError::InvalidReply { backend: name, cause })
        })?;
        let b64 = macaroon.to_base64();
        Ok(Challenge {
            www_authenticate: l402_core::challenge::www_authenticate(&b64, &text, self.legacy_lsat),
            bolt12: invoice.kind == l402_backend::InvoiceKind::Bolt12,
        })
    }
}
