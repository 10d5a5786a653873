//! Why a byte string is not a macaroon. Messages are fixed phrases: never any input.

use std::fmt;

/// A macaroon failed to decode (libmacaroons `doc/format.txt`, `v1.c`).
/// The message never echoes input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes at all.
    Empty,
    /// Larger than [`crate::limits::MAX_MACAROON_BYTES`].
    TooLarge,
    /// Neither V2 binary nor V1 packets (raw or base64).
    UnknownFormat,
    /// The input ends inside a field.
    Truncated,
    /// A V2 varint is longer than 64 bits.
    BadVarint,
    /// A field is larger than [`crate::limits::MAX_FIELD_BYTES`].
    FieldTooLarge,
    /// More than [`crate::limits::MAX_CAVEATS`] caveats.
    TooManyCaveats,
    /// A field of an unknown type, out of order, or repeated.
    UnexpectedField,
    /// The macaroon has no identifier.
    MissingIdentifier,
    /// A caveat has no identifier.
    MissingCaveatId,
    /// The signature is missing or not 32 bytes.
    BadSignature,
    /// Bytes follow the signature.
    TrailingBytes,
    /// The V1 text form is not valid base64.
    BadBase64,
    /// A V1 packet is malformed.
    BadPacket,
}

impl DecodeError {
    /// A short lowercase phrase naming the problem.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty macaroon",
            Self::TooLarge => "macaroon too large",
            Self::UnknownFormat => "unknown macaroon format",
            Self::Truncated => "truncated macaroon",
            Self::BadVarint => "malformed macaroon field length",
            Self::FieldTooLarge => "macaroon field too large",
            Self::TooManyCaveats => "too many caveats",
            Self::UnexpectedField => "unexpected macaroon field",
            Self::MissingIdentifier => "missing macaroon identifier",
            Self::MissingCaveatId => "missing caveat identifier",
            Self::BadSignature => "malformed macaroon signature",
            Self::TrailingBytes => "trailing bytes after macaroon signature",
            Self::BadBase64 => "malformed macaroon base64",
            Self::BadPacket => "malformed macaroon v1 packet",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for DecodeError {}
