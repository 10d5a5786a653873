//! Operator root keys and per-token key derivation.
//!
//! Aperture stores a random root key per token (bLIP-26, "Minting Macaroons"); this server
//! derives it instead, so every worker and instance holding the operator key
//! verifies every token without shared state:
//! `token_root_key = HMAC-SHA256(operator key, "l402-token-root-key/v1" || token_id)`.
//! A [`KeyRing`] holds several operator keys for rotation: the first mints, all verify.

use std::fmt;

use crate::crypto::hmac_sha256;
use crate::encoding::hex_decode;

/// Shortest operator key accepted, in bytes.
pub const MIN_ROOT_KEY_BYTES: usize = 32;
/// Longest operator key accepted, in bytes.
pub const MAX_ROOT_KEY_BYTES: usize = 1024;
/// Most keys in a [`KeyRing`].
pub const MAX_RING_KEYS: usize = 16;
/// Fewest hex digits for key material to be read as hex rather than raw bytes.
const MIN_HEX_MATERIAL: usize = 2 * MIN_ROOT_KEY_BYTES;
/// Domain separation for the per-token key derivation.
const TOKEN_ROOT_KEY_LABEL: &[u8] = b"l402-token-root-key/v1";

/// A problem with operator key material. Messages never contain key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Fewer than [`MIN_ROOT_KEY_BYTES`] bytes (after hex decoding, if hex).
    TooShort(usize),
    /// More than [`MAX_ROOT_KEY_BYTES`] bytes.
    TooLong(usize),
    /// A key ring without keys.
    NoKeys,
    /// A key ring with more than [`MAX_RING_KEYS`] keys.
    TooManyKeys(usize),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort(len) => {
                write!(
                    f,
                    "key is too short: {len} bytes, need at least {MIN_ROOT_KEY_BYTES}"
                )
            }
            Self::TooLong(len) => {
                write!(
                    f,
                    "key is too long: {len} bytes, at most {MAX_ROOT_KEY_BYTES}"
                )
            }
            Self::NoKeys => f.write_str("no key given"),
            Self::TooManyKeys(count) => {
                write!(f, "too many keys: {count}, at most {MAX_RING_KEYS}")
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// The operator's secret. `Debug` prints `RootKey(<redacted>)`; the bytes are
/// overwritten when dropped (best effort).
#[derive(Clone)]
pub struct RootKey {
    bytes: Vec<u8>,
}

impl RootKey {
    /// Reads key material (a `ROOT_KEY` environment value or a key file's
    /// contents): ASCII whitespace is trimmed at both ends; material that is all
    /// hex digits, of even length and at least 64 digits is hex-decoded;
    /// anything else is used as raw bytes. The key must be 32..=1024 bytes.
    pub fn from_material(material: &[u8]) -> Result<RootKey, KeyError> {
        let material = material.trim_ascii();
        let bytes = match hex_decode(material, MAX_ROOT_KEY_BYTES) {
            Some(bytes) if material.len() >= MIN_HEX_MATERIAL => bytes,
            _ => material.to_vec(),
        };
        if bytes.len() < MIN_ROOT_KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_ROOT_KEY_BYTES {
            return Err(KeyError::TooLong(bytes.len()));
        }
        Ok(RootKey { bytes })
    }

    /// The per-token root key of `token_id`:
    /// `HMAC-SHA256(key = operator key, msg = "l402-token-root-key/v1" || token_id)`.
    pub fn token_root_key(&self, token_id: &[u8; 32]) -> [u8; 32] {
        hmac_sha256(&self.bytes, &[TOKEN_ROOT_KEY_LABEL, token_id])
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl Drop for RootKey {
    fn drop(&mut self) {
        self.bytes.fill(0);
        std::hint::black_box(&self.bytes);
    }
}

/// Operator keys for rotation: the first mints, every key verifies. 1..=16 keys.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<RootKey>,
}

impl KeyRing {
    /// A ring of 1..=16 keys; the first is the minting key.
    pub fn new(keys: Vec<RootKey>) -> Result<KeyRing, KeyError> {
        match keys.len() {
            0 => Err(KeyError::NoKeys),
            count if count > MAX_RING_KEYS => Err(KeyError::TooManyKeys(count)),
            _ => Ok(KeyRing { keys }),
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a ring has at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The per-token root key that minting uses (derived from the first key).
    pub fn minting_token_root_key(&self, token_id: &[u8; 32]) -> [u8; 32] {
        match self.keys.first() {
            Some(key) => key.token_root_key(token_id),
            // Unreachable: `new` refuses an empty ring. An all-zero key would
            // never match a signature made with a real derived key.
            None => [0; 32],
        }
    }

    /// Per-token root keys of `token_id` under every key, minting key first.
    pub(crate) fn token_root_keys<'a>(
        &'a self,
        token_id: &'a [u8; 32],
    ) -> impl Iterator<Item = [u8; 32]> + 'a {
        self.keys
            .iter()
            .map(move |key| key.token_root_key(token_id))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing({} keys, <redacted>)", self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_forms() {
        let hex64 = "00".repeat(32);
        let key = RootKey::from_material(format!("  {hex64}\n").as_bytes()).unwrap();
        assert_eq!(key.bytes, vec![0; 32]);
        // Hex of odd length, or with a non-hex char, is raw bytes.
        let raw = format!("{hex64}0");
        assert_eq!(
            RootKey::from_material(raw.as_bytes()).unwrap().bytes.len(),
            65
        );
        // 62 hex digits are used raw: 62 bytes.
        let short_hex = "ab".repeat(31);
        assert_eq!(
            RootKey::from_material(short_hex.as_bytes())
                .unwrap()
                .bytes
                .len(),
            62
        );
        assert_eq!(
            RootKey::from_material(b" short key \n").err(),
            Some(KeyError::TooShort(9))
        );
        assert_eq!(
            RootKey::from_material(b"").err(),
            Some(KeyError::TooShort(0))
        );
        assert_eq!(
            RootKey::from_material(&[b'x'; 1025]).err(),
            Some(KeyError::TooLong(1025))
        );
        // 2050 hex digits decode to more than 1024 bytes: read raw, still too long.
        let long_hex = "ab".repeat(1025);
        assert_eq!(
            RootKey::from_material(long_hex.as_bytes()).err(),
            Some(KeyError::TooLong(2050))
        );
        assert_eq!(
            KeyError::TooShort(12).to_string(),
            "key is too short: 12 bytes, need at least 32"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = RootKey::from_material(&[b'k'; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "RootKey(<redacted>)");
        let ring = KeyRing::new(vec![key]).unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing(1 keys, <redacted>)");
    }

    #[test]
    fn ring_sizes() {
        let key = || RootKey::from_material(&[b'k'; 32]).unwrap();
        assert_eq!(KeyRing::new(Vec::new()).err(), Some(KeyError::NoKeys));
        assert_eq!(
            KeyRing::new(vec![key(); 16]).map(|r| r.len()).ok(),
            Some(16)
        );
        assert_eq!(
            KeyRing::new(vec![key(); 17]).err(),
            Some(KeyError::TooManyKeys(17))
        );
    }

    #[test]
    fn token_keys_differ_by_token_and_operator_key() {
        let a = RootKey::from_material(&[b'a'; 32]).unwrap();
        let b = RootKey::from_material(&[b'b'; 32]).unwrap();
        assert_ne!(a.token_root_key(&[1; 32]), a.token_root_key(&[2; 32]));
        assert_ne!(a.token_root_key(&[1; 32]), b.token_root_key(&[1; 32]));
        let ring = KeyRing::new(vec![a.clone(), b]).unwrap();
        assert_eq!(
            ring.minting_token_root_key(&[1; 32]),
            a.token_root_key(&[1; 32])
        );
        assert_eq!(ring.token_root_keys(&[1; 32]).count(), 2);
    }
}
