//! The seed's dynamic prices: the price of a request path read from Redis under the key equal
//! to the path (`SET /protected 15000`), cached per worker for [`PRICE_CACHE_TTL`].
//!
//! A missing key, an invalid value or an unreachable Redis all fall back to the location's
//! configured price, with a warning (at most one per [`WARN_EVERY`] per worker while Redis is
//! down, so an outage does not flood the log). A bad value is never a free request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402_redis::RedisStore;
use l402_usage::price::{parse_price, CachedPrice, PriceCache};

use crate::conf::MAX_AMOUNT_MSAT;

/// How long a price read from Redis is used before it is read again (documented in the README).
pub const PRICE_CACHE_TTL: Duration = Duration::from_secs(2);
/// Paths remembered per worker.
const PRICE_CACHE_PATHS: usize = 10_000;
/// Least time between two "Redis unreachable, configured price used" warnings per worker.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The per-worker price cache, shared by the worker's jobs.
#[derive(Clone)]
pub struct WorkerPrices {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    cache: PriceCache,
    last_outage_warning_ms: Option<u64>,
}

impl WorkerPrices {
    pub fn new() -> WorkerPrices {
        WorkerPrices {
            inner: Arc::new(Mutex::new(Inner {
                cache: PriceCache::new(PRICE_CACHE_TTL.as_millis() as u64, PRICE_CACHE_PATHS),
                last_outage_warning_ms: None,
            })),
        }
    }

    /// The price for `path`: Redis' value if valid, else `configured`. Warnings go to `warn`.
    pub async fn lookup(
        &self,
        store: &RedisStore,
        path: &str,
        configured: u64,
        warnings: &mut Vec<String>,
    ) -> u64 {
        let now = now_ms();
        if let Some(hit) = self.with(|i| i.cache.get(path, now)).flatten() {
            return resolve(hit, configured);
        }
        let answer = match store.price(path).await {
            Ok(None) => CachedPrice::Configured,
            Ok(Some(raw)) => match parse_price(&raw, MAX_AMOUNT_MSAT) {
                Ok(price) => CachedPrice::Price(price),
                Err(e) => {
                    warnings.push(format!(
                        "l402: the Redis price under \"{}\" is invalid ({e}); \
                         the configured price {configured} msat is used",
                        shown(path)
                    ));
                    CachedPrice::Configured
                }
            },
            Err(e) => {
                let warn = self.with(|i| {
                    let due = i
                        .last_outage_warning_ms
                        .is_none_or(|t| now.saturating_sub(t) >= WARN_EVERY.as_millis() as u64);
                    if due {
                        i.last_outage_warning_ms = Some(now);
                    }
                    due
                });
                if warn == Some(true) {
                    warnings.push(format!(
                        "l402: cannot read prices from Redis ({e}); configured prices are used \
                         until it answers again"
                    ));
                }
                return configured; // not cached: the next request asks again
            }
        };
        self.with(|i| i.cache.put(path, answer, now));
        resolve(answer, configured)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Option<R> {
        self.inner.lock().ok().map(|mut g| f(&mut g))
    }
}

fn resolve(answer: CachedPrice, configured: u64) -> u64 {
    match answer {
        CachedPrice::Price(p) => p,
        CachedPrice::Configured => configured,
    }
}

/// A request path as it may appear in a log line: printable ASCII, at most 128 characters.
fn shown(path: &str) -> String {
    path.chars()
        .take(128)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
