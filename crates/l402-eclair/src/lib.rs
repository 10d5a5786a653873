//! Eclair payment backend for L402.
//!
//! Eclair's HTTP API: HTTP Basic auth with an empty user and the API password, every call a
//! form-encoded `POST`. This backend uses two calls:
//!
//! - `POST /createinvoice {description, amountMsat, expireIn}` → the invoice as JSON
//!   (`serialized` BOLT11, `paymentHash`, `amount`), checked with
//!   [`l402_backend::check_invoice`];
//! - `POST /getreceivedinfo {paymentHash}` → `{status: {type: pending|expired|received},
//!   paymentPreimage}`, or 404 for a hash the node does not know ([`Settlement::Unknown`]).
//!
//! Replies are read leniently (field names shifted between versions), bounded in size, and
//! every call runs under [`l402_backend::with_timeout`]. Errors: 401/403 and other 4xx are
//! `Rejected` (never with the password), connection failures and 5xx are `Unavailable`,
//! anything unparsable or failing a check is `InvalidReply`.
//!
//! [`Settlement::Unknown`]: l402_backend::Settlement::Unknown

mod backend;
mod config;
mod reply;

pub use backend::{EclairBackend, MAX_REPLY_BYTES, NAME};
pub use config::{ConfigError, EclairConfig, Secret, DEFAULT_ADDRESS, DEFAULT_TIMEOUT};
