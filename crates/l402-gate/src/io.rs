//! The I/O the decision asks for, and what the executor hands back. The executor owns every
//! cache in front of that I/O (Redis prices, payment states): the decision only sees answers.

use std::time::Duration;

use l402_usage::{ClaimOutcome, Rate, RateOutcome};

use crate::verdict::Cause;

/// One piece of I/O to run before the decision can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Claim one use of a token, atomically (never check-then-set).
    Claim {
        key: [u8; 16],
        token_id: [u8; 32],
        limit: u32,
        /// When the claim may be forgotten: from the minted terms, never from a client's
        /// caveat (`l402_usage::claim_expiry`).
        expires_at: Option<u64>,
        now: u64,
    },
    /// One invoice-creation rate check for this client and service (GCRA).
    RateCheck { key: [u8; 16], rate: Rate, now_ms: u64 },
    /// The store's price for `path`; `configured` when the store has none (or an invalid one).
    Price { path: String, configured: u64 },
    /// Whether the invoice of a macaroon presented without preimage is settled.
    Lookup {
        payment_hash: [u8; 32],
        /// The backend's own reference minted into the token (`l402_core::Unpaid::lookup`).
        lookup: Option<Box<[u8]>>,
        /// How long a "settled" answer may be remembered (the token's effective expiry).
        valid_until: Option<u64>,
    },
    /// An invoice for `amount_msat` (the L402 offer is minted on it).
    Invoice { amount_msat: u64, memo: String, expiry_secs: u32 },
    /// P2PK mode: judge the token offline against its mint's cached keysets (every proof's
    /// keyset, NUT-11 lock to our key, NUT-12 DLEQ, fees), off the event loop.
    CashuVerify { token: Box<l402_cashu::Token>, price_msat: u64 },
    /// Keep the token's proofs durably for redemption (idempotent by `Y`), before they count.
    CashuStore { token: Box<l402_cashu::Token>, ys: Vec<[u8; 33]> },
    /// Mark every proof spent, all or none, in the store every worker and instance shares.
    SpendProofs { ys: Vec<[u8; 33]>, expires_at: Option<u64>, now: u64 },
    /// Standard mode: swap the token at its mint (which refuses spent proofs), for at least
    /// `price_msat`.
    CashuReceive { token: Box<l402_cashu::Token>, price_msat: u64 },
}

/// A dependency that could not answer, classified by what the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub cause: Cause,
    pub retry_after: Duration,
    /// The whole error log line (names the peer, never a secret).
    pub log: String,
}

/// What a backend knows about an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    Settled,
    Open,
    /// Expired, canceled or unknown: it will never be paid.
    Gone,
}

/// A fresh invoice, as a challenge needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoiced {
    pub payment_hash: [u8; 32],
    /// The normalised payment request text (only this reaches a header).
    pub text: String,
    /// A BOLT12 invoice (`lni1…`), which BOLT11-only wallets cannot pay.
    pub bolt12: bool,
    /// Fresh random bytes for the token id (randomness is an input, like time).
    pub nonce: [u8; l402_core::terms::NONCE_LEN],
    /// What the backend needs besides the payment hash to find the invoice again (an LNURL
    /// verify URL); minted into the token.
    pub lookup: Option<Vec<u8>>,
}

/// The answer to an [`Io`], of the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoResult {
    Claim(Result<ClaimOutcome, Failure>),
    RateCheck(Result<RateOutcome, Failure>),
    Price(Result<u64, Failure>),
    Lookup(Result<Payment, Failure>),
    Invoice(Result<Invoiced, Failure>),
    CashuVerify(Result<Result<l402_cashu::Accepted, l402_cashu::Refusal>, Failure>),
    CashuStore(Result<(), Failure>),
    SpendProofs(Result<l402_usage::SpendOutcome, Failure>),
    /// The amount received (in the unit), or the mint's refusal of the proofs.
    CashuReceive(Result<Result<u64, CashuRejected>, Failure>),
}

/// Why a mint refused a swap (NUT-00 error codes 11001, 11002), or another refusal of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashuRejected {
    Spent,
    Pending,
    Refused(l402_cashu::Refusal),
}
