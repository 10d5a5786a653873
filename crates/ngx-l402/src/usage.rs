//! Usage policy, invoice rate limit and price of one request, against this host's usage zone
//! (issue 3). Maps each outcome to its answer through `response.rs`.
//!
//! - `admit`: after a credential verified, claims one use of its token (never check-then-set:
//!   the claim is one step under the zone lock).
//! - `check_rate`: before an invoice is created, one GCRA step keyed on the client address
//!   nginx computed (`$remote_addr`, so the realip module decides, never a raw header).
//! - `price`: the location's price, fixed or from an nginx complex value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402_core::verify::Verified;
use l402_usage::price::parse_price;
use l402_usage::{keys, table, ClaimOutcome, RateOutcome};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_INFO};

use l402_redis::StoreError;

use crate::access::log;
use crate::job::{Admit, ClaimJob, PriceCheck, RedisPart};
use crate::conf::{LocConf, Price, Settings, StoreSettings, MAX_AMOUNT_MSAT};
use crate::marks::{self, Mark};
use crate::response;

/// `X-L402-Reason` of a token whose uses are all claimed.
pub const REASON_USED_UP: &str = "token has no uses left";
/// `X-L402-Reason` of a token bought for less than this request costs.
pub const REASON_UNDERPAID: &str = "token paid less than this request costs";
/// `X-L402-Reason` of a token minted without terms (by an older build, or not by this server).
pub const REASON_NO_TERMS: &str = "token does not state what it paid";

/// Retry-After when the usage store cannot take a claim.
const RETRY_STORE_FULL: Duration = Duration::from_secs(10);

/// What the admission decided.
pub enum Admission {
    /// Serve the request.
    Admitted,
    /// Answer 402 with a fresh challenge and this reason.
    Refused(&'static str),
    /// Already answered (503): return this code.
    Answered(ngx_int_t),
    /// The token's state lives in Redis: run this job, then [`claimed`] decides. Carries the
    /// claim key.
    Claim(ClaimJob, [u8; 16]),
}

/// Admits a verified token to this request: it must have paid at least the request's price
/// (tokens are bound to the price they paid, `l402_core::Terms`), then one use is claimed
/// under the location's policy.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn admit(
    r: *mut ngx_http_request_t,
    lcf: &LocConf,
    settings: &Settings,
    verified: &Verified,
) -> Admission {
    let Some(terms) = verified.terms else {
        return Admission::Refused(REASON_NO_TERMS);
    };
    // SAFETY: forwarded contract.
    unsafe {
        let configured = match price(r, lcf) {
            Ok(p) => p,
            Err(rc) => return Admission::Answered(rc),
        };
        // The claim lives as long as the server minted the token valid: never as long as a
        // caveat the client added says (payment-integrity item 1).
        let expires_at = l402_usage::claim_expiry(terms.valid_until);
        let key = keys::claim_key(&verified.token_id);
        let mut price_check = None;
        match (&settings.store, lcf.redis_price()) {
            (StoreSettings::Redis(_), true) => {
                let Some((_, prices)) = crate::worker::redis() else { return settle(r, key, None) };
                let path = request_path(r);
                match prices.cached(&path, configured) {
                    Some(price) if !terms.covers(price) => return Admission::Refused(REASON_UNDERPAID),
                    Some(_) => {}
                    None => {
                        price_check = Some(PriceCheck { prices, path, configured, paid_msat: terms.paid_msat })
                    }
                }
            }
            _ if !terms.covers(configured) => return Admission::Refused(REASON_UNDERPAID),
            _ => {}
        }
        // An internal redirect (index, try_files, error_page) re-runs the access phase of the
        // same request: it already holds its use of this token (but pays the new price).
        let limit = match lcf.uses().limit() {
            Some(_) if marks::has(r, Mark::Claimed(key)) => None,
            limit => limit,
        };
        match (&settings.store, limit) {
            (_, None) if price_check.is_none() => Admission::Admitted,
            (StoreSettings::Zone(zone), Some(limit)) => {
                let now = u64::try_from(ngx::ffi::ngx_time()).unwrap_or(0);
                let outcome = zone.with_table(|t| table::claim(t, key, limit, expires_at, now));
                settle(r, key, outcome)
            }
            (StoreSettings::Redis(_), _) => match crate::worker::redis() {
                Some((store, _)) => {
                    let job = ClaimJob { store, token_id: verified.token_id, limit, expires_at, price: price_check };
                    Admission::Claim(job, key)
                }
                None => settle(r, key, None),
            },
            _ => settle(r, key, None),
        }
    }
}

/// The answer to a Redis admission job.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn claimed(
    r: *mut ngx_http_request_t,
    key: Option<[u8; 16]>,
    result: Result<Admit, StoreError>,
) -> Admission {
    // SAFETY: forwarded contract.
    unsafe {
        let Some(key) = key else {
            return settle(r, [0; 16], None);
        };
        match result {
            Ok(Admit::Claimed(outcome)) => settle(r, key, Some(outcome)),
            Ok(Admit::Underpaid) => Admission::Refused(REASON_UNDERPAID),
            Ok(Admit::Unclaimed) => Admission::Admitted,
            Err(e) => {
                log(r, NGX_LOG_ERR, &format!("l402: cannot admit a token through Redis: {e}; answering 503"));
                Admission::Answered(response::unavailable(r, e.retry_after(), "usage store unavailable"))
            }
        }
    }
}

/// The request path as Redis prices are keyed (the normalised URI, the seed's `SET /path N`).
///
/// # Safety
/// `r` is a live request.
pub unsafe fn request_path(r: *mut ngx_http_request_t) -> String {
    // SAFETY: forwarded contract.
    unsafe { String::from_utf8_lossy((*r).uri.as_bytes()).into_owned() }
}

/// Maps a claim outcome (`None`: the store is not usable) to the request's fate.
unsafe fn settle(r: *mut ngx_http_request_t, key: [u8; 16], outcome: Option<ClaimOutcome>) -> Admission {
    // SAFETY: live request, main thread (the callers' contract).
    unsafe {
        match outcome {
            Some(ClaimOutcome::Accepted { remaining }) => {
                marks::set(r, Mark::Claimed(key));
                if let Some(left) = remaining {
                    response::uses_remaining(r, left);
                }
                Admission::Admitted
            }
            Some(ClaimOutcome::UsedUp) => Admission::Refused(REASON_USED_UP),
            Some(ClaimOutcome::StoreFull) => {
                log(
                    r,
                    NGX_LOG_ERR,
                    "l402: the usage zone is full: a paid token was refused with 503 \
                     (claims are never evicted before their token expires); \
                     make \"l402_usage_zone\" larger or tokens shorter-lived",
                );
                Admission::Answered(response::unavailable(r, RETRY_STORE_FULL, "usage store full"))
            }
            None => {
                log(r, NGX_LOG_ERR, "l402: the usage store is not available in this worker");
                Admission::Answered(response::unavailable(r, RETRY_STORE_FULL, "usage store unavailable"))
            }
        }
    }
}

/// The Redis side of a challenge: the location's rate limit keyed on this client, and the
/// path whose Redis price applies. `None` when this worker has no Redis store.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn redis_part(r: *mut ngx_http_request_t, lcf: &LocConf, service: &str) -> Option<RedisPart> {
    let (store, prices) = crate::worker::redis()?;
    // SAFETY: forwarded contract; `addr_text` is `$remote_addr`, `uri` the normalised path.
    unsafe {
        let rate = lcf
            .rate_limit()
            .map(|rate| (rate, keys::rate_key(service, (*(*r).connection).addr_text.as_bytes())));
        let price_path = lcf.redis_price().then(|| request_path(r));
        Some(RedisPart { store, rate, price_path, prices })
    }
}

/// One invoice-creation rate check; `Some(rc)` when the request was answered (429 or 503).
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn check_rate(
    r: *mut ngx_http_request_t,
    lcf: &LocConf,
    settings: &Settings,
    service: &str,
) -> Option<ngx_int_t> {
    let rate = lcf.rate_limit()?;
    // SAFETY: forwarded contract; `addr_text` is `$remote_addr` (set by realip when it applies).
    unsafe {
        let addr = (*(*r).connection).addr_text.as_bytes();
        let key = keys::rate_key(service, addr);
        let now_ms = now_millis();
        let outcome = match &settings.store {
            StoreSettings::Zone(zone) => zone.with_table(|t| table::rate_check(t, key, rate, now_ms)),
            StoreSettings::Redis(_) => return None, // checked in Redis by the challenge job
            StoreSettings::None => None,
        };
        match outcome {
            Some(RateOutcome::Allowed) => None,
            Some(RateOutcome::Limited { retry_after_secs }) => {
                log(r, NGX_LOG_INFO, "l402: invoice rate limit reached for this client");
                Some(response::too_many_requests(r, Duration::from_secs(retry_after_secs)))
            }
            Some(RateOutcome::StoreFull) | None => {
                log(r, NGX_LOG_ERR, "l402: the usage zone is full: no room for a rate-limit entry");
                Some(response::unavailable(r, RETRY_STORE_FULL, "usage store full"))
            }
        }
    }
}

/// The location's price in millisatoshis; `Err(rc)` when the request was answered (503).
///
/// A complex value that evaluates to anything but a whole number in 1..=max is refused with
/// 503 and an error log: the operator's expression is wrong, and a request is never free.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn price(r: *mut ngx_http_request_t, lcf: &LocConf) -> Result<u64, ngx_int_t> {
    let cv = match lcf.price() {
        Price::Fixed(amount) => return Ok(amount),
        Price::Variable(cv) => cv,
    };
    // SAFETY: forwarded contract; `cv` was compiled at parse time.
    unsafe {
        let Some(raw) = crate::ffi::complex_value(r, cv.0) else {
            log(r, NGX_LOG_ERR, "l402: cannot evaluate \"l402_amount_msat_default\"");
            return Err(response::INTERNAL_ERROR);
        };
        parse_price(raw, MAX_AMOUNT_MSAT).map_err(|e| {
            let shown: String = raw.iter().take(32).map(|&b| if b.is_ascii_graphic() { char::from(b) } else { '?' }).collect();
            log(
                r,
                NGX_LOG_ERR,
                &format!("l402: \"l402_amount_msat_default\" gave \"{shown}\": {e}; answering 503"),
            );
            response::unavailable(r, Duration::from_secs(60), "price unavailable")
        })
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
