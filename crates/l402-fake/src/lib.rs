//! Built-in fake Lightning backend for demos and tests. **Not for production**: anyone who
//! can reach the fake pay endpoint gets any invoice "paid" for free.
//!
//! It issues real, signed BOLT11 invoices (regtest `lnbcrt…` or testnet `lntb…`) without a
//! node, and can "pay" them without a node either: the preimage of every invoice is derived
//! statelessly from a secret and the invoice's own payment secret (see [`mod@derive`]), so any
//! nginx worker holding the same [`FakeSecret`] can pay an invoice another worker issued.
//!
//! - [`FakeSecret`]: node key + preimage-derivation secret, generated once per config load.
//! - [`FakeBackend`]: implements [`l402_backend::Backend`] (name `"fake"`), with an optional
//!   delay and a bounded memory of issued invoices for `lookup_invoice`.
//! - [`pay`]: synchronous, no I/O: invoice in, preimage out.

mod backend;
pub mod derive;
#[cfg(feature = "faults")]
mod faults;
mod invoice;
mod pay;
mod secret;
mod store;

pub use backend::{FakeBackend, FakeConfig, FakeNetwork, MAX_AMOUNT_MSAT, NAME};
pub use invoice::MIN_FINAL_CLTV_EXPIRY_DELTA;
pub use pay::{pay, PayError};
pub use secret::{FakeError, FakeSecret};
