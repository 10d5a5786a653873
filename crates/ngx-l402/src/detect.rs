//! Payment detection without a preimage (`l402_auto_detect_payment on`; the seed's feature for
//! custodial wallets that return no preimage).
//!
//! A macaroon presented alone is first verified in full except for the preimage (signature,
//! service, expiry: a forged or expired macaroon never reaches the node); only then is the
//! backend asked whether its invoice settled, through a lookup job on the bridge. Answers are
//! cached per worker (settled: until the token expires; open or gone: 2 s), so polling asks the
//! node at most once per 2 s per worker and invoice, and never creates an invoice while the
//! client's invoice is still open. A settled token then goes through the usual usage claim.

use std::cell::RefCell;

use l402_backend::{BackendError, Settlement};
use l402_core::credential::parse_authorization_unpaid;
use l402_core::verify::Verified;
use l402_core::Unpaid;
use l402_usage::payment::{PaymentCache, PaymentState, DEFAULT_CAPACITY};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR};

use crate::access::{log, unavailable};
use crate::conf::Settings;
use crate::job::LookupJob;
use crate::{response, worker};

/// `X-L402-Reason` when a macaroon's invoice expired, was canceled or is unknown to the backend.
pub const REASON_INVOICE_GONE: &str = "invoice expired or unknown";

thread_local! {
    /// What the backend said about invoices of macaroon-only credentials.
    static PAYMENTS: RefCell<PaymentCache> = RefCell::new(PaymentCache::new(DEFAULT_CAPACITY));
}

/// What to do next with a macaroon-only request.
pub enum Detection {
    /// Paid: claim a use and serve.
    Admit(Verified),
    /// Answered (402 "payment not received yet", or 503).
    Answered(ngx_int_t),
    /// Answer with a fresh challenge and this reason.
    Challenge(&'static str),
    /// Ask the backend: run this job, then [`looked_up`].
    Lookup(LookupJob, Unpaid),
}

/// Verifies the macaroon, then answers from the cache or asks for a lookup.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn start(
    r: *mut ngx_http_request_t,
    settings: &Settings,
    raw: &[u8],
    service: &str,
    now: u64,
) -> Detection {
    let cred = match parse_authorization_unpaid(raw) {
        Ok(cred) => cred,
        Err(e) => return Detection::Challenge(e.reason()),
    };
    let unpaid = match settings.keys.verify_unpaid(&cred, service, now) {
        Ok(unpaid) => unpaid,
        Err(rejection) => return Detection::Challenge(rejection.reason()),
    };
    let hash = unpaid.payment_hash();
    // SAFETY: forwarded contract.
    unsafe {
        match PAYMENTS.with(|c| c.borrow_mut().get(&hash, now_ms())) {
            Some(PaymentState::Settled) => return Detection::Admit(unpaid.settled()),
            Some(PaymentState::Open) => return Detection::Answered(response::payment_pending(r)),
            Some(PaymentState::Gone) => return Detection::Challenge(REASON_INVOICE_GONE),
            None => {}
        }
        let Some(backend) = worker::backend() else {
            return Detection::Answered(unavailable(r, "the payment backend is not running in this worker"));
        };
        Detection::Lookup(LookupJob { backend, payment_hash: hash, timeout: settings.call_timeout() }, unpaid)
    }
}

/// What the backend answered about the invoice of `unpaid`.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn looked_up(
    r: *mut ngx_http_request_t,
    unpaid: &Unpaid,
    outcome: Result<Settlement, BackendError>,
) -> Detection {
    // SAFETY: forwarded contract.
    unsafe {
        match outcome {
            Ok(Settlement::Settled { .. }) => {
                remember(unpaid, PaymentState::Settled);
                Detection::Admit(unpaid.settled())
            }
            Ok(Settlement::Open) => {
                remember(unpaid, PaymentState::Open);
                Detection::Answered(response::payment_pending(r))
            }
            Ok(Settlement::Expired | Settlement::Canceled | Settlement::Unknown) => {
                remember(unpaid, PaymentState::Gone);
                Detection::Challenge(REASON_INVOICE_GONE)
            }
            Err(e) => {
                log(r, NGX_LOG_ERR, &format!("l402: cannot look up a payment: {e}"));
                Detection::Answered(response::unavailable(r, e.retry_after(), "payment backend unavailable"))
            }
        }
    }
}

/// Remembers what the backend said about an invoice.
fn remember(unpaid: &Unpaid, state: PaymentState) {
    PAYMENTS.with(|c| c.borrow_mut().put(unpaid.payment_hash(), state, now_ms(), unpaid.valid_until()));
}

fn now_ms() -> u64 {
    let tp = ngx::ffi::ngx_timeofday();
    u64::try_from(tp.sec).unwrap_or(0).saturating_mul(1_000).saturating_add(tp.msec as u64)
}
