//! [`PaymentCache`]: what the payment backend last said about an invoice, per worker, for
//! payment detection without a preimage (`l402_auto_detect_payment`).
//!
//! - a settled invoice is remembered until its token expires (a payment never un-happens);
//! - an open (not yet paid) invoice for [`NOT_PAID_TTL_MS`], so a client polling in a loop
//!   asks the node at most once per that interval per worker;
//! - an invoice the node reports expired, canceled or unknown for the same short time.
//!
//! Bounded: when full, expired entries go first, then everything (the cache is an
//! optimisation; forgetting only costs another lookup, never an admission).

use std::collections::HashMap;

/// How long a "not paid yet" answer is reused, milliseconds (documented in the README).
pub const NOT_PAID_TTL_MS: u64 = 2_000;

/// Default number of invoices remembered per worker.
pub const DEFAULT_CAPACITY: usize = 16_384;

/// A remembered backend answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    /// The backend reported the invoice settled.
    Settled,
    /// Issued and not paid yet.
    Open,
    /// Expired, canceled or unknown to the backend: it will never be paid.
    Gone,
}

/// Per-worker cache of invoice states keyed by payment hash (no lock: one per thread).
#[derive(Debug)]
pub struct PaymentCache {
    capacity: usize,
    /// payment hash -> (state, forget at unix ms; `None` = until evicted).
    entries: HashMap<[u8; 32], (PaymentState, Option<u64>)>,
}

impl PaymentCache {
    /// An empty cache remembering at most `capacity` invoices.
    pub fn new(capacity: usize) -> PaymentCache {
        PaymentCache {
            capacity,
            entries: HashMap::new(),
        }
    }

    /// The remembered state of `hash` at `now_ms`, if still valid.
    pub fn get(&mut self, hash: &[u8; 32], now_ms: u64) -> Option<PaymentState> {
        let (state, until) = *self.entries.get(hash)?;
        if until.is_some_and(|t| now_ms >= t) {
            self.entries.remove(hash);
            return None;
        }
        Some(state)
    }

    /// Remembers `state` for `hash`. `token_valid_until` (unix seconds, `None` = never
    /// expires) bounds how long a settled state is kept.
    pub fn put(
        &mut self,
        hash: [u8; 32],
        state: PaymentState,
        now_ms: u64,
        token_valid_until: Option<u64>,
    ) {
        if self.capacity == 0 {
            return;
        }
        let until = match state {
            PaymentState::Settled => token_valid_until.map(|s| s.saturating_mul(1_000)),
            PaymentState::Open | PaymentState::Gone => Some(now_ms.saturating_add(NOT_PAID_TTL_MS)),
        };
        if until.is_some_and(|t| now_ms >= t) {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&hash) {
            self.entries
                .retain(|_, (_, until)| until.is_none_or(|t| now_ms < t));
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(hash, (state, until));
    }

    /// Number of remembered invoices (including ones not yet swept).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_is_short_settled_lasts_until_token_expiry() {
        let mut c = PaymentCache::new(10);
        c.put([1; 32], PaymentState::Open, 1_000, Some(100));
        assert_eq!(c.get(&[1; 32], 1_000 + NOT_PAID_TTL_MS - 1), Some(PaymentState::Open));
        assert_eq!(c.get(&[1; 32], 1_000 + NOT_PAID_TTL_MS), None);
        c.put([2; 32], PaymentState::Settled, 1_000, Some(100));
        assert_eq!(c.get(&[2; 32], 99_999), Some(PaymentState::Settled));
        assert_eq!(c.get(&[2; 32], 100_000), None);
        c.put([3; 32], PaymentState::Settled, 1_000, None);
        assert_eq!(c.get(&[3; 32], u64::MAX - 1), Some(PaymentState::Settled));
        // An already expired token is not remembered at all.
        c.put([4; 32], PaymentState::Settled, 200_000, Some(100));
        assert_eq!(c.get(&[4; 32], 200_000), None);
    }

    #[test]
    fn settled_replaces_open() {
        let mut c = PaymentCache::new(10);
        c.put([1; 32], PaymentState::Open, 0, None);
        c.put([1; 32], PaymentState::Settled, 10, None);
        assert_eq!(c.get(&[1; 32], 1_000_000), Some(PaymentState::Settled));
    }

    #[test]
    fn bounded() {
        let mut c = PaymentCache::new(3);
        for i in 0..3u8 {
            c.put([i; 32], PaymentState::Open, 0, None);
        }
        // All still valid: the cache is cleared to make room.
        c.put([9; 32], PaymentState::Settled, 1, None);
        assert_eq!(c.len(), 1);
        for i in 0..2u8 {
            c.put([i; 32], PaymentState::Open, 10, None);
        }
        // Expired entries go first.
        c.put([7; 32], PaymentState::Open, 10 + NOT_PAID_TTL_MS, None);
        assert_eq!(c.get(&[9; 32], 10 + NOT_PAID_TTL_MS), Some(PaymentState::Settled));
        assert_eq!(c.len(), 2);
        let mut zero = PaymentCache::new(0);
        zero.put([1; 32], PaymentState::Settled, 0, None);
        assert!(zero.is_empty());
    }
}
