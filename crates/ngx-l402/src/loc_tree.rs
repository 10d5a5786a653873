//! Walking nginx's location trees after it built them (postconfiguration): every server block,
//! and at each level the locations directly inside it, by kind. Used by `pitfalls.rs` and
//! `services.rs`.
//!
//! nginx keeps a level's prefix and exact locations in a binary tree of
//! `ngx_http_location_tree_node_t` (`static_locations`), its regex locations in a NULL-ended
//! array (`regex_locations`), and a server's named locations in `named_locations`. `if` and
//! `limit_except` blocks are in none of them (their confs merge from the enclosing location).

use ngx::ffi::{
    ngx_conf_t, ngx_http_core_loc_conf_t, ngx_http_core_module, ngx_http_core_srv_conf_t,
    ngx_http_location_tree_node_t,
};
use ngx::http::{HttpModule, HttpModuleMainConf, NgxHttpCoreModule};

use crate::conf::LocConf;
use crate::Module;

/// Most nesting levels walked (nginx configurations are a few levels deep).
pub const MAX_DEPTH: usize = 16;

/// A location conf of the cycle being configured.
pub type Clcf = *const ngx_http_core_loc_conf_t;

/// The locations directly inside one server or location.
#[derive(Default)]
pub struct Level {
    /// `location /p` and `location ^~ /p`.
    pub prefix: Vec<Clcf>,
    /// `location = /p`.
    pub exact: Vec<Clcf>,
    /// `location ~ re` and `location ~* re`, in configuration order.
    pub regex: Vec<Clcf>,
}

impl Level {
    /// Every location of the level.
    pub fn all(&self) -> impl Iterator<Item = Clcf> + '_ {
        self.prefix.iter().chain(&self.exact).chain(&self.regex).copied()
    }
}

/// Every server block: its conf and its server-level location conf.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn servers(cf: *mut ngx_conf_t) -> Vec<(*const ngx_http_core_srv_conf_t, Clcf)> {
    let mut out = Vec::new();
    // SAFETY: the core main conf's `servers` array holds core srv conf pointers; each server's
    // ctx holds its loc_conf array, whose core entry is the server-level location conf.
    unsafe {
        let Some(cmcf) = NgxHttpCoreModule::main_conf(&*cf) else { return out };
        let servers = cmcf.servers.elts.cast::<*mut ngx_http_core_srv_conf_t>();
        for i in 0..cmcf.servers.nelts {
            let cscf = *servers.add(i);
            if cscf.is_null() || (*cscf).ctx.is_null() {
                continue;
            }
            let clcf = (*(*(*cscf).ctx).loc_conf.add(ngx_http_core_module.ctx_index))
                .cast::<ngx_http_core_loc_conf_t>();
            out.push((cscf.cast_const(), clcf.cast_const()));
        }
    }
    out
}

/// The locations directly inside `parent` (a server-level or location conf).
///
/// # Safety
/// `parent` is null or a location conf of the configured cycle, in postconfiguration.
pub unsafe fn children(parent: Clcf) -> Level {
    let mut level = Level::default();
    if parent.is_null() {
        return level;
    }
    // SAFETY: nginx built these trees and arrays in the configuration pool; they live as long
    // as the cycle.
    unsafe {
        let mut p = (*parent).regex_locations;
        if !p.is_null() {
            while !(*p).is_null() {
                level.regex.push((*p).cast_const());
                p = p.add(1);
            }
        }
        collect(&mut level, (*parent).static_locations);
    }
    level
}

/// A server's named locations (`location @name`).
///
/// # Safety
/// `cscf` is a server conf of the configured cycle, in postconfiguration.
pub unsafe fn named(cscf: *const ngx_http_core_srv_conf_t) -> Vec<Clcf> {
    let mut out = Vec::new();
    // SAFETY: a NULL-ended array in the configuration pool, or null.
    unsafe {
        let mut p = (*cscf).named_locations;
        if !p.is_null() {
            while !(*p).is_null() {
                out.push((*p).cast_const());
                p = p.add(1);
            }
        }
    }
    out
}

unsafe fn collect(level: &mut Level, node: *const ngx_http_location_tree_node_t) {
    if node.is_null() {
        return;
    }
    // SAFETY: see `children`.
    unsafe {
        collect(level, (*node).left);
        collect(level, (*node).right);
        collect(level, (*node).tree);
        let inclusive = (*node).inclusive;
        if !inclusive.is_null() {
            level.prefix.push(inclusive.cast_const());
        }
        let exact = (*node).exact;
        if !exact.is_null() && exact != inclusive {
            level.exact.push(exact.cast_const());
        }
    }
}

/// Our configuration of a location (`location` blocks only: a server-level conf has no
/// `loc_conf` of its own, see [`server_l402_conf`]).
///
/// # Safety
/// `clcf` is a location conf of the configured cycle.
pub unsafe fn l402_conf<'a>(clcf: Clcf) -> Option<&'a mut LocConf> {
    // SAFETY: every location's loc_conf array has an entry per HTTP module; ours is a LocConf.
    unsafe {
        let confs = (*clcf).loc_conf;
        if confs.is_null() {
            return None;
        }
        (*confs.add(Module::module().ctx_index)).cast::<LocConf>().as_mut()
    }
}

/// Our configuration at a server's level (requests that match no location use it).
///
/// # Safety
/// `cscf` is a server conf of the configured cycle.
pub unsafe fn server_l402_conf<'a>(cscf: *const ngx_http_core_srv_conf_t) -> Option<&'a mut LocConf> {
    // SAFETY: a server's ctx holds its loc_conf array, one entry per HTTP module.
    unsafe { (*(*(*cscf).ctx).loc_conf.add(Module::module().ctx_index)).cast::<LocConf>().as_mut() }
}

/// Whether `l402 on` applies to the location.
///
/// # Safety
/// As [`l402_conf`].
pub unsafe fn paid(clcf: Clcf) -> bool {
    // SAFETY: forwarded contract.
    unsafe { l402_conf(clcf) }.is_some_and(|c| c.enabled())
}

/// The location's name as written (at most 128 characters), for messages.
///
/// # Safety
/// As [`l402_conf`].
pub unsafe fn name(clcf: Clcf) -> String {
    // SAFETY: the name is an ngx_str_t of the configuration.
    unsafe { String::from_utf8_lossy((*clcf).name.as_bytes()).chars().take(128).collect() }
}

/// The location's match modifier: `=`, `^~`, `~` (regex, either case), `@` or `` (prefix).
///
/// # Safety
/// As [`l402_conf`].
pub unsafe fn modifier(clcf: Clcf) -> &'static str {
    // SAFETY: reading bit fields of a live conf.
    unsafe {
        let c = &*clcf;
        if c.exact_match() != 0 {
            "="
        } else if !c.regex.is_null() {
            "~"
        } else if c.noregex() != 0 {
            "^~"
        } else if c.named() != 0 {
            "@"
        } else {
            ""
        }
    }
}
