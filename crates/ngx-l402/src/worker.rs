//! Per-worker start and stop (`init_process` / `exit_process`): everything that starts threads
//! or opens descriptors happens here, after fork, never in the master.

use std::cell::RefCell;
use std::sync::Arc;

use l402_backend::Backend;
use l402_fake::{FakeBackend, FakeConfig};
use ngx::ffi::{ngx_cycle_t, ngx_int_t, NGX_LOG_ERR, NGX_LOG_WARN};
use ngx::http::{HttpModule, HttpModuleConfExt};

use l402_redis::RedisStore;

use crate::conf::{BackendSettings, MainConf, StoreSettings};
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
    let settings = unsafe {
        (*cycle)
            .http_main_conf_unchecked::<MainConf>(Module::module())
            .and_then(|m| m.as_ref().settings.clone())
    };
    let Some(settings) = settings else { return };
    // SAFETY: `cycle->log` is valid for the life of the process.
    let log = unsafe { (*cycle).log };
    let backend: Arc<dyn Backend> = match &settings.backend {
        BackendSettings::Fake { secret, delay, network } => {
            ngx::ngx_log_error!(
                NGX_LOG_WARN,
                log,
                "l402: the FAKE payment backend is active: its invoices cannot be paid on any \
                 real network and anyone can get a preimage from l402_fake_pay; \
                 never use it in production"
            );
            Arc::new(FakeBackend::new(
                secret.clone(),
                FakeConfig { delay: *delay, network: *network, ..FakeConfig::default() },
            ))
        }
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
    }
}

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
        bridge::stop();
        BACKEND.with(|b| {
            if let Ok(mut b) = b.try_borrow_mut() {
                b.take();
            }
        });

    });
}
