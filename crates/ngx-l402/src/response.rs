//! How each outcome is answered: the one place that maps outcomes to HTTP statuses and headers
//! (l402-wire.md §5).

use std::time::Duration;

use ngx::ffi::{ngx_http_request_t, ngx_int_t};

use crate::ffi::add_header_out;
use crate::job::Challenge;
use crate::marks::{self, Mark};

/// Header that states, in a few words, why a request was not served.
pub const REASON_HEADER: &str = "X-L402-Reason";

/// Header on a 402 whose invoice is BOLT12 (`lni1…`), which BOLT11-only wallets cannot pay.
pub const INVOICE_TYPE_HEADER: &str = "X-L402-Invoice-Type";

pub const PAYMENT_REQUIRED: ngx_int_t = 402;
pub const FORBIDDEN: ngx_int_t = 403;
pub const SERVICE_UNAVAILABLE: ngx_int_t = 503;
pub const TOO_MANY_REQUESTS: ngx_int_t = 429;

/// Header on a served request: uses left on the token after this one.
pub const USES_REMAINING_HEADER: &str = "X-L402-Uses-Remaining";
pub const INTERNAL_ERROR: ngx_int_t = 500;

/// 402 with the challenge lines. Invalid, expired and unusable credentials get a fresh challenge
/// too (clients re-pay only on 402), with the reason.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn payment_required(
    r: *mut ngx_http_request_t,
    challenge: &Challenge,
    reason: Option<&'static str>,
) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        for line in &challenge.www_authenticate {
            if !add_header_out(r, "WWW-Authenticate", line.as_bytes()) {
                return INTERNAL_ERROR;
            }
        }
        add_header_out(r, "Cache-Control", b"no-store");
        if challenge.bolt12 {
            add_header_out(r, INVOICE_TYPE_HEADER, b"bolt12");
        }
        if let Some(reason) = reason {
            add_header_out(r, REASON_HEADER, reason.as_bytes());
        }
        marks::set(r, Mark::PaymentRequired);
    }
    PAYMENT_REQUIRED
}

/// 402 without a new invoice: the client presented a valid macaroon without preimage
/// (`l402_auto_detect_payment on`) and its invoice is not paid yet. It should pay the invoice
/// it already has and ask again after `Retry-After`.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn payment_pending(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        add_header_out(r, "Retry-After", PAYMENT_PENDING_RETRY_AFTER.as_bytes());
        add_header_out(r, "Cache-Control", b"no-store");
        add_header_out(r, REASON_HEADER, PAYMENT_PENDING_REASON.as_bytes());
        marks::set(r, Mark::PaymentRequired);
    }
    PAYMENT_REQUIRED
}

/// `X-L402-Reason` of [`payment_pending`].
pub const PAYMENT_PENDING_REASON: &str = "payment not received yet";
/// `Retry-After` of [`payment_pending`], seconds (the not-paid answer is cached about as long).
const PAYMENT_PENDING_RETRY_AFTER: &str = "2";

/// 503 with `Retry-After` when a dependency (the payment backend) cannot answer.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn unavailable(r: *mut ngx_http_request_t, retry_after: Duration, reason: &str) -> ngx_int_t {
    let secs = retry_after.as_secs().max(1).to_string();
    // SAFETY: forwarded contract.
    unsafe {
        add_header_out(r, "Retry-After", secs.as_bytes());
        add_header_out(r, "Cache-Control", b"no-store");
        add_header_out(r, REASON_HEADER, reason.as_bytes());
    }
    SERVICE_UNAVAILABLE
}

/// 429 with `Retry-After` when a client asks for invoices faster than
/// `l402_invoice_rate_limit` allows.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn too_many_requests(r: *mut ngx_http_request_t, retry_after: Duration) -> ngx_int_t {
    let secs = retry_after.as_secs().max(1).to_string();
    // SAFETY: forwarded contract.
    unsafe {
        add_header_out(r, "Retry-After", secs.as_bytes());
        add_header_out(r, "Cache-Control", b"no-store");
        add_header_out(r, REASON_HEADER, b"too many invoice requests");
    }
    TOO_MANY_REQUESTS
}

/// Adds `X-L402-Uses-Remaining` to the response of a served request.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn uses_remaining(r: *mut ngx_http_request_t, left: u32) {
    let mut buf = itoa_buf(left);
    // SAFETY: forwarded contract.
    unsafe {
        add_header_out(r, USES_REMAINING_HEADER, buf.as_bytes_mut());
    }
}

/// Decimal text of `n` without a heap allocation (hot path).
fn itoa_buf(mut n: u32) -> DecimalBuf {
    let mut out = DecimalBuf { bytes: [0; 10], start: 10 };
    loop {
        out.start -= 1;
        out.bytes[out.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return out;
        }
    }
}

struct DecimalBuf {
    bytes: [u8; 10],
    start: usize,
}

impl DecimalBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}
