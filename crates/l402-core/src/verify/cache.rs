//! A bounded memo of successful verifications, kept per nginx worker.
//!
//! Verifying a credential is deterministic in (credential bytes, service, key ring) except for
//! time, so a hit only re-checks expiry. The key ring changes only on reload, which starts new
//! workers with empty caches. Only successes are stored; a refusal is always recomputed.
//!
//! Entries are found by a randomly keyed SipHash of the whole key and then compared in full,
//! so a client can neither aim collisions nor be served another credential's result. Growth is
//! bounded by two generations: when the current one is full it becomes the previous one and
//! the old previous one is dropped (an approximation of least-recently-used).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use super::Verified;

struct Entry {
    key: Box<[u8]>,
    verified: Verified,
}

/// Where the credential came from: the same bytes mean different things in different headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    Authorization = 1,
    HexHeader = 2,
}

pub struct VerifiedCache {
    hasher: RandomState,
    current: HashMap<u64, Entry>,
    previous: HashMap<u64, Entry>,
    generation_capacity: usize,
}

impl VerifiedCache {
    /// Holds at most `2 * generation_capacity` entries.
    pub fn new(generation_capacity: usize) -> Self {
        VerifiedCache {
            hasher: RandomState::new(),
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
        let h = self.hash(source, service, credential);
        let found = match self.current.get(&h) {
            Some(e) if matches(&e.key, source, service, credential) => Some(e.verified),
            _ => None,
        };
        let verified = match found {
            Some(v) => v,
            None => {
                let e = self.previous.remove(&h)?;
                if !matches(&e.key, source, service, credential) {
                    return None;
                }
                let v = e.verified;
                self.put(h, e);
                v
            }
        };
        if verified.valid_until.is_some_and(|t| now_unix >= t) {
            self.current.remove(&h);
            return None;
        }
        Some(verified)
    }

    /// Remembers a successful verification.
    pub fn insert(&mut self, source: CredentialSource, service: &str, credential: &[u8], verified: Verified) {
        let h = self.hash(source, service, credential);
        let mut key = Vec::with_capacity(service.len() + credential.len() + 2);
        key.push(source as u8);
        key.extend_from_slice(service.as_bytes());
        key.push(0);
        key.extend_from_slice(credential);
        self.put(h, Entry { key: key.into_boxed_slice(), verified });
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put(&mut self, h: u64, entry: Entry) {
        if self.current.len() >= self.generation_capacity && !self.current.contains_key(&h) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(h, entry);
    }

    fn hash(&self, source: CredentialSource, service: &str, credential: &[u8]) -> u64 {
        self.hasher.hash_one((source as u8, service.as_bytes(), credential))
    }
}

fn matches(key: &[u8], source: CredentialSource, service: &str, credential: &[u8]) -> bool {
    let s = service.as_bytes();
    key.len() == s.len() + credential.len() + 2
        && key.first() == Some(&(source as u8))
        && key.get(1..1 + s.len()) == Some(s)
        && key.get(1 + s.len()) == Some(&0)
        && key.get(2 + s.len()..) == Some(credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(valid_until: Option<u64>) -> Verified {
        Verified { payment_hash: [1; 32], token_id: [2; 32], valid_until }
    }

    const A: CredentialSource = CredentialSource::Authorization;

    #[test]
    fn hit_requires_same_service_source_and_bytes() {
        let mut c = VerifiedCache::new(8);
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
        let mut c = VerifiedCache::new(8);
        c.insert(A, "s", b"x", v(Some(100)));
        assert!(c.get(A, "s", b"x", 99).is_some());
        assert!(c.get(A, "s", b"x", 100).is_none());
        assert!(c.get(A, "s", b"x", 50).is_none(), "expired entries are dropped");
    }

    #[test]
    fn bounded_with_recently_used_entries_kept() {
        let mut c = VerifiedCache::new(4);
        for i in 0u32..100 {
            c.insert(A, "s", &i.to_be_bytes(), v(None));
            assert!(c.get(A, "s", &0u32.to_be_bytes(), 0).is_some() || i < 1, "hot entry kept");
            assert!(c.len() <= 8);
        }
        assert!(c.get(A, "s", &1u32.to_be_bytes(), 0).is_none());
    }
}
