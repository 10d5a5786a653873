//! Cashu as a second payment method (NUT-24), decided by the gate against a scripted executor:
//! every branch, and that nothing is admitted without the proofs being stored and then spent
//! all at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use l402_cashu::{decode_request, LockError, Refusal};
use l402_gate::method::cashu::{CashuPolicy, Mode};
use l402_gate::{Cause, CashuRejected, Io, IoResult, Method, Policy, Reason, Status, Verdict};

fn our_key() -> l402_cashu::PublicKey {
    let secp = secp256k1::Secp256k1::new();
    let sk = secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
    secp256k1::PublicKey::from_secret_key(&secp, &sk)
}

fn p2pk() -> CashuPolicy {
    CashuPolicy {
        mints: vec![MINT.to_owned()],
        unit: "sat".to_owned(),
        mode: Mode::P2pk { key: our_key(), window_secs: 86_400 },
    }
}

fn standard() -> CashuPolicy {
    CashuPolicy { mode: Mode::Standard, ..p2pk() }
}

fn with(cashu: &CashuPolicy) -> Policy<'_> {
    Policy { cashu: Some(cashu), ..policy() }
}

/// 10 sat, more than PRICE (1 000 msat = 1 sat).
fn pays() -> Req {
    Req { x_cashu: Some(cashu_token(MINT, &[8, 2], 1).into_bytes()), ..Req::default() }
}

#[test]
fn the_challenge_offers_cashu_after_l402() {
    let c = p2pk();
    let mut world = World::default();
    let o = run_in(&mut world, &with(&c), &Req::default());
    let offers = &o.challenge().offers;
    assert_eq!(offers.iter().map(|o| o.method).collect::<Vec<_>>(), [Method::L402, Method::Cashu]);
    let (name, value) = &offers[1].headers[0];
    assert_eq!(*name, "X-Cashu");
    let request = decode_request(value).unwrap();
    assert_eq!(request.amount, Some(1));
    assert_eq!(request.unit.as_deref(), Some("sat"));
    assert_eq!(request.mints, [MINT]);
    let lock = request.nut10.expect("P2PK mode locks to our key");
    assert_eq!((lock.kind.as_str(), lock.data), ("P2PK", l402_cashu::PublicKey::to_string(&our_key())));
    // Standard mode: no lock; without Cashu: no offer.
    let s = standard();
    let o = run_in(&mut world, &with(&s), &Req::default());
    assert!(decode_request(&o.challenge().offers[1].headers[0].1).unwrap().nut10.is_none());
    assert_eq!(run_in(&mut world, &policy(), &Req::default()).challenge().offers.len(), 1);
}

#[test]
fn a_p2pk_payment_is_verified_stored_spent_then_admitted() {
    let c = p2pk();
    let mut world = World::default();
    let o = run_in(&mut world, &with(&c), &pays());
    assert_eq!(o.io_kinds(), ["cashu_verify", "cashu_store", "spend"]);
    let a = o.admitted();
    assert_eq!((a.method, a.amount_msat, a.uses_left, a.claimed), (Method::Cashu, PRICE, None, None));
    assert_eq!(world.stored.len(), 2);
    assert_eq!(world.spent.len(), 2);
    // The same token again: refused with 400 (stored again is harmless, never spent twice).
    let o = run_in(&mut world, &with(&c), &pays());
    assert_eq!(o.io_kinds(), ["cashu_verify", "cashu_store", "spend"]);
    assert_eq!(o.verdict, Verdict::PaymentRejected { method: Method::Cashu, reason: Reason::ProofSpent });
    assert_eq!(o.verdict.status(), Some(Status::Refused));
    assert_eq!(world.stored.len(), 2);
}

#[test]
fn both_carriers_pay() {
    let c = p2pk();
    let mut world = World::default();
    let auth = Req::auth(format!("Cashu {}", cashu_token(MINT, &[16], 2)).into_bytes());
    assert_eq!(run_in(&mut world, &with(&c), &auth).admitted().method, Method::Cashu);
    // An L402 credential comes first when both are present.
    let t = token();
    let both = Req { x_cashu: Some(cashu_token(MINT, &[16], 3).into_bytes()), ..Req::auth(t.auth()) };
    let o = run_in(&mut world, &with(&c), &both);
    assert_eq!(o.admitted().method, Method::L402);
    assert!(!o.asked("cashu_verify"));
}

#[test]
fn client_mistakes_are_400_before_any_io() {
    let c = p2pk();
    let cases: Vec<(Req, Reason)> = vec![
        (Req { x_cashu: Some(b"cashuBgarbage".to_vec()), ..Req::default() }, Reason::Cashu(Refusal::Token(l402_cashu::TokenError::Malformed))),
        (Req { x_cashu: Some(cashu_token("https://evil.example", &[16], 4).into_bytes()), ..Req::default() }, Reason::Cashu(Refusal::MintNotAllowed)),
        (
            Req { x_cashu: Some(cashu_token(MINT, &[8], 5).into_bytes()), price: l402_gate::PriceFact::Msat(8_001), ..Req::default() },
            Reason::Cashu(Refusal::Underpaid),
        ),
        (Req { x_cashu: Some(vec![0xff, 0xfe]), ..Req::default() }, Reason::Cashu(Refusal::Token(l402_cashu::TokenError::Malformed))),
    ];
    for (req, want) in cases {
        let mut world = World::default();
        let o = run(&with(&c), &req, no_io);
        assert_eq!(o.verdict, Verdict::PaymentRejected { method: Method::Cashu, reason: want }, "{want}");
        assert!(o.logged("Cashu payment refused"));
        assert!(world.spent.is_empty() && world.stored.is_empty());
        let _ = &mut world;
    }
}

#[test]
fn an_unlisted_mint_is_refused_even_when_the_executor_would_accept() {
    // No I/O at all is asked for a token of another mint: no request to a URL a client chose.
    let c = p2pk();
    let req = Req { x_cashu: Some(cashu_token("http://127.0.0.1:1", &[64], 6).into_bytes()), ..Req::default() };
    let o = run(&with(&c), &req, no_io);
    assert_eq!(o.verdict.reason(), Some(Reason::Cashu(Refusal::MintNotAllowed)));
}

#[test]
fn offline_refusals_and_failures() {
    let c = p2pk();
    for r in [Refusal::InvalidDleq, Refusal::MissingDleq, Refusal::Lock(LockError::NotOurKey), Refusal::UnknownKeyset] {
        let mut world = World { cashu_verdict: Some(r), ..World::default() };
        let o = run_in(&mut world, &with(&c), &pays());
        assert_eq!(o.io_kinds(), ["cashu_verify"]);
        assert_eq!(o.verdict, Verdict::PaymentRejected { method: Method::Cashu, reason: Reason::Cashu(r) });
        assert!(world.stored.is_empty() && world.spent.is_empty());
    }
    // Keys not loaded yet: ours, 503.
    let mut world = World { cashu_verdict: Some(Refusal::KeysNotLoaded), ..World::default() };
    let o = run_in(&mut world, &with(&c), &pays());
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Mint, .. }), "{:?}", o.verdict);
    // The proof store down: 503 and nothing spent; the usage store down: 503, stored (kept).
    let mut world = World { cashu_store_down: true, ..World::default() };
    let o = run_in(&mut world, &with(&c), &pays());
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Store, .. }));
    assert!(world.spent.is_empty());
    let mut world = World { store_down: true, ..World::default() };
    let o = run_in(&mut world, &with(&c), &pays());
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Store, .. }));
    assert_eq!(world.stored.len(), 2, "stored before spending: nothing is lost");
}

#[test]
fn standard_mode_swaps_at_the_mint() {
    let c = standard();
    let mut world = World::default();
    let o = run_in(&mut world, &with(&c), &pays());
    assert_eq!(o.io_kinds(), ["cashu_receive"]);
    assert_eq!(o.admitted().method, Method::Cashu);
    for (answer, reason) in [(CashuRejected::Spent, Reason::ProofSpent), (CashuRejected::Pending, Reason::ProofPending)] {
        let mut world = World { mint_answer: Some(answer), ..World::default() };
        let o = run_in(&mut world, &with(&c), &pays());
        assert_eq!(o.verdict, Verdict::PaymentRejected { method: Method::Cashu, reason });
    }
    let mut world = World { mint_down: true, ..World::default() };
    let o = run_in(&mut world, &with(&c), &pays());
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Mint, .. }), "{:?}", o.verdict);
}

#[test]
fn a_store_price_is_paid_in_full() {
    let c = p2pk();
    let p = Policy { store: l402_gate::Store::Redis, store_price: true, ..with(&c) };
    let mut world = World::default();
    world.prices.insert(PATH.to_owned(), 20_000);
    let o = run_in(&mut world, &p, &pays());
    assert_eq!(o.io_kinds(), ["price"]);
    assert_eq!(o.verdict.reason(), Some(Reason::Cashu(Refusal::Underpaid)));
    world.prices.insert(PATH.to_owned(), 9_000);
    let o = run_in(&mut world, &p, &pays());
    assert_eq!(o.io_kinds(), ["price", "cashu_verify", "cashu_store", "spend"]);
    assert_eq!(o.admitted().amount_msat, 9_000);
}

#[test]
fn without_cashu_a_cashu_token_is_just_unpaid() {
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &pays());
    assert_eq!(o.verdict.status(), Some(Status::Challenged));
    assert!(!o.asked("cashu_verify"));
}

#[test]
fn a_dry_run_spends_nothing() {
    let c = p2pk();
    let p = Policy { dry_run: true, ..with(&c) };
    let o = run(&p, &pays(), no_io);
    assert_eq!(o.verdict.status(), Some(Status::Paid));
}

proptest::proptest! {
    /// Whatever the executor answers, in either mode, a Cashu payment is admitted only after
    /// the proofs were stored and then all spent at once (P2PK), or the mint took them
    /// (standard); and every run ends within the step bound.
    #[test]
    fn never_admitted_without_the_spend(
        p2pk_mode in proptest::bool::ANY,
        verdicts in proptest::collection::vec(0u8..4, 4),
    ) {
        let c = if p2pk_mode { p2pk() } else { standard() };
        let mut i = 0;
        let mut spent_ok = false;
        let o = run(&with(&c), &pays(), |io| {
            let pick = verdicts[i % verdicts.len()];
            i += 1;
            let fail = || failure(Cause::Store, "l402: test: failed");
            match io {
                Io::CashuVerify { token, .. } => IoResult::CashuVerify(match pick {
                    0 => Err(fail()),
                    1 => Ok(Err(Refusal::InvalidDleq)),
                    _ => Ok(Ok(l402_cashu::Accepted {
                        ys: token.proofs.iter().map(|p| l402_cashu::proof_y(&p.secret).unwrap()).collect(),
                        amount: token.amount(),
                        fee: 0,
                        mint: token.mint.clone(),
                        spent_until: None,
                    })),
                }),
                Io::CashuStore { .. } => IoResult::CashuStore(if pick == 0 { Err(fail()) } else { Ok(()) }),
                Io::SpendProofs { .. } => IoResult::SpendProofs(match pick {
                    0 => Err(fail()),
                    1 => Ok(l402_usage::SpendOutcome::AlreadySpent { index: 0 }),
                    2 => Ok(l402_usage::SpendOutcome::StoreFull),
                    _ => {
                        spent_ok = true;
                        Ok(l402_usage::SpendOutcome::Spent)
                    }
                }),
                Io::CashuReceive { .. } => IoResult::CashuReceive(match pick {
                    0 => Err(failure(Cause::Mint, "l402: test: mint down")),
                    1 => Ok(Err(CashuRejected::Spent)),
                    2 => Ok(Err(CashuRejected::Pending)),
                    _ => {
                        spent_ok = true;
                        Ok(Ok(16))
                    }
                }),
                other => panic!("not a Cashu step: {other:?}"),
            }
        });
        let admitted = matches!(o.verdict, Verdict::Admitted(_));
        proptest::prop_assert_eq!(admitted, spent_ok, "{:?} after {:?}", o.verdict, o.io_kinds());
        if p2pk_mode && admitted {
            proptest::prop_assert_eq!(o.io_kinds(), ["cashu_verify", "cashu_store", "spend"]);
        }
    }
}
