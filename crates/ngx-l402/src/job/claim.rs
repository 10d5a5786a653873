//! Admitting a token whose state lives in Redis: the request's Redis price when this worker has
//! not read it lately (tokens are bound to the price they paid), then one token-use claim (issue
//! 3), atomic across every worker of every instance that shares the Redis (one Lua script on one
//! key, never check-then-set). A token that paid less than the price claims nothing.

use l402_redis::{RedisStore, StoreError};
use l402_usage::ClaimOutcome;

use super::{JobOutput, WorkerPrices};

/// The price to read before claiming, and what the token paid.
pub struct PriceCheck {
    pub prices: WorkerPrices,
    /// The request path: the Redis key of its price.
    pub path: String,
    /// The location's price, used when Redis has no (valid) price for the path.
    pub configured: u64,
    /// `Terms::paid_msat` of the token.
    pub paid_msat: u64,
}

/// Inputs of an admission: plain owned data so the future is `Send + 'static`.
pub struct ClaimJob {
    pub store: RedisStore,
    pub token_id: [u8; 32],
    /// Uses per token; `None` = unlimited (nothing to claim).
    pub limit: Option<u32>,
    /// When the claim may be forgotten (`l402_usage::claim_expiry` of the minted terms);
    /// `None` = never.
    pub expires_at: Option<u64>,
    pub price: Option<PriceCheck>,
}

/// What an admission job found.
#[derive(Debug)]
pub enum Admit {
    /// The claim's outcome.
    Claimed(ClaimOutcome),
    /// The request costs more than the token paid: nothing was claimed.
    Underpaid,
    /// The price is covered and the token is unlimited: served without a claim.
    Unclaimed,
}

impl ClaimJob {
    pub async fn run(self) -> JobOutput {
        let mut warnings = Vec::new();
        let outcome = self.admit(&mut warnings).await;
        JobOutput::Claim { outcome, warnings }
    }

    async fn admit(&self, warnings: &mut Vec<String>) -> Result<Admit, StoreError> {
        if let Some(check) = &self.price {
            let price = check.prices.lookup(&self.store, &check.path, check.configured, warnings).await?;
            if price > check.paid_msat {
                return Ok(Admit::Underpaid);
            }
        }
        match self.limit {
            Some(limit) => self
                .store
                .claim(&self.token_id, limit, self.expires_at)
                .await
                .map(Admit::Claimed),
            None => Ok(Admit::Unclaimed),
        }
    }
}
