//! Bounded memory of issued invoices, so `lookup_invoice` can answer `Open` / `Settled`.
//!
//! Oldest entries are evicted at capacity; an evicted hash looks up as `Unknown`. Only the
//! fake backend uses it: real backends ask their node.

use std::collections::{HashMap, VecDeque};

use l402_backend::Settlement;

/// What the store remembers about one invoice.
#[derive(Clone, Copy)]
struct Entry {
    preimage: [u8; 32],
    expires_at_unix: u64,
    paid: bool,
}

/// Payment hash -> entry, at most `capacity` entries, insertion-ordered for eviction.
pub(crate) struct Store {
    entries: HashMap<[u8; 32], Entry>,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl Store {
    /// An empty store holding at most `capacity` invoices (at least one).
    pub(crate) fn new(capacity: usize) -> Store {
        let capacity = capacity.max(1);
        Store {
            entries: HashMap::with_capacity(capacity.min(1024)),
            order: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    /// Remembers an issued invoice, evicting the oldest if full.
    pub(crate) fn insert(
        &mut self,
        payment_hash: [u8; 32],
        preimage: [u8; 32],
        expires_at_unix: u64,
    ) {
        self.put(
            payment_hash,
            Entry {
                preimage,
                expires_at_unix,
                paid: false,
            },
        );
    }

    /// Marks an invoice paid. Returns false if the hash is not (or no longer) remembered.
    pub(crate) fn mark_paid(&mut self, payment_hash: &[u8; 32]) -> bool {
        match self.entries.get_mut(payment_hash) {
            Some(entry) => {
                entry.paid = true;
                true
            }
            None => false,
        }
    }

    /// Records a payment of an invoice that may have been issued elsewhere (another worker)
    /// or evicted: remembers it as paid.
    pub(crate) fn record_paid(
        &mut self,
        payment_hash: [u8; 32],
        preimage: [u8; 32],
        expires_at_unix: u64,
    ) {
        if !self.mark_paid(&payment_hash) {
            self.put(
                payment_hash,
                Entry {
                    preimage,
                    expires_at_unix,
                    paid: true,
                },
            );
        }
    }

    /// Settlement state at `now_unix`: `Settled` if paid, `Expired` if unpaid and past its
    /// expiry, `Open` if unpaid, `Unknown` if never seen or evicted.
    pub(crate) fn lookup(&self, payment_hash: &[u8; 32], now_unix: u64) -> Settlement {
        match self.entries.get(payment_hash) {
            None => Settlement::Unknown,
            Some(e) if e.paid => Settlement::Settled {
                preimage: Some(e.preimage),
            },
            Some(e) if e.expires_at_unix <= now_unix => Settlement::Expired,
            Some(_) => Settlement::Open,
        }
    }

    /// Number of remembered invoices.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn put(&mut self, payment_hash: [u8; 32], entry: Entry) {
        if self.entries.insert(payment_hash, entry).is_some() {
            return; // Already ordered; payment hashes are random, so this is rare.
        }
        self.order.push_back(payment_hash);
        while self.entries.len() > self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn states() {
        let mut s = Store::new(10);
        s.insert(h(1), h(101), 100);
        assert_eq!(s.lookup(&h(1), 50), Settlement::Open);
        assert_eq!(s.lookup(&h(1), 100), Settlement::Expired);
        assert_eq!(s.lookup(&h(2), 50), Settlement::Unknown);
        assert!(s.mark_paid(&h(1)));
        assert!(!s.mark_paid(&h(2)));
        assert_eq!(
            s.lookup(&h(1), 500),
            Settlement::Settled {
                preimage: Some(h(101))
            }
        );
    }

    #[test]
    fn evicts_oldest_at_capacity() {
        let mut s = Store::new(3);
        for n in 1..=5 {
            s.insert(h(n), h(100 + n), 1000);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.lookup(&h(1), 0), Settlement::Unknown);
        assert_eq!(s.lookup(&h(2), 0), Settlement::Unknown);
        for n in 3..=5 {
            assert_eq!(s.lookup(&h(n), 0), Settlement::Open);
        }
        assert_eq!(s.order.len(), 3);
    }

    #[test]
    fn record_paid_of_unknown_invoice_is_bounded_too() {
        let mut s = Store::new(2);
        s.insert(h(1), h(101), 1000);
        s.record_paid(h(9), h(109), 1000);
        s.record_paid(h(1), h(101), 1000);
        s.record_paid(h(8), h(108), 1000);
        assert_eq!(s.len(), 2);
        assert!(s.lookup(&h(9), 0).is_settled());
        assert!(s.lookup(&h(8), 0).is_settled());
        assert_eq!(s.lookup(&h(1), 0), Settlement::Unknown);
    }

    #[test]
    fn zero_capacity_means_one() {
        let mut s = Store::new(0);
        s.insert(h(1), h(101), 1000);
        s.insert(h(2), h(102), 1000);
        assert_eq!(s.len(), 1);
        assert_eq!(s.lookup(&h(2), 0), Settlement::Open);
    }
}
