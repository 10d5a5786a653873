//! One token-use claim in Redis (issue 3): atomic across every worker of every instance that
//! shares the Redis (one Lua script on one key, never check-then-set).

use l402_redis::RedisStore;

use super::JobOutput;

/// Inputs of a claim: plain owned data so the future is `Send + 'static`.
pub struct ClaimJob {
    pub store: RedisStore,
    pub token_id: [u8; 32],
    pub limit: u32,
    /// When the claim may be forgotten (`l402_usage::claim_expiry`); `None` = never.
    pub expires_at: Option<u64>,
}

impl ClaimJob {
    pub async fn run(self) -> JobOutput {
        JobOutput::Claim(self.store.claim(&self.token_id, self.limit, self.expires_at).await)
    }
}
