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
//! in the worker; while it is down calls fail at once with `Unavailable`. A wallet that does
//! not answer within the timeout (offline) is `Unavailable` too. Errors never contain the
//! secret; NIP-47 error codes are classified in [`nip47::error_for`].

mod backend;
mod config;
pub mod nip47;
mod relay;

pub use backend::{NwcBackend, NAME};
pub use config::{ConfigError, NwcConfig, RelayUrl, Secret, DEFAULT_TIMEOUT, MAX_RELAYS, MAX_URI_LEN};
pub use nip47::{Encryption, WalletInfo};
pub use relay::{Link, MAX_BACKOFF, MAX_FRAME_BYTES, MIN_BACKOFF};
