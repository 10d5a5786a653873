//! The seed's dynamic prices: the price of a request path read from Redis under the key equal
//! to the path (`SET /protected 15000`), cached per worker for [`PRICE_CACHE_TTL`].
//!
//! Tokens are bound to the price they paid (`l402_core::Terms`), so the price is read both when
//! a challenge is made and when a token is presented. A missing key or an invalid value use the
//! location's configured price (an invalid one with a warning); an unreachable Redis is an
//! error: the caller answers 503, because a token sold or admitted at a guessed price could be
//! too cheap, and claims in the same Redis fail closed anyway.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402_gate::IoResult;
use l402_redis::{RedisStore, StoreError};
use l402_usage::price::{parse_price, CachedPrice, PriceCache};

use super::claim::store_failure;
use super::Done;
use crate::conf::MAX_AMOUNT_MSAT;

/// The store's price of one path, read when this worker has not read it lately.
pub struct RedisPrice {
    pub prices: WorkerPrices,
    pub store: RedisStore,
    pub path: String,
    pub configured: u64,
}

impl RedisPrice {
    pub async fn run(self) -> Done {
        let mut warnings = Vec::new();
        let result = self
            .prices
            .lookup(&self.store, &self.path, self.configured, &mut warnings)
            .await
            .map_err(|e| store_failure(&e, format!("l402: cannot read the price from Redis: {e}; answering 503")));
        (IoResult::Price(result), warnings)
    }
}

/// How long a price read from Redis is used before it is read again (documented in the README).
pub const PRICE_CACHE_TTL: Duration = Duration::from_secs(2);
/// Paths remembered per worker.
const PRICE_CACHE_PATHS: usize = 10_000;

/// The per-worker price cache, shared by the worker's main thread and its jobs.
#[derive(Clone)]
pub struct WorkerPrices {
    cache: Arc<Mutex<PriceCache>>,
}

impl WorkerPrices {
    pub fn new() -> WorkerPrices {
        WorkerPrices {
            cache: Arc::new(Mutex::new(PriceCache::new(
                PRICE_CACHE_TTL.as_millis() as u64,
                PRICE_CACHE_PATHS,
            ))),
        }
    }

    /// The price for `path` if this worker read it less than [`PRICE_CACHE_TTL`] ago.
    pub fn cached(&self, path: &str, configured: u64) -> Option<u64> {
        let hit = self.cache.lock().ok()?.get(path, now_ms())?;
        Some(resolve(hit, configured))
    }

    /// The price for `path`: Redis' value if valid, else `configured`; `Err` when Redis did not
    /// answer. Warnings go to `warn`.
    pub async fn lookup(
        &self,
        store: &RedisStore,
        path: &str,
        configured: u64,
        warnings: &mut Vec<String>,
    ) -> Result<u64, StoreError> {
        if let Some(price) = self.cached(path, configured) {
            return Ok(price);
        }
        let answer = match store.price(path).await? {
            None => CachedPrice::Configured,
            Some(raw) => match parse_price(&raw, MAX_AMOUNT_MSAT) {
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
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(path, answer, now_ms());
        }
        Ok(resolve(answer, configured))
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
