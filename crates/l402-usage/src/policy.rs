//! Token usage policies (issue 3): how many paid requests one payment buys.

use std::fmt;
use std::num::NonZeroU32;

/// Largest N accepted for "N uses per token".
pub const MAX_USES: u32 = 1_000_000_000;

/// How often one token may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsePolicy {
    /// At most N paid requests per token (1 = single use, the seed's default).
    Limited(NonZeroU32),
    /// Any number of requests until the token expires (reference L402 behaviour;
    /// the seed's `l402_indefinite_access on`).
    Unlimited,
}

/// A usage-policy value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

impl UsePolicy {
    /// One paid request per payment.
    pub const SINGLE: UsePolicy = UsePolicy::Limited(NonZeroU32::MIN);

    /// Parses the `l402_token_uses` value: a count `1..=MAX_USES` or `unlimited`.
    pub fn parse(value: &str) -> Result<UsePolicy, PolicyError> {
        if value.eq_ignore_ascii_case("unlimited") {
            return Ok(UsePolicy::Unlimited);
        }
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PolicyError(format!(
                "\"{}\" is not a number of uses or \"unlimited\"",
                value.escape_debug()
            )));
        }
        let n: u32 = value
            .parse()
            .ok()
            .filter(|n| (1..=MAX_USES).contains(n))
            .ok_or_else(|| PolicyError(format!("uses must be between 1 and {MAX_USES}")))?;
        NonZeroU32::new(n)
            .map(UsePolicy::Limited)
            .ok_or_else(|| PolicyError("uses must be at least 1".into()))
    }

    /// The use limit, or `None` when unlimited.
    pub fn limit(&self) -> Option<u32> {
        match self {
            UsePolicy::Limited(n) => Some(n.get()),
            UsePolicy::Unlimited => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_unlimited() {
        assert_eq!(UsePolicy::parse("1"), Ok(UsePolicy::SINGLE));
        assert_eq!(UsePolicy::parse("25").map(|p| p.limit()), Ok(Some(25)));
        assert_eq!(UsePolicy::parse("Unlimited"), Ok(UsePolicy::Unlimited));
        assert_eq!(UsePolicy::Unlimited.limit(), None);
    }

    #[test]
    fn refuses_zero_negative_huge_and_text() {
        for bad in ["0", "-1", "", "1.5", "10x", "99999999999", "1000000001", " 1"] {
            assert!(UsePolicy::parse(bad).is_err(), "{bad}");
        }
    }
}
