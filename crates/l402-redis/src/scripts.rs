//! The Lua scripts. Each is one atomic step on the server (never check-then-set across round
//! trips) and runs unchanged on a Redis Cluster: the claim and rate scripts touch one key, the
//! spend script only keys under one hash tag (one slot).
//! They are sent with `EVALSHA`, falling back to `SCRIPT LOAD` + `EVALSHA` on `NOSCRIPT`
//! (`redis::Script`).

use std::sync::LazyLock;

use l402_usage::{ClaimOutcome, Rate, RateOutcome, SpendOutcome};

use crate::error::StoreError;

/// Claims one use of a token.
///
/// `KEYS[1]` = `l402:use:<hex token id>`, `ARGV[1]` = the use limit, `ARGV[2]` = when the key
/// may expire (unix seconds) or `""` for never.
///
/// - The key holds the number of uses claimed so far, a decimal integer.
/// - Anything else under the key (not digits, a hash, ...) raises `L402BADVALUE`: the caller
///   answers 503, never accepts.
/// - If `used >= limit`, nothing changes and the answer is `{0, used}` (used up).
/// - Otherwise the counter goes up by one and the answer is `{1, used after}`. A new key is
///   created with `EXAT expires_at` (at least one second ahead of Redis' clock, so an
///   already-past expiry never records a claim that vanishes at once), or without TTL;
///   `INCR` on an existing key keeps its TTL.
pub(crate) static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local limit = tonumber(ARGV[1])
local cur = redis.pcall('GET', KEYS[1])
if type(cur) == 'table' and cur.err then
  return redis.error_reply('L402BADVALUE the claim key holds a value that is not a string')
end
local used = 0
if cur then
  if string.len(cur) > 15 or not string.match(cur, '^%d+$') then
    return redis.error_reply('L402BADVALUE the claim counter is not a non-negative integer')
  end
  used = tonumber(cur)
end
if used >= limit then
  return {0, used}
end
if cur then
  return {1, redis.call('INCR', KEYS[1])}
end
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], '1')
else
  local now = tonumber(redis.call('TIME')[1])
  local at = math.max(tonumber(ARGV[2]), now + 1)
  redis.call('SET', KEYS[1], '1', 'EXAT', string.format('%d', at))
end
return {1, 1}
"#,
    )
});

/// Marks every proof of a Cashu token spent, all or none.
///
/// `KEYS` = `l402:{proofs}:<hex Y>` for each proof (one hash tag: one slot), `ARGV[1]` = when
/// the keys may expire (unix seconds) or `""` for never.
///
/// - If any key exists, nothing changes and the answer is `{0, index}` (1-based, the first
///   spent one).
/// - Otherwise every key is set to `1` (with `EXAT`, at least one second ahead of Redis'
///   clock, or without TTL) and the answer is `{1, n}`.
pub(crate) static SPEND: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    return {0, i}
  end
end
local at = nil
if ARGV[1] ~= '' then
  local now = tonumber(redis.call('TIME')[1])
  at = string.format('%d', math.max(tonumber(ARGV[1]), now + 1))
end
for _, k in ipairs(KEYS) do
  if at then
    redis.call('SET', k, '1', 'EXAT', at)
  else
    redis.call('SET', k, '1')
  end
end
return {1, #KEYS}
"#,
    )
});

/// Reads [`SPEND`]'s `{spent, n_or_index}` for a token of `n` proofs.
pub(crate) fn spend_outcome(reply: &[i64], n: usize) -> Result<SpendOutcome, StoreError> {
    let n = i64::try_from(n).map_err(|_| bad("spend", reply))?;
    match *reply {
        [1, count] if count == n => Ok(SpendOutcome::Spent),
        [0, index] if (1..=n).contains(&index) => Ok(SpendOutcome::AlreadySpent {
            index: usize::try_from(index - 1).map_err(|_| bad("spend", reply))?,
        }),
        _ => Err(bad("spend", reply)),
    }
}

/// One GCRA step (the arithmetic of `l402_usage::gcra`) on Redis' own clock.
///
/// `KEYS[1]` = `l402:rate:<hex key>`, `ARGV[1]` = emission interval (ms), `ARGV[2]` =
/// tolerance (ms). The key holds the theoretical arrival time (TAT, unix ms).
///
/// - `now` = `TIME` in ms; `tat = max(stored TAT or now, now)`.
/// - If `tat - now > tolerance`: denied, `{0, ceil((tat - now - tolerance) / 1000) >= 1}`
///   (seconds for `Retry-After`); the stored TAT stays.
/// - Otherwise allowed, `{1, 0}`; the new TAT `tat + interval` is stored with
///   `PX new_tat - now`, so the key lives exactly as long as it matters.
/// - A non-integer under the key raises `L402BADVALUE` (503, never fail open).
pub(crate) static RATE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r#"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = now
local cur = redis.pcall('GET', KEYS[1])
if type(cur) == 'table' and cur.err then
  return redis.error_reply('L402BADVALUE the rate key holds a value that is not a string')
end
if cur then
  if string.len(cur) > 15 or not string.match(cur, '^%d+$') then
    return redis.error_reply('L402BADVALUE the rate entry is not a non-negative integer')
  end
  tat = math.max(tonumber(cur), now)
end
if tat - now > tolerance then
  return {0, math.max(math.ceil((tat - now - tolerance) / 1000), 1)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', new_tat - now))
return {1, 0}
"#,
    )
});

/// Latest expiry passed to Redis as such (the year 9999); anything later means "never".
pub(crate) const MAX_EXPIRES_AT: u64 = 253_402_300_799;

/// The `ARGV[2]` of [`CLAIM`].
pub(crate) fn expiry_arg(expires_at: Option<u64>) -> String {
    match expires_at {
        Some(t) if t <= MAX_EXPIRES_AT => t.to_string(),
        _ => String::new(),
    }
}

/// `ARGV[1..=2]` of [`RATE`].
pub(crate) fn rate_args(rate: Rate) -> (u64, u64) {
    (rate.emission_interval_ms(), rate.tolerance_ms())
}

fn bad(what: &str, reply: &[i64]) -> StoreError {
    StoreError::InvalidReply {
        cause: format!("unexpected {what} script reply {reply:?}"),
    }
}

/// Reads [`CLAIM`]'s `{accepted, used}`.
pub(crate) fn claim_outcome(reply: &[i64], limit: u32) -> Result<ClaimOutcome, StoreError> {
    match *reply {
        [1, used] if used >= 1 && used <= i64::from(limit) => Ok(ClaimOutcome::Accepted {
            remaining: Some(limit - u32::try_from(used).map_err(|_| bad("claim", reply))?),
        }),
        [0, used] if used >= 0 => Ok(ClaimOutcome::UsedUp),
        _ => Err(bad("claim", reply)),
    }
}

/// Reads [`RATE`]'s `{allowed, retry_after_secs}`.
pub(crate) fn rate_outcome(reply: &[i64]) -> Result<RateOutcome, StoreError> {
    match *reply {
        [1, _] => Ok(RateOutcome::Allowed),
        [0, secs] if secs >= 1 => Ok(RateOutcome::Limited {
            retry_after_secs: secs.unsigned_abs(),
        }),
        _ => Err(bad("rate", reply)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(
            claim_outcome(&[1, 1], 3),
            Ok(ClaimOutcome::Accepted { remaining: Some(2) })
        );
        assert_eq!(claim_outcome(&[0, 3], 3), Ok(ClaimOutcome::UsedUp));
        assert!(claim_outcome(&[1, 4], 3).is_err());
        assert!(claim_outcome(&[1], 3).is_err());
        assert_eq!(rate_outcome(&[1, 0]), Ok(RateOutcome::Allowed));
        assert_eq!(
            rate_outcome(&[0, 7]),
            Ok(RateOutcome::Limited { retry_after_secs: 7 })
        );
        assert!(rate_outcome(&[0, 0]).is_err());
    }

    #[test]
    fn expiry() {
        assert_eq!(expiry_arg(None), "");
        assert_eq!(expiry_arg(Some(1_700_000_000)), "1700000000");
        assert_eq!(expiry_arg(Some(u64::MAX)), "");
    }
}
