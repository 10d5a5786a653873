//! A claim or an invoice rate check in Redis, atomic across every worker of every instance
//! that shares it (one Lua script on one key, never check-then-set).

use l402_gate::{Cause, Failure, IoResult};
use l402_redis::{RedisStore, StoreError};
use l402_usage::{Rate, RateOutcome};

use super::Done;

/// One use of a token.
pub struct RedisClaim {
    pub store: RedisStore,
    pub token_id: [u8; 32],
    pub limit: u32,
    pub expires_at: Option<u64>,
}

impl RedisClaim {
    pub async fn run(self) -> Done {
        let result = self.store.claim(&self.token_id, self.limit, self.expires_at).await.map_err(|e| {
            store_failure(&e, format!("l402: cannot admit a token through Redis: {e}; answering 503"))
        });
        (IoResult::Claim(result), Vec::new())
    }
}

/// A Cashu token's proofs marked spent in Redis, all or none (every instance).
pub struct RedisSpend {
    pub store: RedisStore,
    pub ys: Vec<[u8; 33]>,
    pub expires_at: Option<u64>,
}

impl RedisSpend {
    pub async fn run(self) -> Done {
        let result = self.store.spend_all(&self.ys, self.expires_at).await.map_err(|e| {
            store_failure(&e, format!("l402: cannot record a Cashu payment in Redis: {e}; answering 503"))
        });
        (IoResult::SpendProofs(result), Vec::new())
    }
}

/// One invoice-creation rate check.
pub struct RedisRate {
    pub store: RedisStore,
    pub key: [u8; 16],
    pub rate: Rate,
}

impl RedisRate {
    pub async fn run(self) -> Done {
        let result = match self.store.rate_check(&self.key, self.rate).await {
            // A full Redis cannot happen; if it is reported, refuse (a limit never fails open).
            Ok(RateOutcome::StoreFull) => Err(Failure {
                cause: Cause::Store,
                retry_after: std::time::Duration::from_secs(1),
                log: "l402: cannot check the invoice rate limit in Redis: it reported a full store; answering 503"
                    .to_owned(),
            }),
            Ok(outcome) => Ok(outcome),
            Err(e) => Err(store_failure(
                &e,
                format!("l402: cannot check the invoice rate limit in Redis: {e}; answering 503"),
            )),
        };
        (IoResult::RateCheck(result), Vec::new())
    }
}

/// A Redis that did not answer: 503 "usage store unavailable".
pub fn store_failure(e: &StoreError, log: String) -> Failure {
    Failure { cause: Cause::Store, retry_after: e.retry_after(), log }
}
