//! The usage table's lock: one word in the table's header holding the holder's process id.
//!
//! nginx's own `ngx_shmtx_t` keeps pointers and a semaphore next to its lock word, valid in one
//! nginx generation only; the usage table outlives a generation (during a binary upgrade the
//! old and the new workers map the same state file), so it carries a lock any process can take:
//! compare-and-swap of 0 → own pid, spinning then yielding like `ngx_shmtx_lock` without
//! semaphores. A holder that died inside the (microseconds long) critical section is detected
//! and its lock taken over, as the nginx master does for `ngx_shmtx_t` with
//! `ngx_shmtx_force_unlock` when a worker exits abnormally.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A holder that keeps the lock this long is presumed stuck (stopped by a signal or a
/// debugger, or a dead holder whose pid was reused) and its lock is taken over.
const STUCK: Duration = Duration::from_secs(1);

/// Held lock; released on drop (also while unwinding).
pub struct Held<'a> {
    word: &'a AtomicU64,
    /// Process id whose lock was taken over, for the caller's alert line.
    pub took_over_from: Option<u64>,
}

/// Takes the lock word for process `me` (a nonzero pid). `alive(pid)` says whether a holder
/// still exists (the adapter asks the kernel); it is called only while waiting.
pub fn lock(word: &AtomicU64, me: u64, alive: impl Fn(u64) -> bool) -> Held<'_> {
    if word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
        return Held { word, took_over_from: None };
    }
    lock_contended(word, me, &alive)
}

#[cold]
fn lock_contended<'a>(word: &'a AtomicU64, me: u64, alive: &dyn Fn(u64) -> bool) -> Held<'a> {
    let mut watched: Option<(u64, Instant)> = None;
    let mut round: u32 = 0;
    loop {
        let spins = 1u32 << round.min(10);
        for _ in 0..spins {
            std::hint::spin_loop();
        }
        if word.load(Ordering::Relaxed) == 0
            && word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            return Held { word, took_over_from: None };
        }
        round = round.saturating_add(1);
        if round < 11 {
            continue;
        }
        std::thread::yield_now();
        let holder = word.load(Ordering::Relaxed);
        if holder == 0 {
            continue;
        }
        let since = match watched {
            Some((h, since)) if h == holder => since,
            _ => {
                watched = Some((holder, Instant::now()));
                continue;
            }
        };
        if (round % 64 == 0 && !alive(holder)) || since.elapsed() > STUCK {
            if word.compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Held { word, took_over_from: Some(holder) };
            }
            watched = None;
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.word.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_other_holders() {
        let word = Arc::new(AtomicU64::new(0));
        let counter = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (1..=4u64)
            .map(|me| {
                let (word, counter) = (word.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        let _held = lock(&word, me, |_| true);
                        // A non-atomic read-modify-write: lost updates show a broken lock.
                        let v = counter.load(Ordering::Relaxed);
                        counter.store(v + 1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().ok();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 8000);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_dead_holder_is_taken_over() {
        let dead = 99;
        let word = AtomicU64::new(dead);
        let t = Instant::now();
        let held = lock(&word, 7, |pid| pid != dead);
        assert!(t.elapsed() < STUCK);
        assert_eq!(held.took_over_from, Some(dead));
        assert_eq!(word.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn a_stuck_live_holder_is_taken_over_after_a_second() {
        let word = AtomicU64::new(5);
        let t = Instant::now();
        let held = lock(&word, 7, |_| true);
        assert!(t.elapsed() >= STUCK);
        assert_eq!(held.took_over_from, Some(5));
        drop(held);
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }
}
