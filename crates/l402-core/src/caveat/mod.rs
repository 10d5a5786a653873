//! L402 first-party caveats: `condition=value`, split at the first `=`
//! (bLIP-26, "Attenuation Through Caveats"). This module names the conditions, builds
//! predicates and finds client-added `preimage=` caveats; `rules.rs` evaluates them.

mod rules;

pub(crate) use rules::check as check_rules;

use crate::encoding::{hex_decode_32, hex_encode};
use crate::macaroon::Caveat;

/// `services=name:tier[,name:tier…]`.
pub const SERVICES: &str = "services";
/// `preimage=<64 hex>`, added by lnget and Aperture's Go client.
pub const PREIMAGE: &str = "preimage";
/// `<service>_valid_until=<unix seconds>`: valid while `now < value`.
pub const VALID_UNTIL_SUFFIX: &str = "_valid_until";
/// `<service>_capabilities=a,b`.
pub const CAPABILITIES_SUFFIX: &str = "_capabilities";

/// Splits a predicate at its first `=` into (condition, value); `None` if it has no `=`.
pub fn split_predicate(predicate: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = predicate.iter().position(|&c| c == b'=')?;
    let (condition, rest) = predicate.split_at(at);
    Some((condition, rest.get(1..)?))
}

/// `services=<service>:<tier>`.
pub fn services_predicate(service: &str, tier: u8) -> Vec<u8> {
    format!("{SERVICES}={service}:{tier}").into_bytes()
}

/// `<service>_capabilities=<capabilities>`.
pub fn capabilities_predicate(service: &str, capabilities: &str) -> Vec<u8> {
    format!("{service}{CAPABILITIES_SUFFIX}={capabilities}").into_bytes()
}

/// `<service>_valid_until=<unix seconds>`.
pub fn valid_until_predicate(service: &str, valid_until: u64) -> Vec<u8> {
    format!("{service}{VALID_UNTIL_SUFFIX}={valid_until}").into_bytes()
}

/// `preimage=<lowercase hex>`, as lnget adds it after paying.
pub fn preimage_predicate(preimage: &[u8; 32]) -> Vec<u8> {
    format!("{PREIMAGE}={}", hex_encode(preimage)).into_bytes()
}

/// A `preimage=` caveat whose value is not exactly 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedPreimageCaveat;

/// The values of every first-party `preimage=` caveat, in order.
pub fn preimage_caveats(
    caveats: &[Caveat],
) -> impl Iterator<Item = Result<[u8; 32], MalformedPreimageCaveat>> + '_ {
    caveats
        .iter()
        .filter(|caveat| caveat.is_first_party())
        .filter_map(|caveat| split_predicate(&caveat.id))
        .filter(|(condition, _)| *condition == PREIMAGE.as_bytes())
        .map(|(_, value)| hex_decode_32(value).ok_or(MalformedPreimageCaveat))
}

/// The preimage of the last `preimage=` caveat, the one hex carriers rely on
/// (added by Aperture's gRPC client, `l402/token.go`, and lnget); `Ok(None)` when there is none.
pub fn last_preimage(caveats: &[Caveat]) -> Result<Option<[u8; 32]>, MalformedPreimageCaveat> {
    preimage_caveats(caveats).last().transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caveat(id: &[u8]) -> Caveat {
        Caveat {
            location: None,
            id: id.to_vec(),
            verification_id: None,
        }
    }

    #[test]
    fn splits_at_first_equals() {
        assert_eq!(split_predicate(b"a=b=c"), Some((&b"a"[..], &b"b=c"[..])));
        assert_eq!(split_predicate(b"a="), Some((&b"a"[..], &b""[..])));
        assert_eq!(split_predicate(b"abc"), None);
    }

    #[test]
    fn builds_predicates() {
        assert_eq!(services_predicate("myservice", 0), b"services=myservice:0");
        assert_eq!(capabilities_predicate("s", "a,b"), b"s_capabilities=a,b");
        assert_eq!(valid_until_predicate("s", 7), b"s_valid_until=7");
        assert_eq!(
            preimage_predicate(&[0xab; 32]),
            format!("preimage={}", "ab".repeat(32)).as_bytes()
        );
    }

    #[test]
    fn finds_last_preimage() {
        let one = preimage_predicate(&[1; 32]);
        let two = format!("preimage={}", "02".repeat(32).to_uppercase());
        assert_eq!(last_preimage(&[]), Ok(None));
        assert_eq!(
            last_preimage(&[caveat(&one), caveat(b"x=y")]),
            Ok(Some([1; 32]))
        );
        assert_eq!(
            last_preimage(&[caveat(&one), caveat(two.as_bytes())]),
            Ok(Some([2; 32]))
        );
        assert_eq!(
            last_preimage(&[caveat(b"preimage=1234")]),
            Err(MalformedPreimageCaveat)
        );
        let third_party = Caveat {
            verification_id: Some(vec![0]),
            ..caveat(&one)
        };
        assert_eq!(last_preimage(&[third_party]), Ok(None));
    }
}
