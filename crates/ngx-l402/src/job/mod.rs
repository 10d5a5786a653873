//! Work done off the main thread, on the worker's runtime: what a suspended request waits for.
//!
//! - `challenge`: the invoice-creation rate check in Redis, the Redis price, the invoice and
//!   the macaroon of a 402 answer;
//! - `claim`: admitting a token against Redis: its price (when not cached) and one use claim;
//! - `lookup`: whether the invoice of a macaroon presented without preimage is settled
//!   (`l402_auto_detect_payment`).
//!
//! Jobs never log (nginx's log is not thread-safe): what should be logged travels back in the
//! output and the main thread writes it. That includes the failures a failover backend
//! recovered from: its hook ([`record_failure`]) appends them to the running job's list
//! ([`collect_failures`]), a tokio task-local, so each request logs its own.

mod challenge;
mod claim;
mod lookup;
mod price;

use std::cell::RefCell;
use std::future::Future;

pub use challenge::{Challenge, ChallengeError, ChallengeJob, RedisPart};
pub use claim::{Admit, ClaimJob, PriceCheck};
pub use lookup::LookupJob;
pub use price::WorkerPrices;

use l402_backend::{BackendError, Settlement};
use l402_redis::StoreError;

/// Most failures one job records (a failover list is short; this only bounds memory).
const MAX_FAILURES: usize = 16;

tokio::task_local! {
    static FAILURES: RefCell<Vec<BackendError>>;
}

/// The failover hook: records `e` in the job that is running on this task, if any.
pub fn record_failure(e: &BackendError) {
    let _ = FAILURES.try_with(|f| {
        if let Ok(mut f) = f.try_borrow_mut() {
            if f.len() < MAX_FAILURES {
                f.push(e.clone());
            }
        }
    });
}

/// Runs `fut`, returning its output and the backend failures recorded while it ran (also
/// when a timeout dropped the inner future: what was recorded until then is kept).
pub async fn collect_failures<F: Future>(fut: F) -> (F::Output, Vec<BackendError>) {
    FAILURES
        .scope(RefCell::new(Vec::new()), async {
            let out = fut.await;
            let failures = FAILURES.try_with(|f| f.take()).unwrap_or_default();
            (out, failures)
        })
        .await
}

/// Log lines for the failures a job recorded; `final_error` (already logged as the job's
/// error) is not repeated.
pub fn failure_warnings(failures: Vec<BackendError>, final_error: Option<&BackendError>) -> Vec<String> {
    let mut failures = failures;
    if final_error.is_some() && failures.last() == final_error {
        failures.pop();
    }
    failures
        .iter()
        .map(|e| format!("l402: payment backend failed, the next one is tried: {e}"))
        .collect()
}

/// A finished job, handed back to the main thread by the bridge.
pub enum JobOutput {
    /// A challenge (or why there is none), plus warnings to log.
    Challenge {
        outcome: Result<Challenge, ChallengeError>,
        warnings: Vec<String>,
    },
    /// A Redis admission (price check and claim), plus warnings to log.
    Claim {
        outcome: Result<Admit, StoreError>,
        warnings: Vec<String>,
    },
    /// An invoice lookup (payment detection), plus warnings to log.
    Lookup {
        outcome: Result<Settlement, BackendError>,
        warnings: Vec<String>,
    },
}
