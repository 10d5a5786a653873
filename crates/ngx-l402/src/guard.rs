//! Every entry point nginx calls runs inside [`ffi_guard`]: a panic must never unwind into C.
//! A caught panic is logged and the request gets an error status; the worker lives on.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ngx::ffi::{ngx_http_request_t, ngx_int_t, NGX_LOG_ALERT};

/// Runs `f`, turning a panic into `on_panic` (and an `alert` in the error log).
pub fn ffi_guard(r: *mut ngx_http_request_t, on_panic: ngx_int_t, f: impl FnOnce() -> ngx_int_t) -> ngx_int_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(_) => {
            if !r.is_null() {
                // SAFETY: `r` is the live request nginx passed to the entry point.
                unsafe {
                    ngx::ngx_log_error!(
                        NGX_LOG_ALERT,
                        (*(*r).connection).log,
                        "l402: internal error (panic caught) while handling the request"
                    );
                }
            }
            on_panic
        }
    }
}

/// Same for entry points without a request (event handlers, process hooks).
pub fn guard_void(f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        let log = ngx::log::ngx_cycle_log().as_ptr();
        ngx::ngx_log_error!(NGX_LOG_ALERT, log, "l402: internal error (panic caught) in an event handler");
    }
}
