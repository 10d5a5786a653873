//! [`KeysCache`]: each allowed mint's info and verified keys for one worker, loaded and
//! refreshed by background tasks on the runtime thread and read by any thread without a lock
//! (an `arc-swap` pointer per mint). The request path only reads it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use l402_cashu::MintKeys;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::client::MintClient;
use crate::error::MintError;
use crate::info::MintInfo;

/// When the background tasks load again.
#[derive(Debug, Clone, Copy)]
pub struct Refresh {
    /// After a successful load (NUT-02 keysets change rarely: a rotation adds one).
    pub interval: Duration,
    /// After a failed one, doubling up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Each wait is moved by a random amount up to this fraction (per thousand) of it, so
    /// that the workers of a host do not ask the mint at the same instant.
    pub jitter_per_mille: u32,
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh {
            interval: Duration::from_secs(300),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            jitter_per_mille: 100,
        }
    }
}

/// One successful load of a mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintSnapshot {
    pub info: MintInfo,
    pub keys: MintKeys,
    pub loaded_at: SystemTime,
}

/// What the cache knows of a mint now.
#[derive(Debug, Clone)]
pub enum Keys {
    /// The last successful load (possibly followed by failed ones: keys of a keyset id never
    /// change, so they stay valid).
    Ready(Arc<MintSnapshot>),
    /// No load succeeded yet; the last attempt's error, if one was made.
    NotLoaded(Option<MintError>),
    /// Not a mint of this cache (not on the allow-list).
    UnknownMint,
}

struct Slot {
    client: MintClient,
    current: ArcSwapOption<MintSnapshot>,
    last_error: Mutex<Option<MintError>>,
}

impl Slot {
    async fn load(&self) -> Result<(), MintError> {
        let result: Result<MintSnapshot, MintError> = async {
            let info = self.client.info().await?;
            let keys = self.client.load_keys().await?;
            Ok(MintSnapshot { info, keys, loaded_at: SystemTime::now() })
        }
        .await;
        let mut last = self.last_error.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(snapshot) => {
                self.current.store(Some(Arc::new(snapshot)));
                *last = None;
                Ok(())
            }
            Err(e) => {
                *last = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// The mints of one worker (its allow-list), each with its latest keys. Cheap to clone.
#[derive(Clone)]
pub struct KeysCache {
    slots: Arc<Vec<Arc<Slot>>>,
}

impl KeysCache {
    /// No I/O: nothing is loaded until [`KeysCache::refresh`] or [`KeysCache::spawn`].
    pub fn new(clients: Vec<MintClient>) -> KeysCache {
        let slots = clients
            .into_iter()
            .map(|client| Arc::new(Slot { client, current: ArcSwapOption::empty(), last_error: Mutex::new(None) }))
            .collect();
        KeysCache { slots: Arc::new(slots) }
    }

    fn slot(&self, mint: &str) -> Option<&Arc<Slot>> {
        self.slots.iter().find(|s| s.client.url() == mint)
    }

    /// The keys of `mint` (normalised, as [`l402_cashu::Token::mint`]): a pointer load and an
    /// `Arc` clone, no lock, no I/O.
    pub fn get(&self, mint: &str) -> Keys {
        let Some(slot) = self.slot(mint) else { return Keys::UnknownMint };
        match slot.current.load_full() {
            Some(s) => Keys::Ready(s),
            None => Keys::NotLoaded(slot.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()),
        }
    }

    /// Loads `mint` now (start-up, tests). A failure keeps what was loaded before.
    pub async fn refresh(&self, mint: &str) -> Result<(), MintError> {
        match self.slot(mint) {
            Some(slot) => slot.load().await,
            None => Err(MintError::BadReply { mint: mint.to_string(), cause: "not a mint of this cache".into() }),
        }
    }

    /// One background task per mint on `runtime`: load now, then again after
    /// [`Refresh::interval`], or after a backoff when a load failed. The tasks end when the
    /// returned [`Refresher`] is dropped.
    pub fn spawn(&self, runtime: &Handle, refresh: Refresh) -> Refresher {
        let tasks = self
            .slots
            .iter()
            .map(|slot| {
                let slot = Arc::clone(slot);
                runtime.spawn(async move {
                    let mut retry = refresh.retry_min;
                    loop {
                        let wait = match slot.load().await {
                            Ok(()) => {
                                retry = refresh.retry_min;
                                refresh.interval
                            }
                            Err(_) => {
                                let wait = retry;
                                retry = (retry * 2).min(refresh.retry_max);
                                wait
                            }
                        };
                        tokio::time::sleep(jittered(wait, refresh.jitter_per_mille)).await;
                    }
                })
            })
            .collect();
        Refresher { tasks }
    }
}

/// `wait` moved by up to ±`per_mille`/1000 of it, at random.
fn jittered(wait: Duration, per_mille: u32) -> Duration {
    let span = wait.as_millis().saturating_mul(u128::from(per_mille.min(1000))) / 1000;
    let span = u64::try_from(span).unwrap_or(u64::MAX);
    if span == 0 {
        return wait;
    }
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    let offset = h.finish() % span.saturating_mul(2).saturating_add(1);
    (wait + Duration::from_millis(offset)).saturating_sub(Duration::from_millis(span))
}

/// The background refresh tasks of a [`KeysCache`]; dropping it stops them.
pub struct Refresher {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Refresher {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_span() {
        let wait = Duration::from_secs(10);
        for _ in 0..200 {
            let j = jittered(wait, 100);
            assert!(j >= Duration::from_secs(9) && j <= Duration::from_secs(11), "{j:?}");
        }
        assert_eq!(jittered(wait, 0), wait);
        assert_eq!(jittered(Duration::ZERO, 100), Duration::ZERO);
    }
}
