//! A bounded memo of successful verifications, kept per nginx worker.
//!
//! Verifying a credential is deterministic in (credential bytes, service, key ring) except for
//! time, so a hit only re-checks expiry. The key ring changes only on reload, which starts new
//! workers with empty caches. Only successes are stored; a refusal is always recomputed.
//!
//! Entries are keyed by a 128-bit keyed hash (SipHash-1-3, a PRF, under a secret random key the
//! caller draws per worker) of (source, service, credential): 16 bytes per entry whatever the
//! credential's length, so a client sending long or endlessly varied headers cannot grow a
//! worker (each entry is about 90 bytes). A key collision — the only way to be served another
//! credential's result — cannot be aimed at without the key (the client never sees a hash), and
//! by chance has probability about n²/2¹²⁹ for n entries. The hash costs about a tenth of a
//! SHA-256 of the same bytes, on the path of every memoized request. Growth is bounded
//! by two generations: when the current one is full it becomes the previous one and the old
//! previous one is dropped (an approximation of least-recently-used).

use std::collections::HashMap;

use std::hash::Hasher;

use siphasher::sip128::{Hasher128, SipHasher13};

use super::Verified;

/// Where the credential came from: the same bytes mean different things in different headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    Authorization = 1,
    HexHeader = 2,
}

type Key = [u8; 16];

pub struct VerifiedCache {
    /// The secret key of the entry hash.
    secret: [u8; 16],
    current: HashMap<Key, Verified>,
    previous: HashMap<Key, Verified>,
    generation_capacity: usize,
}

impl VerifiedCache {
    /// Holds at most `2 * generation_capacity` entries. `secret` keys the entry hash: draw it
    /// from the system's random number generator for each cache.
    pub fn new(generation_capacity: usize, secret: [u8; 16]) -> Self {
        VerifiedCache {
            secret,
            current: HashMap::new(),
            previous: HashMap::new(),
            generation_capacity: generation_capacity.max(1),
        }
    }

    /// The cached verification of `credential` for `service`, if still unexpired at `now_unix`.
    pub fn get(
        &mut self,
        source: CredentialSource,
        service: &str,
        credential: &[u8],
        now_unix: u64,
    ) -> Option<Verified> {
        let k = self.key(source, service, credential);
        let verified = match self.current.get(&k) {
            Some(v) => *v,
            None => {
                let v = self.previous.remove(&k)?;
                self.put(k, v);
                v
            }
        };
        let expired = |t: Option<u64>| t.is_some_and(|t| now_unix >= t);
        if expired(verified.valid_until) || expired(verified.terms.and_then(|t| t.valid_until)) {
            self.current.remove(&k);
            return None;
        }
        Some(verified)
    }

    /// Remembers a successful verification.
    pub fn insert(&mut self, source: CredentialSource, service: &str, credential: &[u8], verified: Verified) {
        self.put(self.key(source, service, credential), verified);
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keyed hash of the whole entry; lengths are framed so no two different triples share
    /// an input.
    fn key(&self, source: CredentialSource, service: &str, credential: &[u8]) -> Key {
        let mut h = SipHasher13::new_with_key(&self.secret);
        h.write(&[source as u8]);
        h.write(&(service.len() as u64).to_be_bytes());
        h.write(service.as_bytes());
        h.write(credential);
        u128::from(h.finish128()).to_be_bytes()
    }

    fn put(&mut self, k: Key, verified: Verified) {
        if self.current.len() >= self.generation_capacity && !self.current.contains_key(&k) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(k, verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(valid_until: Option<u64>) -> Verified {
        Verified { payment_hash: [1; 32], token_id: [2; 32], valid_until, terms: None }
    }

    const A: CredentialSource = CredentialSource::Authorization;

    impl VerifiedCache {
        fn new_for_test(capacity: usize) -> Self {
            VerifiedCache::new(capacity, [7; 16])
        }
    }

    #[test]
    fn entry_keys_depend_on_the_secret() {
        let (a, b) = (VerifiedCache::new(8, [1; 16]), VerifiedCache::new(8, [2; 16]));
        assert_eq!(a.key(A, "svc", b"L402 x:y"), a.key(A, "svc", b"L402 x:y"));
        assert_ne!(a.key(A, "svc", b"L402 x:y"), b.key(A, "svc", b"L402 x:y"));
    }

    #[test]
    fn hit_requires_same_service_source_and_bytes() {
        let mut c = VerifiedCache::new_for_test(8);
        c.insert(A, "svc", b"L402 abc:def", v(None));
        assert_eq!(c.get(A, "svc", b"L402 abc:def", 0), Some(v(None)));
        assert_eq!(c.get(A, "other", b"L402 abc:def", 0), None);
        assert_eq!(c.get(A, "svc", b"L402 abc:deF", 0), None);
        assert_eq!(c.get(CredentialSource::HexHeader, "svc", b"L402 abc:def", 0), None);
        // the service/credential boundary is part of the key
        assert_eq!(c.get(A, "sv", b"c\0L402 abc:def", 0), None);
    }

    #[test]
    fn expiry_is_rechecked_on_every_hit() {
        let mut c = VerifiedCache::new_for_test(8);
        c.insert(A, "s", b"x", v(Some(100)));
        assert!(c.get(A, "s", b"x", 99).is_some());
        assert!(c.get(A, "s", b"x", 100).is_none());
        assert!(c.get(A, "s", b"x", 50).is_none(), "expired entries are dropped");
    }

    #[test]
    fn bounded_with_recently_used_entries_kept() {
        let mut c = VerifiedCache::new_for_test(4);
        for i in 0u32..100 {
            c.insert(A, "s", &i.to_be_bytes(), v(None));
            assert!(c.get(A, "s", &0u32.to_be_bytes(), 0).is_some() || i < 1, "hot entry kept");
            assert!(c.len() <= 8);
        }
        assert!(c.get(A, "s", &1u32.to_be_bytes(), 0).is_none());
    }
}
