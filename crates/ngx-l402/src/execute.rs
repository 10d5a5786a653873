//! Runs the I/O the decision asks for (`l402_gate::Io`): the usage zone inline (one step under
//! its lock), cached answers inline (Redis prices, payment states), everything else as a job on
//! the worker's runtime (`job/`), never blocking the event loop.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use l402_backend::{Backend, InvoiceRequest, LookupRef};
use l402_gate::{Cause, Failure, Io, IoResult, Payment};
use l402_usage::payment::{PaymentCache, PaymentState, DEFAULT_CAPACITY};
use l402_usage::table;

use crate::conf::{LocConf, Settings, StoreSettings};
use crate::extract::now_ms;
use crate::job::{Done, InvoiceJob, LookupJob, RedisClaim, RedisPrice, RedisRate, RedisSpend};
use crate::worker;

/// `Retry-After` when the usage store is missing in this worker.
const RETRY_NO_STORE: Duration = Duration::from_secs(10);

thread_local! {
    /// What the backend said about invoices of macaroon-only credentials (settled: until the
    /// token expires; open or gone: 2 s), so polling asks the node at most once per 2 s per
    /// worker and invoice.
    static PAYMENTS: RefCell<PaymentCache> = RefCell::new(PaymentCache::new(DEFAULT_CAPACITY));
}

/// What the executor remembers on the main thread when a job is done (a cache update).
pub type Remember = Box<dyn FnOnce(&IoResult)>;

/// A job for the bridge, and what to remember when it is done.
pub struct Job {
    pub future: Pin<Box<dyn Future<Output = Done> + Send>>,
    pub remember: Option<Remember>,
}

pub enum Executed {
    Now(IoResult),
    Later(Job),
}

/// Runs `io` inline when it can, else returns the job that will.
///
/// # Safety
/// Main thread of a worker (the zone is mapped in this process).
pub unsafe fn run(settings: &Settings, lcf: &LocConf, io: Io) -> Executed {
    match io {
        Io::Claim { key, token_id, limit, expires_at, now } => match &settings.store {
            // SAFETY: main thread; the zone is mapped for the worker's lifetime.
            StoreSettings::Zone(zone) => Executed::Now(IoResult::Claim(
                unsafe { zone.with_table(|t| table::claim(t, key, limit, expires_at, now)) }.ok_or_else(no_store),
            )),
            StoreSettings::Redis(_) => match worker::redis() {
                Some((store, _)) => later(RedisClaim { store, token_id, limit, expires_at }.run()),
                None => Executed::Now(IoResult::Claim(Err(no_redis()))),
            },
            StoreSettings::None => Executed::Now(IoResult::Claim(Err(no_store()))),
        },
        Io::SpendProofs { ys, expires_at, now } => match &settings.store {
            StoreSettings::Zone(zone) => {
                let keys: Vec<[u8; 16]> = ys.iter().map(l402_usage::keys::proof_key).collect();
                // SAFETY: as above.
                Executed::Now(IoResult::SpendProofs(
                    unsafe { zone.with_table(|t| table::spend_all(t, &keys, expires_at, now)) }.ok_or_else(no_store),
                ))
            }
            StoreSettings::Redis(_) => match worker::redis() {
                Some((store, _)) => later(RedisSpend { store, ys, expires_at }.run()),
                None => Executed::Now(IoResult::SpendProofs(Err(no_redis()))),
            },
            StoreSettings::None => Executed::Now(IoResult::SpendProofs(Err(no_store()))),
        },
        Io::CashuVerify { token, price_msat } => match (crate::cashu::worker(), &settings.cashu) {
            (Some(w), Some(c)) => later(
                crate::cashu::VerifyJob {
                    keys: w.keys,
                    policy: Arc::clone(&c.policy),
                    token,
                    price_msat,
                    now: crate::extract::now_ms() / 1_000,
                }
                .run(),
            ),
            _ => Executed::Now(IoResult::CashuVerify(Err(no_cashu()))),
        },
        Io::CashuStore { token, ys } => match crate::cashu::worker() {
            Some(w) => later(crate::cashu::StoreJob { store: w.store, token, ys, tenant: lcf.lnurl_addr.clone() }.run()),
            None => Executed::Now(IoResult::CashuStore(Err(no_cashu()))),
        },
        // Standard mode is refused at `nginx -t` (conf/cashu.rs).
        Io::CashuReceive { .. } => Executed::Now(IoResult::CashuReceive(Err(no_cashu()))),
        Io::RateCheck { key, rate, now_ms } => match &settings.store {
            // SAFETY: as above.
            StoreSettings::Zone(zone) => Executed::Now(IoResult::RateCheck(
                unsafe { zone.with_table(|t| table::rate_check(t, key, rate, now_ms)) }.ok_or_else(no_store),
            )),
            StoreSettings::Redis(_) => match worker::redis() {
                Some((store, _)) => later(RedisRate { store, key, rate }.run()),
                None => Executed::Now(IoResult::RateCheck(Err(no_redis()))),
            },
            StoreSettings::None => Executed::Now(IoResult::RateCheck(Err(no_store()))),
        },
        Io::Price { path, configured } => match worker::redis() {
            Some((store, prices)) => match prices.cached(&path, configured) {
                Some(price) => Executed::Now(IoResult::Price(Ok(price))),
                None => later(RedisPrice { prices, store, path, configured }.run()),
            },
            None => Executed::Now(IoResult::Price(Err(no_redis()))),
        },
        Io::Lookup { payment_hash, lookup, valid_until } => {
            let known = PAYMENTS.with(|c| c.borrow_mut().get(&payment_hash, now_ms()));
            if let Some(state) = known {
                return Executed::Now(IoResult::Lookup(Ok(match state {
                    PaymentState::Settled => Payment::Settled,
                    PaymentState::Open => Payment::Open,
                    PaymentState::Gone => Payment::Gone,
                })));
            }
            let (backend, payee) = match backend_of(settings, lcf) {
                Ok(b) => b,
                Err(f) => return Executed::Now(IoResult::Lookup(Err(f))),
            };
            let lookup = lookup
                .and_then(|extra| LookupRef::with_extra(payment_hash, &extra))
                .unwrap_or_else(|| LookupRef::from_payment_hash(payment_hash));
            let job = LookupJob { backend, payee, lookup, timeout: settings.call_timeout() };
            Executed::Later(Job {
                future: Box::pin(job.run()),
                remember: Some(Box::new(move |result| remember(payment_hash, valid_until, result))),
            })
        }
        Io::Invoice { amount_msat, memo, expiry_secs } => {
            let (backend, payee) = match backend_of(settings, lcf) {
                Ok(b) => b,
                Err(f) => return Executed::Now(IoResult::Invoice(Err(f))),
            };
            let request = InvoiceRequest { amount_msat, memo, expiry_secs };
            later(InvoiceJob { backend, payee, request, timeout: settings.call_timeout() }.run())
        }
    }
}

/// A location's backend and the LNURL payee it pays, if any, as logs name it.
type Chosen = (Arc<dyn Backend>, Option<Arc<str>>);

/// Whether the location's backend can tell a paid invoice without its preimage (payment
/// detection, `l402_backend::Capabilities`).
pub fn detects_payments(settings: &Settings, lcf: &LocConf) -> bool {
    backend_of(settings, lcf).is_ok_and(|(backend, _)| backend.capabilities().detect_without_preimage)
}

/// The location's own payee (`l402_lnurl_addr`), else the block's backend.
fn backend_of(settings: &Settings, lcf: &LocConf) -> Result<Chosen, Failure> {
    if !crate::bridge::running() {
        return Err(no_backend());
    }
    match &lcf.lnurl_addr {
        Some(payee) => match crate::payees::backend_for(settings, payee) {
            Ok(t) => Ok((t.backend, Some(t.shown))),
            Err(e) => Err(Failure {
                cause: Cause::Backend,
                retry_after: Duration::from_secs(5),
                log: format!("l402: cannot use the LNURL payee of this location: {e}"),
            }),
        },
        None => {
            let backend = worker::backend().ok_or_else(no_backend)?;
            Ok((backend, crate::backends::lnurl::default_payee(&settings.backends)))
        }
    }
}

fn later(future: impl Future<Output = Done> + Send + 'static) -> Executed {
    Executed::Later(Job { future: Box::pin(future), remember: None })
}

/// Remembers what the backend said about an invoice.
fn remember(payment_hash: [u8; 32], valid_until: Option<u64>, result: &IoResult) {
    let state = match result {
        IoResult::Lookup(Ok(Payment::Settled)) => PaymentState::Settled,
        IoResult::Lookup(Ok(Payment::Open)) => PaymentState::Open,
        IoResult::Lookup(Ok(Payment::Gone)) => PaymentState::Gone,
        _ => return,
    };
    PAYMENTS.with(|c| c.borrow_mut().put(payment_hash, state, now_ms(), valid_until));
}

fn no_cashu() -> Failure {
    Failure {
        cause: Cause::Mint,
        retry_after: RETRY_NO_STORE,
        log: "l402: Cashu is not running in this worker".to_owned(),
    }
}

fn no_store() -> Failure {
    Failure {
        cause: Cause::Store,
        retry_after: RETRY_NO_STORE,
        log: "l402: the usage store is not available in this worker".to_owned(),
    }
}

fn no_redis() -> Failure {
    Failure {
        cause: Cause::Store,
        retry_after: Duration::from_secs(1),
        log: "l402: the Redis store is not running in this worker".to_owned(),
    }
}

fn no_backend() -> Failure {
    Failure {
        cause: Cause::Backend,
        retry_after: Duration::from_secs(1),
        log: "l402: the payment backend is not running in this worker".to_owned(),
    }
}
