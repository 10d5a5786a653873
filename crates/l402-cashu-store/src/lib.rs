//! The durable store of received Cashu proofs (docs/architecture.md, "Cashu"), kept until they
//! are redeemed (melted, NUT-05), shared by every nginx worker of a host.
//!
//! One SQLite file in WAL mode: each worker process opens its own connection after fork, on
//! its runtime thread ([`ProofStore::open`], lazy and cheap once open; [`ProofStore::new`]
//! does no I/O). A proof is keyed by its `Y` (NUT-00 `hash_to_curve(secret)`, NUT-07's name
//! for a proof) and moves `received` → `pending_melt` (with the melt quote) → `redeemed`;
//! every operation is one transaction, so a crash leaves a token stored whole or not at all.
//!
//! Proof secrets, signatures and witnesses are bearer money: they are never logged, never
//! put in an error text and never shown by `Debug`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod hex;
mod path;
mod record;
mod schema;
mod store;

pub use error::StoreError;
pub use path::check_path;
pub use record::{PendingMelt, ProofState, Stored, StoredProof, TenantGroup, MAX_QUOTE_LEN, MAX_TENANT_LEN};
pub use store::{Db, ProofStore, BUSY_TIMEOUT};
