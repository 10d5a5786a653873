//! `l402_metrics;`: the location that serves every counter of this host in the Prometheus
//! text format (version 0.0.4). Who may read it is the operator's choice (`allow`/`deny` in
//! that location, as the README shows); the module adds no token of its own.

use l402_metrics::catalogue as c;
use l402_metrics::exposition::{render, CONTENT_TYPE};
use l402_metrics::{Sample, Series};
use ngx::ffi::{ngx_http_request_t, ngx_int_t};
use ngx::http::HttpModuleMainConf;

use crate::render::INTERNAL_ERROR;
use crate::{respond, Module};


/// # Safety
/// Content handler called by nginx with a live request.
pub unsafe extern "C" fn metrics_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
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
        let Some(table) = super::table() else {
            crate::access::log(r, ngx::ffi::NGX_LOG_ERR, "l402: the metrics table is not available in this process");
            return INTERNAL_ERROR;
        };
        let mut extra = vec![Sample { text: c::DROPPED.to_owned(), value: table.dropped() }];
        if let Some(zone) = Module::main_conf(&*r).and_then(|m| if m.redis.is_none() { m.zone } else { None }) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let occupancy = zone.with_table(|slots| (l402_usage::table::occupancy(slots, now), slots.len()));
            if let Some((o, capacity)) = occupancy {
                extra.push(gauge(c::ZONE_ENTRIES, (o.claims + o.rates) as u64));
                extra.push(gauge(c::ZONE_CAPACITY, capacity as u64));
            }
        }
        respond::send_text(r, CONTENT_TYPE, render(&table.samples(), &extra))
    }
}

fn gauge(name: &str, value: u64) -> Sample {
    Sample { text: Series { name, labels: &[] }.text(), value }
}
