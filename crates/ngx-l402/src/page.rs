//! `l402_payment_html`: the browser side of a paid location (docs/payment-page.md). Reads the
//! facts the page needs (does the request want a page, is this the page's session request,
//! the credential cookie) and renders the two verdicts that involve it: a challenge as the page
//! (`l402_page::page`), and a session as `204` with the credential in an `HttpOnly` cookie. The
//! page never admits anything: its reload is decided like any request.

use l402_gate::{Challenge, Policy, Session};
use l402_page::{accept, cookie, page};
use ngx::ffi::{ngx_http_request_t, ngx_int_t, ngx_table_elt_t};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};

use crate::conf::LocConf;
use crate::ffi::{add_header_out, NGX_DONE};
use crate::marks::{self, Mark};
use crate::render::{BAD_REQUEST, INTERNAL_ERROR, PAYMENT_REQUIRED, REASON_HEADER};
use crate::{extract, respond, Module};

const NO_CONTENT: ngx_int_t = 204;

/// Whether this request is the page's script asking for its credential to be kept (`POST`
/// with [`page::SESSION_HEADER`]).
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn is_session_request(r: *mut ngx_http_request_t, lcf: &LocConf) -> bool {
    // SAFETY: forwarded contract.
    unsafe {
        lcf.payment_html()
            && (*r).method == ngx::ffi::NGX_HTTP_POST as usize
            && crate::ffi::header_in(r, page::SESSION_HEADER).is_some_and(|v| v == page::SESSION_VALUE.as_bytes())
    }
}

/// The credential in this location's cookie, as an `Authorization` value (`L402 <cookie>`)
/// copied into the request pool.
///
/// # Safety
/// `r` is a live request on the main thread; `service` is its location's service.
pub unsafe fn cookie_credential<'a>(r: *mut ngx_http_request_t, service: &str) -> Option<&'a [u8]> {
    // SAFETY: forwarded contract; the copy lives in the request pool.
    unsafe {
        let value = find_cookie(r, &cookie::name(service))?;
        let scheme = b"L402 ";
        let len = scheme.len() + value.len();
        let p = ngx::ffi::ngx_pnalloc((*r).pool, len).cast::<u8>();
        if p.is_null() {
            return None;
        }
        std::ptr::copy_nonoverlapping(scheme.as_ptr(), p, scheme.len());
        std::ptr::copy_nonoverlapping(value.as_ptr(), p.add(scheme.len()), value.len());
        Some(std::slice::from_raw_parts(p, len))
    }
}

/// The value of the cookie `name` in any of the request's `Cookie` headers.
unsafe fn find_cookie<'a>(r: *mut ngx_http_request_t, name: &str) -> Option<&'a [u8]> {
    // SAFETY: live request; nginx links every `Cookie` header through `next`.
    unsafe {
        let mut h: *mut ngx_table_elt_t = (*r).headers_in.cookie;
        for _ in 0..64 {
            if h.is_null() {
                break;
            }
            if let Some(v) = cookie::find((*h).value.as_bytes(), name) {
                return Some(v);
            }
            h = (*h).next;
        }
        None
    }
}

/// Whether the challenge goes out as the page: the location has it, and the request is a
/// navigation that prefers HTML (`Accept`, never `*/*` alone).
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn wanted(r: *mut ngx_http_request_t, lcf: &LocConf) -> bool {
    // SAFETY: forwarded contract.
    unsafe {
        if !lcf.payment_html() || (*r).method & (ngx::ffi::NGX_HTTP_GET | ngx::ffi::NGX_HTTP_HEAD) as usize == 0 {
            return false;
        }
        let a = (*r).headers_in.accept;
        !a.is_null() && accept::prefers_html((*a).value.as_bytes())
    }
}

/// Answers `c` as the payment page: 402 with every offer's headers, the page, its CSP. The
/// request is finalized here.
///
/// # Safety
/// `r` is a live request on the main thread in the access phase; [`wanted`] said yes.
pub unsafe fn challenge(r: *mut ngx_http_request_t, policy: &Policy<'_>, c: &Challenge, poll: bool) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        let Some(payable) = c.offers.iter().find_map(|o| o.payable.as_ref()) else {
            return crate::render::payment_required(r, c);
        };
        for offer in &c.offers {
            for (name, value) in &offer.headers {
                if !add_header_out(r, name, value.as_bytes()) {
                    return INTERNAL_ERROR;
                }
            }
        }
        let refused = c.reason.map(|reason| reason.text());
        let ok = add_header_out(r, "Content-Security-Policy", page::csp().as_bytes())
            && add_header_out(r, "X-Content-Type-Options", b"nosniff")
            && add_header_out(r, "Referrer-Policy", b"no-referrer")
            && refused.is_none_or(|reason| add_header_out(r, REASON_HEADER, reason.as_bytes()));
        // A cookie whose credential was refused (used up, expired) is removed.
        if !ok || (c.reason.is_some() && !clear_stale_cookie(r, policy.service)) {
            return INTERNAL_ERROR;
        }
        marks::set(r, Mark::PaymentRequired);
        let html = page::render(&page::Input {
            service: policy.service,
            amount_msat: c.amount_msat,
            invoice: &payable.invoice,
            macaroon: &payable.macaroon,
            refused,
            poll,
            expires_in_secs: policy.invoice_expiry_secs,
        });
        if ngx::ffi::ngx_http_discard_request_body(r) != crate::ffi::NGX_OK {
            (*r).set_keepalive(0);
        }
        let rc = respond::send(r, PAYMENT_REQUIRED as usize, "text/html; charset=utf-8", html);
        ngx::ffi::ngx_http_finalize_request(r, rc);
        NGX_DONE
    }
}

/// Answers a proven session: 204 with the presented credential in the location's cookie, for
/// as long as the token is valid.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn session(r: *mut ngx_http_request_t, policy: &Policy<'_>, s: &Session) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        // The cookie keeps exactly the credential the decision checked: the L402 value of
        // `Authorization` (a credential proven from another carrier is not kept).
        let auth = (*r).headers_in.authorization;
        let credential = (!auth.is_null())
            .then(|| (*auth).value.as_bytes())
            .filter(|v| l402_core::credential::is_l402_scheme(v))
            .and_then(|v| v.iter().position(|&b| b == b' ').map(|i| v[i + 1..].trim_ascii()));
        let Some(credential) = credential else {
            return BAD_REQUEST;
        };
        let name = cookie::name(policy.service);
        let path = cookie_path(r);
        let scope = cookie::Scope { name: &name, path: &path, secure: is_tls(r) };
        let now = extract::now_ms() / 1_000;
        let max_age = s.valid_until.map_or(cookie::MAX_AGE_NEVER_EXPIRES, |until| until.saturating_sub(now));
        let Some(line) = cookie::set(&scope, credential, max_age) else {
            crate::access::log(r, ngx::ffi::NGX_LOG_INFO, "l402: payment page: the credential cannot be kept in a cookie");
            return BAD_REQUEST;
        };
        if !add_header_out(r, "Set-Cookie", line.as_bytes()) || !add_header_out(r, "Cache-Control", b"no-store") {
            return INTERNAL_ERROR;
        }
        NO_CONTENT
    }
}

/// Adds a `Set-Cookie` that removes the location's cookie when the request carried it.
unsafe fn clear_stale_cookie(r: *mut ngx_http_request_t, service: &str) -> bool {
    // SAFETY: live request on the main thread.
    unsafe {
        let name = cookie::name(service);
        if find_cookie(r, &name).is_none() {
            return true;
        }
        let path = cookie_path(r);
        let line = cookie::clear(&cookie::Scope { name: &name, path: &path, secure: is_tls(r) });
        add_header_out(r, "Set-Cookie", line.as_bytes())
    }
}

/// The cookie's `Path`: the location's prefix, or the request path's directory.
unsafe fn cookie_path(r: *mut ngx_http_request_t) -> String {
    // SAFETY: live request; the core module's location conf is always there.
    unsafe {
        let location = NgxHttpCoreModule::location_conf(&*r).map(|c| c.name.as_bytes()).unwrap_or_default();
        cookie::path(location, (*r).uri.as_bytes())
    }
}

unsafe fn is_tls(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: live request.
    unsafe { !(*(*r).connection).ssl.is_null() }
}

/// Whether the page polls for the payment: the location detects payments
/// (`l402_auto_detect_payment`) and its backend can tell without a preimage.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn polls(r: *mut ngx_http_request_t, policy: &Policy<'_>) -> bool {
    // SAFETY: forwarded contract.
    unsafe {
        if !policy.auto_detect {
            return false;
        }
        let settings = Module::main_conf(&*r).and_then(|m| m.settings.as_deref());
        match (settings, Module::location_conf(&*r)) {
            (Some(settings), Some(lcf)) => crate::execute::detects_payments(settings, lcf),
            _ => false,
        }
    }
}
