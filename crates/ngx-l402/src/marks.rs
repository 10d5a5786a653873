//! Facts about a request that must survive internal redirects (index, `try_files`,
//! `error_page`): nginx wipes request contexts on a redirect, but not the request pool and its
//! cleanup list. A mark is a pool cleanup entry whose handler is [`NOTE`] and whose data is
//! a [`Note`].
//!
//! - [`Mark::Claimed`]: this request already holds a use of the token with this claim key, so a
//!   redirect into another paid location does not claim a second use;
//! - [`Mark::PaymentRequired`]: this request was answered 402 (a challenge, or "payment not
//!   received yet"), so an `error_page 402` that leads into a paid location serves the error
//!   page under that answer instead of making a second invoice (payment-integrity item 9).

use std::ffi::c_void;

use ngx::ffi::ngx_http_request_t;

use crate::record::Record;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Claimed([u8; 16]),
    PaymentRequired,
}

/// What a cleanup entry of this module carries: a mark, or the request's recorded verdict
/// (`record.rs`). One handler for all of them, so entries are told apart by this enum, never
/// by handler address (the linker may merge identical empty functions).
pub enum Note {
    Mark(Mark),
    Verdict(Record),
}

/// The handler of every note: does nothing (the pool frees the data).
unsafe extern "C" fn note_handler(_data: *mut c_void) {}

/// The one address used both to set and to recognise a note (a function referenced in two
/// places may get two addresses; a value read from one static cannot).
static NOTE: unsafe extern "C" fn(*mut c_void) = note_handler;

/// The first (most recently added) note of `r` for which `pick` is true.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn find<'a>(r: *mut ngx_http_request_t, mut pick: impl FnMut(&Note) -> bool) -> Option<&'a mut Note> {
    // SAFETY: the pool's cleanup list is a singly linked list owned by the request pool;
    // entries with our handler carry a `Note` we wrote.
    unsafe {
        let mut c = (*(*r).pool).cleanup;
        while !c.is_null() {
            if (*c).handler.map(|h| h as usize) == Some(NOTE as usize) && !(*c).data.is_null() {
                let note = (*c).data.cast::<Note>();
                if pick(&*note) {
                    return note.as_mut();
                }
            }
            c = (*c).next;
        }
        None
    }
}

/// Adds `note` to `r`. Without memory the note is lost (see [`set`] for what that means).
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn add(r: *mut ngx_http_request_t, note: Note) {
    // SAFETY: ngx_pool_cleanup_add allocates `data` of the given size in the request pool.
    unsafe {
        let c = ngx::ffi::ngx_pool_cleanup_add((*r).pool, size_of::<Note>());
        if c.is_null() {
            return;
        }
        (*c).data.cast::<Note>().write(note);
        (*c).handler = Some(NOTE);
    }
}

/// True when `r` carries `mark`.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn has(r: *mut ngx_http_request_t, mark: Mark) -> bool {
    // SAFETY: forwarded contract.
    unsafe { find(r, |n| matches!(n, Note::Mark(m) if *m == mark)).is_some() }
}

/// Puts `mark` on `r`. Without memory the mark is lost: a redirected request is then refused
/// once more (or challenged once more), never served twice.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn set(r: *mut ngx_http_request_t, mark: Mark) {
    // SAFETY: forwarded contract.
    unsafe { add(r, Note::Mark(mark)) }
}

/// The claim key this request holds a use of, if any (a request presents one credential).
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn claimed(r: *mut ngx_http_request_t) -> Option<[u8; 16]> {
    // SAFETY: forwarded contract.
    match unsafe { find(r, |n| matches!(n, Note::Mark(Mark::Claimed(_)))) } {
        Some(Note::Mark(Mark::Claimed(key))) => Some(*key),
        _ => None,
    }
}
