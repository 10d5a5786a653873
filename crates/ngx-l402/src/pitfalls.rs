//! `nginx -t` warnings for configurations that make a paid location free (payment-integrity
//! item 10; the README's *Pitfalls*).
//!
//! nginx tries regex locations after the longest matching prefix location unless that prefix
//! is `^~` or `=` (nginx docs, "location"), so with `location /paid/ { l402 on; }` and
//! `location ~* \.txt$ { }` a request for `/paid/x.txt` is served by the free regex location.
//! This runs in postconfiguration, after nginx built its location trees, and warns for every
//! such pair at the same level (a server, or inside one location).

use ngx::ffi::{
    ngx_conf_t, ngx_http_core_loc_conf_t, ngx_http_core_module, ngx_http_core_srv_conf_t,
    ngx_http_location_tree_node_t, NGX_LOG_WARN,
};
use ngx::http::{HttpModule, HttpModuleMainConf, NgxHttpCoreModule};

use crate::conf::LocConf;
use crate::{ffi, Module};

/// Most nesting levels walked (nginx configurations are a few levels deep).
const MAX_DEPTH: usize = 16;

/// Warns for every free regex location that wins over a paid prefix location.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn warn_regex_over_paid_prefix(cf: *mut ngx_conf_t) {
    // SAFETY: the core main conf's `servers` array holds core srv conf pointers; each server's
    // ctx holds its loc_conf array, whose core entry is the server-level location conf.
    unsafe {
        let Some(cmcf) = NgxHttpCoreModule::main_conf(&*cf) else { return };
        let servers = cmcf.servers.elts.cast::<*mut ngx_http_core_srv_conf_t>();
        for i in 0..cmcf.servers.nelts {
            let cscf = *servers.add(i);
            if cscf.is_null() || (*cscf).ctx.is_null() {
                continue;
            }
            let clcf = (*(*(*cscf).ctx).loc_conf.add(ngx_http_core_module.ctx_index))
                .cast::<ngx_http_core_loc_conf_t>();
            check_level(cf, clcf, 0);
        }
    }
}

/// The locations directly inside `parent` (a server-level or location conf).
unsafe fn check_level(cf: *mut ngx_conf_t, parent: *const ngx_http_core_loc_conf_t, depth: usize) {
    if parent.is_null() || depth > MAX_DEPTH {
        return;
    }
    // SAFETY: nginx built these trees and arrays in the configuration pool; they live as long
    // as the cycle.
    unsafe {
        let mut free_regex = Vec::new();
        let mut p = (*parent).regex_locations;
        if !p.is_null() {
            while !(*p).is_null() {
                if !paid(*p) {
                    free_regex.push(name(*p));
                }
                check_level(cf, *p, depth + 1);
                p = p.add(1);
            }
        }
        let mut prefixes = Vec::new();
        walk(cf, (*parent).static_locations, &mut prefixes, depth);
        for prefix in &prefixes {
            for regex in &free_regex {
                ffi::conf_log(
                    cf,
                    NGX_LOG_WARN,
                    &format!(
                        "l402: the free regex location \"{regex}\" is tried after the paid prefix \
                         location \"{prefix}\" and wins for requests both match, serving them \
                         without payment; write \"location ^~ {prefix}\" or put \"l402 on\" in the \
                         regex location"
                    ),
                );
            }
        }
    }
}

/// Collects the paid plain-prefix locations of a static location tree and checks the levels
/// nested in its locations.
unsafe fn walk(
    cf: *mut ngx_conf_t,
    node: *const ngx_http_location_tree_node_t,
    prefixes: &mut Vec<String>,
    depth: usize,
) {
    if node.is_null() {
        return;
    }
    // SAFETY: see `check_level`.
    unsafe {
        walk(cf, (*node).left, prefixes, depth);
        walk(cf, (*node).right, prefixes, depth);
        walk(cf, (*node).tree, prefixes, depth);
        let inclusive = (*node).inclusive;
        if !inclusive.is_null() {
            if paid(inclusive) && (*inclusive).noregex() == 0 {
                prefixes.push(name(inclusive));
            }
            check_level(cf, inclusive, depth + 1);
        }
        let exact = (*node).exact;
        if !exact.is_null() && exact != inclusive {
            check_level(cf, exact, depth + 1);
        }
    }
}

unsafe fn paid(clcf: *const ngx_http_core_loc_conf_t) -> bool {
    // SAFETY: every location's loc_conf array has an entry per HTTP module; ours is a LocConf.
    unsafe {
        let lcf = (*(*clcf).loc_conf.add(Module::module().ctx_index)).cast::<LocConf>();
        lcf.as_ref().is_some_and(LocConf::enabled)
    }
}

unsafe fn name(clcf: *const ngx_http_core_loc_conf_t) -> String {
    // SAFETY: the name is an ngx_str_t of the configuration.
    unsafe { String::from_utf8_lossy((*clcf).name.as_bytes()).chars().take(128).collect() }
}
