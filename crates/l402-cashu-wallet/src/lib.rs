//! Our narrow wrapper over the cdk wallet (pinned `cdk` 0.18.3) for one allow-listed mint:
//!
//! - standard-mode receive: the token's proofs are swapped at the mint (NUT-03), so the mint
//!   itself refuses spent ones (NUT error 11001) — [`Redeemer::receive`];
//! - redemption: a pure plan of what to melt under the seed's fee rules ([`plan_melt`]), then a
//!   NUT-05 melt quote for our invoice ([`Redeemer::quote_melt`]) and the melt of stored proofs,
//!   P2PK ones signed with our key (NUT-11 witness), its change (NUT-08) kept in the wallet
//!   ([`Redeemer::melt`]).
//!
//! Nothing of cdk crosses the public API: tokens go in as text, proofs as
//! [`l402_cashu::Proof`], keys as [`SigningKey`]; errors are classified by what the caller must
//! do ([`ReceiveError`], [`MeltError`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod connector;
mod convert;
mod error;
mod key;
mod melt;
mod plan;
mod receive;
mod redeemer;
mod seed;

pub use error::{MeltError, OpenError, ReceiveError};
pub use key::{KeyError, SigningKey};
pub use melt::{MeltQuote, Melted};
pub use plan::{plan_melt, MeltPlan, MeltSettings, Skip};
pub use receive::Received;
pub use redeemer::Redeemer;
pub use seed::{seed_from_secret, SeedError, MIN_SECRET_LEN};
