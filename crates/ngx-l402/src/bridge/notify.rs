//! The thread-safe hand-off from runtime threads into the nginx event loop
//! (nginx development guide, "Events" → "I/O events" and "Common Pitfalls" → "Threads";
//! docs/architecture.md).
//!
//! Runtime threads push finished jobs into a mutex-protected queue and write to an `eventfd`.
//! The eventfd is registered with nginx's event loop as the read side of a connection; its
//! handler runs on the worker's main thread, drains the queue and wakes the waiting requests.
//! No nginx structure is ever touched off the main thread.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, PoisonError};

/// Log lines queued at most between two turns of the event loop (bounds memory if a task
/// logs in a loop).
const MAX_QUEUED_LINES: usize = 1_024;

/// The queue of finished jobs plus the eventfd that signals it. Shared with runtime threads.
pub struct Completions<T> {
    fd: OwnedFd,
    done: Mutex<Vec<(u64, T)>>,
    /// Log lines from jobs and background tasks, written on the main thread (nginx's log is
    /// not thread-safe).
    lines: Mutex<Lines>,
}

/// Queued log lines, and how many were dropped because the queue was full.
#[derive(Default)]
struct Lines {
    queued: Vec<(u32, String)>,
    dropped: usize,
}

impl<T> Completions<T> {
    pub fn new() -> std::io::Result<Self> {
        // SAFETY: plain syscall; the returned descriptor is owned by the OwnedFd below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Completions { fd, done: Mutex::new(Vec::new()), lines: Mutex::new(Lines::default()) })
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Called from any thread: queue the result, then signal (in that order, so that a drain
    /// that misses this item is always followed by another wake-up).
    pub fn complete(&self, id: u64, value: T) {
        self.done.lock().unwrap_or_else(PoisonError::into_inner).push((id, value));
        self.signal();
    }

    /// Called from any thread: queue a log line (at most [`MAX_QUEUED_LINES`] wait; more are
    /// counted and reported as one line).
    pub fn log(&self, level: u32, line: String) {
        {
            let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
            if lines.queued.len() >= MAX_QUEUED_LINES {
                lines.dropped = lines.dropped.saturating_add(1);
                return;
            }
            lines.queued.push((level, line));
        }
        self.signal();
    }

    /// Main thread: the queued log lines, then one line saying how many were dropped, if any.
    pub fn drain_lines(&self) -> Vec<(u32, String)> {
        let Lines { mut queued, dropped } =
            std::mem::take(&mut *self.lines.lock().unwrap_or_else(PoisonError::into_inner));
        if dropped > 0 {
            queued.push((
                ngx::ffi::NGX_LOG_WARN,
                format!("l402: {dropped} log lines of background tasks were dropped (more than {MAX_QUEUED_LINES} queued)"),
            ));
        }
        queued
    }

    fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an eventfd we own. A full counter
        // (EAGAIN) still leaves the fd readable, which is all the reader needs.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Main thread: reset the eventfd counter, then take everything queued.
    pub fn drain(&self) -> Vec<(u64, T)> {
        let mut counter: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from an eventfd we own (non-blocking).
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut counter as *mut u64).cast(), 8) };
        std::mem::take(&mut *self.done.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
