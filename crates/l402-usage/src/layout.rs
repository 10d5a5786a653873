//! The byte layout of a usage table: a 64-byte [`TableHeader`] followed by its [`Slot`]s.
//!
//! The same layout is used in anonymous shared memory and in a usage state file
//! (`l402_usage_zone name:size state=path`, see `docs/usage-state.md`), which every worker of
//! every nginx generation on the host maps `MAP_SHARED`: the header holds the table's lock word,
//! so two generations during a binary upgrade share one table under one lock.
//!
//! This module checks a header read from a file and carries live entries into a table of
//! another size ([`migrate`]); mapping files and taking the lock is the adapter's job.

use std::fmt;
use std::sync::atomic::AtomicU64;

use crate::keys::KIND_CLAIM;
use crate::table::{insert, Slot, PROBE_WINDOW, SLOT_SIZE};

/// Bytes of the header before the first slot.
pub const HEADER_SIZE: usize = 64;

/// First eight bytes of a usage table, in memory and on disk: "l402tab" + layout version 1.
pub const MAGIC: [u8; 8] = *b"l402tab1";

/// Mixed into [`TableHeader::check`] so a header whose fields were damaged, or written on a
/// host of the other byte order, is refused.
const CHECK_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The header of a usage table, `#[repr(C)]` so every process reads the same layout.
#[repr(C)]
#[derive(Debug)]
pub struct TableHeader {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// Number of slots that follow the header.
    pub slots: u64,
    /// [`check_of`] of `slots`.
    pub check: u64,
    /// The table lock: process id of the holder, 0 when free.
    pub lock: AtomicU64,
    reserved: [u64; 4],
}

const _: () = assert!(size_of::<TableHeader>() == HEADER_SIZE);

impl TableHeader {
    /// The header of a fresh table of `slots` slots, unlocked.
    pub fn new(slots: u64) -> TableHeader {
        TableHeader {
            magic: MAGIC,
            slots,
            check: check_of(slots),
            lock: AtomicU64::new(0),
            reserved: [0; 4],
        }
    }
}

impl TableHeader {
    /// The header's bytes as they lie in memory (the lock word as it is now).
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[..8].copy_from_slice(&self.magic);
        out[8..16].copy_from_slice(&self.slots.to_ne_bytes());
        out[16..24].copy_from_slice(&self.check.to_ne_bytes());
        let lock = self.lock.load(std::sync::atomic::Ordering::Relaxed);
        out[24..32].copy_from_slice(&lock.to_ne_bytes());
        out
    }
}

/// The check value stored with a slot count.
pub fn check_of(slots: u64) -> u64 {
    slots.rotate_left(17) ^ CHECK_SEED
}

/// Slots that fit in a table of `size` bytes: whole buckets of [`PROBE_WINDOW`] slots.
pub fn slots_for(size: usize) -> usize {
    size.saturating_sub(HEADER_SIZE) / SLOT_SIZE / PROBE_WINDOW * PROBE_WINDOW
}

/// Bytes of a table of `slots` slots, header included.
pub fn bytes_for(slots: usize) -> usize {
    HEADER_SIZE + slots * SLOT_SIZE
}

/// Why the bytes at the start of a state file are not a usable usage table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// Shorter than a header: not written by this module, or cut short.
    TooShort { len: u64 },
    /// The first bytes are not [`MAGIC`].
    NotATable,
    /// The slot count does not match its check value.
    Damaged,
    /// The header announces more (or fewer) bytes than the file holds.
    WrongLength { expected: u64, len: u64 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::TooShort { len } => write!(f, "is {len} bytes, shorter than a usage table header"),
            LayoutError::NotATable => f.write_str("is not an l402 usage state file"),
            LayoutError::Damaged => f.write_str("has a damaged header"),
            LayoutError::WrongLength { expected, len } => {
                write!(f, "is {len} bytes where its header announces {expected}")
            }
        }
    }
}

/// The slot count of the table whose first [`HEADER_SIZE`] bytes are `head`, in a file of
/// `len` bytes.
pub fn read_header(head: &[u8], len: u64) -> Result<usize, LayoutError> {
    if head.len() < HEADER_SIZE || len < HEADER_SIZE as u64 {
        return Err(LayoutError::TooShort { len });
    }
    if head[..8] != MAGIC {
        return Err(LayoutError::NotATable);
    }
    let word = |at: usize| u64::from_ne_bytes(head[at..at + 8].try_into().unwrap_or([0; 8]));
    let slots = word(8);
    if word(16) != check_of(slots) {
        return Err(LayoutError::Damaged);
    }
    let expected = usize::try_from(slots)
        .ok()
        .and_then(|s| s.checked_mul(SLOT_SIZE))
        .and_then(|b| b.checked_add(HEADER_SIZE))
        .ok_or(LayoutError::Damaged)?;
    if expected as u64 != len {
        return Err(LayoutError::WrongLength { expected: expected as u64, len });
    }
    Ok(slots as usize)
}

/// What [`migrate`] carried over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Migrated {
    /// Unexpired claims, all of them.
    pub claims: usize,
    /// Unexpired rate entries that found room (soft state: the others are dropped).
    pub rates: usize,
}

/// The new table cannot hold every unexpired claim of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSmall {
    /// Unexpired claims in the old table.
    pub claims: usize,
    /// Claims that found room before the first refusal.
    pub placed: usize,
}

/// Copies every unexpired entry of `from` into `to` (a table of any size): claims keep their
/// use counts and expiry, rate entries come along where there is room. Fails, leaving `to`
/// partly filled, if a claim finds no room: forgetting it would let its token be used again.
pub fn migrate(from: &[Slot], to: &mut [Slot], now_secs: u64) -> Result<Migrated, TooSmall> {
    let live = |s: &&Slot| s.key != [0; 16] && s.expires_at > now_secs;
    let claims = from.iter().filter(live).filter(|s| s.key[15] == KIND_CLAIM).count();
    let mut done = Migrated::default();
    // Claims first, so rate entries never take the room a claim needs.
    for s in from.iter().filter(live).filter(|s| s.key[15] == KIND_CLAIM) {
        if !insert(to, *s, now_secs) {
            return Err(TooSmall { claims, placed: done.claims });
        }
        done.claims += 1;
    }
    for s in from.iter().filter(live).filter(|s| s.key[15] != KIND_CLAIM) {
        if insert(to, *s, now_secs) {
            done.rates += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{claim_key, rate_key};
    use crate::table::{claim, rate_check, NEVER};
    use crate::{ClaimOutcome, Rate};
    use proptest::prelude::*;

    fn token(i: u32) -> [u8; 16] {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&i.to_be_bytes());
        claim_key(&id)
    }

    fn header_bytes(h: &TableHeader) -> Vec<u8> {
        h.encode().to_vec()
    }

    #[test]
    fn header_round_trips() {
        let h = TableHeader::new(4096);
        let bytes = header_bytes(&h);
        assert_eq!(read_header(&bytes, bytes_for(4096) as u64), Ok(4096));
    }

    #[test]
    fn foreign_and_damaged_files_are_refused() {
        let mut bytes = header_bytes(&TableHeader::new(64));
        let len = bytes_for(64) as u64;
        assert_eq!(read_header(&bytes[..10], len), Err(LayoutError::TooShort { len }));
        assert_eq!(read_header(&bytes, 10), Err(LayoutError::TooShort { len: 10 }));
        assert_eq!(read_header(&bytes, len + 32), Err(LayoutError::WrongLength { expected: len, len: len + 32 }));
        bytes[9] ^= 1;
        assert_eq!(read_header(&bytes, len), Err(LayoutError::Damaged));
        bytes[0] = b'x';
        assert_eq!(read_header(&bytes, len), Err(LayoutError::NotATable));
        assert_eq!(read_header(&[0u8; 64], len), Err(LayoutError::NotATable));
    }

    #[test]
    fn huge_slot_counts_do_not_overflow() {
        let mut h = TableHeader::new(u64::MAX);
        h.check = check_of(u64::MAX);
        assert_eq!(read_header(&header_bytes(&h), 1 << 20), Err(LayoutError::Damaged));
    }

    #[test]
    fn sizes_are_whole_buckets() {
        assert_eq!(slots_for(HEADER_SIZE + 100 * SLOT_SIZE), 96);
        assert_eq!(slots_for(10), 0);
        assert_eq!(bytes_for(slots_for(1 << 20)), HEADER_SIZE + slots_for(1 << 20) * SLOT_SIZE);
    }

    #[test]
    fn migration_keeps_counts_and_expiry_and_drops_the_expired() {
        let mut old = vec![Slot::default(); 256];
        for _ in 0..2 {
            claim(&mut old, token(1), 3, None, 10);
        }
        claim(&mut old, token(2), 1, Some(500), 10);
        claim(&mut old, token(3), 1, Some(20), 10); // expired by the time we migrate
        let rate = Rate { count: 1, period_ms: 3_600_000 };
        rate_check(&mut old, rate_key("a", b"1"), rate, 10_000);
        let mut new = vec![Slot::default(); 64];
        assert_eq!(migrate(&old, &mut new, 30), Ok(Migrated { claims: 2, rates: 1 }));
        assert_eq!(claim(&mut new, token(1), 3, None, 31), ClaimOutcome::Accepted { remaining: Some(0) });
        assert_eq!(claim(&mut new, token(1), 3, None, 31), ClaimOutcome::UsedUp);
        assert_eq!(claim(&mut new, token(2), 1, Some(500), 31), ClaimOutcome::UsedUp);
        assert!(matches!(claim(&mut new, token(3), 1, Some(20), 31), ClaimOutcome::Accepted { .. }));
    }

    #[test]
    fn migration_into_a_table_too_small_fails() {
        let mut old = vec![Slot::default(); 256];
        for i in 0..100 {
            claim(&mut old, token(i), 1, None, 1);
        }
        let mut new = vec![Slot::default(); 64];
        let got = migrate(&old, &mut new, 2);
        assert!(matches!(got, Err(TooSmall { claims: 100, placed }) if placed <= 64), "{got:?}");
    }

    #[test]
    fn rate_entries_give_way_to_claims() {
        let mut old = vec![Slot::default(); 256];
        let rate = Rate { count: 1, period_ms: 3_600_000 };
        for i in 0..40u32 {
            rate_check(&mut old, rate_key("a", &i.to_be_bytes()), rate, 0);
        }
        for i in 0..32 {
            claim(&mut old, token(i), 1, Some(NEVER), 0);
        }
        let mut new = vec![Slot::default(); 32];
        assert_eq!(migrate(&old, &mut new, 0), Ok(Migrated { claims: 32, rates: 0 }));
    }

    proptest! {
        /// Whatever the sizes, a successful migration refuses every token the old table
        /// refused and leaves every count where it was.
        #[test]
        fn migration_never_gives_back_a_use(ops in proptest::collection::vec((0u32..60, 1u32..4), 1..300),
                                            old_len in 64usize..400, new_len in 64usize..400) {
            let mut old = vec![Slot::default(); old_len];
            let mut limits = std::collections::HashMap::new();
            for (tok, limit) in ops {
                let limit = *limits.entry(tok).or_insert(limit);
                claim(&mut old, token(tok), limit, None, 1);
            }
            let mut new = vec![Slot::default(); new_len];
            if migrate(&old, &mut new, 1).is_ok() {
                for (tok, limit) in limits {
                    let mut a = old.clone();
                    let mut b = new.clone();
                    prop_assert_eq!(claim(&mut a, token(tok), limit, None, 2),
                                    claim(&mut b, token(tok), limit, None, 2));
                }
            }
        }
    }
}
