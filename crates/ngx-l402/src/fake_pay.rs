//! `l402_fake_pay`: the fake backend's "wallet". `GET …?invoice=<bolt11>` answers the preimage
//! (hex) of an invoice the fake backend issued, so demos and tests can complete the flow.
//! Enabled only where the operator writes the directive; refused unless the backend is fake.
//! The payment is recorded in the worker's fake backend, so payment detection (a lookup) sees
//! it on that worker.

use ngx::ffi::{
    ngx_http_arg, ngx_http_request_t, ngx_int_t, ngx_str_t, NGX_LOG_INFO,
};
use ngx::http::HttpModuleMainConf;

use crate::ffi::{add_header_out, NGX_OK};
use crate::render::{BAD_REQUEST, INTERNAL_ERROR, REASON_HEADER};
use crate::{respond, Module};

/// Longer than any invoice the fake backend issues, percent-encoded.
const MAX_ARG: usize = 8 * 1024;

/// # Safety
/// Content handler called by nginx with a live request.
pub unsafe extern "C" fn fake_pay_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
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
        let settings = Module::main_conf(&*r).and_then(|m| m.settings.as_deref());
        let Some(secret) = settings.and_then(|s| s.fake_secret()) else {
            return INTERNAL_ERROR;
        };
        let mut arg = ngx_str_t::empty();
        let name = b"invoice";
        if ngx_http_arg(r, name.as_ptr().cast_mut(), name.len(), &mut arg) != NGX_OK {
            return refuse(r, "missing invoice parameter");
        }
        if arg.len > MAX_ARG {
            return refuse(r, "invoice parameter too long");
        }
        let invoice = l402_core::credential::query::percent_decode(arg.as_bytes()).and_then(|b| String::from_utf8(b).ok());
        let Some(invoice) = invoice else {
            return refuse(r, "invoice parameter is not valid text");
        };
        // Recorded in this worker's backend when it has one, so payment detection sees it.
        let paid = match crate::backends::fake::worker_backend() {
            Some(backend) => backend.pay_and_record(&invoice),
            None => l402_fake::pay(secret, &invoice),
        };
        match paid {
            Ok(preimage) => respond::send_text(r, "text/plain", format!("{}\n", l402_core::hex_encode(&preimage))),
            Err(e) => refuse(r, e.reason()),
        }
    }
}

unsafe fn refuse(r: *mut ngx_http_request_t, reason: &'static str) -> ngx_int_t {
    // SAFETY: live request on the main thread.
    unsafe {
        ngx::ngx_log_error!(NGX_LOG_INFO, (*(*r).connection).log, "l402 fake pay: {}", reason);
        add_header_out(r, REASON_HEADER, reason.as_bytes());
    }
    BAD_REQUEST
}
