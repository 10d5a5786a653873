//! `ngx_http_l402_module`: the nginx adapter of the L402 paywall.
//!
//! This crate is the only place that touches nginx and holds `unsafe`; protocol logic lives in
//! `l402-core`, invoices in the backend crates. Layout:
//! - `conf/`: directives, environment, validation at parse time (`nginx -t`);
//! - `access.rs`: the access-phase handler, where a request enters: `extract.rs` reads its
//!   facts, `l402_gate` decides, `execute.rs` runs the I/O the decision asks for, `render.rs`
//!   answers the verdict over HTTP and `record.rs` keeps it for the `$l402_*` variables;
//! - `variables.rs`: the `$l402_*` variables, read from the recorded verdict;
//! - `subrequest.rs`: refuses subrequests into paid locations (they skip the access phase);
//! - `marks.rs`: request facts that survive internal redirects;
//! - `loc_tree.rs`: walking nginx's location trees at configuration time, for
//!   `services.rs` (the service name each paid location derives, collisions refused) and
//!   `pitfalls.rs` (`nginx -t` warnings for configurations that make paid locations free);
//! - `zone/`: the usage zone and its state file;
//! - `bridge/`: per-worker async runtime and the hand-off back to the event loop;
//! - `job/`: I/O done off the main thread; `worker.rs`: process start/stop;
//! - `discovery.rs`: `l402_manifest`, the discovery document of a server's paid locations;
//! - `metrics/`: the Prometheus counters (shared zone, what is counted, `l402_metrics`);
//! - `fake_pay.rs`: the fake backend's pay endpoint; `respond.rs`: their small answers.

mod access;
mod backends;
mod bridge;
mod cashu;
mod conf;
mod cors;
mod ctx;
mod discovery;
mod execute;
mod extract;
mod fake_pay;
mod ffi;
mod guard;
mod job;
mod loc_tree;
mod marks;
mod page;
mod metrics;
mod payees;
mod pitfalls;
mod readmit;
mod record;
mod render;
mod respond;
mod services;
mod subrequest;
mod variables;
mod worker;
mod zone;

use std::ffi::c_void;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::Arc;

use ngx::ffi::{
    ngx_array_push, ngx_conf_t, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_ACCESS_PHASE, ngx_http_phases_NGX_HTTP_PREACCESS_PHASE, ngx_int_t, ngx_module_t, NGX_HTTP_MODULE,
    NGX_LOG_EMERG, NGX_LOG_WARN,
};
use ngx::http::{HttpModule, HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};

use crate::conf::{LocConf, MainConf};

/// Marker type carrying the module's nginx glue.
pub struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the static is initialised at load time and nginx only writes its indices
        // during configuration, before any request is served.
        unsafe { &*addr_of!(ngx_http_l402_module) }
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        let mut rc = ffi::NGX_ERROR;
        guard::guard_void(|| {
            // SAFETY: nginx passes the live configuration of the http{} block.
            rc = unsafe { postconfiguration(cf) };
        });
        rc
    }
}

// SAFETY: MainConf/LocConf are the types our create_*_conf allocate for this module.
unsafe impl HttpModuleMainConf for Module {
    type MainConf = MainConf;
}
// SAFETY: as above.
unsafe impl HttpModuleLocationConf for Module {
    type LocationConf = LocConf;
}

/// Validates the whole http{} block and registers the access handler.
unsafe fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    // SAFETY: `cf` is live; our main conf was created by create_main_conf.
    let Some(mcf) = (unsafe { Module::main_conf_mut(&*cf) }) else {
        return ffi::NGX_ERROR;
    };
    if let Err(msg) = conf::resolve_redis(mcf) {
        ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
        return ffi::NGX_ERROR;
    }
    if mcf.redis.is_some() && mcf.zone.is_some() {
        ffi::conf_log(
            cf,
            NGX_LOG_WARN,
            "l402: Redis is configured, so token claims and rate limits live in Redis; \
             \"l402_usage_zone\" is not used",
        );
    }
    if mcf.enabled_somewhere && mcf.zone.is_none() && mcf.redis.is_none() {
        // Single use is the default: every paid location needs a claim store.
        let tag = (&raw const ngx_http_l402_module).cast();
        let spec = conf::directives::default_state_path(cf, conf::DEFAULT_ZONE_NAME).map(|state| zone::ZoneSpec {
            name: conf::DEFAULT_ZONE_NAME.to_owned(),
            size: conf::DEFAULT_ZONE_SIZE,
            state: Some(state),
        });
        match spec.and_then(|spec| zone::declare(cf, spec, tag)) {
            Ok(z) => mcf.zone = Some(z),
            Err(msg) => {
                ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "l402: {}", msg);
                return ffi::NGX_ERROR;
            }
        }
    }
    if mcf.enabled_somewhere || mcf.metrics_used || mcf.fake_pay_used {
        let tag = (&raw const ngx_http_l402_module).cast();
        match metrics::declare(cf, tag) {
            Ok(z) => mcf.metrics = Some(z),
            Err(msg) => {
                ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "l402: {}", msg);
                return ffi::NGX_ERROR;
            }
        }
    }
    if let (true, None, Some(z)) = (mcf.enabled_somewhere, &mcf.redis, mcf.zone) {
        if z.spec().state.is_none() {
            ffi::conf_log(
                cf,
                NGX_LOG_WARN,
                "l402: usage zone with state=off: its claims are lost when nginx stops or crashes, \
                 and a used token is then accepted again until it expires",
            );
        }
    }
    match conf::resolve_main(mcf) {
        Ok(None) => return ffi::NGX_OK, // L402 not used: no handler, zero cost
        Ok(Some(settings)) => {
            if settings.fake_secret().is_some() {
                ffi::conf_log(
                    cf,
                    NGX_LOG_WARN,
                    "l402: the FAKE payment backend is configured; it is for demos and tests only",
                );
            }
            mcf.settings = Some(Arc::new(settings));
        }
        Err(msg) => {
            ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
            return ffi::NGX_ERROR;
        }
    }
    // SAFETY: `cf` is live in postconfiguration; nginx has built its location trees.
    if let Err(msg) = unsafe { services::derive_all(cf) } {
        ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
        return ffi::NGX_ERROR;
    }
    if let Some(settings) = mcf.settings.as_deref() {
        // SAFETY: as above.
        if let Err(msg) = unsafe { payees::check_all(cf, settings) } {
            ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
            return ffi::NGX_ERROR;
        }
    }
    // SAFETY: as above; service names are derived.
    unsafe { discovery::build_all(cf, mcf) };
    // SAFETY: as above.
    unsafe { pitfalls::warn_regex_over_paid_prefix(cf) };
    // SAFETY: as above.
    unsafe { pitfalls::warn_rewrite_answers(cf) };
    // SAFETY: `cf` is live; the core main conf holds the phase handler arrays.
    unsafe {
        let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(&*cf) else {
            return ffi::NGX_ERROR;
        };
        let handlers: [(u32, ngx_http_handler_pt); 2] = [
            (ngx_http_phases_NGX_HTTP_ACCESS_PHASE, Some(access::access_handler)),
            (ngx_http_phases_NGX_HTTP_PREACCESS_PHASE, Some(subrequest::preaccess_handler)),
        ];
        for (phase, handler) in handlers {
            let phase = &mut cmcf.phases[phase as usize];
            let h = ngx_array_push(&mut phase.handlers).cast::<ngx_http_handler_pt>();
            if h.is_null() {
                return ffi::NGX_ERROR;
            }
            *h = handler;
        }
    }
    ffi::NGX_OK
}

static NGX_HTTP_L402_MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(variables::preconfiguration),
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: Some(Module::create_main_conf),
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(Module::create_loc_conf),
    merge_loc_conf: Some(Module::merge_loc_conf),
};

/// The module object nginx loads (`load_module …/ngx_http_l402_module.so`).
#[no_mangle]
#[used]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_l402_module: ngx_module_t = ngx_module_t {
    ctx: addr_of!(NGX_HTTP_L402_MODULE_CTX) as *mut c_void,
    // SAFETY: only the address of the table is taken.
    commands: addr_of_mut!(conf::directives::COMMANDS) as *mut ngx::ffi::ngx_command_t,
    type_: NGX_HTTP_MODULE as _,
    init_process: Some(worker::init_process),
    exit_process: Some(worker::exit_process),
    ..ngx_module_t::default()
};

ngx::ngx_modules!(ngx_http_l402_module);

