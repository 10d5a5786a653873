//! A bounded memo of successful verifications, kept per nginx worker.
//!
//! Verifying a credential is deterministic in (credential bytes, service, key ring) except for
//! time, so a hit only re-checks expiry. The key ring changes only on reload, which starts new
//! workers with empty caches. Only successes are stored; a refusal is always recomputed.
//!
//! An entry keeps the credential's bytes and a hit compares them all, so a hit is always the
//! same credential: no hash collision, chosen or by chance, can serve another credential's
//! result. The table's hash is therefore only for placement: a fast keyed hash (foldhash, seeded
//! from the caller's per-worker secret, so a client cannot aim at one bucket without it). This
//! is the hot path of every memoized request (docs/architecture.md): a hash over the bytes, a
//! probe, one comparison. Memory is bounded: credentials longer than [`MAX_MEMO_CREDENTIAL`]
//! are never kept (they are verified every time), and growth is bounded by two generations:
//! when the current one is full it becomes the previous one and the old previous one is dropped
//! (an approximation of least-recently-used). Each entry may carry a small value the caller
//! derived once from the verification (`attached`: the gate keeps the token's claim key there).

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::Verified;

/// Longer credentials are not memoized (a macaroon with its preimage is about 400 bytes; many
/// client-added caveats make it longer). With [`MAX_MEMO_CREDENTIAL`] and a generation of a few
/// thousand entries a worker's memo stays within a few MB even when every entry is that long.
pub const MAX_MEMO_CREDENTIAL: usize = 1_536;

/// Where the credential came from: the same bytes mean different things in different headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    Authorization = 1,
    HexHeader = 2,
}

struct Entry<A> {
    hash: u64,
    source: CredentialSource,
    service: Box<str>,
    credential: Box<[u8]>,
    verified: Verified,
    attached: A,
}

impl Verified {
    /// Whether the credential is no longer valid at `now_unix` (its effective expiry, or the
    /// minted lifetime of its terms).
    fn expired(&self, now_unix: u64) -> bool {
        let past = |t: Option<u64>| t.is_some_and(|t| now_unix >= t);
        past(self.valid_until) || past(self.terms.and_then(|t| t.valid_until))
    }
}

impl<A> Entry<A> {
    fn is(&self, source: CredentialSource, service: &str, credential: &[u8]) -> bool {
        self.source == source && *self.service == *service && *self.credential == *credential
    }
}

/// Connections remembered by [`VerifiedCache::get_on`] (a direct-mapped table).
const RECENT: usize = 512;

pub struct VerifiedCache<A: Copy = ()> {
    hasher: FixedState,
    current: HashTable<Entry<A>>,
    previous: HashTable<Entry<A>>,
    generation_capacity: usize,
    /// Per connection (by its number), the placement hash of the credential it presented
    /// last: a client that repeats its credential on a keep-alive connection is found without
    /// hashing the bytes again (the bytes are still compared).
    recent: Box<[(u64, u64); RECENT]>,
}

impl<A: Copy> VerifiedCache<A> {
    /// Holds at most `2 * generation_capacity` entries. `secret` seeds the placement hash: draw
    /// it from the system's random number generator for each cache.
    pub fn new(generation_capacity: usize, secret: [u8; 16]) -> Self {
        let [a, b, c, d, e, f, g, h, ..] = secret;
        VerifiedCache {
            hasher: FixedState::with_seed(u64::from_le_bytes([a, b, c, d, e, f, g, h])),
            current: HashTable::new(),
            previous: HashTable::new(),
            generation_capacity: generation_capacity.max(1),
            recent: Box::new([(u64::MAX, 0); RECENT]),
        }
    }

    /// [`VerifiedCache::get`] for a request on connection number `connection` (any number
    /// that tells the connections of this worker apart).
    pub fn get_on(
        &mut self,
        connection: u64,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        now_unix: u64,
    ) -> Option<(Verified, A)> {
        let slot = (connection % RECENT as u64) as usize;
        let (seen, hash) = self.recent[slot];
        if seen == connection {
            if let Some(e) = self.current.find(hash, |e| e.is(source, service, credential)) {
                let found = (e.verified, e.attached);
                if !found.0.expired(now_unix) {
                    return Some(found);
                }
            }
        }
        if credential.len() > MAX_MEMO_CREDENTIAL {
            return None;
        }
        let hash = self.hash(source, service, credential);
        let found = self.get_hashed(hash, source, service, credential, now_unix)?;
        self.recent[slot] = (connection, hash);
        Some(found)
    }

    /// [`VerifiedCache::insert`] for a request on connection number `connection`.
    pub fn insert_on(
        &mut self,
        connection: u64,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        verified: Verified,
        attached: A,
    ) {
        if let Some(hash) = self.insert_hashed(source, service, credential, verified, attached) {
            self.recent[(connection % RECENT as u64) as usize] = (connection, hash);
        }
    }

    /// The cached verification of `credential` for `service` (and what was attached to it), if
    /// still unexpired at `now_unix`.
    pub fn get(
        &mut self,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        now_unix: u64,
    ) -> Option<(Verified, A)> {
        if credential.len() > MAX_MEMO_CREDENTIAL {
            return None;
        }
        let hash = self.hash(source, service, credential);
        self.get_hashed(hash, source, service, credential, now_unix)
    }

    fn get_hashed(
        &mut self,
        hash: u64,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        now_unix: u64,
    ) -> Option<(Verified, A)> {
        let found = match self.current.find(hash, |e| e.is(source, service, credential)) {
            Some(e) => (e.verified, e.attached),
            None => {
                let (entry, _) = self.previous.find_entry(hash, |e| e.is(source, service, credential)).ok()?.remove();
                let found = (entry.verified, entry.attached);
                self.put(entry);
                found
            }
        };
        if found.0.expired(now_unix) {
            if let Ok(e) = self.current.find_entry(hash, |e| e.is(source, service, credential)) {
                e.remove();
            }
            return None;
        }
        Some(found)
    }

    /// Remembers a successful verification (unless the credential is too long to keep).
    pub fn insert(
        &mut self,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        verified: Verified,
        attached: A,
    ) {
        self.insert_hashed(source, service, credential, verified, attached);
    }

    /// Inserts; the entry's hash, or `None` when the credential is too long to keep.
    fn insert_hashed(
        &mut self,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        verified: Verified,
        attached: A,
    ) -> Option<u64> {
        if credential.len() > MAX_MEMO_CREDENTIAL {
            return None;
        }
        let hash = self.hash(source, service, credential);
        if let Ok(e) = self.current.find_entry(hash, |e| e.is(source, service, credential)) {
            e.remove();
        }
        self.put(Entry {
            hash,
            source,
            service: service.into(),
            credential: credential.into(),
            verified,
            attached,
        });
        Some(hash)
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Placement hash of an entry; lengths are framed so the parts cannot run into each other
    /// (not needed for correctness, which rests on the comparison, but it keeps buckets apart).
    fn hash(&self, source: CredentialSource, service: &str, credential: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_u8(source as u8);
        h.write_usize(service.len());
        h.write(service.as_bytes());
        h.write(credential);
        h.finish()
    }

    fn put(&mut self, entry: Entry<A>) {
        if self.current.len() >= self.generation_capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert_unique(entry.hash, entry, |e| e.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(valid_until: Option<u64>) -> Verified {
        Verified { payment_hash: [1; 32], token_id: [2; 32], valid_until, terms: None }
    }

    const A: CredentialSource = CredentialSource::Authorization;

    impl VerifiedCache<()> {
        fn new_for_test(capacity: usize) -> Self {
            VerifiedCache::new(capacity, [7; 16])
        }
    }

    #[test]
    fn placement_depends_on_the_secret() {
        let (a, b) = (VerifiedCache::<()>::new(8, [1; 16]), VerifiedCache::<()>::new(8, [2; 16]));
        assert_eq!(a.hash(A, "svc", b"L402 x:y"), a.hash(A, "svc", b"L402 x:y"));
        assert_ne!(a.hash(A, "svc", b"L402 x:y"), b.hash(A, "svc", b"L402 x:y"));
    }

    #[test]
    fn a_hit_is_always_the_same_bytes_even_when_every_hash_collides() {
        // Force a collision: an entry for other bytes under this credential's hash. Entries are
        // found by comparison, so it is never this credential's answer.
        let mut c = VerifiedCache::new_for_test(8);
        c.insert(A, "s", b"L402 one", v(None), ());
        let h = c.hash(A, "s", b"L402 one");
        let other = Entry { hash: h, source: A, service: "s".into(), credential: (*b"L402 two").into(), verified: v(Some(5)), attached: () };
        c.put(other);
        assert_eq!(c.get(A, "s", b"L402 one", 0), Some((v(None), ())));
        c.current.clear();
        c.previous.clear();
        c.put(Entry { hash: h, source: A, service: "s".into(), credential: (*b"L402 two").into(), verified: v(Some(5)), attached: () });
        assert_eq!(c.get(A, "s", b"L402 one", 0), None, "same hash, other bytes: a miss");
    }

    #[test]
    fn a_connection_repeating_its_credential_is_found_and_compared() {
        let mut c = VerifiedCache::new_for_test(8);
        c.insert_on(7, A, "s", b"L402 one", v(None), ());
        assert_eq!(c.get_on(7, A, "s", b"L402 one", 0), Some((v(None), ())));
        // Another credential on the same connection, or the same on another: looked up fully.
        assert_eq!(c.get_on(7, A, "s", b"L402 two", 0), None);
        assert_eq!(c.get_on(8, A, "s", b"L402 one", 0), Some((v(None), ())));
        // Connections sharing a slot only displace each other.
        let other = 7 + RECENT as u64;
        c.insert_on(other, A, "s", b"L402 three", v(None), ());
        assert_eq!(c.get_on(7, A, "s", b"L402 one", 0), Some((v(None), ())));
        assert_eq!(c.get_on(other, A, "s", b"L402 three", 0), Some((v(None), ())));
        // Expiry holds on the connection's path too.
        c.insert_on(9, A, "s", b"L402 exp", v(Some(10)), ());
        assert!(c.get_on(9, A, "s", b"L402 exp", 9).is_some());
        assert!(c.get_on(9, A, "s", b"L402 exp", 10).is_none());
    }

    #[test]
    fn long_credentials_are_not_kept() {
        let mut c = VerifiedCache::new_for_test(8);
        let long = vec![b'x'; MAX_MEMO_CREDENTIAL + 1];
        c.insert(A, "s", &long, v(None), ());
        assert!(c.is_empty());
        assert_eq!(c.get(A, "s", &long, 0), None);
    }

    #[test]
    fn attached_values_come_back() {
        let mut c: VerifiedCache<[u8; 16]> = VerifiedCache::new(8, [3; 16]);
        c.insert(A, "s", b"x", v(None), [7; 16]);
        assert_eq!(c.get(A, "s", b"x", 0), Some((v(None), [7; 16])));
    }

    #[test]
    fn hit_requires_same_service_source_and_bytes() {
        let mut c = VerifiedCache::new_for_test(8);
        c.insert(A, "svc", b"L402 abc:def", v(None), ());
        assert_eq!(c.get(A, "svc", b"L402 abc:def", 0), Some((v(None), ())));
        assert_eq!(c.get(A, "other", b"L402 abc:def", 0), None);
        assert_eq!(c.get(A, "svc", b"L402 abc:deF", 0), None);
        assert_eq!(c.get(CredentialSource::HexHeader, "svc", b"L402 abc:def", 0), None);
        // the service/credential boundary is part of the key
        assert_eq!(c.get(A, "sv", b"c\0L402 abc:def", 0), None);
    }

    #[test]
    fn expiry_is_rechecked_on_every_hit() {
        let mut c = VerifiedCache::new_for_test(8);
        c.insert(A, "s", b"x", v(Some(100)), ());
        assert!(c.get(A, "s", b"x", 99).is_some());
        assert!(c.get(A, "s", b"x", 100).is_none());
        assert!(c.get(A, "s", b"x", 50).is_none(), "expired entries are dropped");
    }

    #[test]
    fn bounded_with_recently_used_entries_kept() {
        let mut c = VerifiedCache::new_for_test(4);
        for i in 0u32..100 {
            c.insert(A, "s", &i.to_be_bytes(), v(None), ());
            assert!(c.get(A, "s", &0u32.to_be_bytes(), 0).is_some() || i < 1, "hot entry kept");
            assert!(c.len() <= 8);
        }
        assert!(c.get(A, "s", &1u32.to_be_bytes(), 0).is_none());
    }
}
