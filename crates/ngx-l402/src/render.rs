//! How a verdict is answered over HTTP: the one place that maps verdicts to statuses and
//! headers (the L402 protocol specification, "Authentication flow": 402 with
//! `WWW-Authenticate`; RFC 9110 for 429/503 with `Retry-After`). gRPC calls get the verdict as
//! trailers (below), browsers under `l402_payment_html` a page (`page.rs`).

use std::time::Duration;

use l402_gate::{Challenge, Policy, Verdict};
use ngx::ffi::{ngx_http_request_t, ngx_int_t};

use crate::ffi::{add_header_out, NGX_OK};
use crate::cors;
use crate::marks::{self, Mark};
use crate::Module;
use ngx::http::HttpModuleLocationConf;

/// Header that states, in a few words, why a request was not served.
pub const REASON_HEADER: &str = "X-L402-Reason";
/// Header on a served request: uses left on the token after this one.
pub const USES_REMAINING_HEADER: &str = "X-L402-Uses-Remaining";

pub const PAYMENT_REQUIRED: ngx_int_t = 402;
pub const BAD_REQUEST: ngx_int_t = 400;
pub const FORBIDDEN: ngx_int_t = 403;
pub const TOO_MANY_REQUESTS: ngx_int_t = 429;
pub const INTERNAL_ERROR: ngx_int_t = 500;
pub const SERVICE_UNAVAILABLE: ngx_int_t = 503;

/// `Retry-After` of a 402 "payment not received yet", seconds (the not-paid answer is cached
/// about as long).
const PAYMENT_PENDING_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Answers `verdict`; returns the handler's code.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn render(
    r: *mut ngx_http_request_t,
    policy: &Policy<'_>,
    verdict: &Verdict,
    cors_origin: Option<&[u8]>,
) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        let lcf = Module::location_conf(&*r);
        match verdict {
            Verdict::Session(s) => return crate::page::session(r, policy, s),
            Verdict::Challenge(c) if lcf.is_some_and(|lcf| crate::page::wanted(r, lcf)) => {
                return crate::page::challenge(r, policy, c, crate::page::polls(r, policy));
            }
            _ => {}
        }
        if let Some(origin) = cors_origin {
            if !cors::allow_origin(r, origin, matches!(verdict, Verdict::Preflight { allowed: true })) {
                return INTERNAL_ERROR;
            }
        }
        let code = http(r, verdict);
        match l402_gate::grpc::status_of(verdict) {
            Some((status, message)) if is_grpc(r) => grpc_trailers_only(r, status, message),
            _ => code,
        }
    }
}

/// The HTTP answer of `verdict`: headers added, the status returned.
unsafe fn http(r: *mut ngx_http_request_t, verdict: &Verdict) -> ngx_int_t {
    // SAFETY: the caller's contract.
    unsafe {
        match verdict {
            Verdict::Admitted(a) => {
                if let Some(key) = a.claimed.filter(|&key| !marks::has(r, Mark::Claimed(key))) {
                    marks::set(r, Mark::Claimed(key));
                }
                if let Some(left) = a.uses_left {
                    let buf = Decimal::new(u64::from(left));
                    add_header_out(r, USES_REMAINING_HEADER, buf.as_bytes());
                }
                NGX_OK
            }
            Verdict::AlreadyChallenged => NGX_OK,
            Verdict::Challenge(c) => payment_required(r, c),
            Verdict::Pending { .. } => {
                let reason = verdict.reason().map(|r| r.text());
                no_store_with(r, Some(PAYMENT_PENDING_RETRY_AFTER), reason);
                marks::set(r, Mark::PaymentRequired);
                PAYMENT_REQUIRED
            }
            Verdict::RateLimited { retry_after } => {
                no_store_with(r, Some(*retry_after), verdict.reason().map(|r| r.text()));
                TOO_MANY_REQUESTS
            }
            Verdict::Unavailable { cause, retry_after } => {
                no_store_with(r, Some(*retry_after), Some(cause.text()));
                SERVICE_UNAVAILABLE
            }
            Verdict::Internal => INTERNAL_ERROR,
            Verdict::PaymentRejected { reason, .. } => {
                // NUT-24: 400 with the reason in X-Cashu-Reason (and ours, as on every refusal).
                add_header_out(r, l402_gate::method::cashu::REASON_HEADER, reason.text().as_bytes());
                no_store_with(r, None, Some(reason.text()));
                BAD_REQUEST
            }
            Verdict::Preflight { allowed: true } => cors::preflight(r),
            Verdict::Preflight { allowed: false } => FORBIDDEN,
            // Answered in `render` (the payment page's cookie).
            Verdict::Session(_) => INTERNAL_ERROR,
        }
    }
}

/// Whether the request is a gRPC call (its answer then goes in `grpc-status`, HTTP 200).
unsafe fn is_grpc(r: *mut ngx_http_request_t) -> bool {
    // SAFETY: live request; the header element belongs to it.
    unsafe {
        // gRPC runs over HTTP/2 only; a "gRPC" request over HTTP/1.x gets the plain answer.
        let ct = (*r).headers_in.content_type;
        (*r).http_version >= ngx::ffi::NGX_HTTP_VERSION_20 as usize
            && !ct.is_null()
            && l402_gate::grpc::is_grpc((*ct).value.as_bytes())
    }
}

/// Answers a gRPC call with HTTP 200 and no body, `grpc-status` and `grpc-message` beside the
/// headers already added (`WWW-Authenticate`, `Retry-After`, …): in HTTP/2 one HEADERS frame
/// that ends the stream, gRPC's Trailers-Only response. The request is finalized here.
unsafe fn grpc_trailers_only(r: *mut ngx_http_request_t, status: u32, message: &str) -> ngx_int_t {
    // SAFETY: the caller's contract; we are in the access phase, which lets a handler finalize
    // the request itself and return NGX_DONE.
    unsafe {
        let code = Decimal::new(u64::from(status));
        if !add_header_out(r, "grpc-status", code.as_bytes()) || !add_header_out(r, "grpc-message", message.as_bytes()) {
            return INTERNAL_ERROR;
        }
        // The call's body is not read: discarded, so nothing of it is taken for another request.
        if ngx::ffi::ngx_http_discard_request_body(r) != NGX_OK {
            (*r).set_keepalive(0);
        }
        let ho = &mut (*r).headers_out;
        ho.status = 200;
        ho.content_length_n = -1;
        let ct = "application/grpc";
        ho.content_type = ngx::ffi::ngx_str_t { len: ct.len(), data: ct.as_ptr().cast_mut() };
        ho.content_type_len = ct.len();
        (*r).set_header_only(1);
        let mut rc = ngx::ffi::ngx_http_send_header(r);
        if rc == NGX_OK {
            rc = ngx::ffi::ngx_http_send_special(r, ngx::ffi::NGX_HTTP_LAST as usize);
        }
        ngx::ffi::ngx_http_finalize_request(r, rc);
        crate::ffi::NGX_DONE
    }
}

/// 402 with every method's offer (L402 first). Invalid, expired and unusable credentials get a
/// fresh challenge too (clients re-pay only on 402), with the reason.
pub(crate) unsafe fn payment_required(r: *mut ngx_http_request_t, c: &Challenge) -> ngx_int_t {
    // SAFETY: the caller's contract.
    unsafe {
        for offer in &c.offers {
            for (name, value) in &offer.headers {
                if !add_header_out(r, name, value.as_bytes()) {
                    return INTERNAL_ERROR;
                }
            }
        }
        no_store_with(r, None, c.reason.map(|r| r.text()));
        marks::set(r, Mark::PaymentRequired);
    }
    PAYMENT_REQUIRED
}

/// `Retry-After` (when given), `Cache-Control: no-store` and the reason.
unsafe fn no_store_with(r: *mut ngx_http_request_t, retry_after: Option<Duration>, reason: Option<&str>) {
    // SAFETY: the caller's contract.
    unsafe {
        if let Some(retry) = retry_after {
            let secs = Decimal::new(retry.as_secs().max(1));
            add_header_out(r, "Retry-After", secs.as_bytes());
        }
        add_header_out(r, "Cache-Control", b"no-store");
        if let Some(reason) = reason {
            add_header_out(r, REASON_HEADER, reason.as_bytes());
        }
    }
}

/// Decimal text of a number without a heap allocation (hot path).
pub struct Decimal {
    bytes: [u8; 20],
    start: usize,
}

impl Decimal {
    pub fn new(mut n: u64) -> Decimal {
        let mut out = Decimal { bytes: [0; 20], start: 20 };
        loop {
            out.start -= 1;
            out.bytes[out.start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return out;
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}
