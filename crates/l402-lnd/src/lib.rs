//! LND payment backend for L402.
//!
//! Talks to LND's gRPC API (`lnrpc.Lightning`, default port 10009) with the client generated
//! from LND's own `lightning.proto`:
//!
//! - `AddInvoice(Invoice{value_msat, memo, expiry})` -> `AddInvoiceResponse{r_hash,
//!   payment_request}`, checked with [`l402_backend::check_invoice`];
//! - `LookupInvoice(PaymentHash{r_hash})` -> `Invoice{state, r_preimage}`, a settled preimage
//!   checked with [`l402_backend::check_preimage`].
//!
//! Authentication is the `macaroon` metadata (hex of the macaroon file); TLS trusts exactly
//! the node's self-signed `tls.cert` (pinned, whatever host name it names), with rustls and
//! the ring provider. [`LndConfig::load`] reads and checks the files without network I/O;
//! [`LndBackend::new`] opens no socket: the gRPC channel is made on the first call, inside
//! the caller's tokio runtime, reused, and remade after a failure.

mod backend;
mod channel;
mod config;
mod proto;
mod status;
mod tls;

pub use backend::{LndBackend, NAME};
pub use config::{ConfigError, LndConfig, DEFAULT_LND_PORT, DEFAULT_TIMEOUT};
