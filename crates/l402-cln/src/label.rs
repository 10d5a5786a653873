//! Unique invoice labels. CLN's `invoice` requires a label no other invoice of the node
//! has (`lightning-invoice(7)`: "The *label* must be a unique string or number"; a
//! duplicate fails with code 900, `INVOICE_LABEL_ALREADY_EXISTS`).
//!
//! A label is `l402-<16 random hex>-<counter>`: the random part differs between backends
//! (nginx workers, restarts), the counter between the invoices of one backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};

/// Makes labels unique for one backend instance.
#[derive(Debug)]
pub struct LabelGen {
    prefix: String,
    counter: AtomicU64,
}

impl LabelGen {
    /// A generator with a fresh random prefix (the OS random source; should it fail, a
    /// hash of the time, process id and this object's address).
    pub fn new() -> LabelGen {
        let mut seed = [0u8; 8];
        if getrandom::fill(&mut seed).is_err() {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let mut material = nanos.to_le_bytes().to_vec();
            material.extend_from_slice(&std::process::id().to_le_bytes());
            material.extend_from_slice(&(&seed as *const _ as usize).to_le_bytes());
            let h = sha256::Hash::hash(&material).to_byte_array();
            seed.copy_from_slice(h.get(..8).unwrap_or(&[0; 8]));
        }
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        LabelGen {
            prefix: format!("l402-{hex}"),
            counter: AtomicU64::new(0),
        }
    }

    /// The next label.
    pub fn next_label(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.prefix)
    }
}

impl Default for LabelGen {
    fn default() -> Self {
        LabelGen::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn labels_are_unique_within_and_across_generators() {
        let a = LabelGen::new();
        let b = LabelGen::new();
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(a.next_label()));
            assert!(seen.insert(b.next_label()));
        }
        let l = a.next_label();
        assert!(l.starts_with("l402-") && l.len() < 128, "{l}");
    }
}
