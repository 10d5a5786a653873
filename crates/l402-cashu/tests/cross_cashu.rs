//! Cross-checks against the `cashu` crate (cdk's types and crypto, code we did not write), on
//! generated data: hash_to_curve, tokens it encodes (V4, V3), proofs its mint-side crypto signs
//! with DLEQ (valid and tampered), P2PK secrets it writes, keyset ids it derives, and our
//! `creqA` requests decoded by it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use l402_cashu::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hash_to_curve_agrees(msg in proptest::collection::vec(any::<u8>(), 0..200)) {
        let theirs = cashu::dhke::hash_to_curve(&msg).unwrap().to_bytes();
        prop_assert_eq!(hash_to_curve(&msg).unwrap().serialize(), theirs);
    }
}

#[test]
fn hash_to_curve_agrees_on_text_secrets() {
    for i in 0..200 {
        let s = cashu::secret::Secret::generate();
        let theirs = cashu::dhke::hash_to_curve(s.as_bytes()).unwrap().to_bytes();
        assert_eq!(proof_y(&s.to_string()).unwrap(), theirs, "{i}");
    }
}

fn same_proof(ours: &Proof, theirs: &cashu::nuts::nut00::Proof) {
    assert_eq!(ours.amount, u64::from(theirs.amount));
    assert_eq!(ours.secret, theirs.secret.to_string());
    assert_eq!(ours.c, theirs.c.to_bytes());
    // V4 carries V2 ids in their short form (NUT-00 "Short keyset ID"), V3 in full.
    let full = theirs.keyset_id.to_string();
    assert!(full.starts_with(&ours.keyset_id.to_hex()), "{} {full}", ours.keyset_id.to_hex());
    let d = theirs.dleq.as_ref().unwrap();
    let dl = ours.dleq.unwrap();
    assert_eq!(hex(&dl.e), d.e.to_secret_hex());
    assert_eq!(hex(&dl.s), d.s.to_secret_hex());
    assert_eq!(hex(&dl.r), d.r.to_secret_hex());
}

#[test]
fn tokens_cashu_encodes_parse_to_the_same_proofs() {
    for v2 in [false, true] {
        let mint = TestMint::new(v2, 0);
        let proofs: Vec<_> = [1u64, 2, 8, 64, 1024].iter().map(|a| mint.proof(*a, &hex(&rand_bytes()))).collect();
        for text in [mint.token_v4(proofs.clone()), mint.token_v3(proofs.clone())] {
            let t = parse_token(&text).unwrap();
            assert_eq!(t.mint, MINT);
            assert_eq!(t.unit, "sat");
            assert_eq!(t.amount(), 1 + 2 + 8 + 64 + 1024);
            assert_eq!(t.proofs.len(), proofs.len());
            // cashu groups V4 proofs by keyset in a map; one keyset keeps the order.
            for (ours, theirs) in t.proofs.iter().zip(&proofs) {
                same_proof(ours, theirs);
            }
        }
        // And cashu reads what we encode.
        let t = parse_token(&mint.token_v4(proofs.clone())).unwrap();
        let back: cashu::nuts::nut00::token::Token = encode_v4(&t).parse().unwrap();
        assert_eq!(back.value().unwrap(), cashu::Amount::from(t.amount()));
    }
}

fn rand_bytes() -> [u8; 32] {
    cashu::nuts::nut01::SecretKey::generate().to_secret_bytes()
}

#[test]
fn dleq_of_proofs_cashu_signs_verifies_and_tampering_does_not() {
    for v2 in [false, true] {
        let mint = TestMint::new(v2, 0);
        for amount in [1u64, 4, 512] {
            let p = mint.proof(amount, &hex(&rand_bytes()));
            // cashu's own verifier agrees the proof is good.
            p.verify_dleq(mint.keys.amount_key(cashu::Amount::from(amount)).unwrap()).unwrap();
            let t = parse_token(&mint.token_v4(vec![p])).unwrap();
            let ours = &t.proofs[0];
            let keys = mint.mint_keys();
            let ks = keys.resolve(&ours.keyset_id).unwrap();
            let a = ks.keys[&amount];
            let d = ours.dleq.unwrap();
            let y = dleq::verify_proof(&ours.secret, &ours.c, &d, &a).unwrap();
            assert_eq!(y.serialize(), cashu::dhke::hash_to_curve(ours.secret.as_bytes()).unwrap().to_bytes());
            // The key of another amount, another secret, a flipped e/s/r, another C.
            let other = ks.keys[&(if amount == 1 { 2 } else { 1 })];
            assert!(dleq::verify_proof(&ours.secret, &ours.c, &d, &other).is_err());
            assert!(dleq::verify_proof(&format!("{}x", ours.secret), &ours.c, &d, &a).is_err());
            for i in 0..3 {
                let mut bad = d;
                match i {
                    0 => bad.e[5] ^= 0x10,
                    1 => bad.s[5] ^= 0x10,
                    _ => bad.r[5] ^= 0x10,
                }
                assert!(dleq::verify_proof(&ours.secret, &ours.c, &bad, &a).is_err(), "{i}");
            }
            let another = mint.proof(amount, "another");
            assert!(dleq::verify_proof(&ours.secret, &another.c.to_bytes(), &d, &a).is_err());
        }
    }
}

#[test]
fn a_fabricated_c_without_the_mint_key_fails_dleq() {
    // A C made with a key that is not the mint's, with a DLEQ for that other key.
    let mint = TestMint::new(false, 0);
    let forger = TestMint::new(false, 0);
    let p = forger.proof(8, "forged");
    let t = parse_token(&forger.token_v4(vec![p])).unwrap();
    let keys = mint.mint_keys();
    let a = keys.keysets().next().unwrap().keys[&8];
    assert!(dleq::verify_proof(&t.proofs[0].secret, &t.proofs[0].c, &t.proofs[0].dleq.unwrap(), &a).is_err());
}

#[test]
fn p2pk_secrets_cashu_writes_are_our_lock() {
    let (_, ours) = our_key();
    let (_, theirs) = our_key();
    let s = cashu_p2pk_secret(&ours, None);
    assert_eq!(check_lock(&s, &ours, NOW, 3600), Ok(Lock { locktime: None }));
    assert_eq!(check_lock(&s, &theirs, NOW, 3600), Err(LockError::NotOurKey));
    let s = cashu_p2pk_secret(&ours, Some(NOW + 7200));
    assert_eq!(check_lock(&s, &ours, NOW, 3600), Ok(Lock { locktime: Some(NOW + 7200) }));
    let s = cashu_p2pk_secret(&ours, Some(NOW + 60));
    assert_eq!(check_lock(&s, &ours, NOW, 3600), Err(LockError::ExpiresTooSoon));
    // And cashu reads our parse the same way: the data is the key it locked to.
    let parsed = parse_p2pk_secret(&cashu_p2pk_secret(&ours, None)).unwrap();
    assert_eq!(parsed.data, ours);
}

#[test]
fn keyset_ids_agree_with_cashu() {
    for fee in [0u64, 100] {
        let mint = TestMint::new(true, fee);
        let keys = mint.mint_keys();
        let ks = keys.keysets().next().unwrap();
        assert_eq!(ks.id.to_hex(), mint.id.to_string());
        assert_eq!(hex(&derive_v2_id(&ks.keys, "sat", fee, None)), mint.id.to_string());
        let v1 = cashu::nuts::nut02::Id::v1_from_keys(&mint.keys);
        assert_eq!(hex(&derive_v1_id(&ks.keys)), v1.to_string());
    }
}

#[test]
fn full_p2pk_verification_of_a_token_cashu_built() {
    let mint = TestMint::new(true, 100);
    let keys = mint.mint_keys();
    let (_, ours) = our_key();
    let proofs: Vec<_> = [2u64, 8].iter().map(|a| mint.proof(*a, &cashu_p2pk_secret(&ours, None))).collect();
    let t = parse_token(&mint.token_v4(proofs)).unwrap();
    // cashu writes V2 ids in V4 tokens in their short form: resolved against the keys.
    let allowed = [MINT.to_string()];
    let policy = Policy { allowed_mints: &allowed, unit: "sat", price: 9, now: NOW };
    let acc = verify_p2pk(&t, &keys, &ours, &policy, 3600).unwrap();
    assert_eq!((acc.amount, acc.fee, acc.mint.as_str(), acc.ys.len()), (10, 1, MINT, 2));
    for (y, p) in acc.ys.iter().zip(&t.proofs) {
        assert_eq!(*y, cashu::dhke::hash_to_curve(p.secret.as_bytes()).unwrap().to_bytes());
    }
    let policy = Policy { price: 10, ..policy };
    assert_eq!(verify_p2pk(&t, &keys, &ours, &policy, 3600), Err(Refusal::Underpaid));
}

#[test]
fn our_payment_requests_decode_in_cashu() {
    let (_, ours) = our_key();
    let mints = vec!["https://mint.example.com".to_string(), "http://localhost:3338".to_string()];
    let mut r = PaymentRequest::for_402(21, "sat", &mints, Some(&ours));
    r.id = Some("b7a90176".into());
    r.description = Some("a paid page".into());
    r.single_use = Some(true);
    let text = r.encode();
    assert!(text.starts_with("creqA"));
    assert_eq!(decode_request(&text).unwrap(), r);
    let theirs: cashu::nuts::nut18::PaymentRequest = text.parse().unwrap();
    assert_eq!(theirs.payment_id.as_deref(), Some("b7a90176"));
    assert_eq!(theirs.amount, Some(cashu::Amount::from(21u64)));
    assert_eq!(theirs.unit, Some(cashu::nuts::nut00::CurrencyUnit::Sat));
    assert_eq!(theirs.single_use, Some(true));
    assert_eq!(theirs.description.as_deref(), Some("a paid page"));
    let their_mints: Vec<String> = theirs.mints.iter().map(|m| m.to_string()).collect();
    assert_eq!(their_mints, mints);
    assert!(theirs.transports.is_empty());
    let n = theirs.nut10.unwrap();
    assert_eq!(n.data, hex(&ours.serialize()));
    assert_eq!(n.tags, Some(vec![vec!["sigflag".to_string(), "SIG_INPUTS".to_string()]]));
    assert_eq!(format!("{:?}", n.kind), "P2PK");
    // Without a lock and without an id.
    let plain = PaymentRequest::for_402(1, "sat", &mints[..1], None);
    let theirs: cashu::nuts::nut18::PaymentRequest = plain.encode().parse().unwrap();
    assert!(theirs.nut10.is_none() && theirs.payment_id.is_none());
}
