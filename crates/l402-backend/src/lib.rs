//! The narrow contract between the L402 module and a Lightning payment backend.
//!
//! Every backend (LND, CLN, Eclair, LNURL, NWC, the built-in fake, …) does two things:
//! create an invoice for an amount with a memo and an expiry, and look up whether it has
//! settled. This crate holds:
//!
//! - the request/reply types ([`InvoiceRequest`], [`Invoice`] with its [`InvoiceKind`] and
//!   opaque [`LookupRef`], [`Settlement`], [`Capabilities`]);
//! - [`BackendError`], classified by what the caller must do;
//! - the object-safe [`Backend`] trait (called from a per-worker tokio runtime, so it is
//!   `Send + Sync` and its futures are `Send`), with start/stop hooks;
//! - the reply checks every backend runs on what its node returned ([`check_invoice`],
//!   [`check_preimage`]) and a timeout wrapper ([`with_timeout`]);
//! - [`Failover`]: several backends tried in order, behind one; [`Started`]: a backend whose
//!   `start` runs before its first call;
//! - with the `conformance` feature, a shared test suite every backend's tests call.
//!
//! No nginx type and no `unsafe` here.

mod backend;
mod check;
mod error;
mod invoice_text;
mod lifecycle;
pub mod failover;
mod timeout;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

/// The lightning-invoice version these checks use, for backends that parse invoices too.
pub use lightning_invoice;

pub use backend::{Backend, BoxFuture};
pub use check::{check_invoice, check_payee, check_preimage, parse_bolt11, MAX_BOLT11_LEN};
pub use error::BackendError;
pub use invoice_text::{normalize_invoice_text, MAX_INVOICE_TEXT};
pub use failover::Failover;
pub use lifecycle::Started;
pub use timeout::with_timeout;
pub use types::{
    Capabilities, Invoice, InvoiceKind, InvoiceRequest, LookupRef, Settlement, MAX_INVOICE_AMOUNT_MSAT,
};
