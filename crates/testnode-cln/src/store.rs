//! The invoices the test node issued, as lightningd's `invoices` table would hold them.

use std::collections::{HashMap, HashSet};

/// Status as `listinvoices` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unpaid,
    Paid {
        pay_index: u64,
        paid_at: u64,
        received_msat: u64,
    },
}

/// One invoice.
#[derive(Debug, Clone)]
pub struct Inv {
    pub label: String,
    /// The `bolt11` or `bolt12` string.
    pub invstring: String,
    pub bolt12: bool,
    pub payment_hash: [u8; 32],
    pub preimage: [u8; 32],
    pub amount_msat: Option<u64>,
    pub description: String,
    pub expires_at: u64,
    /// BOLT12 `invoice_relative_expiry` if it was written into the invoice.
    pub relative_expiry: Option<u32>,
    pub created_index: u64,
    pub status: Status,
}

/// All invoices, by payment hash, with their labels and strings indexed.
#[derive(Debug, Default)]
pub struct Store {
    by_hash: HashMap<[u8; 32], Inv>,
    labels: HashSet<String>,
    by_string: HashMap<String, [u8; 32]>,
    next_created_index: u64,
    next_pay_index: u64,
}

impl Store {
    /// True if an invoice has this label.
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.contains(label)
    }

    /// The `created_index` the next invoice gets (lightningd starts at 1).
    pub fn next_index(&mut self) -> u64 {
        self.next_created_index += 1;
        self.next_created_index
    }

    /// Adds an invoice; false if its label or payment hash exists already.
    pub fn insert(&mut self, inv: Inv) -> bool {
        if self.labels.contains(&inv.label) || self.by_hash.contains_key(&inv.payment_hash) {
            return false;
        }
        self.labels.insert(inv.label.clone());
        self.by_string
            .insert(inv.invstring.to_ascii_lowercase(), inv.payment_hash);
        self.by_hash.insert(inv.payment_hash, inv);
        true
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<&Inv> {
        self.by_hash.get(hash)
    }

    pub fn hash_of_string(&self, s: &str) -> Option<[u8; 32]> {
        self.by_string.get(&s.trim().to_ascii_lowercase()).copied()
    }

    pub fn all(&self) -> impl Iterator<Item = &Inv> {
        self.by_hash.values()
    }

    pub fn count(&self) -> usize {
        self.by_hash.len()
    }

    /// Marks the invoice paid (with its own amount) and returns its preimage; an already
    /// paid invoice just returns the preimage. `None` if unknown or expired unpaid.
    pub fn settle(&mut self, hash: &[u8; 32], now: u64) -> Option<[u8; 32]> {
        let next_pay_index = self.next_pay_index + 1;
        let inv = self.by_hash.get_mut(hash)?;
        match inv.status {
            Status::Paid { .. } => Some(inv.preimage),
            Status::Unpaid if inv.expires_at <= now => None,
            Status::Unpaid => {
                inv.status = Status::Paid {
                    pay_index: next_pay_index,
                    paid_at: now,
                    received_msat: inv.amount_msat.unwrap_or(1),
                };
                self.next_pay_index = next_pay_index;
                Some(inv.preimage)
            }
        }
    }
}
