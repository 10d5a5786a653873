//! Subrequests into paid locations (payment-integrity item 8).
//!
//! nginx skips the access phase for subrequests (`ngx_http_core_access_phase` only runs for the
//! main request), so an SSI `include virtual`, an `auth_request` or a `mirror` pointing into a
//! paid location would get its content without payment. This handler runs in the preaccess
//! phase, which subrequests do go through, and refuses them with 403 and an error line, unless
//! the location says `l402_allow_subrequests on`.

use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ERR};
use ngx::http::HttpModuleLocationConf;

use crate::access::log;
use crate::ffi::NGX_DECLINED;
use crate::{render, Module};

/// # Safety
/// Called by nginx in the preaccess phase with a live request.
pub unsafe extern "C" fn preaccess_handler(r: *mut ngx_http_request_t) -> ngx_int_t {
    crate::guard::ffi_guard(r, render::INTERNAL_ERROR, || {
        // SAFETY: nginx passes a live request; this runs on the main thread.
        unsafe {
            if (*r).main == r {
                return NGX_DECLINED;
            }
            let Some(lcf) = Module::location_conf(&*r) else { return NGX_DECLINED };
            if !lcf.enabled() || lcf.allow_subrequests() {
                return NGX_DECLINED;
            }
            log(
                r,
                NGX_LOG_ERR,
                "l402: a subrequest into a paid location was refused with 403 \
                 (subrequests skip payment; \"l402_allow_subrequests on\" serves them)",
            );
            render::FORBIDDEN
        }
    })
}
