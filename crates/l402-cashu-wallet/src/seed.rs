//! The wallet's 64-byte seed (NUT-13 deterministic secrets derive from it) from the operator's
//! `CASHU_WALLET_SECRET`.
//!
//! KDF: `seed = SHA-512("ngx_l402 cashu wallet seed v1" || 0x00 || secret)`. The secret must
//! already be high-entropy (at least [`MIN_SECRET_LEN`] bytes, e.g. 32 random bytes as hex);
//! a hash cannot add entropy, it only separates this use of the secret from any other. The
//! label is versioned: changing it changes every derived secret, so it never changes silently.

use sha2::{Digest, Sha512};

/// Shorter secrets are refused.
pub const MIN_SECRET_LEN: usize = 32;

const LABEL: &[u8] = b"ngx_l402 cashu wallet seed v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedError {
    /// Fix the configuration: the secret has fewer than [`MIN_SECRET_LEN`] bytes.
    TooShort { len: usize },
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeedError::TooShort { len } => {
                write!(f, "CASHU_WALLET_SECRET has {len} bytes, at least {MIN_SECRET_LEN} are needed")
            }
        }
    }
}

impl std::error::Error for SeedError {}

/// The wallet seed for `secret` (the bytes of CASHU_WALLET_SECRET).
pub fn seed_from_secret(secret: &[u8]) -> Result<[u8; 64], SeedError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SeedError::TooShort { len: secret.len() });
    }
    let mut h = Sha512::new();
    h.update(LABEL);
    h.update([0u8]);
    h.update(secret);
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_separated() {
        let a = seed_from_secret(&[7u8; 32]).unwrap();
        assert_eq!(a, seed_from_secret(&[7u8; 32]).unwrap());
        assert_ne!(a, seed_from_secret(&[8u8; 32]).unwrap());
        // Not the bare hash of the secret.
        let bare: [u8; 64] = Sha512::digest([7u8; 32]).into();
        assert_ne!(a, bare);
    }

    #[test]
    fn short_secret_refused() {
        assert_eq!(seed_from_secret(b"short"), Err(SeedError::TooShort { len: 5 }));
    }
}
