//! Evaluation of L402 caveats for one service at one time (bLIP-26, "Attenuation Through Caveats"
//! and "Macaroon Verification").
//!
//! For each known condition every later caveat must be at least as strict as
//! the one before it, and the last one decides:
//! - `services`: a later list may only drop services (same tier); the target
//!   service must be in the last list. A macaroon without any `services` caveat
//!   is rejected: Aperture accepts such "admin" tokens for every service, but
//!   this server never mints them, so one can only be a token minted elsewhere
//!   with our key, or a mistake, and refusing it is the safe reading.
//! - `<service>_valid_until`: a later value may only be smaller or equal; valid
//!   while `now < value`.
//! - `<service>_capabilities`: a later list may only be a subset.
//!
//! Unknown conditions (and other services' conditions) are skipped, as the
//! spec requires. A known condition with a malformed value is rejected.
//! `preimage=` caveats are checked by [`crate::verify`].

use super::{split_predicate, CAPABILITIES_SUFFIX, SERVICES, VALID_UNTIL_SUFFIX};
use crate::macaroon::Caveat;
use crate::verify::Rejection;

/// A `services` list: (name, tier) pairs with distinct names.
type Services<'a> = Vec<(&'a [u8], u8)>;

/// Checks the caveats of a signature-verified macaroon for `service` at
/// `now_unix`; returns the effective `valid_until`, if any.
pub(crate) fn check(
    caveats: &[Caveat],
    service: &str,
    now_unix: u64,
) -> Result<Option<u64>, Rejection> {
    let valid_until_condition = [service.as_bytes(), VALID_UNTIL_SUFFIX.as_bytes()].concat();
    let capabilities_condition = [service.as_bytes(), CAPABILITIES_SUFFIX.as_bytes()].concat();
    let mut services: Option<Services<'_>> = None;
    let mut valid_until: Option<u64> = None;
    let mut capabilities: Option<Vec<&[u8]>> = None;

    for caveat in caveats.iter().filter(|caveat| caveat.is_first_party()) {
        let Some((condition, value)) = split_predicate(&caveat.id) else {
            continue;
        };
        if condition == SERVICES.as_bytes() {
            let later = parse_services(value)?;
            if let Some(earlier) = &services {
                if !later.iter().all(|entry| earlier.contains(entry)) {
                    return Err(Rejection::CaveatWidens);
                }
            }
            services = Some(later);
        } else if condition == valid_until_condition.as_slice() {
            let later = parse_unix_seconds(value)?;
            if valid_until.is_some_and(|earlier| later > earlier) {
                return Err(Rejection::CaveatWidens);
            }
            valid_until = Some(later);
        } else if condition == capabilities_condition.as_slice() {
            let later = parse_list(value)?;
            if let Some(earlier) = &capabilities {
                if !later.iter().all(|capability| earlier.contains(capability)) {
                    return Err(Rejection::CaveatWidens);
                }
            }
            capabilities = Some(later);
        }
    }

    let allowed =
        services.is_some_and(|list| list.iter().any(|(name, _)| *name == service.as_bytes()));
    if !allowed {
        return Err(Rejection::WrongService);
    }
    if valid_until.is_some_and(|until| now_unix >= until) {
        return Err(Rejection::Expired);
    }
    Ok(valid_until)
}

/// `name:tier[,name:tier…]`; tier is a decimal `u8`; names non-empty and distinct.
fn parse_services(value: &[u8]) -> Result<Services<'_>, Rejection> {
    let mut services: Services<'_> = Vec::new();
    for entry in parse_list(value)? {
        let mut parts = entry.split(|&c| c == b':');
        let (Some(name), Some(tier), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Rejection::MalformedCaveat);
        };
        let tier = parse_decimal(tier, 3).and_then(|tier| u8::try_from(tier).ok());
        let Some(tier) = tier else {
            return Err(Rejection::MalformedCaveat);
        };
        if name.is_empty() || services.iter().any(|(seen, _)| *seen == name) {
            return Err(Rejection::MalformedCaveat);
        }
        services.push((name, tier));
    }
    if services.is_empty() {
        return Err(Rejection::MalformedCaveat);
    }
    Ok(services)
}

/// A comma list without empty items; an empty value is the empty list.
fn parse_list(value: &[u8]) -> Result<Vec<&[u8]>, Rejection> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&[u8]> = value.split(|&c| c == b',').collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(Rejection::MalformedCaveat);
    }
    Ok(items)
}

fn parse_unix_seconds(value: &[u8]) -> Result<u64, Rejection> {
    parse_decimal(value, 20).ok_or(Rejection::MalformedCaveat)
}

/// ASCII digits only (no sign, no space), at most `max_digits`, no overflow.
fn parse_decimal(text: &[u8], max_digits: usize) -> Option<u64> {
    if text.is_empty() || text.len() > max_digits {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &digit| {
        let digit = char::from(digit).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caveats(predicates: &[&str]) -> Vec<Caveat> {
        predicates
            .iter()
            .map(|p| Caveat {
                location: None,
                id: p.as_bytes().to_vec(),
                verification_id: None,
            })
            .collect()
    }

    fn run(predicates: &[&str], now: u64) -> Result<Option<u64>, Rejection> {
        check(&caveats(predicates), "svc", now)
    }

    #[test]
    fn services_rules() {
        assert_eq!(run(&["services=svc:0"], 5), Ok(None));
        assert_eq!(run(&["services=a:0,svc:1"], 5), Ok(None));
        assert_eq!(run(&[], 5), Err(Rejection::WrongService));
        assert_eq!(run(&["services=other:0"], 5), Err(Rejection::WrongService));
        assert_eq!(run(&["services=svc:0,b:0", "services=svc:0"], 5), Ok(None));
        assert_eq!(
            run(&["services=svc:0,b:0", "services=b:0"], 5),
            Err(Rejection::WrongService)
        );
        assert_eq!(
            run(&["services=svc:0", "services=svc:0,b:0"], 5),
            Err(Rejection::CaveatWidens)
        );
        assert_eq!(
            run(&["services=svc:0", "services=svc:1"], 5),
            Err(Rejection::CaveatWidens)
        );
        for bad in [
            "services=",
            "services=svc",
            "services=svc:",
            "services=svc:x",
            "services=svc:256",
            "services=:0",
            "services=svc:0,",
            "services=svc:0,svc:1",
            "services=svc:0:0",
            "services=svc:-1",
        ] {
            assert_eq!(run(&[bad], 5), Err(Rejection::MalformedCaveat), "{bad}");
        }
    }

    #[test]
    fn valid_until_rules() {
        assert_eq!(
            run(&["services=svc:0", "svc_valid_until=10"], 9),
            Ok(Some(10))
        );
        assert_eq!(
            run(&["services=svc:0", "svc_valid_until=10"], 10),
            Err(Rejection::Expired)
        );
        assert_eq!(
            run(
                &["services=svc:0", "svc_valid_until=10", "svc_valid_until=8"],
                7
            ),
            Ok(Some(8))
        );
        assert_eq!(
            run(
                &["services=svc:0", "svc_valid_until=10", "svc_valid_until=8"],
                8
            ),
            Err(Rejection::Expired)
        );
        assert_eq!(
            run(
                &["services=svc:0", "svc_valid_until=10", "svc_valid_until=11"],
                1
            ),
            Err(Rejection::CaveatWidens)
        );
        assert_eq!(run(&["services=svc:0", "other_valid_until=1"], 9), Ok(None));
        for bad in [
            "svc_valid_until=",
            "svc_valid_until=x",
            "svc_valid_until=-1",
            "svc_valid_until= 1",
            "svc_valid_until=18446744073709551616",
            "svc_valid_until=1.5",
        ] {
            assert_eq!(
                run(&["services=svc:0", bad], 0),
                Err(Rejection::MalformedCaveat),
                "{bad}"
            );
        }
        assert_eq!(
            run(
                &["services=svc:0", "svc_valid_until=18446744073709551615"],
                0
            ),
            Ok(Some(u64::MAX))
        );
    }

    #[test]
    fn capabilities_rules() {
        let base = "services=svc:0";
        assert_eq!(
            run(&[base, "svc_capabilities=a,b", "svc_capabilities=a"], 0),
            Ok(None)
        );
        assert_eq!(
            run(&[base, "svc_capabilities=a,b", "svc_capabilities="], 0),
            Ok(None)
        );
        assert_eq!(
            run(&[base, "svc_capabilities=a", "svc_capabilities=a,c"], 0),
            Err(Rejection::CaveatWidens)
        );
        assert_eq!(
            run(&[base, "svc_capabilities=a,,b"], 0),
            Err(Rejection::MalformedCaveat)
        );
        assert_eq!(
            run(&[base, "other_capabilities=a", "other_capabilities=a,c"], 0),
            Ok(None)
        );
    }

    #[test]
    fn unknown_conditions_are_skipped() {
        assert_eq!(
            run(
                &[
                    "services=svc:0",
                    "client_ip=203.0.113.7",
                    "no equals sign",
                    "=x"
                ],
                0
            ),
            Ok(None)
        );
        let third_party = Caveat {
            location: None,
            id: b"services=x:0".to_vec(),
            verification_id: Some(vec![1]),
        };
        let mut list = caveats(&["services=svc:0"]);
        list.push(third_party);
        assert_eq!(check(&list, "svc", 0), Ok(None));
    }
}
