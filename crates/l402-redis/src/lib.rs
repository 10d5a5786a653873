//! The Redis store of the L402 paywall: token-use claims, invoice-creation rate limits and
//! dynamic prices, shared by every nginx worker and instance that points at the same Redis.
//!
//! - [`RedisConfig`] is the `l402_redis` directive, validated at configuration time with no
//!   network I/O: `l402_redis [cluster | sentinel=NAME] URL... [timeout=] [connect_timeout=] [ca=]`.
//! - [`RedisStore`] is built inside a worker without I/O and connects on first use, inside
//!   the worker's tokio runtime; one multiplexed connection per store.
//! - Claims and rate checks are single-key Lua scripts (atomic; Cluster-safe), following
//!   Aperture's `ChargeStore` contract: exactly one of any number of concurrent claims of a
//!   single-use token wins. Rate checks run the arithmetic of [`l402_usage::gcra`] on Redis'
//!   own clock, so instances with skewed clocks agree.
//! - Every operation is bounded by the command timeout; every failure is a [`StoreError`],
//!   which the caller turns into a 503 (never fail open). No text this crate produces
//!   contains a configured password.

mod config;
mod conn;
mod error;
mod scripts;
mod store;

pub use config::{
    CaCert, ConfigError, RedisConfig, RedisUrl, Topology, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT, MAX_TIMEOUT,
};
pub use error::StoreError;
pub use store::{RedisStore, BACKOFF_MAX, BACKOFF_MIN};
