//! Keys under which claims and rate entries are stored.
//!
//! In the shared memory zone a key is 16 bytes: 15 bytes of SHA-256 over a domain tag and the
//! subject, then one byte naming the kind of entry ([`KIND_CLAIM`], [`KIND_RATE`]); an all-zero
//! key marks an empty slot. Token ids are 32 random bytes we minted and verified, so 120 bits
//! of their hash keep distinct tokens apart. In Redis the names are readable prefixes:
//! `l402:use:<hex token id>` and `l402:rate:<hex key>`. Prices live under the request path
//! itself (the seed's `SET /protected 15000`).

use sha2::{Digest, Sha256};

/// Last key byte of a token-use claim: never evicted while unexpired.
pub const KIND_CLAIM: u8 = 1;
/// Last key byte of a rate-limit entry: soft state, may be evicted to make room.
pub const KIND_RATE: u8 = 2;
/// Last key byte of a spent Cashu proof (its `Y`, NUT-00): never evicted while unexpired.
pub const KIND_PROOF: u8 = 3;

fn derive(domain: &[u8], parts: &[&[u8]], kind: u8) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(domain);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key[..15].copy_from_slice(&digest[..15]);
    key[15] = kind;
    key
}

/// Zone key of the use claim for a token id.
pub fn claim_key(token_id: &[u8; 32]) -> [u8; 16] {
    derive(b"l402-claim/v1", &[token_id], KIND_CLAIM)
}

/// Zone key of a spent Cashu proof, from its `Y = hash_to_curve(secret)` (NUT-00), which
/// identifies a proof at every mint (NUT-07).
pub fn proof_key(y: &[u8; 33]) -> [u8; 16] {
    derive(b"l402-proof/v1", &[y], KIND_PROOF)
}

/// Redis key of a spent Cashu proof: one hash tag for them all, so a token's proofs are
/// claimed by one script on one node even in a Redis Cluster (its keys must share a slot).
pub fn proof_redis_key(y: &[u8; 33]) -> String {
    format!("l402:{{proofs}}:{}", hex(y))
}

/// Zone key of the rate-limit entry of one client address under one rate scope (the
/// location's service name, so two locations with different limits count apart).
pub fn rate_key(scope: &str, client_addr: &[u8]) -> [u8; 16] {
    derive(b"l402-rate/v1", &[scope.as_bytes(), client_addr], KIND_RATE)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Redis key of the use counter of a token.
pub fn claim_redis_key(token_id: &[u8; 32]) -> String {
    format!("l402:use:{}", hex(token_id))
}

/// Redis key of a rate-limit entry ([`rate_key`] in hex).
pub fn rate_redis_key(key: &[u8; 16]) -> String {
    format!("l402:rate:{}", hex(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_apart_and_keys_never_empty() {
        let c = claim_key(&[7; 32]);
        let r = rate_key("loc-1", b"127.0.0.1");
        assert_eq!(c[15], KIND_CLAIM);
        assert_eq!(r[15], KIND_RATE);
        assert_ne!(c, [0; 16]);
        assert_ne!(claim_key(&[8; 32]), c);
        // Length-prefixed parts: ("ab","c") and ("a","bc") differ.
        assert_ne!(rate_key("ab", b"c"), rate_key("a", b"bc"));
        let p = proof_key(&[2; 33]);
        assert_eq!(p[15], KIND_PROOF);
        assert_ne!(p, proof_key(&[3; 33]));
    }

    #[test]
    fn redis_names() {
        assert_eq!(
            claim_redis_key(&[0xab; 32]),
            format!("l402:use:{}", "ab".repeat(32))
        );
        assert!(rate_redis_key(&[1; 16]).starts_with("l402:rate:0101"));
    }
}
