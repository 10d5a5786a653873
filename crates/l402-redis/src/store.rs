//! [`RedisStore`]: claims, rate checks and prices over one lazily made connection, with a
//! short fail-fast backoff while Redis is down.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use l402_usage::keys::{claim_redis_key, proof_redis_key, rate_redis_key};
use l402_usage::{ClaimOutcome, Rate, RateOutcome, SpendOutcome};
use redis::RedisResult;

use crate::config::RedisConfig;
use crate::conn::{connect, Conn};
use crate::error::{classify, scrub, StoreError};
use crate::scripts;

/// First wait after a failure before Redis is tried again.
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Longest wait between two attempts while Redis stays down.
pub const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The shared Redis store of one nginx worker. Cloning is cheap (an `Arc`).
///
/// Built without I/O; the connection is made on first use, inside the caller's tokio
/// runtime. At most one connect attempt is in flight; calls that arrive meanwhile wait for
/// it (up to the connect timeout). After a failure, calls fail at once with
/// [`StoreError::Unavailable`] for a backoff that doubles from [`BACKOFF_MIN`] to
/// [`BACKOFF_MAX`], then the next call tries again: recovery needs no restart.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

struct Inner {
    cfg: RedisConfig,
    secrets: Vec<String>,
    state: Mutex<State>,
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// The connection and its generation (to ignore failures reported on an older one).
    conn: Option<(u64, Conn)>,
    generation: u64,
    /// Consecutive failures; sets the backoff.
    failures: u32,
    /// No attempt before this instant.
    retry_at: Option<Instant>,
    /// Why the last attempt failed (already scrubbed).
    last_cause: String,
}

fn backoff(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(8);
    (BACKOFF_MIN * (1u32 << shift)).min(BACKOFF_MAX)
}

enum Ready {
    Conn(u64, Conn),
    Connect,
}

impl RedisStore {
    /// A store for `cfg`. Does no I/O.
    pub fn new(cfg: RedisConfig) -> RedisStore {
        RedisStore {
            inner: Arc::new(Inner {
                secrets: cfg.secrets(),
                cfg,
                state: Mutex::new(State::default()),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The configuration (prints no password).
    pub fn config(&self) -> &RedisConfig {
        &self.inner.cfg
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ready(&self) -> Result<Ready, StoreError> {
        let st = self.state();
        if let Some(at) = st.retry_at {
            if Instant::now() < at {
                return Err(StoreError::Unavailable {
                    cause: format!("backing off after: {}", st.last_cause),
                });
            }
        }
        Ok(match &st.conn {
            Some((generation, c)) => Ready::Conn(*generation, c.clone()),
            None => Ready::Connect,
        })
    }

    fn failed(&self, generation: Option<u64>, e: &StoreError) {
        let mut st = self.state();
        if let (Some(g), Some((current, c))) = (generation, &st.conn) {
            if g != *current {
                return; // already replaced since
            }
            if c.discard_on_failure() {
                st.conn = None;
            }
        }
        st.failures = st.failures.saturating_add(1);
        st.retry_at = Some(Instant::now() + backoff(st.failures));
        st.last_cause = e.to_string();
    }

    fn succeeded(&self) {
        let mut st = self.state();
        if st.failures != 0 || st.retry_at.is_some() {
            st.failures = 0;
            st.retry_at = None;
        }
    }

    async fn acquire(&self) -> Result<(u64, Conn), StoreError> {
        if let Ready::Conn(g, c) = self.ready()? {
            return Ok((g, c));
        }
        let _one_at_a_time = self.inner.connecting.lock().await;
        if let Ready::Conn(g, c) = self.ready()? {
            return Ok((g, c));
        }
        let cfg = &self.inner.cfg;
        let result = match tokio::time::timeout(cfg.connect_timeout, connect(cfg)).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(match classify(&e, cfg.connect_timeout, &self.inner.secrets) {
                // Whatever stops a connection (bad password, a node that is no master) makes
                // the store unavailable, not the reply invalid.
                StoreError::InvalidReply { cause } => StoreError::Unavailable { cause },
                other => other,
            }),
            Err(_) => Err(StoreError::Timeout {
                after: cfg.connect_timeout,
            }),
        };
        match result {
            Ok(c) => {
                let mut st = self.state();
                st.generation += 1;
                let g = st.generation;
                st.conn = Some((g, c.clone()));
                Ok((g, c))
            }
            Err(e) => {
                self.failed(None, &e);
                Err(e)
            }
        }
    }

    /// Runs `op` on the connection, bounded by the command timeout, and keeps the backoff
    /// state up to date.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let (generation, conn) = self.acquire().await?;
        let after = self.inner.cfg.command_timeout;
        let attempt = async {
            let first = op(conn.clone()).await;
            match (&conn, first) {
                // A connection manager whose last reconnect was refused answers the next
                // command with that error and starts a new reconnect: the command was never
                // sent, so it is safe to send it once more.
                (Conn::Manager(_), Err(e)) if e.is_connection_refusal() => op(conn.clone()).await,
                (_, r) => r,
            }
        };
        let result = match tokio::time::timeout(after, attempt).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(classify(&e, after, &self.inner.secrets)),
            Err(_) => Err(StoreError::Timeout { after }),
        };
        match &result {
            Ok(_) => self.succeeded(),
            Err(e) if e.is_connection_failure() => self.failed(Some(generation), e),
            Err(_) => {}
        }
        result
    }

    /// Atomically claims one use of the token: accepted while fewer than `limit` uses were
    /// claimed. The key `l402:use:<hex>` expires at `expires_at` (unix seconds; `None` =
    /// never, no TTL). One Lua script on one key; a used-up counter is not incremented; a
    /// value this store did not write gives [`StoreError::InvalidReply`].
    pub async fn claim(
        &self,
        token_id: &[u8; 32],
        limit: u32,
        expires_at: Option<u64>,
    ) -> Result<ClaimOutcome, StoreError> {
        let key = claim_redis_key(token_id);
        let expiry = scripts::expiry_arg(expires_at);
        let reply: Vec<i64> = self
            .run(|mut c| {
                let key = key.clone();
                let expiry = expiry.clone();
                async move {
                    scripts::CLAIM
                        .key(key)
                        .arg(limit)
                        .arg(expiry)
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await?;
        scripts::claim_outcome(&reply, limit)
    }

    /// Atomically marks every proof of a Cashu token spent (by its `Y`s, NUT-00), all or none,
    /// for every instance sharing this Redis. The keys expire at `expires_at` (unix seconds;
    /// `None` = never).
    pub async fn spend_all(&self, ys: &[[u8; 33]], expires_at: Option<u64>) -> Result<SpendOutcome, StoreError> {
        if ys.is_empty() {
            return Err(StoreError::InvalidReply { cause: "a token without proofs".into() });
        }
        let keys: Vec<String> = ys.iter().map(proof_redis_key).collect();
        let expiry = scripts::expiry_arg(expires_at);
        let reply: Vec<i64> = self
            .run(|mut c| {
                let keys = keys.clone();
                let expiry = expiry.clone();
                async move {
                    let mut invocation = scripts::SPEND.prepare_invoke();
                    for k in keys {
                        invocation.key(k);
                    }
                    invocation.arg(expiry).invoke_async(&mut c).await
                }
            })
            .await?;
        scripts::spend_outcome(&reply, ys.len())
    }

    /// One GCRA rate check under `l402:rate:<hex key>` on Redis' clock (`TIME`), the
    /// arithmetic of [`l402_usage::gcra`]; the key lives until its TAT.
    pub async fn rate_check(&self, key: &[u8; 16], rate: Rate) -> Result<RateOutcome, StoreError> {
        let key = rate_redis_key(key);
        let (interval, tolerance) = scripts::rate_args(rate);
        let reply: Vec<i64> = self
            .run(|mut c| {
                let key = key.clone();
                async move {
                    scripts::RATE
                        .key(key)
                        .arg(interval)
                        .arg(tolerance)
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await?;
        scripts::rate_outcome(&reply)
    }

    /// `GET <path>`: the seed's dynamic price for a path (`SET /protected 15000`), raw bytes,
    /// or `None`. Parse it with [`l402_usage::price::parse_price`].
    pub async fn price(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(|mut c| async move {
            redis::cmd("GET")
                .arg(path)
                .query_async::<Option<Vec<u8>>>(&mut c)
                .await
        })
        .await
    }

    /// Scrubs configured passwords from text (for the adapter's own log lines).
    pub fn redact(&self, text: &str) -> String {
        scrub(text, &self.inner.secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), BACKOFF_MIN);
        assert_eq!(backoff(2), BACKOFF_MIN * 2);
        assert_eq!(backoff(4), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
