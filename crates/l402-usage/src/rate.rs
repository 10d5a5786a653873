//! The invoice-creation rate limit (`l402_invoice_rate_limit Nr/s|m|h`) as GCRA, the
//! "generic cell rate algorithm" behind nginx's `limit_req`: a client may create `count`
//! challenges at once, then one every `period / count`.
//!
//! State per client is one number, the theoretical arrival time (TAT) in milliseconds. The
//! same arithmetic runs in the shared memory zone ([`crate::table::rate_check`]) and, as a Lua
//! script, in Redis.

use std::fmt;

/// `N` requests per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (also the burst size), `1..=MAX_RATE_COUNT`.
    pub count: u32,
    /// The period in milliseconds: 1 000 (`r/s`), 60 000 (`r/m`) or 3 600 000 (`r/h`).
    pub period_ms: u64,
}

/// Largest N in `Nr/…`.
pub const MAX_RATE_COUNT: u32 = 1_000_000;

/// A rate value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError(String);

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RateError {}

impl Rate {
    /// Parses `Nr/s`, `Nr/m` or `Nr/h` (the seed's syntax, and `limit_req_zone`'s).
    pub fn parse(value: &str) -> Result<Rate, RateError> {
        let bad = || {
            RateError(format!(
                "\"{}\" is not a rate like 10r/s, 30r/m or 100r/h",
                value.escape_debug()
            ))
        };
        let (n, unit) = value.split_once("r/").ok_or_else(bad)?;
        let period_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let count: u32 = n
            .parse()
            .ok()
            .filter(|c| (1..=MAX_RATE_COUNT).contains(c))
            .ok_or_else(|| RateError(format!("the count must be between 1 and {MAX_RATE_COUNT}")))?;
        Ok(Rate { count, period_ms })
    }

    /// Milliseconds between two requests at the steady rate (≥ 1).
    pub fn emission_interval_ms(&self) -> u64 {
        (self.period_ms / u64::from(self.count.max(1))).max(1)
    }

    /// How far ahead of now the TAT may run: a burst of `count` requests.
    pub fn tolerance_ms(&self) -> u64 {
        self.period_ms.saturating_sub(self.emission_interval_ms())
    }
}

/// What [`gcra`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcraDecision {
    /// Allowed; store `new_tat_ms`.
    Allow {
        /// The TAT to store.
        new_tat_ms: u64,
    },
    /// Refused; the stored TAT stays. Retry after this many seconds (≥ 1).
    Deny {
        /// Seconds until a request would be allowed.
        retry_after_secs: u64,
    },
}

/// One GCRA step: `tat_ms` is the stored TAT (`None` for a new client), `now_ms` the clock.
pub fn gcra(rate: Rate, tat_ms: Option<u64>, now_ms: u64) -> GcraDecision {
    let tat = tat_ms.unwrap_or(now_ms).max(now_ms);
    let tolerance = rate.tolerance_ms();
    if tat - now_ms > tolerance {
        let wait_ms = tat - now_ms - tolerance;
        return GcraDecision::Deny {
            retry_after_secs: wait_ms.div_ceil(1000).max(1),
        };
    }
    GcraDecision::Allow {
        new_tat_ms: tat.saturating_add(rate.emission_interval_ms()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_seed_syntax() {
        assert_eq!(
            Rate::parse("10r/s"),
            Ok(Rate {
                count: 10,
                period_ms: 1000
            })
        );
        assert_eq!(Rate::parse("30r/m").map(|r| r.period_ms), Ok(60_000));
        assert_eq!(Rate::parse("1r/h").map(|r| r.period_ms), Ok(3_600_000));
        for bad in ["", "10", "10r", "10r/d", "0r/s", "-1r/s", "r/s", "1.5r/s", "10 r/s", "2000000r/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    fn run(rate: Rate, times: &[u64]) -> Vec<bool> {
        let mut tat = None;
        times
            .iter()
            .map(|&now| match gcra(rate, tat, now) {
                GcraDecision::Allow { new_tat_ms } => {
                    tat = Some(new_tat_ms);
                    true
                }
                GcraDecision::Deny { .. } => false,
            })
            .collect()
    }

    #[test]
    fn burst_of_count_then_steady_rate() {
        let rate = Rate::parse("3r/m").unwrap_or(Rate { count: 0, period_ms: 0 });
        // Three at once pass, the fourth waits 20 s (one emission interval).
        assert_eq!(run(rate, &[0, 0, 0, 0]), vec![true, true, true, false]);
        assert_eq!(run(rate, &[0, 0, 0, 20_000]), vec![true, true, true, true]);
        assert_eq!(run(rate, &[0, 0, 0, 19_000]), vec![true, true, true, false]);
    }

    #[test]
    fn retry_after_is_the_wait_rounded_up() {
        let rate = Rate {
            count: 1,
            period_ms: 60_000,
        };
        let first = gcra(rate, None, 1_000);
        assert_eq!(first, GcraDecision::Allow { new_tat_ms: 61_000 });
        assert_eq!(
            gcra(rate, Some(61_000), 1_500),
            GcraDecision::Deny {
                retry_after_secs: 60
            }
        );
    }

    proptest! {
        /// Over any window of one period, at most `2 × count` requests pass (burst + refill),
        /// and at a steady pace under the rate nothing is refused.
        #[test]
        fn never_more_than_twice_the_rate_in_a_period(count in 1u32..50, gaps in proptest::collection::vec(0u64..200, 1..400)) {
            let rate = Rate { count, period_ms: 1000 };
            let mut now = 0;
            let times: Vec<u64> = gaps.iter().map(|g| { now += g; now }).collect();
            let passed: Vec<u64> = times.iter().zip(run(rate, &times)).filter(|(_, ok)| *ok).map(|(t, _)| *t).collect();
            for (i, &t) in passed.iter().enumerate() {
                let in_window = passed[i..].iter().take_while(|&&u| u < t + 1000).count();
                prop_assert!(in_window <= 2 * count as usize);
            }
        }

        #[test]
        fn steady_pace_under_the_rate_is_never_refused(count in 1u32..100, n in 1usize..300) {
            let rate = Rate { count, period_ms: 1000 };
            let step = rate.emission_interval_ms();
            let times: Vec<u64> = (0..n as u64).map(|i| i * step).collect();
            prop_assert!(run(rate, &times).into_iter().all(|ok| ok));
        }
    }
}
