//! The non-blocking bridge between nginx requests and async I/O (backends, later Redis, mints,
//! relays).
//!
//! Per worker, created after fork in `init_process`: a tokio runtime with one I/O thread and an
//! eventfd hand-off ([`notify`]). A request that needs I/O is suspended:
//! `submit` takes a reference on it (`r->main->count++`), arms a timer on its write event (the
//! backstop timeout, which also keeps a gracefully quitting worker alive until the request is
//! answered), and spawns the future on the runtime. Only a job id crosses threads. When the
//! result arrives on the main thread, the bridge hands it to the request's `deliver` function and
//! posts the request's write event, which re-runs the phase handlers; the access handler then
//! drops the reference and answers. If the request is freed first (client gone, worker
//! terminated), its [`JobGuard`] is dropped with the request pool and the late result is
//! discarded: nothing dangles and nothing leaks.

mod notify;
mod runtime;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ngx::ffi::{
    ngx_close_connection, ngx_connection_t, ngx_cycle_t, ngx_event_t, ngx_get_connection,
    ngx_handle_read_event, ngx_http_core_run_phases, ngx_http_request_t, ngx_posted_events,
};

use crate::job::JobOutput;
use notify::Completions;

/// Stores a finished job's output in the request (called on the main thread).
pub type Deliver = unsafe fn(r: *mut ngx_http_request_t, out: JobOutput);

struct Waiter {
    r: *mut ngx_http_request_t,
    deliver: Deliver,
}

struct Bridge {
    runtime: tokio::runtime::Runtime,
    completions: Arc<Completions<JobOutput>>,
    conn: *mut ngx_connection_t,
    pending: HashMap<u64, Waiter>,
    next_id: u64,
    max_pending: usize,
}

thread_local! {
    static BRIDGE: RefCell<Option<Bridge>> = const { RefCell::new(None) };
}

/// Why a job could not be started; the caller answers 503.
#[derive(Debug)]
pub enum SubmitError {
    NotRunning,
    TooManyPending(usize),
}

impl std::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubmitError::NotRunning => f.write_str("the worker's I/O runtime is not running"),
            SubmitError::TooManyPending(n) => {
                write!(f, "{n} requests already wait for a backend in this worker (l402_max_pending)")
            }
        }
    }
}

/// Owned by the suspended request (in its pool): dropping it forgets the job, so a result that
/// arrives after the request is gone is discarded.
pub struct JobGuard {
    id: u64,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        let _ = BRIDGE.try_with(|b| {
            if let Ok(mut b) = b.try_borrow_mut() {
                if let Some(b) = b.as_mut() {
                    b.pending.remove(&self.id);
                }
            }
        });
    }
}

/// Starts the bridge in this worker.
///
/// # Safety
/// Main thread of a worker process, from `init_process`, with a live `cycle`.
pub unsafe fn start(cycle: *mut ngx_cycle_t, max_pending: usize) -> Result<(), String> {
    let completions = Arc::new(Completions::new().map_err(|e| format!("eventfd() failed: {e}"))?);
    let runtime = runtime::build().map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
    // nginx owns a duplicate of the eventfd (ngx_close_connection closes it); the original stays
    // with `completions`, which runtime threads may still hold while they wind down.
    // SAFETY: plain syscall on a descriptor we own.
    let fd = unsafe { libc::fcntl(completions.raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("dup() failed: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `cycle` is live; the connection is released in `stop` (or by nginx at exit).
    let conn = unsafe {
        let c = ngx_get_connection(fd, (*cycle).log);
        if c.is_null() {
            libc::close(fd);
            return Err("no free connection for the notification eventfd \
                        (raise worker_connections)"
                .into());
        }
        (*c).data = std::ptr::null_mut();
        let rev = (*c).read;
        (*rev).handler = Some(on_notify);
        (*rev).log = (*cycle).log;
        (*(*c).write).log = (*cycle).log;
        if ngx_handle_read_event(rev, 0) != 0 {
            ngx_close_connection(c);
            return Err("cannot register the notification eventfd with the event loop".into());
        }
        c
    };
    BRIDGE.with(|b| {
        *b.borrow_mut() = Some(Bridge {
            runtime,
            completions,
            conn,
            pending: HashMap::new(),
            next_id: 1,
            max_pending,
        });
    });
    Ok(())
}

/// Stops the runtime and releases the eventfd connection (`exit_process`).
pub fn stop() {
    let bridge = BRIDGE.with(|b| b.try_borrow_mut().ok().and_then(|mut b| b.take()));
    if let Some(bridge) = bridge {
        bridge.runtime.shutdown_timeout(Duration::from_millis(200));
        // SAFETY: main thread; the connection was obtained in `start` and is closed once here.
        unsafe { ngx_close_connection(bridge.conn) };
        drop(bridge.completions);
    }
}

/// Whether this worker has a running bridge.
pub fn running() -> bool {
    BRIDGE.with(|b| b.try_borrow().map(|b| b.is_some()).unwrap_or(false))
}

/// Suspends `r` until `job` finishes or `backstop` passes.
///
/// On success the caller stores the returned guard in its request context and returns
/// `NGX_DONE`; the access handler runs again when the result (or the backstop timer) arrives.
///
/// # Safety
/// `r` is a live main request on this worker's main thread, inside a phase handler.
pub unsafe fn submit<F>(
    r: *mut ngx_http_request_t,
    backstop: Duration,
    deliver: Deliver,
    job: F,
) -> Result<JobGuard, SubmitError>
where
    F: Future<Output = JobOutput> + Send + 'static,
{
    BRIDGE.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| SubmitError::NotRunning)?;
        let b = guard.as_mut().ok_or(SubmitError::NotRunning)?;
        if b.pending.len() >= b.max_pending {
            return Err(SubmitError::TooManyPending(b.pending.len()));
        }
        let id = b.next_id;
        b.next_id += 1;
        b.pending.insert(id, Waiter { r, deliver });
        // SAFETY: see the function contract.
        unsafe {
            let main = (*r).main;
            (*main).set_count((*main).count() + 1);
            (*r).write_event_handler = Some(ngx_http_core_run_phases);
            let ms = backstop.as_millis().min(u128::from(u32::MAX)) as ngx::ffi::ngx_msec_t;
            ngx::ffi::ngx_add_timer((*(*r).connection).write, ms);
        }
        let completions = Arc::clone(&b.completions);
        b.runtime.spawn(async move {
            let out = job.await;
            completions.complete(id, out);
        });
        Ok(JobGuard { id })
    })
}

/// Read handler of the eventfd connection: main thread.
unsafe extern "C" fn on_notify(ev: *mut ngx_event_t) {
    // SAFETY: nginx passes the live read event of our connection.
    unsafe { (*ev).set_ready(0) };
    let finished = BRIDGE.with(|b| {
        b.try_borrow().ok().and_then(|b| b.as_ref().map(|b| Arc::clone(&b.completions)))
    });
    let Some(completions) = finished else { return };
    for (id, out) in completions.drain() {
        let waiter = BRIDGE.with(|b| {
            b.try_borrow_mut().ok().and_then(|mut b| b.as_mut().and_then(|b| b.pending.remove(&id)))
        });
        let Some(Waiter { r, deliver }) = waiter else {
            continue; // the request is gone: its result is simply dropped
        };
        // SAFETY: a waiter is removed when its request's pool is destroyed (JobGuard), so `r`
        // is still alive here, and we are on the main thread.
        unsafe {
            deliver(r, out);
            wake(r);
        }
    }
}

/// Re-runs the phase handlers of a suspended request on the next event-loop turn.
///
/// # Safety
/// `r` is a live request on the main thread.
unsafe fn wake(r: *mut ngx_http_request_t) {
    // SAFETY: see the function contract.
    unsafe {
        let wev = (*(*r).connection).write;
        if (*wev).timer_set() != 0 {
            ngx::ffi::ngx_del_timer(wev);
        }
        ngx::ffi::ngx_post_event(wev, std::ptr::addr_of_mut!(ngx_posted_events));
    }
}
