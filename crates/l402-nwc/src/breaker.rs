//! [`Breaker`]: when the wallet stops answering, stop asking it for a short while.
//!
//! A NIP-47 request to a wallet service that is offline is accepted by the relay and then
//! never answered: without this, every challenge would wait for the whole call timeout. The
//! breaker counts such silences (and relay acknowledgements that never came) as failures:
//!
//! - **closed** (healthy): every call goes through. One silent call opens it.
//! - **open** for a cool-down ([`BreakerSettings::open_first`], doubling after each failed
//!   probe up to [`BreakerSettings::open_max`]): calls fail at once with `Unavailable`.
//! - **half-open** once the cool-down is over: one call, the probe, goes through while the
//!   others still fail at once. The wallet's answer (any answer, a NIP-47 error included)
//!   closes the breaker; silence opens it again. A probe that ends without telling (the relay
//!   connection dropped, the relay refused the event) lets the next call probe.
//!
//! Any answer, from any call, closes it, and so does the wallet announcing itself (a fresh
//! info event, kind 13194). A connection on which no info event was found starts half-open:
//! the first call probes whether anyone answers.
//!
//! Pure state: no I/O and no clock of its own (every method takes `now`), so it is tested
//! without a relay.

use std::time::{Duration, Instant};

/// The first cool-down after a silent call.
pub const OPEN_FIRST: Duration = Duration::from_secs(2);
/// The longest cool-down (within the `Retry-After` of an unavailable backend, 5 s).
pub const OPEN_MAX: Duration = Duration::from_secs(5);

/// How long the breaker stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Cool-down after the first silent call (zero: every call after a failure is a probe,
    /// one at a time).
    pub open_first: Duration,
    /// Longest cool-down, reached by doubling after each failed probe.
    pub open_max: Duration,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings { open_first: OPEN_FIRST, open_max: OPEN_MAX }
    }
}

/// What a call may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// Go ahead (closed).
    Pass,
    /// Go ahead as the probe (half-open); report the outcome with `probe: true`.
    Probe,
    /// Fail at once: open for `left` more (zero: a probe is in flight).
    Refuse {
        /// Time until a probe is let through.
        left: Duration,
        /// Why the breaker opened.
        cause: String,
    },
}

/// How a call that went through ended, as far as the wallet's health is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The wallet answered (a result or a NIP-47 error).
    Answered,
    /// No answer by the deadline (the wallet, or the relay's acknowledgement): the cause.
    Silent(String),
    /// Tells nothing about the wallet (connection lost, event refused by the relay, our own
    /// failure to build the request).
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The breaker of one wallet connection.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    /// The cool-down the next opening uses.
    open_for: Duration,
    cause: String,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker { settings, state: State::Closed, open_for: settings.open_first, cause: String::new() }
    }

    /// Whether calls go through without restriction.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the breaker last opened (empty if it never did).
    pub fn cause(&self) -> &str {
        &self.cause
    }

    /// The cool-down the next opening uses.
    pub fn next_cool_down(&self) -> Duration {
        self.open_for
    }

    /// Whether a call starting at `now` may go, and how.
    pub fn admit(&mut self, now: Instant) -> Admit {
        match self.state {
            State::Closed => Admit::Pass,
            State::Open { until } if now < until => Admit::Refuse { left: until - now, cause: self.cause.clone() },
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Admit::Probe
            }
            State::HalfOpen { probing: true } => Admit::Refuse { left: Duration::ZERO, cause: self.cause.clone() },
        }
    }

    /// Records how a call admitted with [`Admit::Pass`] (`probe: false`) or [`Admit::Probe`]
    /// (`probe: true`) ended, at `now`. Returns the cool-down when this opened the breaker.
    pub fn record(&mut self, now: Instant, probe: bool, outcome: Outcome) -> Option<Duration> {
        match outcome {
            Outcome::Answered => {
                self.close();
                None
            }
            Outcome::Inconclusive => {
                if probe && self.state == (State::HalfOpen { probing: true }) {
                    self.state = State::HalfOpen { probing: false };
                }
                None
            }
            Outcome::Silent(cause) => {
                let reopening = probe && self.state == (State::HalfOpen { probing: true });
                if !reopening && matches!(self.state, State::Open { .. } | State::HalfOpen { probing: true }) {
                    // A call admitted before the breaker opened: already counted.
                    return None;
                }
                let cool_down = self.open_for;
                self.state = State::Open { until: now + cool_down };
                self.cause = cause;
                if reopening {
                    self.open_for = (self.open_for * 2).min(self.settings.open_max).max(self.settings.open_first);
                }
                Some(cool_down)
            }
        }
    }

    /// The wallet announced itself (a fresh info event): close.
    pub fn announced(&mut self) {
        self.close();
    }

    /// A new connection found no info event from the wallet: unless already open, the next
    /// call probes (and the others wait for it by failing at once).
    pub fn suspect(&mut self, cause: String) {
        if self.state == State::Closed {
            self.state = State::HalfOpen { probing: false };
            self.cause = cause;
        }
    }

    fn close(&mut self) {
        self.state = State::Closed;
        self.open_for = self.settings.open_first;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn breaker() -> (Breaker, Instant) {
        (Breaker::new(BreakerSettings::default()), Instant::now())
    }

    fn silent() -> Outcome {
        Outcome::Silent("the wallet did not answer".into())
    }

    fn refused(a: &Admit) -> Option<Duration> {
        match a {
            Admit::Refuse { left, .. } => Some(*left),
            _ => None,
        }
    }

    #[test]
    fn closed_passes_and_answers_keep_it_closed() {
        let (mut b, t) = breaker();
        for _ in 0..3 {
            assert_eq!(b.admit(t), Admit::Pass);
            assert_eq!(b.record(t, false, Outcome::Answered), None);
        }
        assert!(b.is_closed());
        assert_eq!(b.record(t, false, Outcome::Inconclusive), None);
        assert!(b.is_closed());
    }

    #[test]
    fn one_silent_call_opens_and_following_calls_fail_at_once_until_the_cool_down_ends() {
        let (mut b, t) = breaker();
        assert_eq!(b.admit(t), Admit::Pass);
        assert_eq!(b.record(t, false, silent()), Some(OPEN_FIRST));
        assert!(!b.is_closed());
        let a = b.admit(t + S);
        assert_eq!(refused(&a), Some(OPEN_FIRST - S));
        assert!(matches!(a, Admit::Refuse { cause, .. } if cause == "the wallet did not answer"));
        assert_eq!(refused(&b.admit(t + OPEN_FIRST - Duration::from_millis(1))), Some(Duration::from_millis(1)));
        // Cool-down over: one probe, the others still refused while it runs.
        assert_eq!(b.admit(t + OPEN_FIRST), Admit::Probe);
        assert_eq!(refused(&b.admit(t + OPEN_FIRST)), Some(Duration::ZERO));
        assert_eq!(b.record(t + OPEN_FIRST + S, true, Outcome::Answered), None);
        assert!(b.is_closed());
        assert_eq!(b.admit(t + OPEN_FIRST + S), Admit::Pass);
    }

    #[test]
    fn failed_probes_double_the_cool_down_up_to_the_cap_and_an_answer_resets_it() {
        let (mut b, mut t) = breaker();
        b.admit(t);
        b.record(t, false, silent());
        let mut seen = vec![];
        for _ in 0..5 {
            t += OPEN_MAX;
            assert_eq!(b.admit(t), Admit::Probe);
            seen.push(b.record(t, true, silent()).unwrap());
        }
        assert_eq!(seen, vec![Duration::from_secs(2), Duration::from_secs(4), OPEN_MAX, OPEN_MAX, OPEN_MAX]);
        t += OPEN_MAX;
        assert_eq!(b.admit(t), Admit::Probe);
        b.record(t, true, Outcome::Answered);
        assert_eq!(b.next_cool_down(), OPEN_FIRST);
        b.admit(t);
        assert_eq!(b.record(t, false, silent()), Some(OPEN_FIRST));
    }

    #[test]
    fn an_inconclusive_probe_lets_the_next_call_probe() {
        let (mut b, t) = breaker();
        b.admit(t);
        b.record(t, false, silent());
        let t = t + OPEN_FIRST;
        assert_eq!(b.admit(t), Admit::Probe);
        assert_eq!(b.record(t, true, Outcome::Inconclusive), None);
        assert_eq!(b.admit(t), Admit::Probe);
    }

    #[test]
    fn calls_admitted_before_the_opening_do_not_extend_it_but_their_answer_closes_it() {
        let (mut b, t) = breaker();
        assert_eq!(b.admit(t), Admit::Pass);
        assert_eq!(b.admit(t), Admit::Pass);
        assert_eq!(b.admit(t), Admit::Pass);
        assert_eq!(b.record(t + S, false, silent()), Some(OPEN_FIRST));
        assert_eq!(b.record(t + S * 2, false, silent()), None);
        assert_eq!(refused(&b.admit(t + S * 2)), Some(OPEN_FIRST - S));
        // The third was answered after all: the wallet is there.
        b.record(t + S * 2, false, Outcome::Answered);
        assert_eq!(b.admit(t + S * 2), Admit::Pass);
    }

    #[test]
    fn a_pass_call_ending_silent_while_a_probe_runs_does_not_reopen() {
        let (mut b, t) = breaker();
        b.admit(t);
        b.record(t, false, silent());
        assert_eq!(b.admit(t + OPEN_FIRST), Admit::Probe);
        assert_eq!(b.record(t + OPEN_FIRST, false, silent()), None);
        assert_eq!(b.record(t + OPEN_FIRST, true, silent()), Some(OPEN_FIRST));
    }

    #[test]
    fn the_wallet_announcing_itself_closes_at_once() {
        let (mut b, t) = breaker();
        b.admit(t);
        b.record(t, false, silent());
        b.announced();
        assert_eq!(b.admit(t), Admit::Pass);
        assert_eq!(b.next_cool_down(), OPEN_FIRST);
    }

    #[test]
    fn no_info_event_makes_the_first_call_a_probe() {
        let (mut b, t) = breaker();
        b.suspect("no info event".into());
        assert_eq!(b.admit(t), Admit::Probe);
        assert!(matches!(b.admit(t), Admit::Refuse { left, cause } if left.is_zero() && cause == "no info event"));
        b.record(t, true, Outcome::Answered);
        assert!(b.is_closed());
        // Suspecting an open breaker changes nothing.
        b.admit(t);
        b.record(t, false, silent());
        b.suspect("no info event".into());
        assert!(refused(&b.admit(t)).is_some_and(|l| l == OPEN_FIRST));
    }

    #[test]
    fn a_zero_cool_down_only_serialises_probes() {
        let mut b = Breaker::new(BreakerSettings { open_first: Duration::ZERO, open_max: Duration::ZERO });
        let t = Instant::now();
        b.admit(t);
        assert_eq!(b.record(t, false, silent()), Some(Duration::ZERO));
        assert_eq!(b.admit(t), Admit::Probe);
        assert_eq!(b.record(t, true, silent()), Some(Duration::ZERO));
        assert_eq!(b.admit(t), Admit::Probe);
    }
}
