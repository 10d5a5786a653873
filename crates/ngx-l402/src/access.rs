//! The access-phase handler: where a request enters. It extracts the request's facts
//! (`extract.rs`), lets the decision (`l402_gate`) run, executes each I/O step it asks for
//! (`execute.rs`: the zone inline, the rest on the bridge while the request is suspended),
//! and renders and records the verdict (`render.rs`, `record.rs`). No decision is made here.

use std::cell::RefCell;
use std::time::Duration;

use l402_gate::{Cause, Env, Event, Facts, Level, Policy, Step, Verdict};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_INFO, NGX_LOG_WARN};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf};

use crate::conf::{LocConf, Settings};
use crate::ctx::{self, RequestCtx, State};
use crate::execute::{self, Executed, Job, Remember};
use crate::ffi::{NGX_DECLINED, NGX_DONE};
use crate::job::Done;
use crate::record::{self, Record};
use crate::render;
use crate::{bridge, extract, Module};

/// Successful verifications of this worker, per generation (at most twice this many). An entry
/// keeps its credential (about 400 bytes, at most `MAX_MEMO_CREDENTIAL`): a few MB per worker.
const VERIFIED_CACHE_GENERATION: usize = 4_096;

thread_local! {
    /// `None` when the system random number generator gave no key: then nothing is memoized.
    static VERIFIED: Option<RefCell<l402_gate::Memo>> = memo_secret()
        .map(|secret| RefCell::new(l402_gate::Memo::new(VERIFIED_CACHE_GENERATION, secret)));
}

/// The seed of this worker's memo (`l402_core::verify::VerifiedCache`): fresh random bytes per
/// process.
fn memo_secret() -> Option<[u8; 16]> {
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).ok().map(|()| secret)
}

/// # Safety
/// Called by nginx in the access phase with a live request.
pub unsafe extern "C" fn access_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    crate::guard::ffi_guard(r, render::INTERNAL_ERROR, || {
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
        // An internal redirect (index, try_files) back into the location that admitted this
        // request: the decision would be the same (same policy, fixed price, same credential
        // bytes, the use already claimed), so it stands.
        if (*r).internal() != 0 && crate::readmit::holds(r, lcf) {
            return crate::ffi::NGX_OK;
        }
        let Some(settings) = Module::main_conf(&*r).and_then(|m| m.settings.as_deref()) else {
            log(r, NGX_LOG_ERR, "l402 is enabled but not configured");
            return render::INTERNAL_ERROR;
        };
        let policy = extract::policy(r, lcf, settings);
        let facts = extract::facts(r, lcf, policy.cashu.is_some());
        let step = match ctx::get(r, Module::module()) {
            None => with_env(settings, |env| l402_gate::start(env, &policy, &facts)),
            Some(ctx) => match std::mem::replace(&mut ctx.state, State::Finished) {
                State::Waiting(pending) => {
                    let wev = (*(*r).connection).write;
                    if (*wev).timedout() == 0 {
                        // Woken by something else (a write event): keep waiting.
                        ctx.state = State::Waiting(pending);
                        return NGX_DONE;
                    }
                    (*wev).set_timedout(0);
                    release(r, ctx);
                    let mut events = pending.into_events();
                    events.push(error("l402: the payment backend or the store did not answer in time"));
                    let verdict = Verdict::Unavailable { cause: Cause::BackendTimeout, retry_after: Duration::from_secs(1) };
                    Step::Done(verdict, events)
                }
                State::Ready(pending, result) => {
                    release(r, ctx);
                    with_env(settings, |env| l402_gate::resume(env, &policy, &facts, pending, result))
                }
                State::Finished => {
                    log(r, NGX_LOG_ERR, "l402: access handler re-entered after answering");
                    return render::INTERNAL_ERROR;
                }
            },
        };
        drive(r, settings, lcf, &policy, &facts, step)
    }
}

/// Runs the decision's I/O steps until it is done (zone steps inline) or must wait.
unsafe fn drive(
    r: *mut ngx_http_request_t,
    settings: &Settings,
    lcf: &LocConf,
    policy: &Policy<'_>,
    facts: &Facts<'_>,
    mut step: Step,
) -> ngx_int_t {
    // SAFETY: live request, main thread (the caller's contract).
    unsafe {
        loop {
            match step {
                Step::Done(verdict, events) => return finish(r, lcf, policy, &verdict, events),
                Step::Io(pending, io) => match execute::run(settings, lcf, io) {
                    Executed::Now(result) => {
                        step = with_env(settings, |env| l402_gate::resume(env, policy, facts, pending, result));
                    }
                    Executed::Later(job) => return suspend(r, settings, lcf, policy, pending, job),
                },
            }
        }
    }
}

/// Suspends the request while `job` runs on the worker's runtime; the handler runs again when
/// it is done.
unsafe fn suspend(
    r: *mut ngx_http_request_t,
    settings: &Settings,
    lcf: &LocConf,
    policy: &Policy<'_>,
    pending: l402_gate::Pending,
    job: Job,
) -> ngx_int_t {
    // SAFETY: live request, main thread.
    unsafe {
        let ctx = match ctx::get(r, Module::module()) {
            Some(ctx) => ctx,
            None => match ctx::attach(r, Module::module(), RequestCtx { state: State::Finished, job: None }) {
                Some(ctx) => ctx,
                None => return render::INTERNAL_ERROR,
            },
        };
        let Job { future, remember } = job;
        let complete = completion(remember);
        ctx.state = State::Waiting(pending);
        match bridge::submit(r, settings.backstop(), future, complete) {
            Ok(guard) => {
                ctx.job = Some(guard);
                NGX_DONE
            }
            Err(e) => {
                let State::Waiting(pending) = std::mem::replace(&mut ctx.state, State::Finished) else {
                    return render::INTERNAL_ERROR;
                };
                let mut events = pending.into_events();
                events.push(error(&format!("l402: {e}")));
                let verdict = Verdict::Unavailable { cause: Cause::Backend, retry_after: Duration::from_secs(1) };
                finish(r, lcf, policy, &verdict, events)
            }
        }
    }
}

/// What runs on the main thread when a job is done: its warnings are logged, the executor's
/// cache updated, and the result stored for the handler's next run.
fn completion(
    remember: Option<Remember>,
) -> impl FnOnce(*mut ngx_http_request_t, Done) + 'static {
    move |r, (result, warnings)| {
        // SAFETY: the bridge runs completions on the main thread for a live request.
        unsafe {
            for w in &warnings {
                log(r, NGX_LOG_WARN, w);
            }
            if let Some(remember) = remember {
                remember(&result);
            }
            if let Some(ctx) = ctx::get(r, Module::module()) {
                if let State::Waiting(pending) = std::mem::replace(&mut ctx.state, State::Finished) {
                    ctx.state = State::Ready(pending, result);
                }
            }
        }
    }
}

/// Logs the decision's lines, records the verdict and renders it (or, in a dry run, lets the
/// request through).
unsafe fn finish(
    r: *mut ngx_http_request_t,
    lcf: &LocConf,
    policy: &Policy<'_>,
    verdict: &Verdict,
    events: Vec<Event>,
) -> ngx_int_t {
    // SAFETY: live request, main thread.
    unsafe {
        for e in &events {
            let level = match e.level {
                Level::Info => NGX_LOG_INFO,
                Level::Warn => NGX_LOG_WARN,
                Level::Error => NGX_LOG_ERR,
            };
            log(r, level, &e.message);
        }
        // An internal redirect (an index file, try_files) decides again: counted and logged once.
        let earlier = if (*r).internal() != 0 { record::get(r) } else { None };
        let repeat = earlier.as_deref().is_some_and(|earlier| {
            policy.dry_run || matches!(verdict, Verdict::Admitted(a) if earlier.token_id == Some(a.token_id))
        });
        if !repeat && lcf_log_json(r) {
            json_line(r, policy, verdict);
        }
        crate::metrics::count::decision(policy, verdict, repeat);
        if let Some(mut rec) = Record::of(verdict, policy.service) {
            rec.readmit = crate::readmit::of(r, lcf, policy, verdict);
            match earlier {
                Some(earlier) => {
                    // An internal redirect admitted the use this request already claimed: the
                    // count left after that claim still holds.
                    if rec.uses_left.is_none() && earlier.token_id == rec.token_id {
                        rec.uses_left = earlier.uses_left;
                    }
                    *earlier = rec;
                }
                None => record::add(r, rec),
            }
        }
        if policy.dry_run {
            return NGX_DECLINED;
        }
        // CORS headers only for an origin on the location's allow-list (Fetch, "CORS protocol").
        let cors_origin = policy.cors.and_then(|c| crate::ffi::header_in(r, "Origin").filter(|o| c.allows(o)));
        render::render(r, policy, verdict, cors_origin)
    }
}

/// Whether the request's location asked for `l402_log_format json`.
unsafe fn lcf_log_json(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: live request.
    unsafe { Module::location_conf(&*r).is_some_and(LocConf::log_json) }
}

/// Logs the verdict as one JSON line (`l402_gate::log_line`).
unsafe fn json_line(r: *mut ngx_http_request_t, policy: &Policy<'_>, verdict: &Verdict) {
    // SAFETY: live request on the main thread; its confs belong to the cycle.
    unsafe {
        let Some(lcf) = Module::location_conf(&*r) else { return };
        let settings = Module::main_conf(&*r).and_then(|m| m.settings.as_deref());
        let backend = match (&lcf.lnurl_addr, settings.and_then(|s| s.backends.first())) {
            (Some(_), _) => l402_lnurl::NAME,
            (None, Some(b)) => b.entry.name,
            (None, None) => "",
        };
        let started = u64::try_from((*r).start_sec).unwrap_or(0) * 1000 + (*r).start_msec as u64;
        let cx = l402_gate::log_line::Context {
            route: (*r).uri.as_bytes(),
            client_ip: (*(*r).connection).addr_text.as_bytes(),
            backend,
            price_source: match lcf.price() {
                crate::conf::Price::Fixed(_) => "static",
                crate::conf::Price::Variable(_) => "variable",
            },
            latency_ms: extract::now_ms().saturating_sub(started),
        };
        if let Some(line) = l402_gate::log_line::line(policy, verdict, &cx) {
            log(r, NGX_LOG_INFO, &line);
        }
    }
}

fn with_env<T>(settings: &Settings, f: impl FnOnce(&mut Env<'_>) -> T) -> T {
    VERIFIED.with(|memo| match memo.as_ref().and_then(|m| m.try_borrow_mut().ok()) {
        Some(mut memo) => f(&mut Env { keys: &settings.keys, memo: Some(&mut memo) }),
        None => f(&mut Env { keys: &settings.keys, memo: None }),
    })
}

fn error(message: &str) -> Event {
    Event { level: Level::Error, message: message.to_owned() }
}

/// Drops the job and the reference `bridge::submit` took on the request.
unsafe fn release(r: *mut ngx_http_request_t, ctx: &mut RequestCtx) {
    ctx.job = None;
    // SAFETY: `submit` incremented the main request's count; this is the matching decrement,
    // done once (the state is Finished or Ready afterwards, never Waiting again for this job).
    unsafe {
        let main = (*r).main;
        (*main).set_count((*main).count().saturating_sub(1));
    }
}

pub(crate) unsafe fn log(r: *mut ngx_http_request_t, level: u32, msg: &str) {
    // SAFETY: live request; its connection log is valid.
    unsafe {
        ngx::ngx_log_error!(level, (*(*r).connection).log, "{}", msg);
    }
}
