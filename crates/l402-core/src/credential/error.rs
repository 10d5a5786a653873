//! Why a header value is not an L402 credential (bLIP-26, "Client HTTP Authentication Headers").

use std::fmt;

/// A credential header could not be parsed. [`CredentialError::reason`] is a
/// fixed lowercase phrase, safe for an HTTP header or a log: never any input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    /// Longer than the cap for its header.
    TooLong,
    /// The `Authorization` scheme is neither `L402` nor `LSAT` (or no space follows it).
    UnsupportedScheme,
    /// No preimage after the `:` and no `preimage=` caveat.
    MissingPreimage,
    /// The preimage is not exactly 64 hex digits (after `:` or in a caveat).
    MalformedPreimage,
    /// More than [`crate::limits::MAX_MACAROON_CANDIDATES`] comma-separated macaroons.
    TooManyMacaroons,
    /// No candidate decodes to a macaroon.
    MalformedMacaroon,
}

impl CredentialError {
    /// A short lowercase phrase for a response header or a log line.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLong => "credential too long",
            Self::UnsupportedScheme => "unsupported authorization scheme",
            Self::MissingPreimage => "missing preimage",
            Self::MalformedPreimage => "malformed preimage",
            Self::TooManyMacaroons => "too many macaroons",
            Self::MalformedMacaroon => "malformed macaroon",
        }
    }

    /// Whether the header was simply not an L402 credential (another scheme),
    /// as opposed to a broken L402 one.
    pub fn is_other_scheme(&self) -> bool {
        matches!(self, Self::UnsupportedScheme)
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for CredentialError {}
