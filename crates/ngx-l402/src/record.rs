//! The verdict of a request, recorded so it outlives the access handler: it survives internal
//! redirects and `error_page` (kept in the request pool's cleanup list, like `marks.rs`), and
//! is what the `$l402_*` variables read (`variables.rs`). In a dry run it says what would have
//! happened.

use l402_gate::{Method, Reason, Status, Verdict};
use ngx::ffi::ngx_http_request_t;

use crate::marks::{self, Note};

/// What the variables show. Plain data; the service name points into the configuration,
/// which outlives every request of its cycle.
#[derive(Clone, Copy)]
pub struct Record {
    pub status: Status,
    pub reason: Option<Reason>,
    pub method: Option<Method>,
    service: (*const u8, usize),
    pub amount_msat: Option<u64>,
    pub token_id: Option<[u8; 32]>,
    pub payment_hash: Option<[u8; 32]>,
    pub uses_left: Option<u32>,
    /// Set when this admission holds again, unchanged, if an internal redirect brings the
    /// request back into the same location (`readmit.rs`).
    pub readmit: Option<crate::readmit::Readmit>,
}

impl Record {
    /// The record of `verdict`; `None` for a verdict that leaves the earlier record standing.
    pub fn of(verdict: &Verdict, service: &str) -> Option<Record> {
        let mut rec = Record {
            status: verdict.status()?,
            reason: verdict.reason(),
            method: None,
            service: (service.as_ptr(), service.len()),
            amount_msat: None,
            token_id: None,
            payment_hash: None,
            uses_left: None,
            readmit: None,
        };
        match verdict {
            Verdict::Admitted(a) => {
                rec.method = Some(a.method);
                rec.amount_msat = Some(a.amount_msat);
                rec.token_id = Some(a.token_id);
                // A Cashu payment has no Lightning payment hash.
                rec.payment_hash = (a.method == Method::L402).then_some(a.payment_hash);
                rec.uses_left = a.uses_left;
            }
            Verdict::Challenge(c) => {
                rec.amount_msat = Some(c.amount_msat);
                rec.token_id = c.token_id;
                rec.payment_hash = c.payment_hash;
            }
            Verdict::Pending { token_id, payment_hash, amount_msat } => {
                rec.method = Some(Method::L402);
                rec.amount_msat = Some(*amount_msat);
                rec.token_id = Some(*token_id);
                rec.payment_hash = Some(*payment_hash);
            }
            Verdict::PaymentRejected { method, .. } => rec.method = Some(*method),
            Verdict::Session(s) => {
                rec.method = Some(Method::L402);
                rec.token_id = Some(s.token_id);
            }
            _ => {}
        }
        Some(rec)
    }

    /// The service name.
    ///
    /// # Safety
    /// The configuration cycle the record was made in is still alive (true for as long as the
    /// request is).
    pub unsafe fn service(&self) -> &str {
        // SAFETY: made from a `&str` of the cycle's configuration (see the contract).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.service.0, self.service.1)) }
    }
}

/// The record of `r`, if its access handler decided.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn get<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut Record> {
    // SAFETY: forwarded contract.
    match unsafe { marks::find(r, |n| matches!(n, Note::Verdict(_))) } {
        Some(Note::Verdict(rec)) => Some(rec),
        _ => None,
    }
}

/// Records `rec` for `r`, which has no record yet. Without memory nothing is recorded (the
/// variables then read as for a free request); the answer is unaffected.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn add(r: *mut ngx_http_request_t, rec: Record) {
    // SAFETY: forwarded contract.
    unsafe { marks::add(r, Note::Verdict(rec)) }
}
