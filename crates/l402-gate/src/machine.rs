//! The decision: [`start`] with the request's facts, [`resume`] with each I/O result, until
//! [`Step::Done`].
//!
//! The order is the order of docs/architecture.md, "The request pipeline": a presented
//! credential is verified first (a forged or expired one never causes I/O beyond a fresh
//! challenge); a verified token must have paid at least this request's price, then one use is
//! claimed under the location's policy; anything else is answered with a challenge, after the
//! invoice rate check. Every failure of a dependency ends in [`Verdict::Unavailable`]: nothing
//! is ever admitted without the claim the policy asks for.

use std::time::Duration;

use l402_core::{CredentialError, KeyRing, Terms, Unpaid};
use l402_usage::{keys, ClaimOutcome, RateOutcome};

use crate::facts::{Facts, PriceFact};
use crate::io::{CashuRejected, Failure, Io, IoResult, Payment};
use crate::method::l402::{self, Memo, Token};
use crate::method::cashu::{self, CashuPolicy, Mode};
use crate::method::Method;
use crate::policy::{Policy, Store};
use crate::reason::Reason;
use crate::verdict::{Admitted, Cause, Challenge, Event, Level, Verdict};

/// The most I/O steps one request takes (lookup, price and claim, then rate check, price and
/// invoice when the claim finds the token used up); a run that would take more ends in a 500.
pub const MAX_STEPS: u32 = 8;

/// `Retry-After` when the usage store has no room.
const RETRY_STORE_FULL: Duration = Duration::from_secs(10);
/// `Retry-After` when the price expression gives no price (the operator must fix it).
const RETRY_PRICE_INVALID: Duration = Duration::from_secs(60);
/// `Retry-After` when a mint's keysets are not loaded yet.
const RETRY_MINT: Duration = Duration::from_secs(5);

/// What the decision reads besides the request: the keys, and this worker's memo of verified
/// credentials (a cache of a pure function, so results do not depend on it).
pub struct Env<'e> {
    pub keys: &'e KeyRing,
    pub memo: Option<&'e mut Memo>,
}

/// What comes next.
#[derive(Debug)]
pub enum Step {
    /// Run `io`, then call [`resume`] with `pending` and its result.
    Io(Pending, Io),
    /// The decision, and the lines to log (in order).
    Done(Verdict, Vec<Event>),
}

/// A suspended decision: owned, so it can wait in the request while the I/O runs.
#[derive(Debug)]
pub struct Pending {
    stage: Stage,
    events: Vec<Event>,
    steps: u32,
}

impl Pending {
    /// The lines logged so far, when the I/O cannot run at all and the caller answers itself
    /// (the executor's runtime is gone, too many requests wait).
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}

#[derive(Debug)]
enum Stage {
    /// A macaroon without preimage: is its invoice settled?
    Detect(Unpaid),
    /// A verified token: the store's price of this request.
    AdmitPrice(Token, Terms),
    /// A verified token whose price is covered: one use.
    AdmitClaim(Token, u64),
    /// A challenge: the invoice rate check.
    ChallengeRate(Option<Reason>),
    /// A challenge: the store's price.
    ChallengePrice(Option<Reason>),
    /// A challenge: the invoice.
    ChallengeInvoice(Option<Reason>, u64),
    /// A Cashu token prechecked: the store's price of this request.
    CashuPrice(Box<l402_cashu::Token>),
    /// P2PK: the offline verdict on the token, for this price (msat).
    CashuVerify(Box<l402_cashu::Token>, u64),
    /// P2PK: the accepted proofs are being stored.
    CashuStore(l402_cashu::Accepted, u64),
    /// P2PK: the stored proofs are being marked spent.
    CashuSpend(l402_cashu::Accepted, u64),
    /// Standard: the mint's swap.
    CashuReceive(Box<l402_cashu::Token>, u64),
}

/// Decides what `facts` get under `policy`.
pub fn start(env: &mut Env<'_>, policy: &Policy<'_>, facts: &Facts<'_>) -> Step {
    if facts.already_challenged {
        return Step::Done(Verdict::AlreadyChallenged, Vec::new());
    }
    if let (true, Some(cors)) = (facts.preflight, policy.cors) {
        // A preflight carries no credential and buys nothing: never a challenge or an invoice.
        let allowed = facts.origin.is_some_and(|o| cors.allows(o));
        let events = match allowed {
            true => Vec::new(),
            false => vec![Event {
                level: Level::Info,
                message: "l402: CORS preflight from an origin not in \"l402_cors_origins\": 403".to_owned(),
            }],
        };
        return Step::Done(Verdict::Preflight { allowed }, events);
    }
    let run = Run { env, policy, facts, events: Vec::new(), steps: 0 };
    let Some(presented) = l402::recognise(&facts.carriers) else {
        if let Some((cashu, raw)) = policy.cashu.zip(cashu::recognise(&facts.carriers)) {
            return run.cashu(cashu, raw);
        }
        return run.challenge(None);
    };
    // A memo entry only pays off if the token can be presented again.
    let memo = if policy.uses.limit() == Some(1) { None } else { run.env.memo.as_deref_mut() };
    match l402::verify(run.env.keys, memo, presented, policy.service, facts.now(), facts.connection) {
        Ok(verified) => run.admit(verified),
        Err(Reason::Credential(CredentialError::MissingPreimage))
            if presented.source == l402_core::verify::CredentialSource::Authorization && policy.auto_detect =>
        {
            match l402::verify_unpaid(run.env.keys, presented, policy.service, facts.now()) {
                Ok(unpaid) => {
                    let io = Io::Lookup {
                        payment_hash: unpaid.payment_hash(),
                        lookup: unpaid.lookup().map(Into::into),
                        valid_until: unpaid.valid_until(),
                    };
                    run.io(Stage::Detect(unpaid), io)
                }
                Err(reason) => run.challenge(Some(reason)),
            }
        }
        Err(reason) => run.challenge(Some(reason)),
    }
}

/// Goes on with the result of the I/O `pending` asked for. `policy` and `facts` are those
/// [`start`] was given (the adapter extracts them again).
pub fn resume(env: &mut Env<'_>, policy: &Policy<'_>, facts: &Facts<'_>, pending: Pending, result: IoResult) -> Step {
    let Pending { stage, events, steps } = pending;
    let mut run = Run { env, policy, facts, events, steps };
    match (stage, result) {
        (Stage::Detect(unpaid), IoResult::Lookup(answer)) => match answer {
            Ok(Payment::Settled) => run.admit(Token::new(unpaid.settled())),
            Ok(Payment::Open) => run.done(Verdict::Pending {
                token_id: unpaid.token_id(),
                payment_hash: unpaid.payment_hash(),
                amount_msat: Terms::from_token_id(&unpaid.token_id()).map_or(0, |t| t.paid_msat),
            }),
            Ok(Payment::Gone) => run.challenge(Some(Reason::InvoiceGone)),
            Err(f) => run.failed(f),
        },
        (Stage::AdmitPrice(token, terms), IoResult::Price(answer)) => match answer {
            Ok(price) if terms.covers(price) => run.claim(token, price),
            Ok(_) => run.challenge(Some(Reason::Underpaid)),
            Err(f) => run.failed(f),
        },
        (Stage::AdmitClaim(token, price), IoResult::Claim(answer)) => match answer {
            Ok(ClaimOutcome::Accepted { remaining }) => run.admitted(token, price, remaining, true),
            Ok(ClaimOutcome::UsedUp) => run.challenge(Some(Reason::UsedUp)),
            Ok(ClaimOutcome::StoreFull) => run.store_full(
                "l402: the usage zone is full: a paid token was refused with 503 \
                 (claims are never evicted before their token expires); \
                 make \"l402_usage_zone\" larger or tokens shorter-lived",
            ),
            Err(f) => run.failed(f),
        },
        (Stage::ChallengeRate(reason), IoResult::RateCheck(answer)) => match answer {
            Ok(RateOutcome::Allowed) => run.challenge_price(reason),
            Ok(RateOutcome::Limited { retry_after_secs }) => {
                run.log(Level::Info, "l402: invoice rate limit reached for this client".to_owned());
                run.done(Verdict::RateLimited { retry_after: Duration::from_secs(retry_after_secs.max(1)) })
            }
            Ok(RateOutcome::StoreFull) => {
                run.store_full("l402: the usage zone is full: no room for a rate-limit entry")
            }
            Err(f) => run.failed(f),
        },
        (Stage::ChallengePrice(reason), IoResult::Price(answer)) => match answer {
            Ok(price) => run.invoice(reason, price),
            Err(f) => run.failed(f),
        },
        (Stage::ChallengeInvoice(reason, amount), IoResult::Invoice(answer)) => match answer {
            Ok(invoice) => {
                let policy = run.policy;
                let terms = l402::OfferTerms {
                    service: policy.service,
                    amount_msat: amount,
                    valid_until: run.minted_valid_until(),
                    legacy_lsat: policy.legacy_lsat,
                };
                let (offer, token_id) = l402::offer(run.env.keys, &terms, &invoice);
                let mut offers = vec![offer];
                if let Some(cashu) = policy.cashu {
                    offers.push(cashu::offer(cashu, amount));
                }
                run.done(Verdict::Challenge(Challenge {
                    reason,
                    offers,
                    amount_msat: amount,
                    token_id: Some(token_id),
                    payment_hash: Some(invoice.payment_hash),
                }))
            }
            Err(f) => run.failed(f),
        },
        (Stage::CashuPrice(token), IoResult::Price(answer)) => match answer {
            Ok(price) => run.cashu_priced(token, price),
            Err(f) => run.failed(f),
        },
        (Stage::CashuVerify(token, price), IoResult::CashuVerify(answer)) => match answer {
            Ok(Ok(accepted)) => {
                let ys = accepted.ys.clone();
                run.io(Stage::CashuStore(accepted, price), Io::CashuStore { token, ys })
            }
            Ok(Err(refusal)) => run.cashu_refused(refusal),
            Err(f) => run.failed(f),
        },
        (Stage::CashuStore(accepted, price), IoResult::CashuStore(answer)) => match answer {
            Ok(()) => {
                // Remembered until the token's latest lock ends (then a replay is refused by
                // the lock check), for ever for a proof locked without a locktime.
                let io = Io::SpendProofs { ys: accepted.ys.clone(), expires_at: accepted.spent_until, now: run.facts.now() };
                run.io(Stage::CashuSpend(accepted, price), io)
            }
            Err(f) => run.failed(f),
        },
        (Stage::CashuSpend(accepted, price), IoResult::SpendProofs(answer)) => match answer {
            Ok(l402_usage::SpendOutcome::Spent) => run.cashu_admitted(cashu::payment_id(&accepted.ys), price),
            Ok(l402_usage::SpendOutcome::AlreadySpent { .. }) => run.rejected(Reason::ProofSpent),
            Ok(l402_usage::SpendOutcome::StoreFull) => run.store_full(
                "l402: the usage zone is full: a Cashu payment was refused with 503 (its proofs are \
                 kept for redemption, so the client may present it again); make \"l402_usage_zone\" larger",
            ),
            Err(f) => run.failed(f),
        },
        (Stage::CashuReceive(token, price), IoResult::CashuReceive(answer)) => match answer {
            Ok(Ok(_received)) => {
                let ys: Vec<[u8; 33]> = token.proofs.iter().filter_map(|p| l402_cashu::proof_y(&p.secret).ok()).collect();
                run.cashu_admitted(cashu::payment_id(&ys), price)
            }
            Ok(Err(CashuRejected::Spent)) => run.rejected(Reason::ProofSpent),
            Ok(Err(CashuRejected::Pending)) => run.rejected(Reason::ProofPending),
            Ok(Err(CashuRejected::Refused(r))) => run.cashu_refused(r),
            Err(f) => run.failed(f),
        },
        (_, _) => {
            run.log(Level::Error, "l402: internal error: an I/O result of the wrong kind; answering 500".to_owned());
            run.done(Verdict::Internal)
        }
    }
}

/// One run of the decision: borrowed inputs and the log so far.
struct Run<'r, 'e, 'p, 'f> {
    env: &'r mut Env<'e>,
    policy: &'r Policy<'p>,
    facts: &'r Facts<'f>,
    events: Vec<Event>,
    steps: u32,
}

impl Run<'_, '_, '_, '_> {
    fn log(&mut self, level: Level, message: String) {
        self.events.push(Event { level, message });
    }

    fn io(mut self, stage: Stage, io: Io) -> Step {
        if self.steps >= MAX_STEPS {
            self.log(Level::Error, "l402: internal error: the decision took too many steps; answering 500".to_owned());
            return self.done(Verdict::Internal);
        }
        Step::Io(Pending { stage, events: self.events, steps: self.steps + 1 }, io)
    }

    fn done(mut self, verdict: Verdict) -> Step {
        if self.policy.dry_run {
            let would = match &verdict {
                Verdict::Admitted(_) => "would admit".to_owned(),
                Verdict::Challenge(Challenge { reason: Some(r), .. }) => format!("would refuse: {r}"),
                Verdict::Challenge(_) => "would challenge".to_owned(),
                Verdict::Pending { .. } => "would answer: payment not received yet".to_owned(),
                Verdict::RateLimited { .. } => "would answer 429: too many invoice requests".to_owned(),
                Verdict::Unavailable { cause, .. } => format!("would answer 503: {}", cause.text()),
                Verdict::Internal => "would answer 500".to_owned(),
                Verdict::AlreadyChallenged => "would serve the error page".to_owned(),
                Verdict::Preflight { .. } => "would answer the CORS preflight".to_owned(),
                Verdict::Session(_) => "would keep the credential in the page's cookie".to_owned(),
                Verdict::PaymentRejected { reason, .. } => format!("would answer 400: {reason}"),
            };
            self.log(Level::Info, format!("l402: dry run: {would}"));
        }
        Step::Done(verdict, self.events)
    }

    fn failed(mut self, f: Failure) -> Step {
        self.log(Level::Error, f.log);
        self.done(Verdict::Unavailable { cause: f.cause, retry_after: f.retry_after })
    }

    fn store_full(mut self, line: &str) -> Step {
        self.log(Level::Error, line.to_owned());
        self.done(Verdict::Unavailable { cause: Cause::StoreFull, retry_after: RETRY_STORE_FULL })
    }

    /// The location's configured price, or the verdict when there is none.
    fn configured_price(&mut self) -> Result<u64, Verdict> {
        match &self.facts.price {
            PriceFact::Msat(p) => Ok(*p),
            PriceFact::Unevaluable => {
                self.log(Level::Error, "l402: cannot evaluate \"l402_amount_msat_default\"".to_owned());
                Err(Verdict::Internal)
            }
            PriceFact::Invalid { log } => {
                let line = log.clone();
                self.log(Level::Error, line);
                Err(Verdict::Unavailable { cause: Cause::Price, retry_after: RETRY_PRICE_INVALID })
            }
        }
    }

    /// A verified token: it must have paid at least this request's price (tokens are bound to
    /// what they paid, `l402_core::Terms`), then one use is claimed.
    fn admit(mut self, token: Token) -> Step {
        let Some(terms) = token.verified.terms else {
            return self.challenge(Some(Reason::NoTerms));
        };
        let configured = match self.configured_price() {
            Ok(p) => p,
            Err(v) => return self.done(v),
        };
        if self.policy.store == Store::Redis && self.policy.store_price {
            let io = Io::Price { path: String::from_utf8_lossy(self.facts.path).into_owned(), configured };
            return self.io(Stage::AdmitPrice(token, terms), io);
        }
        if !terms.covers(configured) {
            return self.challenge(Some(Reason::Underpaid));
        }
        self.claim(token, configured)
    }

    fn claim(self, token: Token, price: u64) -> Step {
        let verified = token.verified;
        // The payment page proves a credential before it reloads into the content: checked
        // like a request to serve (signature, caveats, service, payment, price), never spent.
        if self.facts.session {
            let valid_until = verified.terms.and_then(|t| t.valid_until);
            return self.done(Verdict::Session(crate::verdict::Session { token_id: verified.token_id, valid_until }));
        }
        // Uncounted tokens claim nothing.
        let Some(limit) = self.policy.uses.limit() else {
            return self.admitted(token, price, None, false);
        };
        // An internal redirect (index, try_files, error_page) re-runs the access phase of the
        // same request: it already holds its use of this token (but pays the new price).
        if self.facts.claimed == Some(token.claim_key) {
            return self.admitted(token, price, None, true);
        }
        if self.policy.dry_run {
            return self.admitted(token, price, None, false);
        }
        let io = Io::Claim {
            key: token.claim_key,
            token_id: verified.token_id,
            limit,
            // The claim lives as long as the server minted the token valid: never as long as
            // a caveat the client added says.
            expires_at: l402_usage::claim_expiry(verified.terms.and_then(|t| t.valid_until)),
            now: self.facts.now(),
        };
        self.io(Stage::AdmitClaim(token, price), io)
    }

    /// `claimed`: the request holds a use of the token (claimed now or before a redirect).
    fn admitted(self, token: Token, price: u64, uses_left: Option<u32>, claimed: bool) -> Step {
        let v = token.verified;
        self.done(Verdict::Admitted(Admitted {
            method: Method::L402,
            token_id: v.token_id,
            payment_hash: v.payment_hash,
            amount_msat: price,
            uses_left,
            claimed: claimed.then_some(token.claim_key),
            valid_until: match (v.valid_until, v.terms.and_then(|t| t.valid_until)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }))
    }

    /// A Cashu token presented: prechecked here (bounded, no I/O), then priced.
    fn cashu(mut self, cashu: &CashuPolicy, raw: &[u8]) -> Step {
        let configured = match self.configured_price() {
            Ok(p) => p,
            Err(v) => return self.done(v),
        };
        // The allow-list and the unit first, before any I/O; the amount once the price is known.
        let token = match cashu::precheck_token(raw, cashu, 0, self.facts.now()) {
            Ok(token) => Box::new(token),
            Err(refusal) => return self.cashu_refused(refusal),
        };
        if self.policy.store == Store::Redis && self.policy.store_price {
            let io = Io::Price { path: String::from_utf8_lossy(self.facts.path).into_owned(), configured };
            return self.io(Stage::CashuPrice(token), io);
        }
        self.cashu_priced(token, configured)
    }

    /// The price is known: P2PK tokens are judged offline, others swapped at their mint.
    fn cashu_priced(self, token: Box<l402_cashu::Token>, price: u64) -> Step {
        let Some(cashu) = self.policy.cashu else {
            return self.done(Verdict::Internal);
        };
        if let Err(refusal) = l402_cashu::precheck(&token, &cashu::terms(cashu, price, self.facts.now()), None) {
            return self.cashu_refused(refusal);
        }
        if self.policy.dry_run {
            return self.cashu_admitted([0; 32], price);
        }
        match cashu.mode {
            Mode::P2pk { .. } => self.io(Stage::CashuVerify(token.clone(), price), Io::CashuVerify { token, price_msat: price }),
            Mode::Standard => self.io(Stage::CashuReceive(token.clone(), price), Io::CashuReceive { token, price_msat: price }),
        }
    }

    /// A refused Cashu payment: 400, or 503 when the fault is ours (keysets not loaded yet).
    fn cashu_refused(mut self, refusal: l402_cashu::Refusal) -> Step {
        if refusal.fault() == l402_cashu::Fault::Server {
            self.log(Level::Error, format!("l402: cannot judge a Cashu payment yet: {refusal}; answering 503"));
            return self.done(Verdict::Unavailable { cause: Cause::Mint, retry_after: RETRY_MINT });
        }
        self.rejected(Reason::Cashu(refusal))
    }

    fn rejected(mut self, reason: Reason) -> Step {
        self.log(Level::Info, format!("l402: Cashu payment refused: {reason}"));
        self.done(Verdict::PaymentRejected { method: Method::Cashu, reason })
    }

    /// One request served for one Cashu payment (a payment is not a reusable token).
    fn cashu_admitted(self, payment_id: [u8; 32], price: u64) -> Step {
        self.done(Verdict::Admitted(Admitted {
            method: Method::Cashu,
            token_id: payment_id,
            payment_hash: [0; 32],
            amount_msat: price,
            uses_left: None,
            claimed: None,
            valid_until: None,
        }))
    }

    /// A fresh challenge, after the invoice rate check.
    fn challenge(mut self, reason: Option<Reason>) -> Step {
        if let Some(reason) = reason {
            self.log(Level::Info, format!("l402: credential refused: {reason}"));
        }
        match self.policy.rate_limit {
            Some(rate) if !self.policy.dry_run => {
                let key = keys::rate_key(self.policy.service, self.facts.client_addr);
                let now_ms = self.facts.now_ms;
                self.io(Stage::ChallengeRate(reason), Io::RateCheck { key, rate, now_ms })
            }
            _ => self.challenge_price(reason),
        }
    }

    fn challenge_price(mut self, reason: Option<Reason>) -> Step {
        let configured = match self.configured_price() {
            Ok(p) => p,
            Err(v) => return self.done(v),
        };
        if self.policy.store == Store::Redis && self.policy.store_price {
            let io = Io::Price { path: String::from_utf8_lossy(self.facts.path).into_owned(), configured };
            return self.io(Stage::ChallengePrice(reason), io);
        }
        self.invoice(reason, configured)
    }

    fn invoice(self, reason: Option<Reason>, amount: u64) -> Step {
        if self.policy.dry_run {
            return self.done(Verdict::Challenge(Challenge {
                reason,
                offers: Vec::new(),
                amount_msat: amount,
                token_id: None,
                payment_hash: None,
            }));
        }
        let io = Io::Invoice {
            amount_msat: amount,
            memo: format!("L402 access to {}", self.policy.service),
            expiry_secs: self.policy.invoice_expiry_secs,
        };
        self.io(Stage::ChallengeInvoice(reason, amount), io)
    }

    fn minted_valid_until(&self) -> Option<u64> {
        let timeout = self.policy.macaroon_timeout;
        (timeout > 0).then(|| self.facts.now().saturating_add(timeout))
    }
}
