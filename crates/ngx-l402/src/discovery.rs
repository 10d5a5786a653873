//! `l402_manifest`: serves the discovery document (`l402-discovery`) of the location's server
//! block, at `/.well-known/l402-services` by convention. The document is built once per
//! configuration at postconfiguration from nginx's location trees: every paid location that
//! can be requested (not named, not in a dry run, not marked `l402_manifest_hide`), with the
//! terms its tokens are sold under. Nothing in it comes from a request.

use std::sync::Arc;

use l402_discovery::{Manifest, PaymentMethod, Price, Route, ServiceInfo, TokenUses};
use l402_usage::UsePolicy;
use ngx::ffi::{ngx_conf_t, ngx_http_request_t, ngx_int_t};
use ngx::http::HttpModuleLocationConf;

use crate::conf::{env, LocConf, MainConf, Price as ConfPrice};
use crate::loc_tree::{children, l402_conf, modifier, servers, Clcf, MAX_DEPTH};
use crate::render::INTERNAL_ERROR;
use crate::{respond, Module};

/// Longest location name copied into the document.
const MAX_PATH: usize = 1024;

/// Builds the document of every server block that has an `l402_manifest` location and gives it
/// to those locations.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration, after service
/// names were derived.
pub unsafe fn build_all(cf: *mut ngx_conf_t, mcf: &MainConf) {
    let service = ServiceInfo {
        name: env::var("L402_SERVICE_NAME"),
        description: env::var("L402_SERVICE_DESCRIPTION"),
        operator: env::var("L402_SERVICE_OPERATOR"),
        contact: env::var("L402_SERVICE_CONTACT"),
    };
    let payment_methods = payment_methods(mcf);
    // SAFETY: forwarded contract; every conf reached belongs to the configured cycle.
    unsafe {
        for (_, server) in servers(cf) {
            let mut walk = Walk { routes: Vec::new(), manifests: Vec::new(), redis: mcf.redis.is_some() };
            walk.level(server, 0);
            if walk.manifests.is_empty() {
                continue;
            }
            let doc = Manifest { service: service.clone(), payment_methods: payment_methods.clone(), routes: walk.routes };
            let text: Arc<str> = Arc::from(doc.to_json());
            for lcf in walk.manifests {
                lcf.manifest_doc = Some(Arc::clone(&text));
            }
        }
    }
}

fn payment_methods(mcf: &MainConf) -> Vec<PaymentMethod> {
    let Some(settings) = mcf.settings.as_deref() else { return Vec::new() };
    settings
        .backends
        .iter()
        .map(|b| {
            let address = match b.entry.name == l402_lnurl::NAME {
                true => mcf
                    .backend_values
                    .get("l402_lnurl_address")
                    .cloned()
                    .or_else(|| env::var("LNURL_ADDRESS"))
                    .and_then(|a| settings.lnurl.payee(&a).ok())
                    .map(|p| p.shown().to_owned()),
                false => None,
            };
            PaymentMethod::Lightning { backend: b.entry.name.to_ascii_uppercase(), address }
        })
        .collect()
}

struct Walk {
    routes: Vec<Route>,
    manifests: Vec<&'static mut LocConf>,
    redis: bool,
}

impl Walk {
    unsafe fn level(&mut self, parent: Clcf, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        // SAFETY: confs of the configured cycle (the caller's contract).
        unsafe {
            for clcf in children(parent).all() {
                if let Some(lcf) = l402_conf(clcf) {
                    if let Some(route) = self.route(clcf, lcf) {
                        self.routes.push(route);
                    }
                    if lcf.manifest {
                        self.manifests.push(lcf);
                    }
                }
                self.level(clcf, depth + 1);
            }
        }
    }

    unsafe fn route(&self, clcf: Clcf, lcf: &LocConf) -> Option<Route> {
        if !lcf.enabled() || lcf.dry_run() || lcf.manifest_hide() {
            return None;
        }
        // SAFETY: a live location conf of the cycle.
        let (path, match_kind) = unsafe {
            let raw = (*clcf).name.as_bytes();
            let path: String = String::from_utf8_lossy(&raw[..raw.len().min(MAX_PATH)]).into_owned();
            let kind = match modifier(clcf) {
                "=" => "exact",
                "^~" => "prefix_no_regex",
                // `~` and `~*` alike: nginx keeps only the compiled expression.
                "~" => "regex",
                "@" => return None,
                _ => "prefix",
            };
            (path, kind)
        };
        let service = lcf.service.clone().or_else(|| lcf.derived_service.get().cloned())?;
        let price = match lcf.price() {
            ConfPrice::Fixed(msat) if self.redis && lcf.redis_price() => Price::Dynamic { default_msat: Some(msat) },
            ConfPrice::Fixed(msat) => Price::Static(msat),
            ConfPrice::Variable(_) => Price::Dynamic { default_msat: None },
        };
        let token_uses = match lcf.uses() {
            UsePolicy::Limited(n) => TokenUses::Limited(n.get()),
            UsePolicy::Unlimited => TokenUses::Unlimited,
        };
        let timeout = lcf.macaroon_timeout();
        Some(Route {
            path,
            match_kind,
            service,
            price,
            token_uses,
            macaroon_timeout_secs: (timeout > 0).then_some(timeout),
            rate_limit: lcf.rate_limit().map(|r| (r.count, r.period_ms / 1000)),
            auto_detect_payment: lcf.auto_detect(),
            lnurl_addr: lcf.lnurl_addr.as_deref().map(shown_payee),
            methods: vec![l402_gate::Method::L402.text()],
        })
    }
}

/// A payee without its query string (an LNURL-pay URL may carry a secret there).
fn shown_payee(text: &str) -> String {
    text.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// # Safety
/// Content handler called by nginx with a live request.
pub unsafe extern "C" fn manifest_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    crate::guard::ffi_guard(r, INTERNAL_ERROR, || {
        // SAFETY: forwarded contract.
        unsafe { handle(r) }
    })
}

unsafe fn handle(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: live request on the main thread.
    unsafe {
        if let Err(rc) = respond::get_only(r) {
            return rc;
        }
        let doc = Module::location_conf(&*r).and_then(|l| l.manifest_doc.as_deref().map(str::to_owned));
        let body = doc.unwrap_or_else(|| Manifest::default().to_json());
        respond::send_text(r, "application/json", body)
    }
}
