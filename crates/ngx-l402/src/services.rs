//! The service name a paid location's tokens are bound to when `l402_service` is not set,
//! derived once per configuration (payment-integrity item 3).
//!
//! A token opens only the service it was bought for, so two locations must never derive the same
//! name by accident. The name is a digest of the location's identity: the server block's server
//! names and the chain of locations that leads to it with their match modifiers
//! (`location = /d` and `location /d` differ, as do `/a/ { ~ \.txt$ }` and `/b/ { ~ \.txt$ }`).
//! Listen addresses are left out on purpose: instances that share tokens (several hosts or
//! ports behind one balancer, one Redis) must derive the same names from the same
//! configuration. Two paid locations whose identities coincide (two server blocks with the same
//! names, none included, or `~` and `~*` with the same pattern) fail `nginx -t` asking for
//! `l402_service`.
//!
//! `if` and `limit_except` blocks are not in nginx's location trees; at request time they use
//! the name of the location that encloses them (`LocConf::parent`).

use std::collections::HashMap;

use ngx::ffi::{ngx_conf_t, ngx_http_core_srv_conf_t, ngx_http_server_name_t};

use crate::conf::derive_service_name;
use crate::loc_tree::{children, l402_conf, modifier, name, named, server_l402_conf, servers, Clcf, MAX_DEPTH};

/// Derives and stores the service name of every paid location without `l402_service`.
/// `Err` names two locations that would share a name.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn derive_all(cf: *mut ngx_conf_t) -> Result<(), String> {
    // SAFETY: forwarded contract; every conf reached belongs to the configured cycle.
    unsafe {
        let mut seen = HashMap::new();
        for (cscf, server) in servers(cf) {
            let names = server_names(cscf);
            let server_id = format!("server_name {}", names.join(","));
            let file = match (*cscf).file_name.is_null() {
                true => "nginx.conf".into(),
                false => std::ffi::CStr::from_ptr((*cscf).file_name.cast()).to_string_lossy(),
            };
            let shown = format!("{}:{}", file, (*cscf).line);
            let mut walk = Walk { server_id: &server_id, shown: &shown, seen: &mut seen, chain: Vec::new() };
            walk.assign(server_l402_conf(cscf))?;
            walk.level(server, 0)?;
            for n in named(cscf) {
                walk.chain.push(format!("@ {}", name(n)));
                walk.assign(l402_conf(n))?;
                walk.chain.pop();
            }
        }
    }
    Ok(())
}

struct Walk<'a> {
    server_id: &'a str,
    shown: &'a str,
    /// Derived name → description of the location that has it.
    seen: &'a mut HashMap<String, String>,
    /// `modifier name` of each location from the server down.
    chain: Vec<String>,
}

impl Walk<'_> {
    unsafe fn level(&mut self, parent: Clcf, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        // SAFETY: see derive_all.
        unsafe {
            for child in children(parent).all() {
                let m = modifier(child);
                self.chain.push(if m.is_empty() { name(child) } else { format!("{m} {}", name(child)) });
                self.assign(l402_conf(child))?;
                self.level(child, depth + 1)?;
                self.chain.pop();
            }
        }
        Ok(())
    }

    fn assign(&mut self, lcf: Option<&mut crate::conf::LocConf>) -> Result<(), String> {
        let Some(lcf) = lcf else { return Ok(()) };
        if !lcf.enabled() || lcf.service.is_some() {
            return Ok(());
        }
        let location = self.chain.join("\0");
        let service = derive_service_name(self.server_id.as_bytes(), location.as_bytes());
        let place = if self.chain.is_empty() {
            format!("the server block at {}", self.shown)
        } else {
            format!("location \"{}\" of the server block at {}", self.chain.join(" > "), self.shown)
        };
        if let Some(other) = self.seen.get(&service) {
            return Err(format!(
                "l402: {other} and {place} cannot be told apart, so a token bought at one would open \
                 the other; set \"l402_service\" in one of them (the same name in both if one token \
                 should open both)"
            ));
        }
        self.seen.insert(service.clone(), place);
        // A conf reached twice (never, in nginx's trees) keeps its first name.
        let _ = lcf.derived_service.set(service);
        Ok(())
    }
}

/// The server's `server_name` values in configuration order.
unsafe fn server_names(cscf: *const ngx_http_core_srv_conf_t) -> Vec<String> {
    // SAFETY: `server_names` is an array of ngx_http_server_name_t in the configuration pool.
    unsafe {
        let a = &(*cscf).server_names;
        if a.elts.is_null() {
            return Vec::new();
        }
        std::slice::from_raw_parts(a.elts.cast::<ngx_http_server_name_t>(), a.nelts)
            .iter()
            .map(|n| String::from_utf8_lossy(n.name.as_bytes()).into_owned())
            .collect()
    }
}
