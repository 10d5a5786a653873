//! What a claim or a rate check decided; the adapter maps these to HTTP answers.

/// Result of claiming one use of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This request may be served. `remaining` uses are left after it (`None` = unlimited).
    Accepted {
        /// Uses left after this one; `None` for unlimited tokens.
        remaining: Option<u32>,
    },
    /// The token has no use left: answer 402 with a fresh challenge.
    UsedUp,
    /// The store has no room for a new claim and never evicts a live one: answer 503.
    StoreFull,
}

/// Result of one invoice-creation rate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOutcome {
    /// A challenge may be created.
    Allowed,
    /// Too many challenges from this client: answer 429 with this `Retry-After` (seconds, ≥ 1).
    Limited {
        /// Seconds until the next challenge would be allowed.
        retry_after_secs: u64,
    },
    /// The store has no room for the entry: answer 503 (never fail open).
    StoreFull,
}

/// Result of marking every proof of a Cashu token spent, as one atomic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendOutcome {
    /// None was spent before; all are spent now: the payment counts.
    Spent,
    /// At least one was spent before (the proof at this index): nothing was marked, the token
    /// is refused.
    AlreadySpent { index: usize },
    /// No room for them all: nothing was marked (answer 503, never accept unrecorded).
    StoreFull,
}
