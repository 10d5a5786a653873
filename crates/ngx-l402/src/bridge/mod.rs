//! The non-blocking bridge between nginx requests and async I/O (backends, later Redis, mints,
//! relays).
//!
//! Per worker, created after fork in `init_process`: a tokio runtime with one I/O thread and an
//! eventfd hand-off ([`notify`]). A request that needs I/O is suspended:
//! `submit` takes a reference on it (`r->main->count++`), arms a timer on its write event (the
//! backstop timeout, which also keeps a gracefully quitting worker alive until the request is
//! answered), and spawns the future on the runtime. Only a job id crosses threads. When the
//! result arrives on the main thread, the bridge runs the request's completion closure and
//! posts the request's write event, which re-runs the phase handlers; the access handler then
//! drops the reference and answers. If the request is freed first (client gone, worker
//! terminated), its [`JobGuard`] is dropped with the request pool and the late result is
//! discarded: nothing dangles and nothing leaks.
//!
//! A job's completion is a closure run on the main thread, so a new kind of job needs no
//! change here. Jobs and background tasks (not tied to a request: [`spawn_background`]) log
//! through a [`LogSink`], drained on the main thread. Background tasks stop with the worker
//! (`exit_process`, on reload and quit).

mod notify;
mod runtime;

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ngx::ffi::{
    ngx_close_connection, ngx_connection_t, ngx_cycle_t, ngx_event_t, ngx_get_connection,
    ngx_handle_read_event, ngx_http_core_run_phases, ngx_http_request_t, ngx_posted_events,
};

use notify::Completions;

/// A finished job's output, crossing from the runtime to the main thread.
type Output = Box<dyn Any + Send>;

/// Runs on the main thread with the suspended request and the job's output.
type Complete = Box<dyn FnOnce(*mut ngx_http_request_t, Output)>;

struct Waiter {
    r: *mut ngx_http_request_t,
    complete: Complete,
}

/// Where jobs and background tasks write log lines (any thread); the main thread writes them
/// to the worker's error log.
#[derive(Clone)]
pub struct LogSink(Arc<Completions<Output>>);

impl LogSink {
    pub fn log(&self, level: u32, line: String) {
        self.0.log(level, line);
    }
}

struct Bridge {
    runtime: tokio::runtime::Runtime,
    completions: Arc<Completions<Output>>,
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
                    if b.pending.remove(&self.id).is_some() {
                        crate::metrics::count::waiting(false);
                    }
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
        for _ in 0..bridge.pending.len() {
            crate::metrics::count::waiting(false);
        }
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

/// Runs a task not tied to a request on this worker's runtime until the worker exits.
/// `one_worker`: only in worker 0 (or the only process), for work that must happen once per
/// instance. Returns whether the task was started here.
pub fn spawn_background<F>(one_worker: bool, make: impl FnOnce(LogSink) -> F) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    // SAFETY: plain reads of globals nginx sets before init_process.
    let first = unsafe { ngx::ffi::ngx_worker == 0 };
    if one_worker && !first {
        return false;
    }
    BRIDGE.with(|cell| {
        let Ok(b) = cell.try_borrow() else { return false };
        let Some(b) = b.as_ref() else { return false };
        let task = make(LogSink(Arc::clone(&b.completions)));
        b.runtime.spawn(task);
        true
    })
}

/// Suspends `r` until `job` finishes or `backstop` passes; then `complete` runs on the main
/// thread with the request and the job's output, and the request's phase handlers run again.
///
/// On success the caller stores the returned guard in its request context and returns
/// `NGX_DONE`.
///
/// # Safety
/// `r` is a live main request on this worker's main thread, inside a phase handler.
pub unsafe fn submit<F, T>(
    r: *mut ngx_http_request_t,
    backstop: Duration,
    job: F,
    complete: impl FnOnce(*mut ngx_http_request_t, T) + 'static,
) -> Result<JobGuard, SubmitError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    BRIDGE.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| SubmitError::NotRunning)?;
        let b = guard.as_mut().ok_or(SubmitError::NotRunning)?;
        if b.pending.len() >= b.max_pending {
            return Err(SubmitError::TooManyPending(b.pending.len()));
        }
        let id = b.next_id;
        b.next_id += 1;
        let complete: Complete = Box::new(move |r, out: Output| {
            if let Ok(out) = out.downcast::<T>() {
                complete(r, *out);
            }
        });
        b.pending.insert(id, Waiter { r, complete });
        crate::metrics::count::waiting(true);
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
            let out: Output = Box::new(job.await);
            completions.complete(id, out);
        });
        Ok(JobGuard { id })
    })
}

/// Read handler of the eventfd connection: main thread.
unsafe extern "C" fn on_notify(ev: *mut ngx_event_t) {
    crate::guard::guard_void(|| {
        // SAFETY: nginx passes the live read event of our connection.
        unsafe { notified(ev) }
    });
}

unsafe fn notified(ev: *mut ngx_event_t) {
    // SAFETY: nginx passes the live read event of our connection.
    unsafe { (*ev).set_ready(0) };
    let finished = BRIDGE.with(|b| {
        b.try_borrow().ok().and_then(|b| b.as_ref().map(|b| Arc::clone(&b.completions)))
    });
    let Some(completions) = finished else { return };
    let log = ngx::log::ngx_cycle_log().as_ptr();
    for (level, line) in completions.drain_lines() {
        ngx::ngx_log_error!(level, log, "{}", line);
    }
    for (id, out) in completions.drain() {
        let waiter = BRIDGE.with(|b| {
            b.try_borrow_mut().ok().and_then(|mut b| b.as_mut().and_then(|b| b.pending.remove(&id)))
        });
        let Some(Waiter { r, complete }) = waiter else {
            continue; // the request is gone: its result is simply dropped
        };
        crate::metrics::count::waiting(false);
        // SAFETY: a waiter is removed when its request's pool is destroyed (JobGuard), so `r`
        // is still alive here, and we are on the main thread.
        unsafe {
            complete(r, out);
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
