//! Parsing L402 credentials (bLIP-26, "Client HTTP Authentication Headers"):
//! `Authorization: L402 <b64 macaroon>[,<b64 macaroon>…]:<64 hex preimage>`,
//! and the hex carriers `Macaroon`, `Token`, `Grpc-Metadata-Macaroon`,
//! `Grpc-Metadata-Token` (hex of a macaroon that carries a `preimage=` caveat).
//!
//! Accepted, as a superset of the surveyed clients: scheme `L402` or `LSAT` in
//! any case followed by one or more spaces; a doubled prefix (`L402 LSAT …`,
//! pyl402) stripped once; split at the last `:`; the preimage exactly 64 hex
//! digits in any case and nothing else; base64 standard or URL-safe, padded
//! or not, no whitespace inside. Sizes are capped before decoding.

mod error;
pub mod query;

use std::fmt;

pub use error::CredentialError;

use crate::caveat::last_preimage;
use crate::encoding::{base64_decode_lenient, hex_decode, hex_decode_32};
use crate::limits::{MAX_AUTHORIZATION_BYTES, MAX_MACAROON_BYTES, MAX_MACAROON_CANDIDATES};
use crate::macaroon::Macaroon;

/// A parsed credential: every candidate macaroon that decoded, in the order
/// given, and the preimage (from after the `:`, or else from a `preimage=`
/// caveat). `Debug` never shows the preimage or signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// Decoded candidates, in order; at least one after a successful parse.
    pub macaroons: Vec<Macaroon>,
    /// The payment preimage, if known.
    pub preimage: Option<[u8; 32]>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("macaroons", &self.macaroons)
            .field("preimage", &self.preimage.map(|_| "<redacted>"))
            .finish()
    }
}

/// Parses an `Authorization` header value (bLIP-26, "Client HTTP Authentication Headers").
/// Whether an `Authorization` value uses the `L402` or `LSAT` scheme at all. Values of other
/// schemes (Basic, Bearer…) are not L402 credentials, broken or otherwise.
pub fn is_l402_scheme(value: &[u8]) -> bool {
    strip_scheme(value.trim_ascii_start()).is_some()
}

pub fn parse_authorization(value: &[u8]) -> Result<Credential, CredentialError> {
    parse_header(value, false)
}

/// Like [`parse_authorization`], but a credential that carries the macaroon only
/// (`L402 <mac>` or `L402 <mac>:`, no `preimage=` caveat) parses with
/// `preimage: None` instead of failing with [`CredentialError::MissingPreimage`].
/// For payment detection by lookup (`l402_auto_detect_payment`): such a credential proves
/// nothing about payment and is only verified by [`crate::KeyRing::verify_unpaid`].
/// Every other input gives exactly what [`parse_authorization`] gives.
pub fn parse_authorization_unpaid(value: &[u8]) -> Result<Credential, CredentialError> {
    parse_header(value, true)
}

fn parse_header(value: &[u8], allow_unpaid: bool) -> Result<Credential, CredentialError> {
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(CredentialError::TooLong);
    }
    let value = value.trim_ascii();
    let token = strip_scheme(value).ok_or(CredentialError::UnsupportedScheme)?;
    let token = strip_scheme(token).unwrap_or(token);
    let (macaroons_part, preimage_part) = match token.iter().rposition(|&c| c == b':') {
        Some(colon) => {
            let (left, right) = token.split_at(colon);
            (left, right.get(1..).unwrap_or_default())
        }
        None => (token, &[][..]),
    };
    let header_preimage = if preimage_part.is_empty() {
        None
    } else {
        Some(hex_decode_32(preimage_part).ok_or(CredentialError::MalformedPreimage)?)
    };
    let macaroons = decode_candidates(macaroons_part)?;
    let preimage = match header_preimage {
        Some(preimage) => Some(preimage),
        None => match preimage_from_caveats(&macaroons) {
            Ok(preimage) => Some(preimage),
            Err(CredentialError::MissingPreimage) if allow_unpaid => None,
            Err(e) => return Err(e),
        },
    };
    Ok(Credential {
        macaroons,
        preimage,
    })
}

/// Parses a hex carrier header (`Macaroon`, `Token`, `Grpc-Metadata-Macaroon`,
/// `Grpc-Metadata-Token`): hex of one macaroon; the preimage is the value of its
/// last `preimage=` caveat (bLIP-26, gRPC "Client Flow";
/// Aperture's gRPC client, `l402/client_interceptor.go` and `l402/token.go`).
pub fn parse_hex_macaroon(value: &[u8]) -> Result<Credential, CredentialError> {
    let value = value.trim_ascii();
    if value.len() > 2 * MAX_MACAROON_BYTES {
        return Err(CredentialError::TooLong);
    }
    let bytes = hex_decode(value, MAX_MACAROON_BYTES).ok_or(CredentialError::MalformedMacaroon)?;
    let mac = Macaroon::decode(&bytes).map_err(|_| CredentialError::MalformedMacaroon)?;
    let preimage = last_preimage(&mac.caveats)
        .map_err(|_| CredentialError::MalformedPreimage)?
        .ok_or(CredentialError::MissingPreimage)?;
    Ok(Credential {
        macaroons: vec![mac],
        preimage: Some(preimage),
    })
}

/// Strips `L402` or `LSAT` (any case) and the one or more spaces after it.
fn strip_scheme(text: &[u8]) -> Option<&[u8]> {
    let (&[a, b, c, d], rest) = text.split_first_chunk::<4>()?;
    // Case-insensitive "L402" / "LSAT" (RFC 9110 §11.1: schemes are case-insensitive) on one
    // word: setting bit 0x20 lower-cases exactly the letters, so the digits compare exactly.
    let word = u32::from_le_bytes([a, b, c, d]);
    let is_l402 = (word | 0x20) == u32::from_le_bytes(*b"l402");
    let is_lsat = (word | 0x2020_2020) == u32::from_le_bytes(*b"lsat");
    if !is_l402 && !is_lsat {
        return None;
    }
    let spaces = rest.iter().take_while(|&&c| c == b' ').count();
    if spaces == 0 {
        return None;
    }
    rest.get(spaces..)
}

/// Decodes each comma-separated base64 candidate, skipping those that fail.
fn decode_candidates(list: &[u8]) -> Result<Vec<Macaroon>, CredentialError> {
    if list.split(|&c| c == b',').count() > MAX_MACAROON_CANDIDATES {
        return Err(CredentialError::TooManyMacaroons);
    }
    let macaroons: Vec<Macaroon> = list
        .split(|&c| c == b',')
        .filter_map(|item| base64_decode_lenient(item, MAX_MACAROON_BYTES))
        .filter_map(|bytes| Macaroon::decode(&bytes).ok())
        .collect();
    if macaroons.is_empty() {
        return Err(CredentialError::MalformedMacaroon);
    }
    Ok(macaroons)
}

/// With no preimage after the `:`, the first candidate carrying a `preimage=`
/// caveat provides it (its last such caveat).
fn preimage_from_caveats(macaroons: &[Macaroon]) -> Result<[u8; 32], CredentialError> {
    for mac in macaroons {
        if let Some(preimage) =
            last_preimage(&mac.caveats).map_err(|_| CredentialError::MalformedPreimage)?
        {
            return Ok(preimage);
        }
    }
    Err(CredentialError::MissingPreimage)
}

#[cfg(test)]
mod tests;
