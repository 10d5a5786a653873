//! Per-request state of the access handler while the decision waits for I/O, kept in the
//! request pool across a suspension.

use l402_gate::{IoResult, Pending};
use ngx::ffi::{ngx_http_request_t, ngx_module_t};

use crate::bridge::JobGuard;

pub enum State {
    /// Suspended: the bridge runs the I/O the decision asked for.
    Waiting(Pending),
    /// The I/O is done; the decision goes on at the handler's next run.
    Ready(Pending, IoResult),
    /// Answered. Any further run of the handler for this request is refused, never let through.
    Finished,
}

pub struct RequestCtx {
    pub state: State,
    /// Dropped with the request pool: a result arriving later is discarded.
    pub job: Option<JobGuard>,
}

/// The module's context of `r`, if any.
///
/// # Safety
/// `r` is live; the slot holds null or a `RequestCtx` set by [`attach`].
pub unsafe fn get<'a>(r: *mut ngx_http_request_t, module: &ngx_module_t) -> Option<&'a mut RequestCtx> {
    // SAFETY: `r->ctx` has one slot per HTTP module, indexed by ctx_index.
    unsafe { (*(*r).ctx.add(module.ctx_index)).cast::<RequestCtx>().as_mut() }
}

/// Allocates a context in the request pool (dropped when the pool is destroyed) and attaches it.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn attach<'a>(
    r: *mut ngx_http_request_t,
    module: &ngx_module_t,
    ctx: RequestCtx,
) -> Option<&'a mut RequestCtx> {
    // SAFETY: the pool outlives every use of the context; `allocate` registers a cleanup that
    // drops it (and so its JobGuard) when the request is freed.
    unsafe {
        let pool = ngx::core::Pool::from_ngx_pool((*r).pool);
        let p = pool.allocate(ctx);
        if p.is_null() {
            return None;
        }
        *(*r).ctx.add(module.ctx_index) = p.cast();
        p.as_mut()
    }
}
