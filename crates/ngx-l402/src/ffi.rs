//! Small, audited wrappers over raw nginx calls used by the rest of the adapter.

use std::ffi::c_char;
use std::ptr::null_mut;

use ngx::ffi::{
    ngx_conf_full_name, ngx_conf_t, ngx_http_request_t, ngx_int_t, ngx_list_push, ngx_parse_time,
    ngx_pnalloc, ngx_str_t, ngx_table_elt_t, NGX_LOG_EMERG, NGX_LOG_ERR,
};

/// `NGX_CONF_OK`.
pub const CONF_OK: *mut c_char = null_mut();

/// The arguments of the directive being parsed (name first).
///
/// # Safety
/// `cf` must be the live `ngx_conf_t` passed to a directive handler.
pub unsafe fn conf_args<'a>(cf: *mut ngx_conf_t) -> &'a [ngx_str_t] {
    // SAFETY: during a handler call `cf->args` is an array of `ngx_str_t` with `nelts` items.
    unsafe {
        let args = (*cf).args;
        if args.is_null() || (*args).elts.is_null() {
            return &[];
        }
        std::slice::from_raw_parts((*args).elts.cast::<ngx_str_t>(), (*args).nelts)
    }
}

/// Logs `msg` at `emerg` with the file and line being parsed; returns `NGX_CONF_ERROR`.
pub fn conf_error(cf: *mut ngx_conf_t, msg: &str) -> *mut c_char {
    ngx::ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
    ngx::core::NGX_CONF_ERROR as *mut c_char
}

/// Logs a configuration-time message at `level` (e.g. the fake backend's warning).
pub fn conf_log(cf: *mut ngx_conf_t, level: u32, msg: &str) {
    ngx::ngx_conf_log_error!(level, cf, "{}", msg);
}

/// nginx's own time syntax (`ngx_parse_time`): seconds when `is_sec`, else milliseconds.
pub fn parse_time(value: &[u8], is_sec: bool) -> Option<u64> {
    let mut s = ngx_str_t { len: value.len(), data: value.as_ptr().cast_mut() };
    // SAFETY: ngx_parse_time only reads `len` bytes of `data`.
    let v = unsafe { ngx_parse_time(&mut s, if is_sec { 1 } else { 0 }) };
    u64::try_from(v).ok()
}

/// nginx's size syntax (`ngx_parse_size`: `1048576`, `64k`, `10m`).
pub fn parse_size(value: &[u8]) -> Option<usize> {
    let mut s = ngx_str_t { len: value.len(), data: value.as_ptr().cast_mut() };
    // SAFETY: ngx_parse_size only reads `len` bytes of `data`.
    let v = unsafe { ngx::ffi::ngx_parse_size(&mut s) };
    usize::try_from(v).ok().filter(|&n| n > 0)
}

/// A path relative to the configuration directory, as nginx resolves file arguments.
pub fn conf_full_name(cf: *mut ngx_conf_t, path: &str) -> Result<String, String> {
    full_name(cf, path, 1)
}

/// A path relative to the nginx prefix, as nginx resolves `pid` and log files.
pub fn prefix_full_name(cf: *mut ngx_conf_t, path: &str) -> Result<String, String> {
    full_name(cf, path, 0)
}

fn full_name(cf: *mut ngx_conf_t, path: &str, conf_prefix: usize) -> Result<String, String> {
    let mut s = ngx_str_t { len: path.len(), data: path.as_ptr().cast_mut() };
    // SAFETY: `cf->cycle` is live during parsing; ngx_conf_full_name allocates the result in the
    // cycle pool and only reads the input.
    let rc = unsafe { ngx_conf_full_name((*cf).cycle, &mut s, conf_prefix as _) };
    if rc != 0 {
        return Err("cannot resolve the file name".into());
    }
    Ok(String::from_utf8_lossy(s.as_bytes()).into_owned())
}

/// A copy of `bytes` in the configuration pool (lives as long as the cycle).
pub fn conf_pool_str(cf: *mut ngx_conf_t, bytes: &[u8]) -> Option<ngx_str_t> {
    // SAFETY: `cf->pool` is the live cycle pool during parsing; we write `len` bytes into a
    // fresh allocation of that size.
    unsafe {
        let data = ngx_pnalloc((*cf).pool, bytes.len().max(1)).cast::<u8>();
        if data.is_null() {
            return None;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        Some(ngx_str_t { len: bytes.len(), data })
    }
}

/// Compiles an nginx complex value (`$var`, `prefix$var`) from a directive argument.
pub fn compile_complex_value(
    cf: *mut ngx_conf_t,
    value: &ngx_str_t,
) -> Option<std::ptr::NonNull<ngx::ffi::ngx_http_complex_value_t>> {
    // SAFETY: `cf` is live during parsing; the value struct and the compiled result are
    // allocated in the configuration pool, like every nginx module does; the argument's bytes
    // live in that pool too.
    unsafe {
        let cv = ngx::ffi::ngx_pcalloc((*cf).pool, size_of::<ngx::ffi::ngx_http_complex_value_t>())
            .cast::<ngx::ffi::ngx_http_complex_value_t>();
        let v = ngx::ffi::ngx_pcalloc((*cf).pool, size_of::<ngx_str_t>()).cast::<ngx_str_t>();
        if cv.is_null() || v.is_null() {
            return None;
        }
        *v = *value;
        let mut ccv: ngx::ffi::ngx_http_compile_complex_value_t = std::mem::zeroed();
        ccv.cf = cf;
        ccv.value = v;
        ccv.complex_value = cv;
        if ngx::ffi::ngx_http_compile_complex_value(&mut ccv) != NGX_OK {
            return None;
        }
        std::ptr::NonNull::new(cv)
    }
}

/// Evaluates a complex value for a request; the bytes live in the request pool.
///
/// # Safety
/// `r` is a live request on the main thread; `cv` was compiled by [`compile_complex_value`].
pub unsafe fn complex_value<'a>(
    r: *mut ngx_http_request_t,
    cv: std::ptr::NonNull<ngx::ffi::ngx_http_complex_value_t>,
) -> Option<&'a [u8]> {
    // SAFETY: see the contract.
    unsafe {
        let mut out = ngx_str_t { len: 0, data: null_mut() };
        if ngx::ffi::ngx_http_complex_value(r, cv.as_ptr(), &mut out) != NGX_OK {
            return None;
        }
        if out.len == 0 {
            return Some(&[]);
        }
        // The bytes live in the request pool (or the configuration), not in `out`.
        Some(std::slice::from_raw_parts(out.data, out.len))
    }
}

/// Appends a response header.
///
/// # Safety
/// `r` must be a live request on this worker's main thread.
pub unsafe fn add_header_out(r: *mut ngx_http_request_t, key: &'static str, value: &[u8]) -> bool {
    // SAFETY: see the contract; memory comes from the request pool and lives as long as `r`.
    unsafe {
        // No CR, LF or other control byte ever reaches a header we write, whatever its source
        // (payment-integrity item 7); the value itself is never logged.
        if value.iter().any(|&b| b < 0x20 || b == 0x7f) {
            ngx::ngx_log_error!(
                NGX_LOG_ERR,
                (*(*r).connection).log,
                "l402: refused to send header \"{}\": its value holds control bytes",
                key
            );
            return false;
        }
        let h = ngx_list_push(&mut (*r).headers_out.headers).cast::<ngx_table_elt_t>();
        if h.is_null() {
            return false;
        }
        let data = ngx_pnalloc((*r).pool, value.len()).cast::<u8>();
        if data.is_null() && !value.is_empty() {
            (*h).hash = 0;
            return false;
        }
        if !value.is_empty() {
            std::ptr::copy_nonoverlapping(value.as_ptr(), data, value.len());
        }
        (*h).hash = 1;
        (*h).key = ngx_str_t { len: key.len(), data: key.as_ptr().cast_mut() };
        (*h).value = ngx_str_t { len: value.len(), data };
        (*h).lowcase_key = null_mut();
        (*h).next = null_mut();
        true
    }
}

/// Whether a response header `name` was already added (ASCII case-insensitive).
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn has_header_out(r: *mut ngx_http_request_t, name: &str) -> bool {
    // SAFETY: forwarded contract; the list belongs to the request.
    unsafe { find_header(&mut (*r).headers_out.headers, name).is_some() }
}

/// Request header lookup by name (ASCII case-insensitive), first match.
///
/// # Safety
/// `r` must be a live request.
pub unsafe fn header_in<'a>(r: *mut ngx_http_request_t, name: &str) -> Option<&'a [u8]> {
    // SAFETY: forwarded contract; the list belongs to the request.
    unsafe { find_header(&mut (*r).headers_in.headers, name) }
}

/// The value of the first live entry called `name` in a header list.
///
/// # Safety
/// `list` is an `ngx_list_t` of `ngx_table_elt_t` of a live request.
unsafe fn find_header<'a>(list: *mut ngx::ffi::ngx_list_t, name: &str) -> Option<&'a [u8]> {
    // SAFETY: see the contract.
    unsafe {
        let mut part: *mut ngx::ffi::ngx_list_part_t = &mut (*list).part;
        while !part.is_null() {
            let elts = (*part).elts.cast::<ngx_table_elt_t>();
            for i in 0..(*part).nelts {
                let h = &*elts.add(i);
                if h.hash != 0 && h.key.as_bytes().eq_ignore_ascii_case(name.as_bytes()) {
                    return Some(h.value.as_bytes());
                }
            }
            part = (*part).next;
        }
        None
    }
}

/// `NGX_DONE`, `NGX_OK`, `NGX_DECLINED` as `ngx_int_t`.
pub const NGX_OK: ngx_int_t = 0;
pub const NGX_DECLINED: ngx_int_t = -5;
pub const NGX_DONE: ngx_int_t = -4;
pub const NGX_ERROR: ngx_int_t = -1;
