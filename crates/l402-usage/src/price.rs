//! Prices that come from outside the configuration: a Redis value under the request path
//! (the seed's dynamic pricing) or an nginx variable (`l402_amount_msat_default $price`).
//!
//! A price is a decimal number of millisatoshis, `1..=max`. Anything else — text, zero, a
//! sign, a fraction, spaces, a number too large for a BOLT11 invoice — is refused here and the
//! caller decides: a bad Redis price falls back to the configured one, a bad variable price
//! refuses the request with 503. A bad price never makes a request free.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// Longest price text accepted (u64::MAX has 20 digits).
const MAX_PRICE_TEXT: usize = 20;

/// Why a price value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// Empty value.
    Empty,
    /// Not a plain decimal number of millisatoshis.
    NotANumber,
    /// Zero: a request is never free.
    Zero,
    /// More than the largest invoice amount.
    TooLarge,
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceError::Empty => "the price is empty",
            PriceError::NotANumber => "the price is not a whole number of millisatoshis",
            PriceError::Zero => "the price is zero",
            PriceError::TooLarge => "the price is larger than a Lightning invoice can carry",
        })
    }
}

impl std::error::Error for PriceError {}

/// Parses a price in millisatoshis, `1..=max_msat`.
pub fn parse_price(raw: &[u8], max_msat: u64) -> Result<u64, PriceError> {
    if raw.is_empty() {
        return Err(PriceError::Empty);
    }
    if !raw.iter().all(u8::is_ascii_digit) {
        return Err(PriceError::NotANumber);
    }
    if raw.len() > MAX_PRICE_TEXT {
        return Err(PriceError::TooLarge);
    }
    let mut value: u64 = 0;
    for d in raw {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(PriceError::TooLarge)?;
    }
    match value {
        0 => Err(PriceError::Zero),
        v if v > max_msat => Err(PriceError::TooLarge),
        v => Ok(v),
    }
}

/// A cached Redis answer for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachedPrice {
    /// Redis holds a valid price for the path.
    Price(u64),
    /// Redis holds no key (or an invalid value) for the path: use the configured price.
    Configured,
}

/// Per-worker cache of Redis prices: each answer is kept `ttl_ms`, at most `capacity` paths
/// (when full, the whole cache is dropped: simple, bounded, and refilled within one TTL).
/// Paths are kept as SHA-256 digests, so an entry costs the same ~60 bytes however long the
/// path a client sent.
#[derive(Debug)]
pub struct PriceCache {
    ttl_ms: u64,
    capacity: usize,
    entries: HashMap<[u8; 32], (CachedPrice, u64)>,
}

impl PriceCache {
    /// A cache keeping answers `ttl_ms` for at most `capacity` paths.
    pub fn new(ttl_ms: u64, capacity: usize) -> PriceCache {
        PriceCache {
            ttl_ms,
            capacity,
            entries: HashMap::new(),
        }
    }

    /// The cached answer for `path`, if younger than the TTL.
    pub fn get(&self, path: &str, now_ms: u64) -> Option<CachedPrice> {
        self.entries
            .get(&digest(path))
            .filter(|(_, at)| now_ms.saturating_sub(*at) < self.ttl_ms)
            .map(|(p, _)| *p)
    }

    /// Records the answer for `path` fetched at `now_ms`.
    pub fn put(&mut self, path: &str, price: CachedPrice, now_ms: u64) {
        if self.capacity == 0 || self.ttl_ms == 0 {
            return;
        }
        let key = digest(path);
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        self.entries.insert(key, (price, now_ms));
    }

    /// Number of cached paths.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn digest(path: &str) -> [u8; 32] {
    Sha256::digest(path.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: u64 = u64::MAX / 10;

    #[test]
    fn accepts_plain_numbers() {
        assert_eq!(parse_price(b"15000", MAX), Ok(15000));
        assert_eq!(parse_price(b"1", MAX), Ok(1));
        assert_eq!(parse_price(b"007", MAX), Ok(7));
    }

    #[test]
    fn refuses_hostile_values() {
        assert_eq!(parse_price(b"", MAX), Err(PriceError::Empty));
        assert_eq!(parse_price(b"0", MAX), Err(PriceError::Zero));
        assert_eq!(parse_price(b"000", MAX), Err(PriceError::Zero));
        for bad in [&b"-5"[..], b"+5", b"1.5", b"1e3", b" 5", b"5 ", b"abc", b"0x10", "٣".as_bytes()] {
            assert_eq!(parse_price(bad, MAX), Err(PriceError::NotANumber), "{bad:?}");
        }
        assert_eq!(parse_price(b"18446744073709551616", MAX), Err(PriceError::TooLarge));
        assert_eq!(parse_price(b"99999999999999999999999", MAX), Err(PriceError::TooLarge));
        assert_eq!(parse_price(b"1844674407370955162", MAX), Err(PriceError::TooLarge));
    }

    #[test]
    fn cache_expires_and_stays_bounded() {
        let mut c = PriceCache::new(1000, 2);
        c.put("/a", CachedPrice::Price(5), 0);
        assert_eq!(c.get("/a", 999), Some(CachedPrice::Price(5)));
        assert_eq!(c.get("/a", 1000), None);
        c.put("/b", CachedPrice::Configured, 0);
        c.put("/c", CachedPrice::Price(1), 0);
        assert!(c.len() <= 2);
        assert_eq!(c.get("/c", 1), Some(CachedPrice::Price(1)));
    }

    proptest! {
        #[test]
        fn any_accepted_price_is_in_range(raw in proptest::collection::vec(any::<u8>(), 0..30)) {
            if let Ok(p) = parse_price(&raw, MAX) {
                prop_assert!((1..=MAX).contains(&p));
            }
        }
    }
}
