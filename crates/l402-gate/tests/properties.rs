//! Properties of the decision under arbitrary I/O answers (issue 9, item 3): every run ends in
//! a verdict within a bounded number of steps; a policy that counts uses never admits without
//! a successful claim; a failed store, backend or price never admits; the same facts and
//! results always give the same verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use l402_core::{KeyRing, Terms};
use l402_gate::{Cause, Env, Failure, Invoiced, Io, IoResult, Level, Payment, Policy, PriceFact, Store, Verdict, MAX_STEPS};
use l402_usage::{keys, ClaimOutcome, RateOutcome, UsePolicy};
use proptest::prelude::*;

/// What the request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    Paid,
    PaidHex,
    /// `L402 <mac>` without preimage.
    Unpaid,
    UnpaidHex,
    Expired,
    WrongService,
    Forged,
    /// Paid 1 msat.
    Underpaid,
    NoTerms,
    Widened,
    /// A client-added shorter lifetime, still valid now.
    Shortened,
    WrongPreimage,
    Garbage,
    OtherScheme,
}

const CREDS: [Cred; 15] = [
    Cred::None,
    Cred::Paid,
    Cred::PaidHex,
    Cred::Unpaid,
    Cred::UnpaidHex,
    Cred::Expired,
    Cred::WrongService,
    Cred::Forged,
    Cred::Underpaid,
    Cred::NoTerms,
    Cred::Widened,
    Cred::Shortened,
    Cred::WrongPreimage,
    Cred::Garbage,
    Cred::OtherScheme,
];

/// Whether a token that verifies is presented (admission is possible at all). `Underpaid`
/// verifies (it paid 1 msat): only the price keeps it out.
fn can_verify(c: Cred) -> bool {
    matches!(c, Cred::Paid | Cred::PaidHex | Cred::Shortened | Cred::Underpaid)
}

#[derive(Debug, Clone)]
struct Scenario {
    cred: Cred,
    uses: UsePolicy,
    store: Store,
    store_price: bool,
    rate_limit: bool,
    auto_detect: bool,
    dry_run: bool,
    legacy_lsat: bool,
    macaroon_timeout: u64,
    price: PriceFact,
    /// 0: none, 1: this token's claim key, 2: another key.
    claimed: u8,
    already_challenged: bool,
}

impl Scenario {
    fn policy(&self) -> Policy<'static> {
        Policy {
            service: SERVICE,
            uses: self.uses,
            store: self.store,
            store_price: self.store_price,
            rate_limit: self.rate_limit.then(|| rate(5)),
            auto_detect: self.auto_detect,
            macaroon_timeout: self.macaroon_timeout,
            invoice_expiry_secs: 600,
            legacy_lsat: self.legacy_lsat,
            dry_run: self.dry_run,
            cors: None,
            cashu: None,
        }
    }

    /// The token behind the credential (for claim keys) and the request.
    fn request(&self, keys: &KeyRing) -> (Token, Req) {
        let good = mint(Mint::new(keys));
        let t = match self.cred {
            Cred::Expired => mint(Mint { valid_until: Some(NOW), ..Mint::new(keys) }),
            Cred::WrongService => mint(Mint { service: "other", ..Mint::new(keys) }),
            Cred::Forged => mint(Mint::new(&foreign_ring())),
            Cred::Underpaid => mint(Mint { paid_msat: 1, ..Mint::new(keys) }),
            Cred::NoTerms => mint(Mint { terms: false, ..Mint::new(keys) }),
            Cred::Widened => good.clone().with_valid_until_caveat(NOW + TIMEOUT + 1),
            Cred::Shortened => good.clone().with_valid_until_caveat(NOW + 10),
            _ => good.clone(),
        };
        let mut req = match self.cred {
            Cred::None => Req::default(),
            Cred::Paid
            | Cred::Expired
            | Cred::WrongService
            | Cred::Forged
            | Cred::Underpaid
            | Cred::NoTerms
            | Cred::Widened
            | Cred::Shortened => Req::auth(t.auth()),
            Cred::PaidHex => Req::hex(t.hex_paid()),
            Cred::Unpaid => Req::auth(t.auth_unpaid()),
            Cred::UnpaidHex => Req::hex(t.hex_unpaid()),
            Cred::WrongPreimage => {
                Req::auth(format!("L402 {}:{}", t.macaroon.to_base64(), "ab".repeat(32)).into_bytes())
            }
            Cred::Garbage => Req::auth(b"L402 %%%:zz".to_vec()),
            Cred::OtherScheme => Req::auth(b"Basic Zm9vOmJhcg==".to_vec()),
        };
        req.price = self.price.clone();
        req.claimed = match self.claimed {
            0 => None,
            1 => Some(t.claim_key()),
            _ => Some(keys::claim_key(&[0xee; 32])),
        };
        req.already_challenged = self.already_challenged;
        (t, req)
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let uses = prop_oneof![Just(UsePolicy::SINGLE), Just(uses(3)), Just(UsePolicy::Unlimited)];
    let store = prop_oneof![Just(Store::Zone), Just(Store::Redis), Just(Store::None)];
    let price = prop_oneof![
        6 => (1u64..=2 * PRICE).prop_map(PriceFact::Msat),
        1 => Just(PriceFact::Unevaluable),
        1 => Just(PriceFact::Invalid { log: "l402: test: invalid price".to_owned() }),
    ];
    (
        (0..CREDS.len()).prop_map(|i| CREDS[i]),
        uses,
        store,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        any::<bool>(),
        prop_oneof![Just(0u64), Just(TIMEOUT)],
        price,
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(
                cred,
                uses,
                store,
                store_price,
                rate_limit,
                auto_detect,
                dry_run,
                legacy_lsat,
                macaroon_timeout,
                price,
                claimed,
                already_challenged,
            )| Scenario {
                cred,
                uses,
                store,
                store_price,
                rate_limit,
                auto_detect,
                dry_run,
                legacy_lsat,
                macaroon_timeout,
                price,
                claimed,
                already_challenged,
            },
        )
}

/// One answer per I/O step: a result of every kind, the one that fits is used unless `wrong`.
#[derive(Debug, Clone)]
struct Answer {
    wrong: bool,
    /// Which other kind a wrong answer has (1..=4 kinds away).
    shift: usize,
    claim: Result<ClaimOutcome, Failure>,
    rate: Result<RateOutcome, Failure>,
    price: Result<u64, Failure>,
    lookup: Result<Payment, Failure>,
    invoice: Result<Invoiced, Failure>,
}

fn failure_s() -> impl Strategy<Value = Failure> {
    (
        prop_oneof![
            Just(Cause::Backend),
            Just(Cause::BackendTimeout),
            Just(Cause::Store),
            Just(Cause::StoreFull),
            Just(Cause::Price)
        ],
        0u64..120,
        any::<u16>(),
    )
        .prop_map(|(cause, secs, n)| Failure {
            cause,
            retry_after: Duration::from_secs(secs),
            log: format!("l402: test failure {n}"),
        })
}

fn or_fail<T: std::fmt::Debug + Clone + 'static>(
    ok: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Result<T, Failure>> {
    prop_oneof![4 => ok.prop_map(Ok), 1 => failure_s().prop_map(Err)]
}

fn answer() -> impl Strategy<Value = Answer> {
    let claim = prop_oneof![
        4 => prop::option::of(0u32..5).prop_map(|remaining| ClaimOutcome::Accepted { remaining }),
        1 => Just(ClaimOutcome::UsedUp),
        1 => Just(ClaimOutcome::StoreFull),
    ];
    let rate = prop_oneof![
        4 => Just(RateOutcome::Allowed),
        1 => (0u64..100).prop_map(|retry_after_secs| RateOutcome::Limited { retry_after_secs }),
        1 => Just(RateOutcome::StoreFull),
    ];
    let lookup = prop_oneof![Just(Payment::Settled), Just(Payment::Open), Just(Payment::Gone)];
    let invoice = (any::<u8>(), any::<bool>(), any::<[u8; 12]>()).prop_map(|(seed, bolt12, nonce)| {
        let (_, payment_hash) = preimage_of(seed);
        Invoiced { payment_hash, text: format!("lnbcrt1test{seed}"), bolt12, nonce, lookup: None }
    });
    (
        prop::bool::weighted(0.1),
        1usize..5,
        or_fail(claim),
        or_fail(rate),
        or_fail(1u64..=2 * PRICE),
        or_fail(lookup),
        or_fail(invoice),
    )
        .prop_map(|(wrong, shift, claim, rate, price, lookup, invoice)| Answer {
            wrong,
            shift,
            claim,
            rate,
            price,
            lookup,
            invoice,
        })
}

const KINDS: [&str; 5] = ["claim", "rate", "price", "lookup", "invoice"];

impl Answer {
    fn of_kind(&self, kind: &str) -> IoResult {
        match kind {
            "claim" => IoResult::Claim(self.claim.clone()),
            "rate" => IoResult::RateCheck(self.rate.clone()),
            "price" => IoResult::Price(self.price.clone()),
            "lookup" => IoResult::Lookup(self.lookup.clone()),
            _ => IoResult::Invoice(self.invoice.clone()),
        }
    }

    fn to(&self, io: &Io) -> IoResult {
        let kind = io_kind(io);
        if !self.wrong {
            return self.of_kind(kind);
        }
        let at = KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        self.of_kind(KINDS[(at + self.shift) % KINDS.len()])
    }
}

/// Answers from `answers` in order; once they run out, every I/O succeeds.
fn answering(answers: &[Answer]) -> impl FnMut(&Io) -> IoResult + '_ {
    let mut at = 0;
    move |io| {
        let given = answers.get(at).map(|a| a.to(io));
        at += 1;
        given.unwrap_or_else(|| match io {
            Io::Claim { .. } => IoResult::Claim(Ok(ClaimOutcome::Accepted { remaining: Some(0) })),
            Io::RateCheck { .. } => IoResult::RateCheck(Ok(RateOutcome::Allowed)),
            Io::Price { configured, .. } => IoResult::Price(Ok(*configured)),
            Io::Lookup { .. } => IoResult::Lookup(Ok(Payment::Settled)),
            Io::Invoice { .. } => IoResult::Invoice(Ok(Invoiced {
                payment_hash: preimage_of(0).1,
                text: "lnbcrt1default".to_owned(),
                bolt12: false,
                nonce: [0; 12],
                lookup: None,
            })),
            // Cashu is not enabled in these scenarios (tests/cashu.rs covers it).
            Io::CashuVerify { .. } | Io::CashuStore { .. } | Io::SpendProofs { .. } | Io::CashuReceive { .. } => {
                IoResult::CashuStore(Ok(()))
            }
        })
    }
}

fn is_err(r: &IoResult) -> Option<&Failure> {
    match r {
        IoResult::Claim(Err(f))
        | IoResult::RateCheck(Err(f))
        | IoResult::Price(Err(f))
        | IoResult::Lookup(Err(f))
        | IoResult::Invoice(Err(f)) => Some(f),
        _ => None,
    }
}

fn one_run(s: &Scenario, answers: &[Answer]) -> (Token, Outcome) {
    let keys = ring();
    let (t, req) = s.request(&keys);
    let mut env = Env { keys: &keys, memo: None };
    let o = drive(&mut env, &s.policy(), &req.facts(), answering(answers));
    (t, o)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (a) Whatever the answers, including answers of the wrong kind, a run ends in a verdict
    /// within MAX_STEPS I/O steps (MAX_STEPS + 1 calls of start and resume).
    #[test]
    fn every_run_ends_within_the_step_bound(s in scenario(), answers in prop::collection::vec(answer(), 0..12)) {
        let (_, o) = one_run(&s, &answers);
        prop_assert!(o.calls <= MAX_STEPS as usize + 1, "{} calls: {:?}", o.calls, o.io_kinds());
        prop_assert_eq!(o.calls, o.ios.len() + 1);
    }

    /// (a, continued) The same, when the executor gives the same answer forever (a claim that
    /// always says "used up", a rate check that always allows): no branch loops.
    #[test]
    fn a_repeating_executor_cannot_make_a_run_loop(s in scenario(), a in answer()) {
        let keys = ring();
        let (_, req) = s.request(&keys);
        let mut env = Env { keys: &keys, memo: None };
        let o = drive(&mut env, &s.policy(), &req.facts(), |io| a.to(io));
        prop_assert!(o.calls <= MAX_STEPS as usize + 1, "{} calls: {:?}", o.calls, o.io_kinds());
        prop_assert!(
            o.io_kinds().iter().filter(|k| **k == "claim").count() <= 1,
            "claimed more than once in one run: {:?}", o.io_kinds()
        );
    }

    /// (b) A policy that counts uses, on a request that holds no claim, admits only right after
    /// a claim of this token was accepted, and reports what the claim said.
    #[test]
    fn counted_uses_admit_only_after_an_accepted_claim(
        s in scenario().prop_filter("counts uses, holds no claim, not a dry run", |s| {
            s.uses != UsePolicy::Unlimited && s.claimed == 0 && !s.dry_run
        }),
        answers in prop::collection::vec(answer(), 0..12),
    ) {
        let (t, o) = one_run(&s, &answers);
        if let Verdict::Admitted(a) = &o.verdict {
            let (io, last) = o.ios.last().expect("an admission under a use limit follows I/O");
            let Io::Claim { key, token_id, limit, .. } = io else {
                return Err(TestCaseError::fail(format!("admitted after {io:?}")));
            };
            let IoResult::Claim(Ok(ClaimOutcome::Accepted { remaining })) = last else {
                return Err(TestCaseError::fail(format!("admitted on {last:?}")));
            };
            prop_assert_eq!(*key, keys::claim_key(&a.token_id));
            prop_assert_eq!(*key, t.claim_key());
            prop_assert_eq!(*token_id, a.token_id);
            prop_assert_eq!(Some(*limit), s.uses.limit());
            prop_assert_eq!(a.uses_left, *remaining);
            prop_assert_eq!(a.claimed, Some(*key));
        }
    }

    /// (c) A failed store, backend or price never admits: an error answer of the kind asked for
    /// ends the run as Unavailable with its cause (and its log line); any error answer at all
    /// never admits; a price that is not a price never admits, claims or invoices.
    #[test]
    fn failures_never_admit(s in scenario(), answers in prop::collection::vec(answer(), 0..12)) {
        let (_, o) = one_run(&s, &answers);
        let admitted = matches!(o.verdict, Verdict::Admitted(_));
        for (i, (io, result)) in o.ios.iter().enumerate() {
            let Some(f) = is_err(result) else { continue };
            prop_assert!(!admitted, "admitted after {:?}", result);
            prop_assert_eq!(i + 1, o.ios.len(), "a failure ends the run");
            if io_kind(io) == result_kind(result) {
                prop_assert_eq!(&o.verdict, &Verdict::Unavailable { cause: f.cause, retry_after: f.retry_after });
                prop_assert!(o.events.iter().any(|e| e.level == Level::Error && e.message == f.log));
            } else {
                prop_assert_eq!(&o.verdict, &Verdict::Internal);
            }
        }
        if !matches!(s.price, PriceFact::Msat(_)) {
            prop_assert!(!admitted);
            prop_assert!(!o.asked("claim") && !o.asked("invoice"), "{:?}", o.io_kinds());
        }
    }

    /// A store price lookup that fails (or answers something else) never admits, on any policy.
    #[test]
    fn a_failed_store_price_never_admits(
        s in scenario().prop_map(|s| Scenario { store: Store::Redis, store_price: true, ..s }),
        f in failure_s(),
        wrong in any::<bool>(),
    ) {
        let keys = ring();
        let (_, req) = s.request(&keys);
        let mut env = Env { keys: &keys, memo: None };
        let o = drive(&mut env, &s.policy(), &req.facts(), |io| match io {
            Io::Price { .. } if wrong => IoResult::Lookup(Ok(Payment::Settled)),
            Io::Price { .. } => IoResult::Price(Err(f.clone())),
            other => answering(&[])(other),
        });
        if o.asked("price") {
            prop_assert_eq!(o.io_kinds().last().copied(), Some("price"), "a failed price ends the run");
            let expected = if wrong {
                Verdict::Internal
            } else {
                Verdict::Unavailable { cause: f.cause, retry_after: f.retry_after }
            };
            prop_assert_eq!(&o.verdict, &expected);
        } else {
            // With store prices, every admission and every challenge needs the price first.
            prop_assert!(
                !matches!(o.verdict, Verdict::Admitted(_) | Verdict::Challenge(_)),
                "{:?} {:?}", o.io_kinds(), o.verdict
            );
        }
        prop_assert!(!matches!(o.verdict, Verdict::Admitted(_)), "{:?} after {:?}", o.verdict, o.ios);
    }

    /// (d) The same facts and the same results give the same verdict, events and I/O, with or
    /// without a memo of verified credentials (cold or warm).
    #[test]
    fn the_decision_is_deterministic(s in scenario(), answers in prop::collection::vec(answer(), 0..12)) {
        let keys = ring();
        let (_, req) = s.request(&keys);
        let p = s.policy();
        let facts = req.facts();
        let mut env = Env { keys: &keys, memo: None };
        let first = drive(&mut env, &p, &facts, answering(&answers));
        let mut memo = memo();
        for _ in 0..2 {
            let mut env = Env { keys: &keys, memo: Some(&mut memo) };
            let again = drive(&mut env, &p, &facts, answering(&answers));
            prop_assert_eq!(&again, &first);
        }
    }

    /// Only a token that verifies is admitted, never for more than it paid; a detected payment
    /// counts only when the backend said settled.
    #[test]
    fn only_good_tokens_are_admitted(s in scenario(), answers in prop::collection::vec(answer(), 0..12)) {
        let (t, o) = one_run(&s, &answers);
        if let Verdict::Admitted(a) = &o.verdict {
            let detected = s.cred == Cred::Unpaid
                && s.auto_detect
                && o.ios.first().is_some_and(|(io, r)| {
                    matches!(io, Io::Lookup { .. }) && *r == IoResult::Lookup(Ok(Payment::Settled))
                });
            prop_assert!(can_verify(s.cred) || detected, "{:?} admitted", s.cred);
            prop_assert_eq!(a.token_id, t.token_id);
            prop_assert_eq!(a.payment_hash, t.payment_hash);
            let paid = Terms::from_token_id(&a.token_id).map(|t| t.paid_msat);
            prop_assert!(paid.is_some_and(|paid| a.amount_msat <= paid));
            prop_assert!(!s.already_challenged);
        }
    }

    /// A dry run never claims, counts or invoices, and says what it would have done.
    #[test]
    fn a_dry_run_only_reads(
        s in scenario().prop_map(|s| Scenario { dry_run: true, ..s }),
        answers in prop::collection::vec(answer(), 0..12),
    ) {
        let (_, o) = one_run(&s, &answers);
        for kind in ["claim", "rate", "invoice"] {
            prop_assert!(!o.asked(kind), "dry run asked for {}: {:?}", kind, o.io_kinds());
        }
        if o.verdict != Verdict::AlreadyChallenged {
            prop_assert!(o.logged("l402: dry run: would "), "{:?}", o.events);
        }
        if let Verdict::Challenge(c) = &o.verdict {
            prop_assert!(c.offers.is_empty() && c.token_id.is_none() && c.payment_hash.is_none());
        }
    }

    /// An offer is only made on an invoice the backend made, and is bound to it.
    #[test]
    fn offers_are_bound_to_the_invoice(s in scenario(), answers in prop::collection::vec(answer(), 0..12)) {
        let (_, o) = one_run(&s, &answers);
        if let Verdict::Challenge(c) = &o.verdict {
            if c.offers.is_empty() {
                prop_assert!(s.dry_run);
            } else {
                let Some((Io::Invoice { amount_msat, .. }, IoResult::Invoice(Ok(inv)))) = o.ios.last() else {
                    return Err(TestCaseError::fail(format!("offer without invoice: {:?}", o.ios)));
                };
                prop_assert_eq!(c.payment_hash, Some(inv.payment_hash));
                prop_assert_eq!(c.amount_msat, *amount_msat);
                let terms = Terms::from_token_id(&c.token_id.unwrap()).unwrap();
                prop_assert_eq!(terms.paid_msat, *amount_msat);
                let expected_until = (s.macaroon_timeout > 0).then(|| NOW + s.macaroon_timeout);
                prop_assert_eq!(terms.valid_until, expected_until);
                let lines = c.offers[0].headers.iter().filter(|(n, _)| *n == "WWW-Authenticate").count();
                prop_assert_eq!(lines, if s.legacy_lsat { 2 } else { 1 });
            }
        }
    }
}
