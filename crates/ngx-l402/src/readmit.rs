//! An admission that stands across an internal redirect (index, `try_files`, `error_page`)
//! back into the location that admitted the request: deciding again would give the same answer
//! (same policy, the same credential bytes, the use already claimed), or, for a Cashu payment,
//! would refuse proofs this very request spent. Recorded with the verdict (`record.rs`),
//! checked first by the access handler.

use l402_gate::{Method, Policy, Verdict};
use ngx::ffi::ngx_http_request_t;

use crate::conf::{LocConf, Price};
use crate::{extract, record};

/// Which header carried the credential.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Authorization,
    XCashu,
}

/// What a repeated admission must match: the same location conf, the same header element
/// (the credential bytes nginx keeps for the request), and a credential still unexpired.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Readmit {
    lcf: *const LocConf,
    carrier: Carrier,
    value: (*const u8, usize),
    valid_until: Option<u64>,
}

/// What a repeat of `verdict` must match; `None` when a repeat must be decided again: an L402
/// token under a price from a variable or the store (it may depend on the new URI), a dry run,
/// a credential that did not come from a header element (a query parameter, the page's
/// cookie). A Cashu payment is not repeated whatever the price: its proofs are spent.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn of(r: *mut ngx_http_request_t, lcf: &LocConf, policy: &Policy<'_>, verdict: &Verdict) -> Option<Readmit> {
    let Verdict::Admitted(a) = verdict else { return None };
    if policy.dry_run {
        return None;
    }
    let cashu = a.method == Method::Cashu;
    let fixed = matches!(lcf.price(), Price::Fixed(_));
    let store_price = policy.store == l402_gate::Store::Redis && policy.store_price;
    if !cashu && (!fixed || store_price) {
        return None;
    }
    // SAFETY: live request; header elements belong to it.
    let (carrier, value) = unsafe {
        match (cashu, crate::ffi::header_in(r, l402_gate::method::cashu::HEADER).filter(|_| cashu)) {
            (true, Some(v)) => (Carrier::XCashu, v),
            _ => (Carrier::Authorization, (*r).headers_in.authorization.as_ref()?.value.as_bytes()),
        }
    };
    Some(Readmit {
        lcf: std::ptr::from_ref(lcf),
        carrier,
        value: (value.as_ptr(), value.len()),
        valid_until: a.valid_until,
    })
}

/// Whether the request was admitted by this location before an internal redirect, with the
/// same credential, and that admission still holds.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn holds(r: *mut ngx_http_request_t, lcf: &LocConf) -> bool {
    // SAFETY: live request on the main thread.
    unsafe {
        let Some(ra) = record::get(r).and_then(|rec| rec.readmit) else { return false };
        if ra.lcf != std::ptr::from_ref(lcf) {
            return false;
        }
        let value = match ra.carrier {
            Carrier::Authorization => (*r).headers_in.authorization.as_ref().map(|h| h.value.as_bytes()),
            Carrier::XCashu => crate::ffi::header_in(r, l402_gate::method::cashu::HEADER),
        };
        let now = extract::now_ms() / 1_000;
        value.is_some_and(|v| (v.as_ptr(), v.len()) == ra.value) && ra.valid_until.is_none_or(|t| now < t)
    }
}
