//! Small complete answers from the module's own handlers (`l402_fake_pay`, `l402_metrics`, the
//! payment page).

use ngx::ffi::{
    ngx_chain_t, ngx_create_temp_buf, ngx_http_output_filter, ngx_http_request_t, ngx_http_send_header, ngx_int_t,
    ngx_str_t,
};

use crate::ffi::{add_header_out, NGX_ERROR, NGX_OK};

const NOT_ALLOWED: ngx_int_t = 405;

/// The start of a content handler that answers `GET` and `HEAD` only: `Err(code)` to return
/// (405 for other methods, or the request body could not be discarded).
///
/// # Safety
/// `r` is a live request on the main thread, in a content handler.
pub unsafe fn get_only(r: *mut ngx_http_request_t) -> Result<(), ngx_int_t> {
    // SAFETY: forwarded contract.
    unsafe {
        if (*r).method & (ngx::ffi::NGX_HTTP_GET | ngx::ffi::NGX_HTTP_HEAD) as usize == 0 {
            return Err(NOT_ALLOWED);
        }
        match ngx::ffi::ngx_http_discard_request_body(r) {
            NGX_OK => Ok(()),
            rc => Err(rc),
        }
    }
}

/// Answers 200 with `body` (not cached by clients or proxies).
///
/// # Safety
/// `r` is a live request on the main thread, in a content handler.
pub unsafe fn send_text(r: *mut ngx_http_request_t, content_type: &'static str, body: String) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe { send(r, 200, content_type, body) }
}

/// Answers `status` with `body` (not cached by clients or proxies) beside the headers already
/// added; returns what the output filters returned (the caller finalizes with it).
///
/// # Safety
/// `r` is a live request on the main thread whose header has not been sent.
pub unsafe fn send(r: *mut ngx_http_request_t, status: usize, content_type: &'static str, body: String) -> ngx_int_t {
    // SAFETY: live request on the main thread; buffers come from its pool.
    unsafe {
        let ho = &mut (*r).headers_out;
        ho.status = status;
        ho.content_length_n = body.len() as i64;
        ho.content_type = ngx_str_t { len: content_type.len(), data: content_type.as_ptr().cast_mut() };
        ho.content_type_len = content_type.len();
        add_header_out(r, "Cache-Control", b"no-store");
        let rc = ngx_http_send_header(r);
        if rc == NGX_ERROR || rc > NGX_OK || (*r).header_only() != 0 {
            return rc;
        }
        let buf = ngx_create_temp_buf((*r).pool, body.len());
        if buf.is_null() {
            return NGX_ERROR;
        }
        std::ptr::copy_nonoverlapping(body.as_ptr(), (*buf).pos, body.len());
        (*buf).last = (*buf).pos.add(body.len());
        (*buf).set_last_buf(1);
        (*buf).set_last_in_chain(1);
        let mut out = ngx_chain_t { buf, next: std::ptr::null_mut() };
        ngx_http_output_filter(r, &mut out)
    }
}
