//! The per-worker tokio runtime: one I/O thread, every signal blocked in it so nginx's signal
//! handling stays on the worker's main thread (nginx development guide,
//! "Common Pitfalls" → "Threads"; docs/architecture.md).

use tokio::runtime::{Builder, Runtime};

/// Builds the runtime. Called in a worker after fork, never in the master.
pub fn build() -> std::io::Result<Runtime> {
    // Threads inherit the creating thread's signal mask: block everything around the build,
    // and again in every thread the runtime starts later (blocking pool).
    let previous = block_all_signals();
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(2)
        .thread_name("l402-io")
        .enable_all()
        .on_thread_start(|| {
            block_all_signals();
        })
        .build();
    restore_signals(&previous);
    runtime
}

fn block_all_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset/pthread_sigmask only write the sets we pass.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
        previous
    }
}

fn restore_signals(previous: &libc::sigset_t) {
    // SAFETY: restores the mask saved by block_all_signals on this same thread.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, previous, std::ptr::null_mut());
    }
}
