//! Per-location payees (`l402_lnurl_addr`, the seed's multi-tenant mode): each location's
//! invoices pay its own LNURL payee, whatever the block's backend is.
//!
//! Checked when the configuration loads (every location's payee parses under the block's
//! transport settings, so `nginx -t` names a bad one); built in each worker on first use, once
//! per distinct payee (their number is bounded by the configuration), all sharing one
//! [`Transport`]: one connection pool with TLS session resumption per worker.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use l402_backend::Backend;
use l402_lnurl::{LnurlBackend, Transport};
use ngx::ffi::ngx_conf_t;

use crate::backends::lnurl::Shared;
use crate::conf::{LocConf, Settings};
use crate::loc_tree::{children, l402_conf, name, named, server_l402_conf, servers, Clcf, MAX_DEPTH};

thread_local! {
    static TRANSPORT: RefCell<Option<Transport>> = const { RefCell::new(None) };
    static PAYEES: RefCell<HashMap<Arc<str>, Tenant>> = RefCell::new(HashMap::new());
}

/// A location's payee: its backend and how logs name it ([`l402_lnurl::Payee::shown`]).
#[derive(Clone)]
pub struct Tenant {
    pub backend: Arc<dyn Backend>,
    pub shown: Arc<str>,
}

/// This worker's LNURL transport, built on first use (after fork: it opens no socket itself).
pub fn transport(shared: &Shared) -> Result<Transport, String> {
    TRANSPORT.with(|t| {
        let mut t = t.try_borrow_mut().map_err(|_| "the LNURL transport is busy".to_owned())?;
        if let Some(existing) = t.as_ref() {
            return Ok(existing.clone());
        }
        let built = Transport::new(&shared.transport)?;
        *t = Some(built.clone());
        Ok(built)
    })
}

/// The payee `text` (a location's `l402_lnurl_addr`), built once per worker.
pub fn backend_for(settings: &Settings, text: &Arc<str>) -> Result<Tenant, String> {
    if let Some(t) = PAYEES.with(|p| p.try_borrow().ok().and_then(|p| p.get(text).cloned())) {
        return Ok(t);
    }
    let payee = settings.lnurl.payee(text)?;
    let shown: Arc<str> = payee.shown().into();
    let backend: Arc<dyn Backend> = Arc::new(LnurlBackend::new(settings.lnurl.config(payee), transport(&settings.lnurl)?));
    let tenant = Tenant { backend, shown };
    PAYEES.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.insert(Arc::clone(text), tenant.clone());
        }
    });
    Ok(tenant)
}

/// Checks every `l402_lnurl_addr` of the block; `Err` names the location.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn check_all(cf: *mut ngx_conf_t, settings: &Settings) -> Result<(), String> {
    // SAFETY: forwarded contract; every conf reached belongs to the configured cycle.
    unsafe {
        for (cscf, server) in servers(cf) {
            check(settings, server_l402_conf(cscf).as_deref(), "a server block")?;
            level(settings, server, 0)?;
            for n in named(cscf) {
                check(settings, l402_conf(n).as_deref(), &format!("location \"@{}\"", name(n)))?;
            }
        }
    }
    Ok(())
}

unsafe fn level(settings: &Settings, parent: Clcf, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    // SAFETY: see check_all.
    unsafe {
        for child in children(parent).all() {
            check(settings, l402_conf(child).as_deref(), &format!("location \"{}\"", name(child)))?;
            level(settings, child, depth + 1)?;
        }
    }
    Ok(())
}

fn check(settings: &Settings, lcf: Option<&LocConf>, place: &str) -> Result<(), String> {
    match lcf.and_then(|l| l.lnurl_addr.as_deref()) {
        Some(text) => settings
            .lnurl
            .payee(text)
            .map(|_| ())
            .map_err(|e| format!("l402: \"l402_lnurl_addr\" of {place}: payee {e}")),
        None => Ok(()),
    }
}
