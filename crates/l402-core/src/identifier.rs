//! The L402 macaroon identifier, version 0 (bLIP-26, "Macaroon Identifier"):
//! `u16 big-endian version (0) || payment_hash[32] || token_id[32]`, 66 bytes.

use std::fmt;

/// Length of a version-0 identifier.
pub const IDENTIFIER_LEN: usize = 66;
/// The only identifier version defined.
pub const IDENTIFIER_VERSION: u16 = 0;

/// A decoded version-0 L402 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identifier {
    /// `sha256(preimage)` of the invoice that pays for the token.
    pub payment_hash: [u8; 32],
    /// 32 random bytes chosen by the minting server.
    pub token_id: [u8; 32],
}

/// Why bytes are not an L402 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierError {
    /// Not exactly 66 bytes.
    BadLength,
    /// A version other than 0.
    UnknownVersion(u16),
}

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength => f.write_str("identifier is not 66 bytes"),
            Self::UnknownVersion(version) => write!(f, "unknown identifier version {version}"),
        }
    }
}

impl std::error::Error for IdentifierError {}

impl Identifier {
    /// The 66-byte encoding.
    pub fn encode(&self) -> [u8; IDENTIFIER_LEN] {
        let mut out = [0u8; IDENTIFIER_LEN];
        let (version, rest) = out.split_at_mut(2);
        let (payment_hash, token_id) = rest.split_at_mut(32);
        version.copy_from_slice(&IDENTIFIER_VERSION.to_be_bytes());
        payment_hash.copy_from_slice(&self.payment_hash);
        token_id.copy_from_slice(&self.token_id);
        out
    }

    /// Decodes exactly 66 bytes of version 0.
    pub fn decode(bytes: &[u8]) -> Result<Identifier, IdentifierError> {
        if bytes.len() != IDENTIFIER_LEN {
            return Err(IdentifierError::BadLength);
        }
        let (version, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(IdentifierError::BadLength)?;
        let (payment_hash, token_id) = rest
            .split_first_chunk::<32>()
            .ok_or(IdentifierError::BadLength)?;
        let version = u16::from_be_bytes(*version);
        if version != IDENTIFIER_VERSION {
            return Err(IdentifierError::UnknownVersion(version));
        }
        Ok(Identifier {
            payment_hash: *payment_hash,
            token_id: token_id
                .try_into()
                .map_err(|_| IdentifierError::BadLength)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_shapes() {
        assert_eq!(Identifier::decode(b"AA=="), Err(IdentifierError::BadLength));
        assert_eq!(
            Identifier::decode(&[0; 67]),
            Err(IdentifierError::BadLength)
        );
        let mut v1 = [0u8; 66];
        v1[1] = 1;
        assert_eq!(
            Identifier::decode(&v1),
            Err(IdentifierError::UnknownVersion(1))
        );
        let id = Identifier {
            payment_hash: [1; 32],
            token_id: [2; 32],
        };
        assert_eq!(Identifier::decode(&id.encode()), Ok(id));
    }
}
