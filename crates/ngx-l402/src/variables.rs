//! The `$l402_*` variables: what the access decision recorded for this request
//! (`record.rs`), for `log_format`, `add_header`, `proxy_set_header` and `map`. Empty where a
//! value does not apply; never a secret (a token id and a payment hash are public: they travel
//! in the macaroon and the invoice).

use std::ptr::null_mut;

use l402_core::hex_encode;
use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t, ngx_pnalloc,
    ngx_str_t, NGX_HTTP_VAR_NOCACHEABLE,
};

use crate::ffi::{NGX_ERROR, NGX_OK};
use crate::record::{self, Record};
use crate::render::Decimal;
use crate::Module;
use ngx::http::HttpModuleLocationConf;

#[derive(Clone, Copy)]
enum Var {
    Status,
    Reason,
    Method,
    Service,
    AmountMsat,
    TokenId,
    PaymentHash,
    UsesLeft,
    RequestUriRedacted,
}

const VARIABLES: [(&str, Var); 9] = [
    ("l402_status", Var::Status),
    ("l402_reason", Var::Reason),
    ("l402_method", Var::Method),
    ("l402_service", Var::Service),
    ("l402_amount_msat", Var::AmountMsat),
    ("l402_token_id", Var::TokenId),
    ("l402_payment_hash", Var::PaymentHash),
    ("l402_uses_left", Var::UsesLeft),
    ("l402_request_uri_redacted", Var::RequestUriRedacted),
];

/// Registers the variables (`preconfiguration`, so every module's directives may use them).
///
/// # Safety
/// `cf` is the live configuration of the http{} block.
pub unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
    let mut rc = NGX_ERROR;
    crate::guard::guard_void(|| {
        // SAFETY: forwarded contract.
        rc = unsafe { add_variables(cf) };
    });
    rc
}

unsafe fn add_variables(cf: *mut ngx_conf_t) -> ngx_int_t {
    for (index, (name, _)) in VARIABLES.iter().enumerate() {
        let mut name = ngx_str_t { len: name.len(), data: name.as_ptr().cast_mut() };
        // SAFETY: nginx copies the name into the configuration pool.
        let v = unsafe { ngx_http_add_variable(cf, &mut name, NGX_HTTP_VAR_NOCACHEABLE as _) };
        if v.is_null() {
            return NGX_ERROR;
        }
        // SAFETY: `v` is the variable nginx just added.
        unsafe {
            (*v).get_handler = Some(get);
            (*v).data = index;
        }
    }
    NGX_OK
}

unsafe extern "C" fn get(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t, data: usize) -> ngx_int_t {
    crate::guard::ffi_guard(r, NGX_ERROR, || {
        // SAFETY: nginx passes a live request and its variable value slot.
        unsafe { evaluate(r, v, data) }
    })
}

unsafe fn evaluate(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t, data: usize) -> ngx_int_t {
    let Some(&(_, var)) = VARIABLES.get(data) else { return NGX_ERROR };
    // SAFETY: the caller's contract; records live in the request pool.
    unsafe {
        if let Var::RequestUriRedacted = var {
            return request_uri_redacted(r, v);
        }
        let rec: Option<Record> = record::get(r).map(|rec| *rec);
        match (var, rec) {
            (Var::Status, None) => set_static(v, "free"),
            (Var::Status, Some(rec)) => set_static(v, rec.status.text()),
            (_, None) => set_static(v, ""),
            (Var::Reason, Some(rec)) => set_static(v, rec.reason.map_or("", |r| r.text())),
            (Var::Method, Some(rec)) => set_static(v, rec.method.map_or("", |m| m.text())),
            (Var::Service, Some(rec)) => set_static(v, rec.service()),
            (Var::AmountMsat, Some(rec)) => set_number(r, v, rec.amount_msat),
            (Var::UsesLeft, Some(rec)) => set_number(r, v, rec.uses_left.map(u64::from)),
            (Var::TokenId, Some(rec)) => set_hex(r, v, rec.token_id),
            (Var::PaymentHash, Some(rec)) => set_hex(r, v, rec.payment_hash),
            (Var::RequestUriRedacted, _) => NGX_ERROR,
        }
    }
}

/// `$request_uri` with the value of the location's `l402_query_credential` parameter replaced
/// by `REDACTED`, for access logs.
unsafe fn request_uri_redacted(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t) -> ngx_int_t {
    // SAFETY: live request; its unparsed URI belongs to it.
    unsafe {
        let uri = (*r).main.as_ref().map_or((*r).unparsed_uri, |m| m.unparsed_uri);
        let name = Module::location_conf(&*r).and_then(|l| l.query_credential.clone());
        match name {
            Some(name) => set_copied(r, v, &l402_core::credential::query::redact(uri.as_bytes(), name.as_bytes())),
            None => set_copied(r, v, uri.as_bytes()),
        }
    }
}

/// Points the value at bytes that outlive the request (static text or the configuration).
unsafe fn set_static(v: *mut ngx_http_variable_value_t, text: &str) -> ngx_int_t {
    // SAFETY: `v` is live; nginx only reads the data.
    unsafe {
        (*v).set_len(text.len() as u32);
        (*v).set_valid(1);
        (*v).set_no_cacheable(0);
        (*v).set_not_found(0);
        (*v).data = if text.is_empty() { null_mut() } else { text.as_ptr().cast_mut() };
    }
    NGX_OK
}

/// Copies `bytes` into the request pool and points the value at them.
unsafe fn set_copied(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t, bytes: &[u8]) -> ngx_int_t {
    // SAFETY: the pool lives as long as the request; `v` is live.
    unsafe {
        let p = ngx_pnalloc((*r).pool, bytes.len()).cast::<u8>();
        if p.is_null() {
            return NGX_ERROR;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        (*v).set_len(bytes.len() as u32);
        (*v).set_valid(1);
        (*v).set_no_cacheable(0);
        (*v).set_not_found(0);
        (*v).data = p;
    }
    NGX_OK
}

unsafe fn set_number(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t, n: Option<u64>) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        match n {
            Some(n) => set_copied(r, v, Decimal::new(n).as_bytes()),
            None => set_static(v, ""),
        }
    }
}

unsafe fn set_hex(r: *mut ngx_http_request_t, v: *mut ngx_http_variable_value_t, bytes: Option<[u8; 32]>) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        match bytes {
            Some(b) => set_copied(r, v, hex_encode(&b).as_bytes()),
            None => set_static(v, ""),
        }
    }
}
