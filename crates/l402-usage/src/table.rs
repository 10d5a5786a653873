//! The fixed-size table of claims and rate entries kept in an nginx shared memory zone.
//!
//! The nginx adapter allocates `[Slot]` once in the zone and calls these functions with the
//! zone's mutex held, so each call is one atomic step for every worker. The table never
//! grows and never moves.
//!
//! Layout: two-choice bucketed hashing. A key lives in one of its two buckets of
//! [`PROBE_WINDOW`] slots (chosen from different bytes of the key) and a new key goes to the
//! bucket with more room; every call scans both windows whole first, so a key is never stored
//! twice and lookups never depend on empty slots. Two buckets of 32 fill to over 95 % before
//! the first refusal, where one linear-probing window of 256 stops at ~84 %. A slot is free when it
//! is empty or its entry has expired. Unexpired claims are never evicted (a full window
//! refuses the new claim: [`ClaimOutcome::StoreFull`]); rate entries are soft state and give
//! way to claims and to newer rate entries.

use crate::keys::{KIND_CLAIM, KIND_PROOF, KIND_RATE};
use crate::{gcra, ClaimOutcome, GcraDecision, Rate, RateOutcome, SpendOutcome};

/// Slots in each of a key's two buckets: 2 × 32 × 32 bytes = 2 KiB scanned per call.
pub const PROBE_WINDOW: usize = 32;

/// `expires_at` of an entry that never expires (a claim on a token without expiry).
pub const NEVER: u64 = u64::MAX;

/// One entry: 32 bytes, `#[repr(C)]` so its layout is the same in every worker.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Slot {
    /// [`crate::keys`] key; all zero = empty.
    pub key: [u8; 16],
    /// Unix seconds after which the entry is free ([`NEVER`] = never).
    pub expires_at: u64,
    /// Claims: uses so far. Rate entries: the GCRA TAT in milliseconds.
    pub value: u64,
}

/// Bytes per slot, for sizing the zone.
pub const SLOT_SIZE: usize = std::mem::size_of::<Slot>();

impl Slot {
    fn is_free(&self, now_secs: u64) -> bool {
        self.key == [0; 16] || self.expires_at <= now_secs
    }

    fn is_rate(&self) -> bool {
        self.key[15] == KIND_RATE
    }
}

/// Where a key is, or where it can go.
enum Place {
    Found(usize),
    Free(usize),
    Evict(usize),
    Full,
}

/// The first slots of the key's two buckets, from its first and second 7-byte halves.
/// Buckets are aligned runs of [`PROBE_WINDOW`] slots (a table shorter than that is one
/// bucket); slots past the last whole bucket are unused.
fn homes(key: &[u8; 16], len: usize) -> [usize; 2] {
    let buckets = (len / PROBE_WINDOW).max(1) as u64;
    let half = |from: usize| {
        let mut b = [0u8; 8];
        b[..7].copy_from_slice(&key[from..from + 7]);
        // Truncation is fine: the remainder is below `buckets`, itself at most `len`.
        (u64::from_le_bytes(b) % buckets) as usize * PROBE_WINDOW.min(len)
    };
    [half(0), half(7)]
}

fn place(slots: &[Slot], key: &[u8; 16], now_secs: u64) -> Place {
    let len = slots.len();
    if len == 0 {
        return Place::Full;
    }
    let window = PROBE_WINDOW.min(len);
    // Per window: the first free slot and the number of free slots. A new key goes to the
    // window with more room (the "power of two choices"), which keeps windows even.
    let mut free: [(Option<usize>, usize); 2] = [(None, 0); 2];
    let mut evict: Option<(usize, u64)> = None;
    for (w, home) in homes(key, len).into_iter().enumerate() {
        for i in 0..window {
            let at = home + i;
            let slot = &slots[at];
            if slot.key == *key {
                return Place::Found(at);
            }
            if slot.is_free(now_secs) {
                free[w].0.get_or_insert(at);
                free[w].1 += 1;
            } else if slot.is_rate() && evict.is_none_or(|(_, exp)| slot.expires_at < exp) {
                evict = Some((at, slot.expires_at));
            }
        }
    }
    let roomier = if free[1].1 > free[0].1 { free[1].0 } else { free[0].0 };
    match (roomier, evict) {
        (Some(at), _) => Place::Free(at),
        (None, Some((at, _))) => Place::Evict(at),
        (None, None) => Place::Full,
    }
}

/// Claims one use of a token whose claim key is `key` (a [`crate::keys::claim_key`]):
/// accepted while fewer than `limit` uses were claimed. `expires_at` is when the claim may be
/// forgotten ([`crate::claim_expiry`]; `None` = never).
pub fn claim(
    slots: &mut [Slot],
    key: [u8; 16],
    limit: u32,
    expires_at: Option<u64>,
    now_secs: u64,
) -> ClaimOutcome {
    let limit = u64::from(limit);
    let expires_at = expires_at.unwrap_or(NEVER);
    let at = match place(slots, &key, now_secs) {
        Place::Found(at) if !slots[at].is_free(now_secs) => {
            let slot = &mut slots[at];
            if slot.value >= limit {
                return ClaimOutcome::UsedUp;
            }
            slot.value += 1;
            return ClaimOutcome::Accepted {
                remaining: Some(remaining(limit, slot.value)),
            };
        }
        Place::Found(at) | Place::Free(at) | Place::Evict(at) => at,
        Place::Full => return ClaimOutcome::StoreFull,
    };
    if limit == 0 {
        return ClaimOutcome::UsedUp;
    }
    slots[at] = Slot {
        key,
        expires_at,
        value: 1,
    };
    ClaimOutcome::Accepted {
        remaining: Some(remaining(limit, 1)),
    }
}

fn remaining(limit: u64, used: u64) -> u32 {
    u32::try_from(limit.saturating_sub(used)).unwrap_or(u32::MAX)
}

/// Marks every key of `keys` (a Cashu token's [`crate::keys::proof_key`]s, all different)
/// spent until `expires_at` (`None` = never), all or none: if any is already spent, or there is
/// no room for all of them, nothing changes. One call under the zone's lock is one atomic
/// step, so two workers presenting the same token never both succeed.
pub fn spend_all(slots: &mut [Slot], keys: &[[u8; 16]], expires_at: Option<u64>, now_secs: u64) -> SpendOutcome {
    for (index, key) in keys.iter().enumerate() {
        if let Place::Found(at) = place(slots, key, now_secs) {
            if !slots[at].is_free(now_secs) {
                return SpendOutcome::AlreadySpent { index };
            }
        }
    }
    let expires_at = expires_at.unwrap_or(NEVER);
    for (done, key) in keys.iter().enumerate() {
        let at = match place(slots, key, now_secs) {
            Place::Found(at) | Place::Free(at) | Place::Evict(at) => at,
            Place::Full => {
                // Undo this call's marks: a token is recorded whole or not at all.
                for earlier in &keys[..done] {
                    if let Place::Found(at) = place(slots, earlier, now_secs) {
                        slots[at] = Slot::default();
                    }
                }
                return SpendOutcome::StoreFull;
            }
        };
        slots[at] = Slot { key: *key, expires_at, value: 1 };
    }
    SpendOutcome::Spent
}

/// One invoice-creation rate check for `key` (a [`crate::keys::rate_key`]).
pub fn rate_check(slots: &mut [Slot], key: [u8; 16], rate: Rate, now_ms: u64) -> RateOutcome {
    let now_secs = now_ms / 1000;
    let (at, tat) = match place(slots, &key, now_secs) {
        Place::Found(at) => {
            let live = !slots[at].is_free(now_secs);
            (at, live.then_some(slots[at].value))
        }
        Place::Free(at) | Place::Evict(at) => (at, None),
        Place::Full => return RateOutcome::StoreFull,
    };
    match gcra(rate, tat, now_ms) {
        GcraDecision::Allow { new_tat_ms } => {
            slots[at] = Slot {
                key,
                expires_at: new_tat_ms / 1000 + 1,
                value: new_tat_ms,
            };
            RateOutcome::Allowed
        }
        GcraDecision::Deny { retry_after_secs } => RateOutcome::Limited { retry_after_secs },
    }
}

/// Puts `entry` (an unexpired slot of another table) into this one: merged with the entry
/// already there for its key (the higher use count and the later expiry win), else in a
/// free slot, else over a rate entry when `entry` is a claim. `false` when there is no room.
pub fn insert(slots: &mut [Slot], entry: Slot, now_secs: u64) -> bool {
    match place(slots, &entry.key, now_secs) {
        Place::Found(at) if !slots[at].is_free(now_secs) => {
            let slot = &mut slots[at];
            slot.value = slot.value.max(entry.value);
            slot.expires_at = slot.expires_at.max(entry.expires_at);
            true
        }
        Place::Found(at) | Place::Free(at) => {
            slots[at] = entry;
            true
        }
        Place::Evict(at) if !entry.is_rate() => {
            slots[at] = entry;
            true
        }
        Place::Evict(_) | Place::Full => false,
    }
}

/// Counts of live entries, for logs, metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Occupancy {
    /// Unexpired claims (token uses and spent Cashu proofs).
    pub claims: usize,
    /// Unexpired rate entries.
    pub rates: usize,
    /// Free slots.
    pub free: usize,
}

/// Counts live claims, live rate entries and free slots.
pub fn occupancy(slots: &[Slot], now_secs: u64) -> Occupancy {
    let mut o = Occupancy::default();
    for s in slots {
        if s.is_free(now_secs) {
            o.free += 1;
        } else if s.key[15] == KIND_CLAIM || s.key[15] == KIND_PROOF {
            o.claims += 1;
        } else {
            o.rates += 1;
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{claim_key, rate_key};
    use proptest::prelude::*;

    fn token(i: u32) -> [u8; 16] {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&i.to_be_bytes());
        claim_key(&id)
    }

    fn proofs(from: u8, n: u8) -> Vec<[u8; 16]> {
        (from..from + n).map(|i| crate::keys::proof_key(&[i; 33])).collect()
    }

    #[test]
    fn a_token_is_spent_once_all_or_none() {
        let mut t = vec![Slot::default(); 256];
        let a = proofs(1, 3);
        assert_eq!(spend_all(&mut t, &a, None, 10), SpendOutcome::Spent);
        assert_eq!(spend_all(&mut t, &a, None, 11), SpendOutcome::AlreadySpent { index: 0 });
        // A new token reusing one spent proof marks none of its new proofs.
        let mixed = [proofs(9, 1)[0], a[2], proofs(10, 1)[0]];
        assert_eq!(spend_all(&mut t, &mixed, None, 12), SpendOutcome::AlreadySpent { index: 1 });
        assert_eq!(spend_all(&mut t, &proofs(9, 2), None, 13), SpendOutcome::Spent, "9 and 10 were not marked");
        assert_eq!(occupancy(&t, 13).claims, 5);
    }

    #[test]
    fn a_full_table_marks_nothing() {
        // One bucket of 32: 30 proofs fit, a token of 5 does not, and none of its 5 stays.
        let mut t = vec![Slot::default(); PROBE_WINDOW];
        assert_eq!(spend_all(&mut t, &proofs(0, 30), None, 1), SpendOutcome::Spent);
        assert_eq!(spend_all(&mut t, &proofs(100, 5), None, 1), SpendOutcome::StoreFull);
        assert_eq!(occupancy(&t, 1).claims, 30);
        assert_eq!(spend_all(&mut t, &proofs(100, 2), None, 1), SpendOutcome::Spent);
    }

    #[test]
    fn spent_proofs_are_never_evicted_and_expire_when_told() {
        let mut t = vec![Slot::default(); PROBE_WINDOW];
        assert_eq!(spend_all(&mut t, &proofs(0, PROBE_WINDOW as u8), Some(100), 1), SpendOutcome::Spent);
        // Rate entries cannot push them out.
        assert_eq!(rate_check(&mut t, rate_key("s", b"1.2.3.4"), Rate { count: 1, period_ms: 1000 }, 2_000), RateOutcome::StoreFull);
        assert_eq!(spend_all(&mut t, &proofs(0, 1), None, 99), SpendOutcome::AlreadySpent { index: 0 });
        assert_eq!(spend_all(&mut t, &proofs(0, 1), None, 100), SpendOutcome::Spent, "expired at 100");
    }

    #[test]
    fn slot_is_32_bytes() {
        assert_eq!(SLOT_SIZE, 32);
    }

    #[test]
    fn single_use_is_claimed_once() {
        let mut t = vec![Slot::default(); 128];
        let k = token(1);
        assert_eq!(
            claim(&mut t, k, 1, Some(2000), 1000),
            ClaimOutcome::Accepted { remaining: Some(0) }
        );
        assert_eq!(claim(&mut t, k, 1, Some(2000), 1001), ClaimOutcome::UsedUp);
        // Still refused a long time later while the token is valid.
        assert_eq!(claim(&mut t, k, 1, Some(2000), 1999), ClaimOutcome::UsedUp);
    }

    #[test]
    fn n_uses_count_down() {
        let mut t = vec![Slot::default(); 128];
        let k = token(2);
        let got: Vec<_> = (0..4).map(|_| claim(&mut t, k, 3, None, 10)).collect();
        assert_eq!(
            got,
            vec![
                ClaimOutcome::Accepted { remaining: Some(2) },
                ClaimOutcome::Accepted { remaining: Some(1) },
                ClaimOutcome::Accepted { remaining: Some(0) },
                ClaimOutcome::UsedUp,
            ]
        );
    }

    #[test]
    fn never_expiring_claim_survives_any_time() {
        let mut t = vec![Slot::default(); 64];
        let k = token(3);
        assert!(matches!(claim(&mut t, k, 1, None, 0), ClaimOutcome::Accepted { .. }));
        assert_eq!(claim(&mut t, k, 1, None, u64::MAX - 1), ClaimOutcome::UsedUp);
    }

    #[test]
    fn full_table_refuses_new_claims_and_keeps_old_ones() {
        let mut t = vec![Slot::default(); 16];
        let mut accepted = Vec::new();
        let mut full = 0;
        for i in 0..64 {
            match claim(&mut t, token(i), 1, None, 5) {
                ClaimOutcome::Accepted { .. } => accepted.push(i),
                ClaimOutcome::StoreFull => full += 1,
                ClaimOutcome::UsedUp => unreachable!("fresh token"),
            }
        }
        assert_eq!(accepted.len(), 16);
        assert_eq!(full, 48);
        for i in accepted {
            assert_eq!(claim(&mut t, token(i), 1, None, 5), ClaimOutcome::UsedUp);
        }
    }

    #[test]
    fn expired_claims_make_room() {
        let mut t = vec![Slot::default(); 4];
        for i in 0..4 {
            assert!(matches!(claim(&mut t, token(i), 1, Some(100), 50), ClaimOutcome::Accepted { .. }));
        }
        assert_eq!(claim(&mut t, token(9), 1, Some(200), 99), ClaimOutcome::StoreFull);
        assert!(matches!(claim(&mut t, token(9), 1, Some(200), 100), ClaimOutcome::Accepted { .. }));
    }

    #[test]
    fn claims_evict_rate_entries_but_not_the_reverse() {
        let mut t = vec![Slot::default(); 2];
        let rate = Rate { count: 1, period_ms: 3_600_000 };
        assert_eq!(rate_check(&mut t, rate_key("a", b"1"), rate, 0), RateOutcome::Allowed);
        assert_eq!(rate_check(&mut t, rate_key("a", b"2"), rate, 0), RateOutcome::Allowed);
        assert!(matches!(claim(&mut t, token(1), 1, None, 0), ClaimOutcome::Accepted { .. }));
        assert!(matches!(claim(&mut t, token(2), 1, None, 0), ClaimOutcome::Accepted { .. }));
        assert_eq!(rate_check(&mut t, rate_key("a", b"3"), rate, 0), RateOutcome::StoreFull);
        assert_eq!(occupancy(&t, 0), Occupancy { claims: 2, rates: 0, free: 0 });
    }

    #[test]
    fn rate_limits_per_key() {
        let mut t = vec![Slot::default(); 64];
        let rate = Rate { count: 2, period_ms: 60_000 };
        let a = rate_key("loc", b"10.0.0.1");
        let b = rate_key("loc", b"10.0.0.2");
        assert_eq!(rate_check(&mut t, a, rate, 1_000), RateOutcome::Allowed);
        assert_eq!(rate_check(&mut t, a, rate, 1_000), RateOutcome::Allowed);
        assert_eq!(
            rate_check(&mut t, a, rate, 1_000),
            RateOutcome::Limited { retry_after_secs: 30 }
        );
        assert_eq!(rate_check(&mut t, b, rate, 1_000), RateOutcome::Allowed);
        assert_eq!(rate_check(&mut t, a, rate, 31_000), RateOutcome::Allowed);
    }

    #[test]
    fn empty_table_is_full() {
        assert_eq!(claim(&mut [], token(1), 1, None, 0), ClaimOutcome::StoreFull);
    }

    proptest! {
        #[test]
        fn no_proof_is_ever_accepted_twice(
            tokens in proptest::collection::vec(proptest::collection::btree_set(0u8..48, 1..6), 1..80),
            size in 1usize..4,
        ) {
            // The model: a token is accepted exactly when none of its proofs was accepted.
            let mut t = vec![Slot::default(); size * PROBE_WINDOW];
            let mut spent = std::collections::BTreeSet::new();
            for token in tokens {
                let keys: Vec<[u8; 16]> = token.iter().map(|&i| crate::keys::proof_key(&[i; 33])).collect();
                match spend_all(&mut t, &keys, None, 1) {
                    SpendOutcome::Spent => {
                        prop_assert!(token.iter().all(|i| !spent.contains(i)));
                        spent.extend(token.iter().copied());
                    }
                    SpendOutcome::AlreadySpent { index } => prop_assert!(spent.contains(&token.iter().nth(index).copied().unwrap_or(255))),
                    SpendOutcome::StoreFull => prop_assert!(token.iter().any(|i| !spent.contains(i))),
                }
                prop_assert_eq!(occupancy(&t, 1).claims, spent.len());
            }
        }

        /// Any interleaving of claims on a few tokens: each token is accepted exactly
        /// min(attempts, limit) times, never more, whatever else fills the table.
        #[test]
        fn never_more_than_limit(ops in proptest::collection::vec((0u32..40, 1u32..4), 1..600), size in 8usize..200) {
            let mut t = vec![Slot::default(); size];
            let mut accepted = std::collections::HashMap::<u32, u32>::new();
            let mut limits = std::collections::HashMap::<u32, u32>::new();
            for (tok, limit) in ops {
                let limit = *limits.entry(tok).or_insert(limit);
                if let ClaimOutcome::Accepted { .. } = claim(&mut t, token(tok), limit, None, 1) {
                    *accepted.entry(tok).or_default() += 1;
                }
            }
            for (tok, n) in accepted {
                prop_assert!(n <= limits[&tok]);
            }
        }

    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Filling a table with distinct tokens reaches a high load before the first refusal.
        #[test]
        fn fills_most_of_the_table(seed in 0u32..1000) {
            let size = 4096;
            let mut t = vec![Slot::default(); size];
            let mut n = 0;
            while let ClaimOutcome::Accepted { .. } = claim(&mut t, token(seed * 100_000 + n), 1, None, 1) {
                n += 1;
            }
            prop_assert!(n as usize >= size * 92 / 100, "first refusal at {} of {}", n, size);
        }
    }
}
