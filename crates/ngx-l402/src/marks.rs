//! Facts about a request that must survive internal redirects (index, `try_files`,
//! `error_page`): nginx wipes request contexts on a redirect, but not the request pool and its
//! cleanup list. A mark is a pool cleanup entry whose handler is [`MARK`] and whose data is
//! one [`Mark`].
//!
//! - [`Mark::Claimed`]: this request already holds a use of the token with this claim key, so a
//!   redirect into another paid location does not claim a second use;
//! - [`Mark::PaymentRequired`]: this request was answered 402 (a challenge, or "payment not
//!   received yet"), so an `error_page 402` that leads into a paid location serves the error
//!   page under that answer instead of making a second invoice (payment-integrity item 9).

use std::ffi::c_void;

use ngx::ffi::ngx_http_request_t;

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub enum Mark {
    Claimed([u8; 16]),
    PaymentRequired,
}

/// The handler of every mark: does nothing (the pool frees the data).
unsafe extern "C" fn mark_handler(_data: *mut c_void) {}

/// The one address used both to set and to recognise a mark (a function referenced in two
/// places may get two addresses; a value read from one static cannot).
static MARK: unsafe extern "C" fn(*mut c_void) = mark_handler;

/// True when `r` carries `mark`.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn has(r: *mut ngx_http_request_t, mark: Mark) -> bool {
    // SAFETY: the pool's cleanup list is a singly linked list owned by the request pool;
    // entries with our handler carry a `Mark` we wrote.
    unsafe {
        let mut c = (*(*r).pool).cleanup;
        while !c.is_null() {
            if (*c).handler.map(|h| h as usize) == Some(MARK as usize)
                && !(*c).data.is_null()
                && *(*c).data.cast::<Mark>() == mark
            {
                return true;
            }
            c = (*c).next;
        }
        false
    }
}

/// Puts `mark` on `r`. Without memory the mark is lost: a redirected request is then refused
/// once more (or challenged once more), never served twice.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn set(r: *mut ngx_http_request_t, mark: Mark) {
    // SAFETY: ngx_pool_cleanup_add allocates `data` of the given size in the request pool.
    unsafe {
        let c = ngx::ffi::ngx_pool_cleanup_add((*r).pool, size_of::<Mark>());
        if c.is_null() {
            return;
        }
        (*c).data.cast::<Mark>().write(mark);
        (*c).handler = Some(MARK);
    }
}
