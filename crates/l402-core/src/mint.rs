//! Minting an L402 macaroon for a service, in Aperture's shape (bLIP-26, "Minting Macaroons"
//! and "Attenuation Through Caveats"; Aperture's `mint/mint.go`): location `lsat`, a version-0
//! identifier, and at most three caveats in Aperture's order: services, capabilities, timeout.
//! Three is also the most npm `macaroon` 3.0.4 can re-serialize (its `exportBinary`
//! fails from four caveats on; fixed only in js-macaroon's git master).

use crate::caveat::{capabilities_predicate, lookup_predicate, services_predicate, valid_until_predicate, MAX_LOOKUP_BYTES};
use crate::identifier::Identifier;
use crate::keys::KeyRing;
use crate::limits::{MAX_CAPABILITIES_BYTES, MAX_SERVICE_NAME_BYTES};
use crate::macaroon::Macaroon;

/// The location Aperture mints (`mint/mint.go`).
pub const MINT_LOCATION: &[u8] = b"lsat";
/// The base service tier.
pub const BASE_TIER: u8 = 0;

/// What to put in a new token. The caller chooses `token_id` at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MintParams<'a> {
    /// Payment hash of the invoice that pays for the token.
    pub payment_hash: [u8; 32],
    /// 32 fresh random bytes.
    pub token_id: [u8; 32],
    /// Service name; see [`is_valid_service_name`].
    pub service: &'a str,
    /// Unix seconds until which the token is valid (exclusive).
    pub valid_until: Option<u64>,
    /// Comma list of capabilities; see [`is_valid_capability_list`].
    pub capabilities: Option<&'a str>,
    /// Where the backend finds the invoice again, when the payment hash alone does not tell
    /// (an LNURL payee's verify URL, at most [`MAX_LOOKUP_BYTES`]; a longer one is left out).
    pub lookup: Option<&'a [u8]>,
}

impl KeyRing {
    /// Mints a macaroon signed with the per-token key of the ring's first key:
    /// caveats `services=<service>:0`, then `<service>_capabilities=<caps>` if
    /// given, then `<service>_valid_until=<unix>` if given.
    ///
    /// The service name and capabilities must be valid (checked by the caller
    /// at configuration time with [`is_valid_service_name`] and
    /// [`is_valid_capability_list`]); otherwise the token would not verify.
    pub fn mint(&self, p: &MintParams<'_>) -> Macaroon {
        let identifier = Identifier {
            payment_hash: p.payment_hash,
            token_id: p.token_id,
        };
        let root_key = self.minting_token_root_key(&p.token_id);
        let mut mac = Macaroon::new(
            &root_key,
            identifier.encode().to_vec(),
            Some(MINT_LOCATION.to_vec()),
        );
        // First, so that a client-appended caveat can never stand in for it.
        if let Some(lookup) = p.lookup.filter(|l| !l.is_empty() && l.len() <= MAX_LOOKUP_BYTES) {
            mac.add_first_party_caveat(&lookup_predicate(lookup));
        }
        mac.add_first_party_caveat(&services_predicate(p.service, BASE_TIER));
        if let Some(capabilities) = p.capabilities {
            mac.add_first_party_caveat(&capabilities_predicate(p.service, capabilities));
        }
        if let Some(valid_until) = p.valid_until {
            mac.add_first_party_caveat(&valid_until_predicate(p.service, valid_until));
        }
        mac
    }
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')
}

/// A service name that can stand in `services=name:tier` and in
/// `<name>_valid_until`: 1..=128 bytes of ASCII letters, digits, `-`, `.`, `_`.
pub fn is_valid_service_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_SERVICE_NAME_BYTES && name.bytes().all(is_name_byte)
}

/// A capability list for `<service>_capabilities=`: comma-separated non-empty
/// names of the same characters as service names, at most 512 bytes in all.
pub fn is_valid_capability_list(capabilities: &str) -> bool {
    capabilities.len() <= MAX_CAPABILITIES_BYTES
        && capabilities
            .split(',')
            .all(|item| !item.is_empty() && item.bytes().all(is_name_byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_service_name("myservice"));
        assert!(is_valid_service_name("api.v2-beta_x"));
        assert!(!is_valid_service_name(""));
        assert!(!is_valid_service_name("a:b"));
        assert!(!is_valid_service_name("a,b"));
        assert!(!is_valid_service_name("a=b"));
        assert!(!is_valid_service_name(&"x".repeat(129)));
        assert!(is_valid_capability_list("add,subtract"));
        assert!(!is_valid_capability_list(""));
        assert!(!is_valid_capability_list("add,"));
        assert!(!is_valid_capability_list("a b"));
    }
}
