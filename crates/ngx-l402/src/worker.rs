//! Per-worker start and stop (`init_process` / `exit_process`): everything that starts threads
//! or opens descriptors happens here, after fork, never in the master.

use std::cell::RefCell;
use std::sync::Arc;

use l402_backend::{Backend, Failover, Started};
use ngx::ffi::{ngx_cycle_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_WARN};
use ngx::http::{HttpModule, HttpModuleConfExt};

use l402_redis::RedisStore;

use crate::conf::{MainConf, StoreSettings};
use crate::job::WorkerPrices;
use crate::{bridge, Module};

thread_local! {
    static BACKEND: RefCell<Option<Arc<dyn Backend>>> = const { RefCell::new(None) };
    static REDIS: RefCell<Option<(RedisStore, WorkerPrices)>> = const { RefCell::new(None) };
}

/// This worker's Redis store and price cache, when Redis is configured. The store connects
/// lazily, on the worker's runtime.
pub fn redis() -> Option<(RedisStore, WorkerPrices)> {
    REDIS.with(|r| r.try_borrow().ok().and_then(|r| r.clone()))
}

/// The payment backend of this worker, if the bridge is up.
pub fn backend() -> Option<Arc<dyn Backend>> {
    if !bridge::running() {
        return None;
    }
    BACKEND.with(|b| b.try_borrow().ok().and_then(|b| b.clone()))
}

/// `init_process`.
///
/// # Safety
/// Called by nginx in a freshly started process with its live cycle.
pub unsafe extern "C" fn init_process(cycle: *mut ngx_cycle_t) -> ngx_int_t {
    crate::guard::guard_void(|| {
        // SAFETY: forwarded contract.
        unsafe { start(cycle) }
    });
    0
}

unsafe fn start(cycle: *mut ngx_cycle_t) {
    // SAFETY: reading nginx's process-role global on the main thread.
    let role = unsafe { ngx::ffi::ngx_process };
    if role != ngx::ffi::NGX_PROCESS_WORKER as ngx::ffi::ngx_uint_t
        && role != ngx::ffi::NGX_PROCESS_SINGLE as ngx::ffi::ngx_uint_t
    {
        return; // cache manager/loader and helpers do not serve requests
    }
    // SAFETY: `cycle` is live; the main conf (if any http{} exists) is our MainConf.
    let main = unsafe { (*cycle).http_main_conf_unchecked::<MainConf>(Module::module()) };
    // SAFETY: as above; the zones of this cycle were initialised before init_process.
    unsafe { crate::metrics::attach(main.and_then(|m| m.as_ref().metrics)) };
    // SAFETY: as above.
    let settings = main.and_then(|m| unsafe { m.as_ref() }.settings.clone());
    let Some(settings) = settings else { return };
    // SAFETY: `cycle->log` is valid for the life of the process.
    let log = unsafe { (*cycle).log };
    let mut built: Vec<Arc<dyn Backend>> = Vec::with_capacity(settings.backends.len());
    for b in &settings.backends {
        // No connection is opened here: each backend connects on first use, inside this
        // worker's runtime.
        match b.settings.build() {
            Ok(backend) => built.push(backend),
            Err(e) => {
                ngx::ngx_log_error!(
                    NGX_LOG_ERR,
                    log,
                    "l402: cannot start the {} payment backend: {}",
                    b.entry.name,
                    e
                );
            }
        }
        if let Some(warning) = b.entry.start_warning {
            ngx::ngx_log_error!(NGX_LOG_WARN, log, "{}", warning);
        }
    }
    let backend: Arc<dyn Backend> = if built.len() == 1 && settings.backends.len() == 1 {
        match built.pop() {
            Some(b) => Arc::new(Started::new(b)),
            None => return,
        }
    } else {
        // Several backends (or one that could not start): tried in order. Failures are
        // recorded into the running job's output (the hook runs on the runtime thread, where
        // nginx's log must not be used); the main thread logs them.
        // Each backend starts before its own first call.
        let built = built.into_iter().map(|b| Arc::new(Started::new(b)) as Arc<dyn Backend>).collect();
        Arc::new(Failover::new(built).on_failure(crate::job::record_failure))
    };
    BACKEND.with(|b| *b.borrow_mut() = Some(backend));
    if let StoreSettings::Zone(zone) = &settings.store {
        // SAFETY: main thread of a worker; the cycle's zones are initialised.
        let slots = unsafe { zone.capacity() };
        ngx::ngx_log_error!(
            ngx::ffi::NGX_LOG_INFO,
            log,
            "l402: usage zone ready: {} slots (one per token with uses left to count, \
             ~94 % usable before new claims are refused)",
            slots
        );
    }
    if let StoreSettings::Redis(cfg) = &settings.store {
        // No I/O here: the store connects on first use, inside the runtime.
        let store = RedisStore::new(cfg.clone());
        REDIS.with(|r| *r.borrow_mut() = Some((store, WorkerPrices::new())));
    }
    // SAFETY: main thread of a worker, inside init_process.
    if let Err(e) = unsafe { bridge::start(cycle, settings.max_pending) } {
        ngx::ngx_log_error!(NGX_LOG_ERR, log, "l402: {}; paid locations will answer 503", e);
        return;
    }
    start_backend_early();
    if let Some(cashu) = &settings.cashu {
        if let Err(e) = crate::cashu::start(cashu) {
            ngx::ngx_log_error!(NGX_LOG_ERR, log, "l402: {}; Cashu payments will answer 503", e);
        }
    }
}

/// Starts the backend (its `start` hook: a connection, a subscription) when the worker starts
/// rather than on the first paid request, as a background task; a failure is logged and the
/// start is tried again on first use (`l402_backend::Started`).
fn start_backend_early() {
    let Some(backend) = self::backend() else { return };
    bridge::spawn_background(false, move |sink| async move {
        if let Err(e) = backend.start().await {
            sink.log(
                NGX_LOG_WARN,
                format!("l402: the payment backend did not start: {e}; it is tried again on the first paid request"),
            );
        }
    });
}

/// Runs the backend's `stop` hook on a short-lived thread of its own (this thread may be inside
/// the bridge's runtime context, where no runtime can block), bounded by [`STOP_LIMIT`]. The
/// worker is exiting; with the default hooks this returns at once. The thread starts with
/// every signal blocked, so nginx's signals stay on the main thread.
fn stop_backend(backend: &Arc<dyn Backend>) {
    let backend = Arc::clone(backend);
    // SAFETY: sigset_t is plain data; sigfillset/pthread_sigmask only write the sets we pass,
    // and the previous mask is restored on this same thread below.
    let previous = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        previous
    };
    let stopper = std::thread::Builder::new().name("l402-stop".into()).spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_time().build() {
            let _ = rt.block_on(async { tokio::time::timeout(STOP_LIMIT, backend.stop()).await });
        }
    });
    // SAFETY: restores the mask saved above on this thread.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut()) };
    if let Ok(stopper) = stopper {
        let _ = stopper.join();
    }
}

/// Longest a worker waits for its backends' `stop` hooks when it exits.
const STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// `exit_process`.
///
/// # Safety
/// Called by nginx when a worker exits.
pub unsafe extern "C" fn exit_process(_cycle: *mut ngx_cycle_t) {
    crate::guard::guard_void(|| {
        // The Redis connection goes first, while the runtime that owns its socket still runs.
        REDIS.with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r.take();
            }
        });
        // Backends that started stop while the runtime that owns their connections still runs.
        let backend = BACKEND.with(|b| b.try_borrow_mut().ok().and_then(|mut b| b.take()));
        if let Some(backend) = &backend {
            stop_backend(backend);
        }
        crate::cashu::stop();
        bridge::stop();
        drop(backend);

    });
}
