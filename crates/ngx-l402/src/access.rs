//! The access-phase handler: verify a presented L402 credential, or suspend the request while an
//! invoice is made and answer 402 with a fresh challenge.
//!
//! Never fails open: every path that is not a verified credential ends in 402, 503 or 500.

use std::time::Duration;

use std::cell::RefCell;

use l402_core::credential::{
    is_l402_scheme, parse_authorization, parse_hex_macaroon, CredentialError,
};
use l402_core::verify::{CredentialSource, Verified, VerifiedCache};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_INFO, NGX_LOG_WARN};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, HttpModuleServerConf, NgxHttpCoreModule};

use crate::bridge;
use crate::conf::{derive_service_name, LocConf, Settings, StoreSettings};
use crate::usage::{self, Admission};
use crate::ctx::{self, RequestCtx, State};
use crate::ffi::{NGX_DECLINED, NGX_DONE, NGX_OK};
use crate::detect::{self, Detection};
use crate::marks::{self, Mark};
use crate::job::{ChallengeError, ChallengeJob, JobOutput};
use crate::response;
use crate::worker;
use crate::Module;

/// Headers that carry a hex macaroon instead of `Authorization` (l402-wire.md §2).
const HEX_MACAROON_HEADERS: [&str; 4] =
    ["Macaroon", "Token", "Grpc-Metadata-Macaroon", "Grpc-Metadata-Token"];

/// Successful verifications of this worker, per generation (at most twice this many).
const VERIFIED_CACHE_GENERATION: usize = 8_192;

thread_local! {
    static VERIFIED: RefCell<VerifiedCache> = RefCell::new(VerifiedCache::new(VERIFIED_CACHE_GENERATION));
}

/// # Safety
/// Called by nginx in the access phase with a live request.
pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    crate::guard::ffi_guard(r, response::INTERNAL_ERROR, || {
        // SAFETY: forwarded contract.
        unsafe { handle(r) }
    })
}

unsafe fn handle(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: nginx passes a live request; everything below runs on the main thread.
    unsafe {
        if (*r).main != r {
            return NGX_DECLINED;
        }
        let Some(lcf) = Module::location_conf(&*r) else { return NGX_DECLINED };
        if !lcf.enabled() {
            return NGX_DECLINED;
        }
        let Some(settings) = Module::main_conf(&*r).and_then(|m| m.settings.as_deref()) else {
            log(r, NGX_LOG_ERR, "l402 is enabled but not configured");
            return response::INTERNAL_ERROR;
        };
        if let Some(ctx) = ctx::get(r, Module::module()) {
            return resume(r, ctx, lcf, settings);
        }
        if marks::has(r, Mark::PaymentRequired) {
            // An `error_page 402` led this request into a paid location: serve the error page
            // under the challenge already sent, never a second invoice (payment-integrity 9).
            return NGX_OK;
        }

        let now = now_secs();
        let reason = match presented_credential(r) {
            None => None,
            Some((source, raw)) => {
                let service = service_name(r, lcf);
                // A memo entry only pays off if the token can be presented again.
                let memoize = lcf.uses().limit() != Some(1);
                match check_credential(settings, source, raw, service, now, memoize) {
                    Ok(verified) => return admit_verified(r, None, lcf, settings, &verified, now),
                    Err(Some(reason))
                        if reason == CredentialError::MissingPreimage.reason()
                            && source == CredentialSource::Authorization
                            && lcf.auto_detect() =>
                    {
                        let detection = detect::start(r, settings, raw, service, now);
                        return act_on(r, None, lcf, settings, now, detection);
                    }
                    Err(reason) => reason,
                }
            }
        };
        challenge(r, None, lcf, settings, now, reason)
    }
}

/// Claims one use of a verified token; serves, answers, or suspends for a Redis claim.
/// `ctx` is the request's context when a job ran before (a payment lookup).
unsafe fn admit_verified(
    r: *mut ngx_http_request_t,
    ctx: Option<&mut RequestCtx>,
    lcf: &LocConf,
    settings: &Settings,
    verified: &Verified,
    now: u64,
) -> ngx_int_t {
    // SAFETY: live request, main thread (the caller's contract).
    unsafe {
        match usage::admit(r, lcf, settings, verified) {
            Admission::Admitted => NGX_OK,
            Admission::Answered(rc) => rc,
            Admission::Refused(reason) => challenge(r, ctx, lcf, settings, now, Some(reason)),
            Admission::Claim(job, key) => {
                let fresh = RequestCtx { state: State::Waiting, reason: None, claim_key: Some(key), job: None, unpaid: None };
                suspend(r, ctx, fresh, settings, job.run())
            }
        }
    }
}

/// Carries out what payment detection decided (`detect.rs`).
unsafe fn act_on(
    r: *mut ngx_http_request_t,
    ctx: Option<&mut RequestCtx>,
    lcf: &LocConf,
    settings: &Settings,
    now: u64,
    detection: Detection,
) -> ngx_int_t {
    // SAFETY: live request, main thread (the caller's contract).
    unsafe {
        match detection {
            Detection::Admit(verified) => admit_verified(r, ctx, lcf, settings, &verified, now),
            Detection::Answered(rc) => rc,
            Detection::Challenge(reason) => challenge(r, ctx, lcf, settings, now, Some(reason)),
            Detection::Lookup(job, unpaid) => {
                let fresh = RequestCtx { state: State::Waiting, reason: None, claim_key: None, job: None, unpaid: Some(unpaid) };
                suspend(r, ctx, fresh, settings, job.run())
            }
        }
    }
}

/// Starts a challenge: suspends the request while the invoice is made. `ctx` is the request's
/// context when a claim job came first (the claim found the token used up).
unsafe fn challenge(
    r: *mut ngx_http_request_t,
    ctx: Option<&mut RequestCtx>,
    lcf: &LocConf,
    settings: &Settings,
    now: u64,
    reason: Option<&'static str>,
) -> ngx_int_t {
    // SAFETY: live request, main thread (the caller's contract).
    unsafe {
        if let Some(reason) = reason {
            log(r, NGX_LOG_INFO, &format!("l402: credential refused: {reason}"));
        }
        let Some(backend) = worker::backend() else {
            return unavailable(r, "the payment backend is not running in this worker");
        };
        let service = service_name(r, lcf);
        if let Some(rc) = usage::check_rate(r, lcf, settings, service) {
            return rc;
        }
        let amount_msat = match usage::price(r, lcf) {
            Ok(amount) => amount,
            Err(rc) => return rc,
        };
        let redis = match &settings.store {
            StoreSettings::Redis(_) => match usage::redis_part(r, lcf, service) {
                Some(part) => Some(part),
                None => return unavailable(r, "the Redis store is not running in this worker"),
            },
            _ => None,
        };
        let mut nonce = [0u8; l402_core::terms::NONCE_LEN];
        if getrandom::fill(&mut nonce).is_err() {
            return unavailable(r, "the system random number generator failed");
        }
        let timeout = lcf.macaroon_timeout();
        let job = ChallengeJob {
            backend,
            keys: settings.keys.clone(),
            service: service.to_owned(),
            amount_msat,
            invoice_expiry_secs: lcf.invoice_expiry(),
            valid_until: (timeout > 0).then(|| now.saturating_add(timeout)),
            nonce,
            legacy_lsat: settings.legacy_lsat,
            timeout: settings.call_timeout(),
            redis,
        };
        let fresh = RequestCtx { state: State::Waiting, reason, claim_key: None, job: None, unpaid: None };
        suspend(r, ctx, fresh, settings, job.run())
    }
}

/// Suspends the request while `job` runs on the worker's runtime; the handler runs again when
/// it is done ([`resume`]).
unsafe fn suspend<F>(
    r: *mut ngx_http_request_t,
    ctx: Option<&mut RequestCtx>,
    fresh: RequestCtx,
    settings: &Settings,
    job: F,
) -> ngx_int_t
where
    F: std::future::Future<Output = JobOutput> + Send + 'static,
{
    // SAFETY: live request, main thread.
    unsafe {
        let ctx = match ctx {
            Some(ctx) => {
                *ctx = fresh;
                ctx
            }
            None => match ctx::attach(r, Module::module(), fresh) {
                Some(ctx) => ctx,
                None => return response::INTERNAL_ERROR,
            },
        };
        match bridge::submit(r, settings.backstop(), deliver, job) {
            Ok(guard) => {
                ctx.job = Some(guard);
                NGX_DONE
            }
            Err(e) => {
                ctx.state = State::Finished;
                unavailable(r, &e.to_string())
            }
        }
    }
}

/// Bridge callback (main thread): store the job's output for the next run of the handler.
unsafe fn deliver(r: *mut ngx_http_request_t, out: JobOutput) {
    // SAFETY: the bridge calls this for a live request on the main thread.
    if let Some(ctx) = unsafe { ctx::get(r, Module::module()) } {
        ctx.state = State::Ready(out);
    }
}

/// A later run of the handler for a request that was suspended.
unsafe fn resume(
    r: *mut ngx_http_request_t,
    ctx: &mut RequestCtx,
    lcf: &LocConf,
    settings: &Settings,
) -> ngx_int_t {
    // SAFETY: live request, main thread.
    unsafe {
        match std::mem::replace(&mut ctx.state, State::Finished) {
            State::Waiting => {
                let wev = (*(*r).connection).write;
                if (*wev).timedout() == 0 {
                    // Woken by something else (a write event): keep waiting.
                    ctx.state = State::Waiting;
                    return NGX_DONE;
                }
                (*wev).set_timedout(0);
                release(r, ctx);
                log(r, NGX_LOG_ERR, "l402: the payment backend or the store did not answer in time");
                response::unavailable(r, Duration::from_secs(1), "payment backend timed out")
            }
            State::Ready(JobOutput::Challenge { outcome, warnings }) => {
                release(r, ctx);
                for w in &warnings {
                    log(r, NGX_LOG_WARN, w);
                }
                match outcome {
                    Ok(challenge) => response::payment_required(r, &challenge, ctx.reason),
                    Err(ChallengeError::RateLimited(retry)) => {
                        log(r, NGX_LOG_INFO, "l402: invoice rate limit reached for this client");
                        response::too_many_requests(r, retry)
                    }
                    Err(ChallengeError::Backend(e)) => {
                        log(r, NGX_LOG_ERR, &format!("l402: cannot create an invoice: {e}"));
                        response::unavailable(r, e.retry_after(), "payment backend unavailable")
                    }
                    Err(err @ (ChallengeError::Store(_) | ChallengeError::Price(_))) => {
                        log(r, NGX_LOG_ERR, &format!("l402: {err}; answering 503"));
                        let retry = match &err {
                            ChallengeError::Store(e) | ChallengeError::Price(e) => e.retry_after(),
                            _ => Duration::from_secs(1),
                        };
                        response::unavailable(r, retry, "usage store unavailable")
                    }
                }
            }
            State::Ready(JobOutput::Lookup { outcome, warnings }) => {
                release(r, ctx);
                for w in &warnings {
                    log(r, NGX_LOG_WARN, w);
                }
                let Some(unpaid) = ctx.unpaid.take() else { return response::INTERNAL_ERROR };
                let detection = detect::looked_up(r, &unpaid, outcome);
                act_on(r, Some(ctx), lcf, settings, now_secs(), detection)
            }
            State::Ready(JobOutput::Claim { outcome, warnings }) => {
                release(r, ctx);
                for w in &warnings {
                    log(r, NGX_LOG_WARN, w);
                }
                match usage::claimed(r, ctx.claim_key, outcome) {
                    Admission::Admitted => NGX_OK,
                    Admission::Answered(rc) => rc,
                    Admission::Refused(reason) => challenge(r, Some(ctx), lcf, settings, now_secs(), Some(reason)),
                    Admission::Claim(..) => response::INTERNAL_ERROR,
                }
            }
            State::Finished => {
                log(r, NGX_LOG_ERR, "l402: access handler re-entered after answering");
                response::INTERNAL_ERROR
            }
        }
    }
}

fn now_secs() -> u64 {
    u64::try_from(ngx::ffi::ngx_time()).unwrap_or(0)
}

/// Drops the job and the reference `bridge::submit` took on the request.
unsafe fn release(r: *mut ngx_http_request_t, ctx: &mut RequestCtx) {
    ctx.job = None;
    // SAFETY: `submit` incremented the main request's count; this is the matching decrement,
    // done once (the state is Finished afterwards).
    unsafe {
        let main = (*r).main;
        (*main).set_count((*main).count().saturating_sub(1));
    }
}

pub(crate) unsafe fn unavailable(r: *mut ngx_http_request_t, why: &str) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        log(r, NGX_LOG_ERR, &format!("l402: {why}"));
        response::unavailable(r, Duration::from_secs(1), "payment backend unavailable")
    }
}

/// The raw credential the client presented, if any, and which header carried it
/// (l402-wire.md §2). Other `Authorization` schemes (Basic, Bearer) are not ours.
unsafe fn presented_credential<'a>(r: *mut ngx_http_request_t) -> Option<(CredentialSource, &'a [u8])> {
    // SAFETY: live request; header storage belongs to it.
    unsafe {
        let auth = (*r).headers_in.authorization;
        if !auth.is_null() {
            let value = (*auth).value.as_bytes();
            if is_l402_scheme(value) {
                return Some((CredentialSource::Authorization, value));
            }
        }
        HEX_MACAROON_HEADERS.iter().find_map(|name| {
            crate::ffi::header_in(r, name).map(|v| (CredentialSource::HexHeader, v))
        })
    }
}

/// Verifies a presented credential for `service`: `Ok` is a valid token (its use is claimed
/// next), `Err(reason)` answers with a fresh challenge. Successes are memoized per worker
/// ([`VerifiedCache`]); the memo never replaces the claim.
fn check_credential(
    settings: &Settings,
    source: CredentialSource,
    raw: &[u8],
    service: &str,
    now: u64,
    memoize: bool,
) -> Result<Verified, Option<&'static str>> {
    if let Some(verified) = VERIFIED.with(|c| c.borrow_mut().get(source, service, raw, now)) {
        return Ok(verified);
    }
    let parsed = match source {
        CredentialSource::Authorization => parse_authorization(raw),
        CredentialSource::HexHeader => parse_hex_macaroon(raw),
    };
    let credential = parsed.map_err(|e| Some(e.reason()))?;
    let verified = settings
        .keys
        .verify(&credential, service, now)
        .map_err(|rejection| Some(rejection.reason()))?;
    if memoize {
        VERIFIED.with(|c| c.borrow_mut().insert(source, service, raw, verified));
    }
    Ok(verified)
}

/// The service tokens of this location are bound to: `l402_service`, or the name derived at
/// configuration time (`services.rs`), so a token is valid only where it was bought.
unsafe fn service_name(r: *mut ngx_http_request_t, lcf: &LocConf) -> &str {
    if let Some(name) = &lcf.service {
        return name;
    }
    // An `if` or `limit_except` block has no name of its own: its enclosing location's.
    let mut conf = Some(lcf);
    for _ in 0..=crate::loc_tree::MAX_DEPTH {
        let Some(c) = conf else { break };
        if let Some(name) = c.derived_service.get() {
            return name;
        }
        // SAFETY: parents are confs of the same cycle, alive as long as `lcf`.
        conf = c.parent.map(|p| unsafe { &*p.as_ptr() });
    }
    // Not reached for locations nginx's trees hold; a name from this request's server and
    // location as a last resort.
    lcf.derived_service.get_or_init(|| {
        // SAFETY: live request; core module confs are always present in an HTTP request.
        unsafe {
            let server = NgxHttpCoreModule::server_conf(&*r)
                .map(|c| c.server_name.as_bytes().to_vec())
                .unwrap_or_default();
            let location = NgxHttpCoreModule::location_conf(&*r)
                .map(|c| {
                    let clcf: crate::loc_tree::Clcf = c;
                    [crate::loc_tree::modifier(clcf).as_bytes(), b" ", c.name.as_bytes()].concat()
                })
                .unwrap_or_default();
            derive_service_name(&server, &location)
        }
    })
}

pub(crate) unsafe fn log(r: *mut ngx_http_request_t, level: u32, msg: &str) {
    // SAFETY: live request; its connection log is valid.
    unsafe {
        ngx::ngx_log_error!(level, (*(*r).connection).log, "{}", msg);
    }
}
