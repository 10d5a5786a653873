//! Every branch of the decision, driven by a scripted executor or the in-memory world
//! (issue 9, item 3): what only pytest reached before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use l402_core::{hex_encode, CredentialError, Rejection, Terms};
use l402_gate::method::l402::INVOICE_TYPE_HEADER;
use l402_gate::{
    Admitted, Cause, Env, Io, IoResult, Level, Method, Payment, PriceFact, Reason, Status, Store, Verdict,
};
use l402_usage::{claim_expiry, keys, ClaimOutcome, RateOutcome, UsePolicy};

fn invoice_ok(seed: u8) -> IoResult {
    let mut w = World { next_seed: seed, ..World::default() };
    w.answer(&Io::Invoice { amount_msat: PRICE, memo: String::new(), expiry_secs: 1 })
}

fn refused(o: &Outcome) -> Option<Reason> {
    o.challenge().reason
}

// ---------------------------------------------------------------------------------------------
// No credential: a challenge with an L402 offer, which a client can pay and present.

#[test]
fn no_credential_is_challenged_with_an_offer_that_pays_and_admits() {
    let mut world = World::default();
    let p = policy();
    let o = run_in(&mut world, &p, &Req::default());

    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(
        o.ios[0].0,
        Io::Invoice { amount_msat: PRICE, memo: format!("L402 access to {SERVICE}"), expiry_secs: 600 }
    );
    let c = o.challenge();
    assert_eq!(c.reason, None);
    assert_eq!(o.verdict.status(), Some(Status::Challenged));
    assert_eq!(o.verdict.reason(), None);
    assert_eq!(c.amount_msat, PRICE);
    let (payment_hash, _) = world.invoices[0];
    assert_eq!(c.payment_hash, Some(payment_hash));
    assert_eq!(c.offers.len(), 1);
    assert_eq!(c.offers[0].method, Method::L402);

    // One header line, in the shape clients match: macaroon="…", invoice="…" first, adjacent.
    let lines = &c.offers[0].headers;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].0, "WWW-Authenticate");
    let (scheme, params) = parse_www_authenticate(&lines[0].1);
    assert_eq!(scheme, "L402");
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["macaroon", "invoice", "version", "token"]);
    let mac_b64 = param(&params, "macaroon").unwrap();
    assert_eq!(param(&params, "token"), Some(mac_b64));
    assert_eq!(param(&params, "version"), Some("0"));
    let invoice_text = param(&params, "invoice").unwrap();
    let ioresult_text = match &o.ios[0].1 {
        IoResult::Invoice(Ok(inv)) => inv.text.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(invoice_text, ioresult_text);

    // The offered token is bound to the invoice, the price and the minted lifetime.
    let token_id = c.token_id.unwrap();
    assert_eq!(Terms::from_token_id(&token_id), Some(Terms { paid_msat: PRICE, valid_until: Some(NOW + TIMEOUT) }));
    let mac = l402_core::parse_authorization(format!("L402 {mac_b64}:{}", "00".repeat(32)).as_bytes())
        .unwrap()
        .macaroons
        .remove(0);
    let id = l402_core::Identifier::decode(&mac.identifier).unwrap();
    assert_eq!(id.payment_hash, payment_hash);
    assert_eq!(id.token_id, token_id);
    let caveats: Vec<String> = mac.caveats.iter().map(|c| String::from_utf8(c.id.clone()).unwrap()).collect();
    assert_eq!(caveats, [format!("services={SERVICE}:0"), format!("{SERVICE}_valid_until={}", NOW + TIMEOUT)]);

    // Unpaid, the macaroon alone is refused (no auto-detect).
    let o = run_in(&mut world, &p, &Req::auth(format!("L402 {mac_b64}").into_bytes()));
    assert_eq!(refused(&o), Some(Reason::Credential(CredentialError::MissingPreimage)));

    // A wrong preimage is refused without any claim.
    let o = run_in(&mut world, &p, &Req::auth(format!("L402 {mac_b64}:{}", "ab".repeat(32)).into_bytes()));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::PreimageMismatch)));
    assert!(!o.asked("claim"));

    // Paid: `macaroon:preimage` is admitted once.
    let preimage = world.pay(payment_hash);
    let paid = Req::auth(format!("L402 {mac_b64}:{}", hex_encode(&preimage)).into_bytes());
    let o = run_in(&mut world, &p, &paid);
    assert_eq!(o.io_kinds(), ["claim"]);
    assert_eq!(
        *o.admitted(),
        Admitted {
            method: Method::L402,
            token_id,
            payment_hash,
            amount_msat: PRICE,
            uses_left: Some(0),
            claimed: Some(keys::claim_key(&token_id)),
            valid_until: Some(NOW + TIMEOUT),
        }
    );
    let o = run_in(&mut world, &p, &paid);
    assert_eq!(refused(&o), Some(Reason::UsedUp));
}

#[test]
fn challenge_lines_in_legacy_form_and_bolt12_type() {
    let mut world = World { bolt12: true, ..World::default() };
    let p = l402_gate::Policy { legacy_lsat: true, ..policy() };
    let o = run_in(&mut world, &p, &Req::default());
    let headers = &o.challenge().offers[0].headers;
    assert_eq!(headers.len(), 3, "{headers:?}");
    let (lsat, lsat_params) = parse_www_authenticate(&headers[0].1);
    let (l402, l402_params) = parse_www_authenticate(&headers[1].1);
    assert_eq!((headers[0].0, lsat.as_str()), ("WWW-Authenticate", "LSAT"));
    assert_eq!((headers[1].0, l402.as_str()), ("WWW-Authenticate", "L402"));
    let names: Vec<&str> = lsat_params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["macaroon", "invoice"]);
    assert_eq!(param(&lsat_params, "macaroon"), param(&l402_params, "macaroon"));
    assert_eq!(param(&lsat_params, "invoice"), param(&l402_params, "invoice"));
    assert_eq!(headers[2], (INVOICE_TYPE_HEADER, "bolt12".to_owned()));
}

#[test]
fn a_token_that_never_expires_is_offered_without_lifetime() {
    let mut world = World::default();
    let p = l402_gate::Policy { macaroon_timeout: 0, ..policy() };
    let o = run_in(&mut world, &p, &Req::default());
    let c = o.challenge();
    assert_eq!(Terms::from_token_id(&c.token_id.unwrap()), Some(Terms { paid_msat: PRICE, valid_until: None }));
    assert!(!offered_macaroon_caveats(c).iter().any(|c| c.contains("valid_until")));
}

fn offered_macaroon_caveats(c: &l402_gate::Challenge) -> Vec<String> {
    let b64 = offered_macaroon(c);
    let cred = l402_core::parse_authorization(format!("L402 {b64}:{}", "00".repeat(32)).as_bytes()).unwrap();
    cred.macaroons[0].caveats.iter().map(|c| String::from_utf8(c.id.clone()).unwrap()).collect()
}

#[test]
fn other_authorization_schemes_are_not_credentials() {
    for value in [&b"Basic dXNlcjpwYXNz"[..], b"Bearer abc", b"L402"] {
        let o = run(&policy(), &Req::auth(value.to_vec()), script(vec![invoice_ok(1)]));
        assert_eq!(refused(&o), None, "{}", String::from_utf8_lossy(value));
    }
    // A broken L402 credential is refused with its reason.
    let o = run(&policy(), &Req::auth(b"L402 !!!:00".to_vec()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Credential(CredentialError::MalformedPreimage)));
    let o = run(&policy(), &Req::auth(b"LSAT notbase64".to_vec()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Credential(CredentialError::MalformedMacaroon)));
    assert_eq!(o.verdict.status(), Some(Status::Refused));
    assert!(o.logged("l402: credential refused: malformed macaroon"));
}

// ---------------------------------------------------------------------------------------------
// Valid tokens and use counting.

#[test]
fn a_valid_single_use_token_is_claimed_then_used_up() {
    let t = token();
    let mut world = World::default();
    let p = policy();
    let req = Req::auth(t.auth());
    let o = run_in(&mut world, &p, &req);
    assert_eq!(
        o.ios[0].0,
        Io::Claim {
            key: t.claim_key(),
            token_id: t.token_id,
            limit: 1,
            expires_at: claim_expiry(Some(NOW + TIMEOUT)),
            now: NOW,
        }
    );
    assert_eq!(o.ios.len(), 1);
    assert_eq!(
        *o.admitted(),
        Admitted {
            method: Method::L402,
            token_id: t.token_id,
            payment_hash: t.payment_hash,
            amount_msat: PRICE,
            uses_left: Some(0),
            claimed: Some(t.claim_key()),
            valid_until: Some(NOW + TIMEOUT),
        }
    );
    assert_eq!(o.verdict.status(), Some(Status::Paid));
    assert_eq!(o.verdict.reason(), None);

    let o = run_in(&mut world, &p, &req);
    assert_eq!(o.io_kinds(), ["claim", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::UsedUp));
    assert_eq!(o.verdict.status(), Some(Status::Refused));
    assert_eq!(o.verdict.reason().map(|r| r.text()), Some("token has no uses left"));
    // A used-up token gets a fresh offer.
    assert!(o.challenge().token_id.is_some());
    assert!(o.logged("l402: credential refused: token has no uses left"));
}

#[test]
fn n_uses_are_counted_down() {
    let t = token();
    let mut world = World::default();
    let p = l402_gate::Policy { uses: uses(3), ..policy() };
    let req = Req::auth(t.auth());
    for left in [2, 1, 0] {
        let o = run_in(&mut world, &p, &req);
        assert!(matches!(o.ios[0].0, Io::Claim { limit: 3, .. }), "{:?}", o.ios);
        assert_eq!(o.admitted().uses_left, Some(left));
    }
    assert_eq!(world.claims.get(&t.claim_key()), Some(&3));
    let o = run_in(&mut world, &p, &req);
    assert_eq!(refused(&o), Some(Reason::UsedUp));
}

#[test]
fn n_uses_with_a_memo_still_claim_every_time() {
    let t = token();
    let keys = ring();
    let mut memo = memo();
    let mut world = World::default();
    let p = l402_gate::Policy { uses: uses(2), ..policy() };
    let req = Req::auth(t.auth());
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let mut env = Env { keys: &keys, memo: Some(&mut memo) };
        outcomes.push(drive(&mut env, &p, &req.facts(), |io| world.answer(io)));
    }
    assert_eq!(memo.len(), 1, "a token that can be presented again is memoized");
    assert_eq!(outcomes[0].admitted().uses_left, Some(1));
    assert_eq!(outcomes[1].admitted().uses_left, Some(0));
    assert_eq!(refused(&outcomes[2]), Some(Reason::UsedUp));
    assert!(outcomes.iter().all(|o| o.asked("claim")));
}

#[test]
fn a_memo_hit_still_checks_the_service_and_the_time() {
    let t = token();
    let keys = ring();
    let mut memo = memo();
    let p = l402_gate::Policy { uses: UsePolicy::Unlimited, ..policy() };
    let req = Req::auth(t.auth());
    let mut env = Env { keys: &keys, memo: Some(&mut memo) };
    drive(&mut env, &p, &req.facts(), no_io).admitted();
    let other = l402_gate::Policy { service: "other", ..p };
    let o = drive(&mut env, &other, &req.facts(), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::WrongService)));
    let late = req.clone().at((NOW + TIMEOUT) * 1_000);
    let o = drive(&mut env, &p, &late.facts(), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::Expired)));
}

#[test]
fn single_use_tokens_are_not_memoized() {
    let t = token();
    let keys = ring();
    let mut memo = memo();
    let mut world = World::default();
    let mut env = Env { keys: &keys, memo: Some(&mut memo) };
    drive(&mut env, &policy(), &Req::auth(t.auth()).facts(), |io| world.answer(io)).admitted();
    assert!(memo.is_empty());
}

#[test]
fn unlimited_tokens_cause_no_claim() {
    let t = token();
    let p = l402_gate::Policy { uses: UsePolicy::Unlimited, ..policy() };
    for _ in 0..3 {
        let o = run(&p, &Req::auth(t.auth()), no_io);
        assert!(o.ios.is_empty());
        let a = o.admitted();
        assert_eq!((a.uses_left, a.claimed), (None, None));
        assert_eq!(a.token_id, t.token_id);
    }
    // Even under Redis the only I/O would be a price, never a claim.
    let redis = l402_gate::Policy { store: Store::Redis, store_price: true, ..p };
    let o = run(&redis, &Req::auth(t.auth()), script(vec![IoResult::Price(Ok(PRICE))]));
    assert_eq!(o.io_kinds(), ["price"]);
    o.admitted();
}

#[test]
fn a_hex_macaroon_with_a_preimage_caveat_is_a_credential() {
    let t = token();
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &Req::hex(t.hex_paid()));
    assert_eq!(o.admitted().token_id, t.token_id);
    // Authorization of another scheme next to it does not hide it.
    let req = Req { authorization: Some(b"Bearer x".to_vec()), ..Req::hex(t.hex_paid()) };
    let o = run(&l402_gate::Policy { uses: UsePolicy::Unlimited, ..policy() }, &req, no_io);
    o.admitted();
}

// ---------------------------------------------------------------------------------------------
// Refused tokens.

#[test]
fn an_expired_token_is_refused_without_a_claim() {
    let keys = ring();
    let t = mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) });
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::Expired)));
    assert!(o.logged("l402: credential refused: token expired"));
    // One second earlier it was good.
    let o = run(&policy(), &Req::auth(t.auth()).at((NOW - 1) * 1_000), script(vec![IoResult::Claim(Ok(
        ClaimOutcome::Accepted { remaining: Some(0) },
    ))]));
    o.admitted();
    // The minted expiry in the token id holds without the caveat too.
    let id = Terms { paid_msat: PRICE, valid_until: Some(NOW) }.token_id(nonce_of(9));
    let (preimage, payment_hash) = preimage_of(9);
    let macaroon = keys.mint(&l402_core::MintParams {
        payment_hash,
        token_id: id,
        service: SERVICE,
        valid_until: None,
        capabilities: None,
        lookup: None,
    });
    let t = Token { macaroon, preimage, payment_hash, token_id: id };
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::Expired)));
}

#[test]
fn a_token_for_another_service_is_refused() {
    let keys = ring();
    let t = mint(Mint { service: "other", ..Mint::new(&keys) });
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::WrongService)));
    assert!(!o.asked("claim"));
}

#[test]
fn a_forged_token_is_refused() {
    let t = mint(Mint::new(&foreign_ring()));
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::SignatureMismatch)));
}

#[test]
fn a_client_caveat_that_widens_is_refused() {
    let later = token().with_valid_until_caveat(NOW + TIMEOUT + 1);
    let o = run(&policy(), &Req::auth(later.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::CaveatWidens)));
    assert!(!o.asked("claim"));

    let more_services = token().with_services_caveat("svc:0,other:0");
    let o = run(&policy(), &Req::auth(more_services.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::CaveatWidens)));

    // Narrowing is fine (and the unchanged service list too).
    let same = token().with_caveat(&services(SERVICE));
    let o = run(&l402_gate::Policy { uses: UsePolicy::Unlimited, ..policy() }, &Req::auth(same.auth()), no_io);
    o.admitted();
}

#[test]
fn a_client_shortened_lifetime_never_shortens_the_claim() {
    let short = token().with_valid_until_caveat(NOW + 60);
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &Req::auth(short.auth()));
    match o.ios[0].0 {
        Io::Claim { expires_at, .. } => {
            assert_eq!(expires_at, claim_expiry(Some(NOW + TIMEOUT)));
            assert_ne!(expires_at, claim_expiry(Some(NOW + 60)));
        }
        ref other => panic!("{other:?}"),
    }
    o.admitted();
    // But the token is accepted only as long as the client's caveat says.
    let o = run(
        &l402_gate::Policy { uses: UsePolicy::Unlimited, ..policy() },
        &Req::auth(short.auth()).at((NOW + 60) * 1_000),
        script(vec![invoice_ok(1)]),
    );
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::Expired)));

    // A token minted without lifetime is claimed for ever, whatever the client adds.
    let keys = ring();
    let forever = mint(Mint { valid_until: None, ..Mint::new(&keys) }).with_valid_until_caveat(NOW + 60);
    let o = run_in(&mut world, &policy(), &Req::auth(forever.auth()));
    assert!(matches!(o.ios[0].0, Io::Claim { expires_at: None, .. }), "{:?}", o.ios);
}

#[test]
fn a_token_paid_less_than_the_configured_price_is_refused() {
    let keys = ring();
    let cheap = mint(Mint { paid_msat: PRICE - 1, ..Mint::new(&keys) });
    let o = run(&policy(), &Req::auth(cheap.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(refused(&o), Some(Reason::Underpaid));
    assert_eq!(o.challenge().amount_msat, PRICE);
    // Exactly the price is enough; the admitted amount is the request's price.
    let exact = mint(Mint { paid_msat: PRICE, ..Mint::new(&keys) });
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &Req::auth(exact.auth()).priced(PriceFact::Msat(PRICE - 400)));
    assert_eq!(o.admitted().amount_msat, PRICE - 400);
}

#[test]
fn a_token_paid_less_than_the_store_price_is_refused() {
    let t = token();
    let p = l402_gate::Policy { store: Store::Redis, store_price: true, ..policy() };
    let mut world = World::default();
    world.prices.insert(PATH.to_owned(), PRICE + 1);
    let o = run_in(&mut world, &p, &Req::auth(t.auth()).priced(PriceFact::Msat(10)));
    assert_eq!(o.ios[0].0, Io::Price { path: PATH.to_owned(), configured: 10 });
    assert_eq!(o.io_kinds(), ["price", "price", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::Underpaid));
    assert_eq!(o.challenge().amount_msat, PRICE + 1);
    assert!(matches!(o.ios[2].0, Io::Invoice { amount_msat, .. } if amount_msat == PRICE + 1));

    // A store price the token covers admits at that price.
    world.prices.insert(PATH.to_owned(), PRICE - 1);
    let o = run_in(&mut world, &p, &Req::auth(t.auth()).priced(PriceFact::Msat(10)));
    assert_eq!(o.io_kinds(), ["price", "claim"]);
    assert_eq!(o.admitted().amount_msat, PRICE - 1);

    // The zone has no store prices: the configured price decides, no price I/O.
    let zone = l402_gate::Policy { store: Store::Zone, ..p };
    let o = run(&zone, &Req::auth(t.auth()).priced(PriceFact::Msat(PRICE + 1)), script(vec![invoice_ok(1)]));
    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(refused(&o), Some(Reason::Underpaid));
}

#[test]
fn a_token_without_terms_is_refused() {
    let keys = ring();
    let t = mint(Mint { terms: false, ..Mint::new(&keys) });
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::NoTerms));
    assert!(!o.asked("claim"));
}

#[test]
fn a_hex_macaroon_without_preimage_is_refused_even_with_auto_detect() {
    let t = token();
    for auto_detect in [false, true] {
        let p = l402_gate::Policy { auto_detect, ..policy() };
        let o = run(&p, &Req::hex(t.hex_unpaid()), script(vec![invoice_ok(1)]));
        assert_eq!(o.io_kinds(), ["invoice"], "auto_detect {auto_detect}");
        assert_eq!(refused(&o), Some(Reason::Credential(CredentialError::MissingPreimage)));
    }
}

#[test]
fn without_auto_detect_a_missing_preimage_is_refused() {
    let t = token();
    let o = run(&policy(), &Req::auth(t.auth_unpaid()), script(vec![invoice_ok(1)]));
    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(refused(&o), Some(Reason::Credential(CredentialError::MissingPreimage)));
    assert_eq!(o.verdict.reason().map(|r| r.text()), Some("missing preimage"));
}

// ---------------------------------------------------------------------------------------------
// Payment detection without preimage.

fn auto() -> l402_gate::Policy<'static> {
    l402_gate::Policy { auto_detect: true, ..policy() }
}

#[test]
fn auto_detect_asks_with_the_lookup_reference_minted_into_the_token() {
    let mut world = World { lookup: Some(b"https://payee.example/verify/1".to_vec()), ..World::default() };
    let o = run_in(&mut world, &auto(), &Req::auth(Vec::new()));
    let b64 = offered_macaroon(o.challenge());
    let unpaid = format!("L402 {b64}").into_bytes();
    let o = run_in(&mut world, &auto(), &Req::auth(unpaid));
    match &o.ios[0].0 {
        Io::Lookup { lookup, .. } => assert_eq!(lookup.as_deref(), Some(&b"https://payee.example/verify/1"[..])),
        other => panic!("asked {other:?}"),
    }
}

#[test]
fn a_client_added_lookup_caveat_is_never_used() {
    // Minted without a lookup reference; the client appends one pointing elsewhere.
    let t = token().with_caveat(&l402_core::caveat::lookup_predicate(b"https://payee.example/verify/other"));
    let mut world = World::default();
    world.payments.insert(t.payment_hash, Payment::Open);
    let o = run_in(&mut world, &auto(), &Req::auth(t.auth_unpaid()));
    assert_eq!(o.ios[0].0, Io::Lookup { payment_hash: t.payment_hash, lookup: None, valid_until: Some(NOW + TIMEOUT) });
}

#[test]
fn auto_detect_settled_admits_then_claims() {
    let t = token();
    let mut world = World::default();
    world.payments.insert(t.payment_hash, Payment::Settled);
    let o = run_in(&mut world, &auto(), &Req::auth(t.auth_unpaid()));
    assert_eq!(o.ios[0].0, Io::Lookup { payment_hash: t.payment_hash, lookup: None, valid_until: Some(NOW + TIMEOUT) });
    assert_eq!(o.io_kinds(), ["lookup", "claim"]);
    let a = o.admitted();
    assert_eq!((a.token_id, a.payment_hash, a.uses_left), (t.token_id, t.payment_hash, Some(0)));
    // Settled does not make a single-use token reusable.
    let o = run_in(&mut world, &auto(), &Req::auth(t.auth_unpaid()));
    assert_eq!(o.io_kinds(), ["lookup", "claim", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::UsedUp));
}

#[test]
fn auto_detect_settled_still_checks_the_price() {
    let keys = ring();
    let cheap = mint(Mint { paid_msat: PRICE - 1, ..Mint::new(&keys) });
    let o = run(
        &auto(),
        &Req::auth(cheap.auth_unpaid()),
        script(vec![IoResult::Lookup(Ok(Payment::Settled)), invoice_ok(1)]),
    );
    assert_eq!(o.io_kinds(), ["lookup", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::Underpaid));
}

#[test]
fn auto_detect_open_is_pending() {
    let t = token();
    let o = run(&auto(), &Req::auth(t.auth_unpaid()), script(vec![IoResult::Lookup(Ok(Payment::Open))]));
    assert_eq!(o.io_kinds(), ["lookup"]);
    assert_eq!(
        o.verdict,
        Verdict::Pending { token_id: t.token_id, payment_hash: t.payment_hash, amount_msat: PRICE }
    );
    assert_eq!(o.verdict.status(), Some(Status::Pending));
    assert_eq!(o.verdict.reason(), Some(Reason::PaymentPending));
}

#[test]
fn auto_detect_gone_is_challenged() {
    let t = token();
    let o = run(&auto(), &Req::auth(t.auth_unpaid()), script(vec![IoResult::Lookup(Ok(Payment::Gone)), invoice_ok(1)]));
    assert_eq!(o.io_kinds(), ["lookup", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::InvoiceGone));
    assert!(o.challenge().token_id.is_some());
}

#[test]
fn auto_detect_lookup_failure_is_unavailable() {
    let t = token();
    let f = failure(Cause::Backend, "l402: test: lookup failed");
    let o = run(&auto(), &Req::auth(t.auth_unpaid()), script(vec![IoResult::Lookup(Err(f.clone()))]));
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::Backend, retry_after: f.retry_after });
    assert_eq!(o.verdict.status(), Some(Status::Unavailable));
    assert!(o.events.iter().any(|e| e.level == Level::Error && e.message == f.log));
}

#[test]
fn auto_detect_never_looks_up_a_bad_macaroon() {
    let keys = ring();
    let cases = [
        (mint(Mint::new(&foreign_ring())), Rejection::SignatureMismatch),
        (mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) }), Rejection::Expired),
        (mint(Mint { service: "other", ..Mint::new(&keys) }), Rejection::WrongService),
        (token().with_valid_until_caveat(NOW + TIMEOUT + 5), Rejection::CaveatWidens),
    ];
    for (t, why) in cases {
        let o = run(&auto(), &Req::auth(t.auth_unpaid()), script(vec![invoice_ok(1)]));
        assert_eq!(o.io_kinds(), ["invoice"]);
        assert_eq!(refused(&o), Some(Reason::Rejected(why)));
    }
    // A wrong preimage is checked in full, never looked up.
    let t = token();
    let wrong = format!("L402 {}:{}", t.macaroon.to_base64(), "cd".repeat(32)).into_bytes();
    let o = run(&auto(), &Req::auth(wrong), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::PreimageMismatch)));
}

// ---------------------------------------------------------------------------------------------
// Dependencies down.

#[test]
fn a_store_down_at_the_claim_is_unavailable() {
    let t = token();
    let f = failure(Cause::Store, "l402: test: redis down");
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![IoResult::Claim(Err(f.clone()))]));
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::Store, retry_after: f.retry_after });
    assert!(o.logged("redis down"));
}

#[test]
fn a_full_store_is_unavailable() {
    let t = token();
    let mut world = World { claim_capacity: 0, ..World::default() };
    let o = run_in(&mut world, &policy(), &Req::auth(t.auth()));
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::StoreFull, retry_after: Duration::from_secs(10) });
    assert!(o.events.iter().any(|e| e.level == Level::Error && e.message.contains("usage zone is full")));
    assert_eq!(Cause::StoreFull.text(), "usage store full");
}

#[test]
fn a_backend_down_is_unavailable() {
    let mut world = World { backend_down: true, ..World::default() };
    let o = run_in(&mut world, &policy(), &Req::default());
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::BackendTimeout, retry_after: Duration::from_secs(7) });
    assert!(o.logged("backend down"));
    // Also for a refused credential that would get a fresh offer.
    let keys = ring();
    let t = mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) });
    let o = run_in(&mut world, &policy(), &Req::auth(t.auth()));
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::BackendTimeout, .. }));
}

#[test]
fn a_store_price_failure_is_unavailable_on_both_paths() {
    let t = token();
    let p = l402_gate::Policy { store: Store::Redis, store_price: true, ..policy() };
    let mut world = World { price_down: true, ..World::default() };
    let o = run_in(&mut world, &p, &Req::auth(t.auth()));
    assert_eq!(o.io_kinds(), ["price"]);
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Store, .. }));
    let o = run_in(&mut world, &p, &Req::default());
    assert_eq!(o.io_kinds(), ["price"]);
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Store, .. }));
}

// ---------------------------------------------------------------------------------------------
// Rate limit.

#[test]
fn challenges_are_rate_limited_per_client() {
    let p = l402_gate::Policy { rate_limit: Some(rate(2)), ..policy() };
    let mut world = World::default();
    for _ in 0..2 {
        let o = run_in(&mut world, &p, &Req::default());
        assert_eq!(o.io_kinds(), ["rate", "invoice"]);
        assert_eq!(
            o.ios[0].0,
            Io::RateCheck { key: keys::rate_key(SERVICE, CLIENT), rate: rate(2), now_ms: NOW_MS }
        );
        o.challenge();
    }
    let o = run_in(&mut world, &p, &Req::default());
    assert_eq!(o.io_kinds(), ["rate"]);
    assert_eq!(o.verdict, Verdict::RateLimited { retry_after: Duration::from_secs(30) });
    assert_eq!(o.verdict.status(), Some(Status::RateLimited));
    assert_eq!(o.verdict.reason(), Some(Reason::RateLimited));
    // A refused credential is rate limited too.
    let keys = ring();
    let expired = mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) });
    let o = run_in(&mut world, &p, &Req::auth(expired.auth()));
    assert!(matches!(o.verdict, Verdict::RateLimited { .. }));
    // A paying client is not.
    let o = run_in(&mut world, &p, &Req::auth(token().auth()));
    assert_eq!(o.io_kinds(), ["claim"]);
    o.admitted();
}

#[test]
fn retry_after_is_at_least_one_second() {
    let p = l402_gate::Policy { rate_limit: Some(rate(1)), ..policy() };
    let o = run(&p, &Req::default(), script(vec![IoResult::RateCheck(Ok(RateOutcome::Limited { retry_after_secs: 0 }))]));
    assert_eq!(o.verdict, Verdict::RateLimited { retry_after: Duration::from_secs(1) });
}

#[test]
fn a_rate_check_failure_is_unavailable() {
    let p = l402_gate::Policy { rate_limit: Some(rate(1)), ..policy() };
    let mut world = World { rate_down: true, ..World::default() };
    let o = run_in(&mut world, &p, &Req::default());
    assert_eq!(o.io_kinds(), ["rate"]);
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Store, .. }));
    let o = run(&p, &Req::default(), script(vec![IoResult::RateCheck(Ok(RateOutcome::StoreFull))]));
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::StoreFull, retry_after: Duration::from_secs(10) });
}

// ---------------------------------------------------------------------------------------------
// Prices that are not prices.

#[test]
fn an_unevaluable_price_is_internal() {
    let bad = PriceFact::Unevaluable;
    let o = run(&policy(), &Req::default().priced(bad.clone()), no_io);
    assert_eq!(o.verdict, Verdict::Internal);
    assert_eq!(o.verdict.status(), Some(Status::Unavailable));
    assert!(o.events.iter().any(|e| e.level == Level::Error));
    let o = run(&policy(), &Req::auth(token().auth()).priced(bad), no_io);
    assert_eq!(o.verdict, Verdict::Internal);
}

#[test]
fn an_invalid_price_is_unavailable() {
    let bad = PriceFact::Invalid { log: "l402: \"l402_amount_msat_default\" gave \"x\"".to_owned() };
    for req in [Req::default(), Req::auth(token().auth())] {
        let o = run(&policy(), &req.priced(bad.clone()), no_io);
        assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::Price, retry_after: Duration::from_secs(60) });
        assert!(o.logged("gave \"x\""));
    }
    // Also with a store price configured: the configured price is needed first.
    let p = l402_gate::Policy { store: Store::Redis, store_price: true, ..policy() };
    let o = run(&p, &Req::auth(token().auth()).priced(bad), no_io);
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::Price, .. }));
}

// ---------------------------------------------------------------------------------------------
// Redirects and error pages.

#[test]
fn an_already_challenged_request_is_not_challenged_again() {
    let req = Req { already_challenged: true, ..Req::auth(token().auth()) };
    let o = run(&l402_gate::Policy { rate_limit: Some(rate(1)), ..policy() }, &req, no_io);
    assert_eq!(o.verdict, Verdict::AlreadyChallenged);
    assert_eq!(o.verdict.status(), None);
    assert_eq!(o.calls, 1);
}

#[test]
fn a_request_that_holds_its_claim_is_not_claimed_again() {
    let t = token();
    let req = Req { claimed: Some(t.claim_key()), ..Req::auth(t.auth()) };
    let o = run(&policy(), &req, no_io);
    let a = o.admitted();
    assert_eq!((a.token_id, a.amount_msat), (t.token_id, PRICE));
    // The new location's price still applies.
    let o = run(&policy(), &req.clone().priced(PriceFact::Msat(PRICE + 1)), script(vec![invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::Underpaid));
    // A claim of another token is no claim of this one.
    let other = Req { claimed: Some(keys::claim_key(&[0xee; 32])), ..Req::auth(t.auth()) };
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &other);
    assert_eq!(o.io_kinds(), ["claim"]);
}

/// `Admitted::claimed` is "the claim this request now holds (so a redirect does not claim
/// again)": a request re-run after an internal redirect still holds its claim, and the verdict
/// says so, so an adapter that takes the held claim from the latest verdict never claims a
/// second use on the next redirect (index, then try_files or error_page).
#[test]

fn a_request_that_holds_its_claim_keeps_it_in_the_verdict() {
    let t = token();
    let mut world = World::default();
    let p = l402_gate::Policy { uses: uses(5), ..policy() };
    let first = run_in(&mut world, &p, &Req::auth(t.auth()));
    let mut held = first.admitted().claimed;
    assert_eq!(held, Some(t.claim_key()));
    // Two internal redirects, each taking the claim the previous verdict reports.
    for _ in 0..2 {
        let req = Req { claimed: held, ..Req::auth(t.auth()) };
        let o = run_in(&mut world, &p, &req);
        held = o.admitted().claimed;
        assert_eq!(held, Some(t.claim_key()), "the request still holds its claim");
    }
    assert_eq!(world.claims.get(&t.claim_key()), Some(&1), "one request, one use");
}

/// `Store::None` ("a policy that counts uses cannot be honoured"): the machine still asks for
/// the claim, and the executor, which has no store, answers it with a failure: 503, never an
/// admission.
#[test]
fn no_store_with_a_use_limit_is_unavailable() {
    let p = l402_gate::Policy { store: Store::None, ..policy() };
    let f = failure(Cause::Store, "l402: the usage store is not available in this worker");
    let o = run(&p, &Req::auth(token().auth()), script(vec![IoResult::Claim(Err(f.clone()))]));
    assert_eq!(o.io_kinds(), ["claim"]);
    assert_eq!(o.verdict, Verdict::Unavailable { cause: Cause::Store, retry_after: f.retry_after });
}

#[test]
fn no_store_with_unlimited_uses_admits() {
    let p = l402_gate::Policy { store: Store::None, uses: UsePolicy::Unlimited, ..policy() };
    run(&p, &Req::auth(token().auth()), no_io).admitted();
}

// ---------------------------------------------------------------------------------------------
// Dry run.

fn dry(p: l402_gate::Policy<'static>) -> l402_gate::Policy<'static> {
    l402_gate::Policy { dry_run: true, ..p }
}

/// Answers reads (price, lookup); a write (claim, rate check, invoice) is a test failure.
fn reads_only(world: &mut World) -> impl FnMut(&Io) -> IoResult + '_ {
    move |io| match io {
        Io::Claim { .. } | Io::RateCheck { .. } | Io::Invoice { .. } => panic!("a dry run asked for {io:?}"),
        _ => world.answer(io),
    }
}

#[test]
fn a_dry_run_never_claims_counts_or_invoices() {
    let keys = ring();
    let limited = dry(l402_gate::Policy { rate_limit: Some(rate(1)), uses: uses(2), ..policy() });
    let mut world = World::default();

    let o = run(&limited, &Req::default(), reads_only(&mut world));
    assert_eq!(o.challenge().reason, None);
    assert_eq!((o.challenge().offers.len(), o.challenge().token_id, o.challenge().payment_hash), (0, None, None));
    assert_eq!(o.challenge().amount_msat, PRICE);
    assert!(o.logged("l402: dry run: would challenge"), "{:?}", o.events);

    let t = token();
    for _ in 0..3 {
        let o = run(&limited, &Req::auth(t.auth()), reads_only(&mut world));
        let a = o.admitted();
        assert_eq!((a.uses_left, a.claimed), (None, None));
        assert!(o.logged("l402: dry run: would admit"));
    }

    let expired = mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) });
    let o = run(&limited, &Req::auth(expired.auth()), reads_only(&mut world));
    assert_eq!(refused(&o), Some(Reason::Rejected(Rejection::Expired)));
    assert!(o.logged("l402: dry run: would refuse: token expired"));

    let o = run(&dry(auto()), &Req::auth(t.auth_unpaid()), reads_only(&mut world));
    assert_eq!(o.io_kinds(), ["lookup"], "payment detection is a read");
    assert!(o.logged("l402: dry run: would refuse: invoice expired or unknown"));
    world.payments.insert(t.payment_hash, Payment::Open);
    let o = run(&dry(auto()), &Req::auth(t.auth_unpaid()), reads_only(&mut world));
    assert!(matches!(o.verdict, Verdict::Pending { .. }));
    assert!(o.logged("l402: dry run: would answer: payment not received yet"));

    let redis = dry(l402_gate::Policy { store: Store::Redis, store_price: true, ..limited });
    world.prices.insert(PATH.to_owned(), PRICE + 1);
    let o = run(&redis, &Req::auth(t.auth()), reads_only(&mut world));
    assert_eq!(o.io_kinds(), ["price", "price"]);
    assert_eq!(refused(&o), Some(Reason::Underpaid));

    let o = run(&limited, &Req::default().priced(PriceFact::Unevaluable), reads_only(&mut world));
    assert_eq!(o.verdict, Verdict::Internal);
    assert!(o.logged("l402: dry run: would answer 500"));

    let o = run(&redis, &Req::auth(t.auth()), |_| IoResult::Price(Err(failure(Cause::Store, "down"))));
    assert!(o.logged("l402: dry run: would answer 503: usage store unavailable"));

    assert!(world.claims.is_empty() && world.invoices.is_empty() && world.rate_left.is_empty());
}

#[test]
fn outside_a_dry_run_nothing_says_dry_run() {
    let mut world = World::default();
    for req in [Req::default(), Req::auth(token().auth())] {
        let o = run_in(&mut world, &policy(), &req);
        assert!(!o.logged("dry run"), "{:?}", o.events);
    }
}

// ---------------------------------------------------------------------------------------------
// A confused executor.

#[test]
fn an_answer_of_the_wrong_kind_is_internal() {
    let t = token();
    let wrong_for = |io: &Io| match io {
        Io::Claim { .. } => IoResult::Price(Ok(1)),
        Io::RateCheck { .. } => IoResult::Claim(Ok(ClaimOutcome::Accepted { remaining: None })),
        Io::Price { .. } => IoResult::Lookup(Ok(Payment::Settled)),
        Io::Lookup { .. } => IoResult::RateCheck(Ok(RateOutcome::Allowed)),
        Io::Invoice { .. } => IoResult::Claim(Ok(ClaimOutcome::Accepted { remaining: Some(3) })),
        Io::CashuVerify { .. } | Io::CashuStore { .. } | Io::SpendProofs { .. } | Io::CashuReceive { .. } => {
            IoResult::Price(Ok(1))
        }
    };
    let redis = l402_gate::Policy { store: Store::Redis, store_price: true, ..policy() };
    let cases: Vec<(l402_gate::Policy<'static>, Req, &str)> = vec![
        (policy(), Req::auth(t.auth()), "claim"),
        (l402_gate::Policy { rate_limit: Some(rate(1)), ..policy() }, Req::default(), "rate"),
        (redis, Req::auth(t.auth()), "price"),
        (auto(), Req::auth(t.auth_unpaid()), "lookup"),
        (policy(), Req::default(), "invoice"),
    ];
    for (p, req, kind) in cases {
        let o = run(&p, &req, wrong_for);
        assert_eq!(o.io_kinds(), [kind]);
        assert_eq!(o.verdict, Verdict::Internal, "{kind}");
        assert!(o.logged("wrong kind"));
    }
    // A Lookup answer to a Claim (which would say "settled") does not admit either.
    let o = run(&policy(), &Req::auth(t.auth()), script(vec![IoResult::Lookup(Ok(Payment::Settled))]));
    assert_eq!(o.verdict, Verdict::Internal);
}

#[test]
fn claim_answers_map_to_verdicts() {
    let t = token();
    let p = l402_gate::Policy { uses: uses(10), ..policy() };
    let o = run(&p, &Req::auth(t.auth()), script(vec![IoResult::Claim(Ok(ClaimOutcome::Accepted { remaining: Some(7) }))]));
    assert_eq!(o.admitted().uses_left, Some(7));
    let o = run(&p, &Req::auth(t.auth()), script(vec![IoResult::Claim(Ok(ClaimOutcome::UsedUp)), invoice_ok(1)]));
    assert_eq!(refused(&o), Some(Reason::UsedUp));
    let o = run(&p, &Req::auth(t.auth()), script(vec![IoResult::Claim(Ok(ClaimOutcome::StoreFull))]));
    assert!(matches!(o.verdict, Verdict::Unavailable { cause: Cause::StoreFull, .. }));
}

/// The longest run there is (lookup, store price, claim: used up; rate check, store price,
/// invoice) fits the step bound with room to spare.
#[test]
fn the_longest_run_fits_the_step_bound() {
    let t = token();
    let p = l402_gate::Policy {
        auto_detect: true,
        store: Store::Redis,
        store_price: true,
        rate_limit: Some(rate(3)),
        ..policy()
    };
    let mut world = World::default();
    world.payments.insert(t.payment_hash, Payment::Settled);
    world.claims.insert(t.claim_key(), 1);
    let o = run_in(&mut world, &p, &Req::auth(t.auth_unpaid()));
    assert_eq!(o.io_kinds(), ["lookup", "price", "claim", "rate", "price", "invoice"]);
    assert_eq!(refused(&o), Some(Reason::UsedUp));
    assert_eq!(o.calls, 7);
    assert!(o.calls <= l402_gate::MAX_STEPS as usize + 1);
}

#[test]
fn reason_and_status_texts_are_stable() {
    assert_eq!(Reason::UsedUp.text(), "token has no uses left");
    assert_eq!(Reason::Underpaid.to_string(), "token paid less than this request costs");
    assert_eq!(Reason::NoTerms.text(), "token does not state what it paid");
    assert_eq!(Reason::InvoiceGone.text(), "invoice expired or unknown");
    assert_eq!(Reason::Rejected(Rejection::Expired).text(), "token expired");
    assert_eq!(Reason::Credential(CredentialError::MissingPreimage).text(), "missing preimage");
    assert_eq!(Method::L402.text(), "l402");
    let texts: Vec<&str> = [
        Status::Free,
        Status::Challenged,
        Status::Paid,
        Status::Refused,
        Status::Pending,
        Status::RateLimited,
        Status::Unavailable,
    ]
    .iter()
    .map(|s| s.text())
    .collect();
    assert_eq!(texts, ["free", "challenged", "paid", "refused", "pending", "rate_limited", "unavailable"]);
}

#[test]
fn a_cors_preflight_is_answered_without_a_challenge_or_any_io() {
    let cors = l402_gate::CorsOrigins::parse(&["https://app.example"]).unwrap();
    let p = l402_gate::Policy { cors: Some(&cors), ..policy() };
    let allowed = Req { origin: Some(b"https://app.example".to_vec()), preflight: true, ..Req::default() };
    let o = run(&p, &allowed, no_io);
    assert_eq!(o.verdict, Verdict::Preflight { allowed: true });
    assert_eq!(o.verdict.status(), Some(Status::Preflight));
    let other = Req { origin: Some(b"https://evil.example".to_vec()), preflight: true, ..Req::default() };
    let o = run(&p, &other, no_io);
    assert_eq!(o.verdict, Verdict::Preflight { allowed: false });
    assert!(o.events.iter().any(|e| e.message.contains("not in \"l402_cors_origins\"")));
    // Even with a credential, a preflight neither verifies nor claims.
    let with_cred = Req { preflight: true, ..Req::auth(token().auth()) };
    assert_eq!(run(&p, &with_cred, no_io).verdict, Verdict::Preflight { allowed: false });
}

#[test]
fn without_an_allow_list_a_preflight_is_an_ordinary_request() {
    let mut world = World::default();
    let req = Req { origin: Some(b"https://app.example".to_vec()), preflight: true, ..Req::default() };
    let o = run_in(&mut world, &policy(), &req);
    assert_eq!(o.io_kinds(), ["invoice"]);
    assert_eq!(o.verdict.status(), Some(Status::Challenged));
}

fn session(req: Req) -> Req {
    Req { session: true, ..req }
}

#[test]
fn a_session_request_proves_a_paid_token_without_spending_it() {
    let t = token();
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &session(Req::auth(t.auth())));
    assert!(o.ios.is_empty(), "no claim: {:?}", o.io_kinds());
    assert_eq!(o.verdict, Verdict::Session(l402_gate::Session { token_id: t.token_id, valid_until: Some(NOW + TIMEOUT) }));
    assert_eq!(o.verdict.status(), Some(Status::Session));
    // The use is still there for the request that follows (the page's reload).
    let o = run_in(&mut world, &policy(), &Req::auth(t.auth()));
    assert_eq!(o.io_kinds(), ["claim"]);
    assert_eq!(o.admitted().uses_left, Some(0));
}

#[test]
fn a_session_request_is_checked_like_a_request_to_serve() {
    let keys = ring();
    let cases = [
        mint(Mint::new(&foreign_ring())),
        mint(Mint { valid_until: Some(NOW), ..Mint::new(&keys) }),
        mint(Mint { service: "other", ..Mint::new(&keys) }),
        mint(Mint { paid_msat: PRICE - 1, ..Mint::new(&keys) }),
    ];
    for t in cases {
        let mut world = World::default();
        let o = run_in(&mut world, &policy(), &session(Req::auth(t.auth())));
        assert_eq!(o.verdict.status(), Some(Status::Refused), "{:?}", o.verdict);
        assert_eq!(o.io_kinds(), ["invoice"]);
    }
    // No credential, or a macaroon without preimage and no payment detection: a challenge.
    let mut world = World::default();
    assert_eq!(run_in(&mut world, &policy(), &session(Req::default())).verdict.status(), Some(Status::Challenged));
    let o = run_in(&mut world, &policy(), &session(Req::auth(token().auth_unpaid())));
    assert_eq!(o.verdict.status(), Some(Status::Refused));
}

#[test]
fn a_session_request_with_payment_detection_looks_up_and_never_claims() {
    let t = token();
    let mut world = World::default();
    world.payments.insert(t.payment_hash, Payment::Open);
    let o = run_in(&mut world, &auto(), &session(Req::auth(t.auth_unpaid())));
    assert_eq!(o.io_kinds(), ["lookup"]);
    assert_eq!(o.verdict.status(), Some(Status::Pending));
    world.payments.insert(t.payment_hash, Payment::Settled);
    let o = run_in(&mut world, &auto(), &session(Req::auth(t.auth_unpaid())));
    assert_eq!(o.io_kinds(), ["lookup"]);
    assert!(matches!(o.verdict, Verdict::Session(s) if s.token_id == t.token_id));
}

#[test]
fn an_l402_offer_says_what_a_page_shows() {
    let mut world = World::default();
    let o = run_in(&mut world, &policy(), &Req::default());
    let offer = &o.challenge().offers[0];
    let payable = offer.payable.as_ref().expect("an L402 offer is payable from a page");
    let www = &offer.headers[0].1;
    assert!(www.contains(&format!("macaroon=\"{}\"", payable.macaroon)));
    assert!(www.contains(&format!("invoice=\"{}\"", payable.invoice)));
}
