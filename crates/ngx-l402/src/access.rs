//! The access-phase handler: verify a presented L402 credential, or suspend the request while an
//! invoice is made and answer 402 with a fresh challenge.
//!
//! Never fails open: every path that is not a verified credential ends in 402, 503 or 500.

use std::time::Duration;

use std::cell::RefCell;

use l402_core::credential::{is_l402_scheme, parse_authorization, parse_hex_macaroon};
use l402_core::verify::{CredentialSource, Verified, VerifiedCache};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_INFO};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, HttpModuleServerConf, NgxHttpCoreModule};

use crate::bridge;
use crate::conf::{derive_service_name, LocConf, Settings};
use crate::usage::{self, Admission};
use crate::ctx::{self, RequestCtx, State};
use crate::ffi::{NGX_DECLINED, NGX_DONE, NGX_OK};
use crate::job::{ChallengeJob, JobOutput};
use crate::response;
use crate::worker;
use crate::Module;

/// Extra time the nginx-side backstop timer gives the runtime-side timeout.
const BACKSTOP_MARGIN: Duration = Duration::from_secs(1);

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
        let module = Module::module();
        if let Some(ctx) = ctx::get(r, module) {
            return resume(r, ctx);
        }

        let service = service_name(r, lcf);
        let now = u64::try_from(ngx::ffi::ngx_time()).unwrap_or(0);
        let reason = match presented_credential(r) {
            None => None,
            Some((source, raw)) => match check_credential(settings, source, raw, service, now) {
                Ok(verified) => match usage::admit(r, lcf, settings, &verified, now) {
                    Admission::Admitted => return NGX_OK,
                    Admission::Answered(rc) => return rc,
                    Admission::UsedUp(reason) => Some(reason),
                },
                Err(reason) => reason,
            },
        };
        if let Some(reason) = reason {
            log(r, NGX_LOG_INFO, &format!("l402: credential refused: {reason}"));
        }
        challenge(r, lcf, settings, service, now, reason)
    }
}

/// Starts a challenge: suspends the request while the backend makes the invoice.
pub(crate) unsafe fn challenge(
    r: *mut ngx_http_request_t,
    lcf: &LocConf,
    settings: &Settings,
    service: &str,
    now: u64,
    reason: Option<&'static str>,
) -> ngx_int_t {
    let Some(backend) = worker::backend() else {
        // SAFETY: live request, main thread.
        return unsafe { unavailable(r, "the payment backend is not running in this worker") };
    };
    let mut token_id = [0u8; 32];
    if getrandom::fill(&mut token_id).is_err() {
        // SAFETY: live request, main thread.
        return unsafe { unavailable(r, "the system random number generator failed") };
    }
    // SAFETY: live request, main thread.
    if let Some(rc) = unsafe { usage::check_rate(r, lcf, settings, service) } {
        return rc;
    }
    // SAFETY: live request, main thread.
    let amount_msat = match unsafe { usage::price(r, lcf) } {
        Ok(amount) => amount,
        Err(rc) => return rc,
    };
    let timeout = lcf.macaroon_timeout();
    let job = ChallengeJob {
        backend,
        keys: settings.keys.clone(),
        service: service.to_owned(),
        amount_msat,
        invoice_expiry_secs: lcf.invoice_expiry(),
        valid_until: (timeout > 0).then(|| now.saturating_add(timeout)),
        token_id,
        legacy_lsat: settings.legacy_lsat,
        timeout: settings.backend_timeout,
    };
    // SAFETY: live request, main thread.
    unsafe {
        let fresh = RequestCtx { state: State::Waiting, reason, job: None };
        let Some(ctx) = ctx::attach(r, Module::module(), fresh) else {
            return response::INTERNAL_ERROR;
        };
        let backstop = settings.backend_timeout + BACKSTOP_MARGIN;
        match bridge::submit(r, backstop, deliver, job.run()) {
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
unsafe fn resume(r: *mut ngx_http_request_t, ctx: &mut RequestCtx) -> ngx_int_t {
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
                log(r, NGX_LOG_ERR, "l402: the payment backend did not answer in time");
                response::unavailable(r, Duration::from_secs(1), "payment backend timed out")
            }
            State::Ready(JobOutput::Challenge(Ok(challenge))) => {
                release(r, ctx);
                response::payment_required(r, &challenge, ctx.reason)
            }
            State::Ready(JobOutput::Challenge(Err(e))) => {
                release(r, ctx);
                log(r, NGX_LOG_ERR, &format!("l402: cannot create an invoice: {e}"));
                response::unavailable(r, e.retry_after(), "payment backend unavailable")
            }
            State::Finished => {
                log(r, NGX_LOG_ERR, "l402: access handler re-entered after answering");
                response::INTERNAL_ERROR
            }
        }
    }
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

unsafe fn unavailable(r: *mut ngx_http_request_t, why: &str) -> ngx_int_t {
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
    VERIFIED.with(|c| c.borrow_mut().insert(source, service, raw, verified));
    Ok(verified)
}

/// The service tokens of this location are bound to: `l402_service`, or a name derived from the
/// server block and the location, so a token is valid only where it was bought.
unsafe fn service_name(r: *mut ngx_http_request_t, lcf: &LocConf) -> &str {
    if let Some(name) = &lcf.service {
        return name;
    }
    lcf.derived_service.get_or_init(|| {
        // SAFETY: live request; core module confs are always present in an HTTP request.
        unsafe {
            let server = NgxHttpCoreModule::server_conf(&*r)
                .map(|c| c.server_name.as_bytes().to_vec())
                .unwrap_or_default();
            let location = NgxHttpCoreModule::location_conf(&*r)
                .map(|c| c.name.as_bytes().to_vec())
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
