//! Our P2PK key (NUT-11): the secret half, kept out of `Debug` and errors.

use cdk::nuts::SecretKey;

/// A secp256k1 secret key that signs P2PK-locked proofs (NUT-11 witness) when they are
/// received (swap) or melted.
#[derive(Clone)]
pub struct SigningKey(SecretKey);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Fix the configuration: not a valid secp256k1 secret key (32 bytes, 64 hex digits).
    Invalid,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a valid secp256k1 secret key")
    }
}

impl std::error::Error for KeyError {}

impl SigningKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<SigningKey, KeyError> {
        SecretKey::from_slice(bytes).map(SigningKey).map_err(|_| KeyError::Invalid)
    }

    pub fn from_hex(hex: &str) -> Result<SigningKey, KeyError> {
        SecretKey::from_hex(hex.trim()).map(SigningKey).map_err(|_| KeyError::Invalid)
    }

    /// The compressed public key (33 bytes) that tokens are locked to.
    pub fn public_key(&self) -> [u8; 33] {
        self.0.public_key().to_bytes()
    }

    pub(crate) fn cdk(&self) -> SecretKey {
        self.0.clone()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_redacted() {
        let k = SigningKey::from_bytes(&[1u8; 32]).unwrap();
        assert_eq!(k.public_key()[0] & 0xfe, 0x02);
        assert_eq!(format!("{k:?}"), "SigningKey([redacted])");
        let h = SigningKey::from_hex(&"01".repeat(32)).unwrap();
        assert_eq!(h.public_key(), k.public_key());
        assert_eq!(SigningKey::from_bytes(&[0u8; 32]).unwrap_err(), KeyError::Invalid);
        assert!(SigningKey::from_hex("zz").is_err());
    }
}
