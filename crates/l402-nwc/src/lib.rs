//! Nostr Wallet Connect (NIP-47) payment backend for L402.
//!
//! The wallet service (Alby Hub, a Cashu wallet, …) is reached through a Nostr relay: the
//! connection URI names the wallet's public key, the relays (later ones are fallbacks) and the
//! client secret that signs our requests ([`NwcConfig`]). This backend uses two methods:
//!
//! - `make_invoice {amount (msat), description, expiry}` → `{invoice, payment_hash, …}`,
//!   checked with [`l402_backend::check_invoice`];
//! - `lookup_invoice {payment_hash}` → `{settled_at, preimage, state, …}`
//!   ([`l402_backend::Settlement`]; the preimage is checked with
//!   [`l402_backend::check_preimage`]; the error `NOT_FOUND` is `Unknown`).
//!
//! Requests and responses are encrypted with NIP-44 v2 when the wallet's info event offers it,
//! NIP-04 otherwise. One relay connection per backend, opened by [`l402_backend::Backend::start`]
//! in the worker; a call that finds it down asks for a reconnection at once and waits for it
//! briefly, else fails with `Unavailable` (`relay.rs`). A wallet that does not answer within
//! the timeout (offline) is `Unavailable` too, and opens the [`Breaker`]: for a few seconds
//! calls fail at once instead of each waiting for the timeout, then one call probes. Errors
//! never contain the secret; NIP-47 error codes are classified in [`nip47::error_for`].

mod backend;
pub mod breaker;
mod config;
pub mod nip47;
mod relay;

pub use backend::{NwcBackend, NAME};
pub use config::{ConfigError, NwcConfig, RelayUrl, Secret, DEFAULT_TIMEOUT, MAX_RELAYS, MAX_URI_LEN};
pub use nip47::{Encryption, WalletInfo};
pub use breaker::{Breaker, BreakerSettings};
pub use relay::{Link, NoAnswer, MAX_BACKOFF, MAX_FRAME_BYTES, MIN_BACKOFF, RECONNECT_WAIT, RETRY_GAP};
