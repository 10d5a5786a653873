//! A test server that speaks LND's real gRPC protocol, for the LND backend's tests and for
//! end-to-end tests of the module (NOT an LND node: nothing is ever paid).
//!
//! - `lnrpc.Lightning/AddInvoice` and `LookupInvoice`, generated from LND's own
//!   `lightning.proto`, over TLS with a self-signed certificate written to `tls.cert`;
//! - every call needs the `macaroon` metadata equal to the hex of the `admin.macaroon` it
//!   writes (missing or wrong: `UNAUTHENTICATED`);
//! - real regtest BOLT11 invoices signed by a random node key, a random preimage each;
//! - controls: [`TestNode::set_mode`] ([`Mode`]: slow, bad replies, down) and
//!   [`TestNode::settle`], also over plain HTTP ([`TestNode::serve_control`], module
//!   `control`) for the `testnode-lnd` binary.
//!
//! Binds 127.0.0.1 only.

mod control;
mod files;
mod listener;
mod mode;
mod node;
mod proto;
mod service;
mod store;

pub use mode::Mode;
pub use node::TestNode;
