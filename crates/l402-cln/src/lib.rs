//! Core Lightning (CLN) and BOLT12 payment backends for L402.
//!
//! - [`ClnBackend`] (name "cln"): BOLT11 invoices from lightningd's `invoice` command,
//!   settlement from `listinvoices`.
//! - [`Bolt12Backend`] (name "bolt12"): BOLT12 invoices fetched from the node's own offer
//!   with `fetchinvoice`, cross-checked with `decode` and verified here ([`bolt12`]).
//! - [`RpcClient`]: JSON-RPC 2.0 over the `lightning-rpc` unix socket, with a small
//!   connection pool (one request in flight per connection), lazy connection, bounded
//!   replies.
//!
//! The futures need a tokio runtime with the IO and time drivers (`enable_all()`).
//!
//! Errors: socket missing or refused is `Unavailable`, no reply in time `Timeout`, a
//! JSON-RPC error object `Rejected` (with CLN's code), anything malformed or inconsistent
//! `InvalidReply`. No `unsafe`, no panics on any reply.

pub mod bolt12;
mod bolt12_backend;
mod cln;
mod common;
mod config;
mod framing;
mod label;
pub mod reply;
mod rpc;

pub use bolt12_backend::{Bolt12Backend, BOLT12_NAME};
pub use cln::{ClnBackend, CLN_NAME};
pub use config::{Bolt12Config, ClnConfig, ConfigError, DEFAULT_TIMEOUT};
pub use framing::DEFAULT_MAX_REPLY_BYTES;
pub use label::LabelGen;
pub use rpc::{RpcClient, RpcError, DEFAULT_POOL_SIZE};
