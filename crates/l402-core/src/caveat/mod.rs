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
/// `l402_lookup=<base64url>`: where the payment backend finds the token's invoice again (an
/// LNURL payee's LUD-21 `verify` URL), minted as the *first* caveat so that no client-added
/// caveat can stand in for it (caveats can only be appended). Ignored by every verifier as an
/// unknown condition (bLIP-26, "Attenuation Through Caveats").
pub const LOOKUP: &str = "l402_lookup";
/// Most bytes a lookup caveat carries (before base64).
pub const MAX_LOOKUP_BYTES: usize = 512;

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

/// `l402_lookup=<base64url without padding>`.
pub fn lookup_predicate(reference: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let mut p = format!("{LOOKUP}=").into_bytes();
    p.extend_from_slice(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(reference).as_bytes());
    p
}

/// The lookup reference the token was minted with: the first caveat's, if it is a
/// well-formed `l402_lookup=` of at most [`MAX_LOOKUP_BYTES`]; a later one (client-added) is
/// never taken.
pub fn minted_lookup(caveats: &[Caveat]) -> Option<Box<[u8]>> {
    use base64::Engine as _;
    let first = caveats.first().filter(|c| c.is_first_party())?;
    let (condition, value) = split_predicate(&first.id)?;
    if condition != LOOKUP.as_bytes() || value.len() > MAX_LOOKUP_BYTES.div_ceil(3) * 4 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value).ok()?;
    (bytes.len() <= MAX_LOOKUP_BYTES).then(|| bytes.into_boxed_slice())
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
    fn only_the_first_caveat_is_the_minted_lookup() {
        let ours = caveat(&lookup_predicate(b"https://p.example/v/1"));
        let services = caveat(b"services=svc:0");
        let theirs = caveat(&lookup_predicate(b"https://evil.example/"));
        assert_eq!(
            minted_lookup(&[ours, services.clone(), theirs.clone()]).as_deref(),
            Some(&b"https://p.example/v/1"[..])
        );
        assert_eq!(minted_lookup(&[services, theirs]), None);
        assert_eq!(minted_lookup(&[caveat(&lookup_predicate(&[b'a'; MAX_LOOKUP_BYTES + 1]))]), None);
        assert_eq!(minted_lookup(&[caveat(b"l402_lookup=!!!")]), None);
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
