//! The fake backend's secrets: a node key that signs invoices (BOLT11 signature) and the
//! preimage-derivation secret ([`crate::derive`]).
//!
//! Created once when nginx loads its configuration and cloned into every worker: plain
//! data, `Clone`, `Send + Sync`, `Debug` redacted, zeroed on drop.

use std::fmt;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use zeroize::Zeroize;

use crate::derive;

/// How many times [`FakeSecret::generate`] redraws a node key that is not a valid
/// secp256k1 scalar (each draw fails with probability below 2^-127).
const KEY_DRAWS: usize = 4;

/// Errors creating a [`FakeSecret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeError {
    /// The operating system's random number generator failed.
    Rng(String),
    /// The node key bytes are not a valid secp256k1 secret key (zero or ≥ the curve order).
    InvalidNodeKey,
}

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FakeError::Rng(cause) => write!(f, "fake backend: OS random generator failed: {cause}"),
            FakeError::InvalidNodeKey => {
                f.write_str("fake backend: node key is not a valid secp256k1 secret key")
            }
        }
    }
}

impl std::error::Error for FakeError {}

/// Node key and preimage-derivation secret of the fake backend.
#[derive(Clone)]
pub struct FakeSecret {
    node_key: SecretKey,
    node_pubkey: PublicKey,
    preimage_secret: [u8; 32],
}

impl FakeSecret {
    /// Draws a fresh node key and preimage secret from the OS random generator.
    pub fn generate() -> Result<FakeSecret, FakeError> {
        let mut preimage_secret = [0u8; 32];
        fill_random(&mut preimage_secret)?;
        for _ in 0..KEY_DRAWS {
            let mut node = [0u8; 32];
            fill_random(&mut node)?;
            match FakeSecret::from_bytes(node, preimage_secret) {
                Ok(secret) => {
                    preimage_secret.zeroize();
                    return Ok(secret);
                }
                Err(FakeError::InvalidNodeKey) => continue,
                Err(other) => return Err(other),
            }
        }
        preimage_secret.zeroize();
        Err(FakeError::InvalidNodeKey)
    }

    /// Builds a secret from fixed bytes (tests, or a key kept in a file).
    pub fn from_bytes(
        mut node: [u8; 32],
        preimage_secret: [u8; 32],
    ) -> Result<FakeSecret, FakeError> {
        let key = SecretKey::from_slice(&node).map_err(|_| FakeError::InvalidNodeKey);
        node.zeroize();
        let node_key = key?;
        let node_pubkey = node_key.public_key(&Secp256k1::signing_only());
        Ok(FakeSecret {
            node_key,
            node_pubkey,
            preimage_secret,
        })
    }

    /// The node id (compressed public key) that signs this backend's invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.node_pubkey.serialize()
    }

    pub(crate) fn node_key(&self) -> &SecretKey {
        &self.node_key
    }

    pub(crate) fn node_pubkey(&self) -> &PublicKey {
        &self.node_pubkey
    }

    /// The preimage of the invoice with this payment secret ([`crate::derive::preimage`]).
    pub(crate) fn preimage_for(&self, payment_secret: &[u8; 32]) -> [u8; 32] {
        derive::preimage(&self.preimage_secret, payment_secret)
    }
}

fn fill_random(buf: &mut [u8; 32]) -> Result<(), FakeError> {
    getrandom::fill(buf).map_err(|e| FakeError::Rng(e.to_string()))
}

impl Drop for FakeSecret {
    fn drop(&mut self) {
        self.node_key.non_secure_erase();
        self.preimage_secret.zeroize();
    }
}

impl fmt::Debug for FakeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSecret")
            .field("node_id", &self.node_pubkey)
            .field("node_key", &"<redacted>")
            .field("preimage_secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_differ() {
        let a = FakeSecret::generate().unwrap();
        let b = FakeSecret::generate().unwrap();
        assert_ne!(a.node_id(), b.node_id());
        assert_ne!(a.preimage_secret, b.preimage_secret);
        assert_ne!(a.node_key.secret_bytes(), b.node_key.secret_bytes());
    }

    #[test]
    fn from_bytes_rejects_invalid_keys() {
        assert_eq!(
            FakeSecret::from_bytes([0; 32], [1; 32]).unwrap_err(),
            FakeError::InvalidNodeKey
        );
        assert_eq!(
            FakeSecret::from_bytes([0xff; 32], [1; 32]).unwrap_err(),
            FakeError::InvalidNodeKey
        );
        let s = FakeSecret::from_bytes([1; 32], [2; 32]).unwrap();
        // Public key of the scalar 0x0101…01.
        assert_eq!(s.node_id()[0] & 0xfe, 0x02);
    }

    #[test]
    fn clone_keeps_secrets() {
        let a = FakeSecret::from_bytes([3; 32], [4; 32]).unwrap();
        let b = a.clone();
        drop(a);
        assert_eq!(b.node_key.secret_bytes(), [3; 32]);
        assert_eq!(
            b.preimage_for(&[5; 32]),
            derive::preimage(&[4; 32], &[5; 32])
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = FakeSecret::from_bytes([0x5a; 32], [0xa5; 32]).unwrap();
        let shown = format!("{s:?}");
        assert!(shown.contains("redacted"), "{shown}");
        assert!(!shown.contains("5a5a"), "{shown}");
        assert!(!shown.contains("a5a5"), "{shown}");
        assert!(!shown.contains("90, 90"), "{shown}");
    }

    #[test]
    fn is_send_sync_plain_data() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<FakeSecret>();
    }
}
