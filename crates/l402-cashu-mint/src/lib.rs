//! The Cashu mint client of a worker (docs/architecture.md, "Cashu"; NUT-01, 02, 06, 07): the
//! I/O half of [`l402_cashu`], run on the worker's tokio runtime thread.
//!
//! - [`MintClient`]: one mint URL (from the operator's allow-list, never from a token), every
//!   call bounded in time and size, no redirect followed: NUT-06 [`MintClient::info`], NUT-01/02
//!   [`MintClient::keysets`], [`MintClient::keys`] and [`MintClient::load_keys`] (checked into
//!   an [`l402_cashu::MintKeys`]), NUT-07 [`MintClient::check_state`].
//! - [`KeysCache`]: each allowed mint's info and keys, refreshed in the background (interval
//!   with jitter, backoff on failure) and read without a lock from any thread.
//! - [`MintError`]: what went wrong, by what the caller must do.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cache;
mod client;
mod error;
mod info;
mod state;
mod transport;

pub use cache::{Keys, KeysCache, MintSnapshot, Refresh, Refresher};
pub use client::{ClientOptions, MintClient, KEYS_UNIT};
pub use error::{ConfigError, MintError};
pub use info::{MintInfo, MAX_INFO_BYTES, P2PK_NUTS};
pub use state::{ProofState, State, MAX_YS_PER_CHECK};
pub use transport::{Transport, TransportOptions, MAX_REPLY_BYTES};
