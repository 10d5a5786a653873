//! Shared-state rules of the L402 paywall, with no I/O and no nginx type:
//!
//! - [`UsePolicy`]: how many paid requests one token buys (single use, N uses, unlimited);
//! - [`Rate`] and [`gcra`]: the invoice-creation rate limit (`l402_invoice_rate_limit Nr/s`);
//! - [`table`]: the fixed-size claim and rate table that lives in an nginx shared memory zone
//!   (the adapter holds the zone's lock and hands this module a `&mut [Slot]`);
//! - [`price`]: parsing a price from Redis or an nginx variable, and the short per-worker
//!   cache of Redis prices;
//! - [`payment`]: the per-worker cache of invoice states for payment detection without a
//!   preimage;
//! - [`layout`]: the byte layout of that table in shared memory or a usage state file, and
//!   carrying its entries into a table of another size;
//! - [`lock`]: the table's lock word, shared by every process that maps the table;
//! - [`keys`]: the keys claims and rate entries are stored under, in the zone and in Redis.
//!
//! Claims follow Aperture's `ChargeStore` contract: a claim is one atomic step (never
//! check-then-set), exactly one of any number of concurrent attempts on a single-use token
//! wins, and growth is bounded.

pub mod keys;
pub mod layout;
pub mod lock;
mod outcome;
pub mod payment;
mod policy;
pub mod price;
mod rate;
pub mod table;

pub use outcome::{ClaimOutcome, RateOutcome, SpendOutcome};
pub use policy::{PolicyError, UsePolicy, MAX_USES};
pub use rate::{gcra, GcraDecision, Rate, RateError};

/// Seconds a claim outlives its token's `valid_until`, so that a clock a little behind on
/// another instance never sees the claim gone while it still accepts the token.
pub const CLAIM_GRACE_SECS: u64 = 300;

/// When a claim for a token valid until `valid_until` (unix seconds, `None` = never) may be
/// forgotten: `None` means never.
pub fn claim_expiry(valid_until: Option<u64>) -> Option<u64> {
    valid_until.map(|t| t.saturating_add(CLAIM_GRACE_SECS))
}
