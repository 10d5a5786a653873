//! Work done off the main thread, on the worker's runtime: the I/O a suspended request waits
//! for (`l402_gate::Io`), each job ending in the matching `l402_gate::IoResult`.
//!
//! - `invoice`: the invoice of a challenge;
//! - `claim`: a use claim or an invoice rate check in Redis;
//! - `price`: the Redis price of a path (the seed's dynamic prices), cached per worker;
//! - `lookup`: whether the invoice of a macaroon presented without preimage is settled
//!   (`l402_auto_detect_payment`).
//!
//! Jobs never log (nginx's log is not thread-safe): what should be logged travels back in the
//! output and the main thread writes it. That includes the failures a failover backend
//! recovered from: its hook ([`record_failure`]) appends them to the running job's list
//! ([`collect_failures`]), a tokio task-local, so each request logs its own.

mod claim;
mod invoice;
mod lookup;
mod price;

use std::cell::RefCell;
use std::future::Future;

pub use claim::{RedisClaim, RedisRate, RedisSpend};
pub use invoice::InvoiceJob;
pub use lookup::LookupJob;
pub use price::{RedisPrice, WorkerPrices};

use l402_backend::BackendError;

/// What every job ends in: the I/O's result and the warnings to log with it.
pub type Done = (l402_gate::IoResult, Vec<String>);

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

/// ` from payee <payee>` for a timeout of an LNURL payee: [`BackendError::Timeout`] carries
/// only the backend's name and the limit, while every other LNURL error names the payee.
pub fn from_payee(e: &BackendError, payee: Option<&str>) -> String {
    match (e, payee) {
        (BackendError::Timeout { .. }, Some(p)) => format!(" from payee {p}"),
        _ => String::new(),
    }
}
