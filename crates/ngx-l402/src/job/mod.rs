//! Work done off the main thread, on the worker's runtime: what a suspended request waits for.
//!
//! - `challenge`: the invoice-creation rate check in Redis, the Redis price, the invoice and
//!   the macaroon of a 402 answer;
//! - `claim`: one token-use claim in Redis.
//!
//! Jobs never log (nginx's log is not thread-safe): what should be logged travels back in the
//! output and the main thread writes it.

mod challenge;
mod claim;
mod price;

pub use challenge::{Challenge, ChallengeError, ChallengeJob, RedisPart};
pub use claim::ClaimJob;
pub use price::WorkerPrices;

use l402_redis::StoreError;
use l402_usage::ClaimOutcome;

/// A finished job, handed back to the main thread by the bridge.
pub enum JobOutput {
    /// A challenge (or why there is none), plus warnings to log.
    Challenge {
        outcome: Result<Challenge, ChallengeError>,
        warnings: Vec<String>,
    },
    /// A Redis claim.
    Claim(Result<ClaimOutcome, StoreError>),
}
