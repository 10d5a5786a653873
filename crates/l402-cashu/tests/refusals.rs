//! Every refusal path: token parsing, keyset replies, P2PK secrets, precheck and verify_p2pk,
//! with their stable texts and faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use l402_cashu::*;

fn sample_proof(amount: u64, secret: &str) -> Proof {
    Proof { keyset_id: KeysetId::Short([0, 1, 2, 3, 4, 5, 6, 7]), amount, secret: secret.into(), c: [2; 33], dleq: None, witness: None }
}

fn token_of(proofs: Vec<Proof>) -> Token {
    Token { mint: MINT.into(), unit: "sat".into(), memo: None, proofs }
}

/// A V4 token text with the given top-level CBOR (built by hand).
fn v4_raw(cbor: &[u8]) -> String {
    use base64::Engine;
    format!("cashuB{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cbor))
}

fn v3_raw(json: &str) -> String {
    use base64::Engine;
    format!("cashuA{}", base64::engine::general_purpose::URL_SAFE.encode(json))
}

// ---- tokens ----

#[test]
fn token_caps() {
    assert_eq!(parse_token(&"cashuB".repeat(20_000)), Err(TokenError::TooLarge));
    let many: Vec<Proof> = (0..MAX_PROOFS + 1).map(|i| sample_proof(1, &format!("s{i}"))).collect();
    assert_eq!(parse_token(&encode_v4(&token_of(many))), Err(TokenError::TooManyProofs));
    let ok: Vec<Proof> = (0..MAX_PROOFS).map(|i| sample_proof(1, &format!("s{i}"))).collect();
    assert_eq!(parse_token(&encode_v4(&token_of(ok))).map(|t| t.proofs.len()), Ok(MAX_PROOFS));
    let long = sample_proof(1, &"x".repeat(MAX_SECRET_LEN + 1));
    assert_eq!(parse_token(&encode_v4(&token_of(vec![long]))), Err(TokenError::SecretTooLong));
    let mut w = sample_proof(1, "s");
    w.witness = Some("w".repeat(MAX_WITNESS_LEN + 1));
    assert_eq!(parse_token(&encode_v4(&token_of(vec![w]))), Err(TokenError::WitnessTooLong));
    let mut t = token_of(vec![sample_proof(1, "s")]);
    t.memo = Some("m".repeat(MAX_MEMO_LEN + 1));
    assert_eq!(parse_token(&encode_v4(&t)), Err(TokenError::MemoTooLong));
}

#[test]
fn token_amounts() {
    for bad in [0u64, 3, 6, 1000] {
        assert_eq!(parse_token(&encode_v4(&token_of(vec![sample_proof(bad, "s")]))), Err(TokenError::AmountNotPowerOfTwo));
    }
    let big = vec![sample_proof(1 << 63, "a"), sample_proof(1 << 63, "b")];
    assert_eq!(parse_token(&encode_v4(&token_of(big))), Err(TokenError::AmountOverflow));
}

#[test]
fn token_shape() {
    assert_eq!(parse_token(&encode_v4(&token_of(vec![]))), Err(TokenError::NoProofs));
    assert_eq!(parse_token("cashuB!!!"), Err(TokenError::Malformed));
    assert_eq!(parse_token("cashuBAA"), Err(TokenError::Malformed));
    assert_eq!(parse_token("cashuC"), Err(TokenError::UnsupportedVersion));
    assert_eq!(parse_token(""), Err(TokenError::UnsupportedVersion));
    let mut t = token_of(vec![sample_proof(1, "s")]);
    t.mint = "ftp://mint".into();
    assert_eq!(parse_token(&encode_v4(&t)), Err(TokenError::MintUrlInvalid));
    t.mint = MINT.into();
    t.unit = String::new();
    assert_eq!(parse_token(&encode_v4(&t)), Err(TokenError::UnitInvalid));
    let mut p = sample_proof(1, "s");
    p.c[0] = 0x04;
    assert_eq!(parse_token(&encode_v4(&token_of(vec![p]))), Err(TokenError::PointInvalid));
    assert_eq!(parse_token(&encode_v4(&token_of(vec![sample_proof(1, "")]))), Err(TokenError::Malformed));
    // A keyset id of 5 bytes: {t: [{i: h'0001020304', p: []}], m: .., u: ..}
    let mut cbor = vec![0xa3, 0x61, b't', 0x81, 0xa2, 0x61, b'i', 0x45, 0, 1, 2, 3, 4, 0x61, b'p', 0x80];
    cbor.extend_from_slice(&[0x61, b'm', 0x78, MINT.len() as u8]);
    cbor.extend_from_slice(MINT.as_bytes());
    cbor.extend_from_slice(&[0x61, b'u', 0x63, b's', b'a', b't']);
    assert_eq!(parse_token(&v4_raw(&cbor)), Err(TokenError::KeysetIdInvalid));
    // A repeated key is refused; an unknown one ignored.
    let mut dup = cbor.clone();
    dup[0] = 0xa4;
    dup.extend_from_slice(&[0x61, b'u', 0x63, b's', b'a', b't']);
    assert_eq!(parse_token(&v4_raw(&dup)), Err(TokenError::Malformed));
    let text = encode_v4(&token_of(vec![sample_proof(1, "s")]));
    let good = parse_token(&text).unwrap();
    assert_eq!(good.proofs.len(), 1);
}

#[test]
fn unknown_v4_fields_are_ignored() {
    // {t: [...], m, u, x: [1, {"y": null}]} — as NUT-00 "Receivers MUST ignore unknown fields".
    let t = token_of(vec![sample_proof(2, "s")]);
    let text = encode_v4(&t);
    use base64::Engine;
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&text[6..]).unwrap();
    raw[0] += 1;
    raw.extend_from_slice(&[0x61, b'x', 0x82, 0x01, 0xa1, 0x61, b'y', 0xf6]);
    assert_eq!(parse_token(&v4_raw(&raw)), Ok(t));
}

#[test]
fn v3_refusals() {
    let proof = r#"{"id":"009a1f293253e41e","amount":2,"secret":"s","C":"02bc9097997d81afb2cc7346b5e4345a9346bd2a506eb7958598a72f0cf85163ea"}"#;
    let two = format!(r#"{{"token":[{{"mint":"https://a.example","proofs":[{proof}]}},{{"mint":"https://b.example","proofs":[{proof}]}}]}}"#);
    assert_eq!(parse_token(&v3_raw(&two)), Err(TokenError::SeveralMints));
    let same = format!(r#"{{"token":[{{"mint":"https://a.example","proofs":[{proof}]}},{{"mint":"https://A.example/","proofs":[{proof}]}}]}}"#);
    assert_eq!(parse_token(&v3_raw(&same)).map(|t| (t.proofs.len(), t.unit)), Ok((2, "sat".to_string())));
    assert_eq!(parse_token(&v3_raw(r#"{"token":[]}"#)), Err(TokenError::NoProofs));
    assert_eq!(parse_token(&v3_raw(r#"{"token":5}"#)), Err(TokenError::Malformed));
    let bad_id = proof.replace("009a1f293253e41e", "I2yN+iRYfkzT");
    let t = format!(r#"{{"token":[{{"mint":"https://a.example","proofs":[{bad_id}]}}]}}"#);
    assert_eq!(parse_token(&v3_raw(&t)), Err(TokenError::KeysetIdInvalid));
    let bad_c = proof.replace("02bc", "zz");
    let t = format!(r#"{{"token":[{{"mint":"https://a.example","proofs":[{bad_c}]}}]}}"#);
    assert_eq!(parse_token(&v3_raw(&t)), Err(TokenError::PointInvalid));
    let negative = proof.replace(r#""amount":2"#, r#""amount":-2"#);
    let t = format!(r#"{{"token":[{{"mint":"https://a.example","proofs":[{negative}]}}]}}"#);
    assert_eq!(parse_token(&v3_raw(&t)), Err(TokenError::Malformed));
}

#[test]
fn token_error_texts_are_stable_and_short() {
    use TokenError as E;
    for e in [
        E::TooLarge, E::UnsupportedVersion, E::Malformed, E::NoProofs, E::TooManyProofs, E::SecretTooLong,
        E::WitnessTooLong, E::MemoTooLong, E::UnitInvalid, E::AmountNotPowerOfTwo, E::AmountOverflow,
        E::SeveralMints, E::MintUrlInvalid, E::KeysetIdInvalid, E::PointInvalid,
    ] {
        let r = Refusal::Token(e);
        assert_eq!(r.fault(), Fault::Client);
        assert!(r.reason().len() <= 40 && r.reason().bytes().all(|b| b.is_ascii_lowercase() || b == b' '), "{}", r.reason());
    }
}

// ---- keyset replies ----

#[test]
fn keyset_reply_refusals() {
    let mint = TestMint::new(false, 0);
    let info = parse_keysets(&mint.keysets_json()).unwrap().remove(0);
    let keys = parse_keys(&mint.keys_json()).unwrap().remove(0);
    // Another keyset's keys under this id.
    let other = TestMint::new(false, 0);
    let mut wrong = parse_keys(&other.keys_json()).unwrap().remove(0);
    wrong.id = info.id;
    let mut mk = MintKeys::new(MINT).unwrap();
    assert_eq!(mk.insert(&info, wrong), Err(KeysetError::IdMismatch));
    let mut unit = keys.clone();
    unit.unit = "usd".into();
    assert_eq!(mk.insert(&info, unit), Err(KeysetError::Inconsistent));
    let mut fee = keys.clone();
    fee.input_fee_ppk = Some(5);
    assert_eq!(mk.insert(&info, fee), Err(KeysetError::Inconsistent));
    assert_eq!(mk.insert(&info, keys.clone()), Ok(()));
    assert_eq!(mk.insert(&info, keys), Ok(()), "the same keyset again");

    let id = mint.id.to_string();
    let k = "03a40f20667ed53513075dc51e715ff2046cad64eb68960632269ba7f0210e38bc";
    let reply = |keys: &str| format!(r#"{{"keysets":[{{"id":"{id}","unit":"sat","keys":{{{keys}}}}}]}}"#);
    assert_eq!(parse_keys(&reply(&format!(r#""3":"{k}""#))), Err(KeysetError::AmountInvalid));
    assert_eq!(parse_keys(&reply(&format!(r#""01":"{k}""#))), Err(KeysetError::AmountInvalid));
    assert_eq!(parse_keys(&reply(&format!(r#""1":"{k}","1":"{k}""#))), Err(KeysetError::Malformed));
    assert_eq!(parse_keys(&reply(r#""1":"04aa""#)), Err(KeysetError::KeyInvalid));
    assert_eq!(parse_keys(&reply("")), Err(KeysetError::Malformed));
    let many: Vec<String> = (0..65).map(|i| format!(r#""{}":"{k}""#, 1u128 << i)).collect();
    assert_eq!(parse_keys(&reply(&many.join(","))), Err(KeysetError::TooManyKeys));
    assert_eq!(parse_keys(&" ".repeat(MAX_REPLY_LEN + 1)), Err(KeysetError::TooLarge));
    assert_eq!(parse_keysets(r#"{"keysets":[{"id":"zz","unit":"sat","active":true}]}"#), Err(KeysetError::IdInvalid));
    assert_eq!(
        parse_keysets(r#"{"keysets":[{"id":"009a1f293253e41e","unit":"sat","active":true,"input_fee_ppk":1000001}]}"#),
        Err(KeysetError::AmountInvalid)
    );
    let entry = r#"{"id":"009a1f293253e41e","unit":"sat","active":true}"#;
    let list = vec![entry; MAX_KEYSETS + 1].join(",");
    assert_eq!(parse_keysets(&format!(r#"{{"keysets":[{list}]}}"#)), Err(KeysetError::TooManyKeysets));
    assert_eq!(parse_keysets(r#"{"keysets":[{"id":"029a1f293253e41e","unit":"sat","active":true}]}"#).map(|v| v.len()), Ok(1));
}

#[test]
fn keyset_versions_and_resolution() {
    let mut info = KeysetInfo { id: KeysetId::Short([2, 0, 0, 0, 0, 0, 0, 0]), unit: "sat".into(), active: true, input_fee_ppk: 0, final_expiry: None };
    let mint = TestMint::new(false, 0);
    let mut keys = parse_keys(&mint.keys_json()).unwrap().remove(0);
    keys.id = info.id;
    let mut mk = MintKeys::new(MINT).unwrap();
    assert_eq!(mk.insert(&info, keys.clone()), Err(KeysetError::VersionUnsupported));
    info.id = KeysetId::Short([1, 0, 0, 0, 0, 0, 0, 0]);
    keys.id = info.id;
    assert_eq!(mk.insert(&info, keys), Err(KeysetError::IdInvalid), "a V2 id must be full in a keys reply");
    assert_eq!(mk.resolve(&KeysetId::Short([0; 8])), Err(ResolveError::Unknown));
}

// ---- P2PK secrets ----

#[test]
fn p2pk_secret_refusals() {
    let (_, ours) = our_key();
    let k = hex(&ours.serialize());
    let other = hex(&our_key().1.serialize());
    let check = |s: &str| check_lock(s, &ours, NOW, 3600);
    assert!(check(&p2pk_secret(&k, "[]")).is_ok());
    assert_eq!(check("407915bc212be61a77e3e6d2aeb4c727980bda51cd06a6afc29e2861768a7837"), Err(LockError::NotLocked));
    assert_eq!(check(&format!("[\"P2PK\",{{\"nonce\":\"n\",\"data\":\"{k}\"}}")), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&other, "[]")), Err(LockError::NotOurKey));
    assert_eq!(check(&p2pk_secret(&k.to_uppercase(), "[]")), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret("02aa", "[]")), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, "[[]]")), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["locktime",""]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["locktime",1765300829]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["locktime","soon"]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["locktime","01"]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["locktime","1","2"]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["sigflag","SIG_SOME"]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["sigflag","SIG_INPUTS"],["sigflag","SIG_INPUTS"]]"#)), Err(LockError::DuplicateTag));
    assert_eq!(check(&p2pk_secret(&k, r#"[["purpose","offline"]]"#)), Err(LockError::UnknownTag));
    assert_eq!(check(&p2pk_secret(&k, &format!(r#"[["pubkeys","{other}"]]"#))), Err(LockError::OtherKeys));
    assert_eq!(check(&p2pk_secret(&k, r#"[["n_sigs","1"]]"#)), Err(LockError::OtherKeys));
    assert_eq!(check(&p2pk_secret(&k, r#"[["n_sigs","0"]]"#)), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, &format!(r#"[["pubkeys","{k}"]]"#))), Err(LockError::Malformed), "a key twice");
    assert_eq!(check(&p2pk_secret(&k, &format!(r#"[["refund","{other}"]]"#))), Err(LockError::RefundKeys));
    assert_eq!(check(&p2pk_secret(&k, &format!(r#"[["refund","{other}"],["n_sigs_refund","2"]]"#))), Err(LockError::Malformed));
    assert_eq!(check(&p2pk_secret(&k, r#"[["sigflag","SIG_ALL"]]"#)), Err(LockError::SigFlagUnsupported));
    assert_eq!(check(&p2pk_secret(&k, &format!(r#"[["locktime","{}"]]"#, NOW + 3599))), Err(LockError::ExpiresTooSoon));
    assert!(check(&p2pk_secret(&k, &format!(r#"[["locktime","{}"]]"#, NOW + 3600))).is_ok());
    // Shape: extra fields, a repeated field, a third element, an empty nonce, too long.
    let s = format!(r#"["P2PK",{{"nonce":"n","data":"{k}","extra":1}}]"#);
    assert_eq!(check(&s), Err(LockError::Malformed));
    let s = format!(r#"["P2PK",{{"nonce":"n","data":"{other}","data":"{k}"}}]"#);
    assert_eq!(check(&s), Err(LockError::Malformed));
    let s = format!(r#"["P2PK",{{"nonce":"n","data":"{k}"}},3]"#);
    assert_eq!(check(&s), Err(LockError::Malformed));
    let s = format!(r#"["P2PK",{{"nonce":"","data":"{k}"}}]"#);
    assert_eq!(check(&s), Err(LockError::Malformed));
    assert_eq!(check(&format!("[{}]", " ".repeat(MAX_SECRET_LEN))), Err(LockError::TooLong));
    assert_eq!(check(r#"["HTLC",{"nonce":"n","data":"00"}]"#), Err(LockError::NotP2pk));
}

// ---- precheck and verify_p2pk ----

struct Fixture {
    mint: TestMint,
    keys: MintKeys,
    ours: PublicKey,
    allowed: Vec<String>,
}

impl Fixture {
    fn new(fee: u64) -> Fixture {
        let mint = TestMint::new(true, fee);
        let keys = mint.mint_keys();
        Fixture { mint, keys, ours: our_key().1, allowed: vec!["https://MINT.example.com/".into()] }
    }
    fn policy(&self, price: u64) -> Policy<'_> {
        Policy { allowed_mints: &self.allowed, unit: "sat", price, now: NOW }
    }
    fn locked(&self, amount: u64) -> cashu::nuts::nut00::Proof {
        self.mint.proof(amount, &cashu_p2pk_secret(&self.ours, None))
    }
    fn token(&self, proofs: Vec<cashu::nuts::nut00::Proof>) -> Token {
        parse_token(&self.mint.token_v4(proofs)).unwrap()
    }
    fn verify(&self, t: &Token, price: u64) -> Result<Accepted, Refusal> {
        verify_p2pk(t, &self.keys, &self.ours, &self.policy(price), 3600)
    }
}

#[test]
fn precheck_refusals() {
    let f = Fixture::new(0);
    let t = f.token(vec![f.locked(4), f.locked(1)]);
    assert_eq!(precheck(&t, &f.policy(5), None), Ok(Checked { mint: MINT.into(), amount: 5, fee: None }));
    assert_eq!(precheck(&t, &f.policy(6), None), Err(Refusal::Underpaid));
    let none: Vec<String> = vec!["https://other.example".into(), "not a url".into()];
    let p = Policy { allowed_mints: &none, ..f.policy(1) };
    assert_eq!(precheck(&t, &p, None), Err(Refusal::MintNotAllowed));
    let p = Policy { unit: "usd", ..f.policy(1) };
    assert_eq!(precheck(&t, &p, None), Err(Refusal::UnitNotAccepted));
    let mut dup = t.clone();
    dup.proofs.push(dup.proofs[0].clone());
    assert_eq!(precheck(&dup, &f.policy(1), None), Err(Refusal::DuplicateProof));
    let mut empty = t.clone();
    empty.proofs.clear();
    assert_eq!(precheck(&empty, &f.policy(0), None), Err(Refusal::Token(TokenError::NoProofs)));
}

#[test]
fn precheck_with_keys_subtracts_fees_and_knows_keysets() {
    let f = Fixture::new(400);
    let t = f.token(vec![f.locked(4), f.locked(1), f.locked(2)]);
    // 3 × 400 ppk = 1200 ppk → 2.
    assert_eq!(precheck(&t, &f.policy(5), Some(&f.keys)).map(|c| c.fee), Ok(Some(2)));
    assert_eq!(precheck(&t, &f.policy(6), Some(&f.keys)), Err(Refusal::Underpaid));
    let other = TestMint::new(true, 0).mint_keys();
    assert_eq!(precheck(&t, &f.policy(1), Some(&other)), Err(Refusal::UnknownKeyset));
    let elsewhere = MintKeys::new("https://elsewhere.example").unwrap();
    let r = precheck(&t, &f.policy(1), Some(&elsewhere)).unwrap_err();
    assert_eq!((r, r.fault(), r.fault().status(), r.reason()), (Refusal::KeysNotLoaded, Fault::Server, 503, "mint keys not loaded"));
    let empty = MintKeys::new(MINT).unwrap();
    assert_eq!(precheck(&t, &f.policy(1), Some(&empty)), Err(Refusal::KeysNotLoaded));
}

#[test]
fn verify_p2pk_refusals() {
    let f = Fixture::new(0);
    let good = f.token(vec![f.locked(8), f.locked(2)]);
    assert_eq!(f.verify(&good, 10).map(|a| (a.amount, a.fee, a.ys.len())), Ok((10, 0, 2)));
    assert_eq!(f.verify(&good, 11), Err(Refusal::Underpaid));

    let mut no_dleq = good.clone();
    no_dleq.proofs[1].dleq = None;
    assert_eq!(f.verify(&no_dleq, 1), Err(Refusal::MissingDleq));
    let mut bad_dleq = good.clone();
    if let Some(d) = bad_dleq.proofs[0].dleq.as_mut() {
        d.s[0] ^= 1;
    }
    assert_eq!(f.verify(&bad_dleq, 1), Err(Refusal::InvalidDleq));
    let mut forged = good.clone();
    forged.proofs[0].c = forged.proofs[1].c;
    assert_eq!(f.verify(&forged, 1), Err(Refusal::InvalidDleq));

    let plain = f.token(vec![f.mint.proof(8, "407915bc212be61a77e3e6d2aeb4c727980bda51cd06a6afc29e2861768a7837")]);
    assert_eq!(f.verify(&plain, 1), Err(Refusal::Lock(LockError::NotLocked)));
    let theirs = f.token(vec![f.mint.proof(8, &cashu_p2pk_secret(&our_key().1, None))]);
    assert_eq!(f.verify(&theirs, 1), Err(Refusal::Lock(LockError::NotOurKey)));
    let soon = f.token(vec![f.mint.proof(8, &cashu_p2pk_secret(&f.ours, Some(NOW + 10)))]);
    let r = f.verify(&soon, 1).unwrap_err();
    assert_eq!((r, r.reason(), r.fault().status()), (Refusal::Lock(LockError::ExpiresTooSoon), "lock expires too soon", 400));

    // An amount the keyset has no key for (2^11; the test keyset stops at 2^10).
    let mut big = good.clone();
    big.proofs[0].amount = 2048;
    assert_eq!(f.verify(&big, 1), Err(Refusal::AmountNotInKeyset));
    let mut unknown = good.clone();
    unknown.proofs[0].keyset_id = KeysetId::Short([1, 9, 9, 9, 9, 9, 9, 9]);
    assert_eq!(f.verify(&unknown, 1), Err(Refusal::UnknownKeyset));
    let not_loaded = MintKeys::new(MINT).unwrap();
    assert_eq!(verify_p2pk(&good, &not_loaded, &f.ours, &f.policy(1), 3600), Err(Refusal::KeysNotLoaded));
}

#[test]
fn keyset_unit_expiry_and_ambiguity() {
    // A usd keyset: a sat token naming it is refused.
    let usd = TestMint::new(false, 0);
    let id = usd.id.to_string();
    let info = parse_keysets(&format!(r#"{{"keysets":[{{"id":"{id}","unit":"usd","active":true}}]}}"#)).unwrap().remove(0);
    let keys = parse_keys(&usd.keys_json().replace(r#""unit":"sat""#, r#""unit":"usd""#)).unwrap().remove(0);
    let mut mk = MintKeys::new(MINT).unwrap();
    mk.insert(&info, keys).unwrap();
    let (_, ours) = our_key();
    let t = parse_token(&usd.token_v4(vec![usd.proof(2, &cashu_p2pk_secret(&ours, None))])).unwrap();
    let allowed = [MINT.to_string()];
    let policy = Policy { allowed_mints: &allowed, unit: "sat", price: 1, now: NOW };
    assert_eq!(verify_p2pk(&t, &mk, &ours, &policy, 3600), Err(Refusal::KeysetUnit));

    // A keyset whose final expiry falls within the redemption window.
    let m = TestMint::new(false, 0);
    let id = m.id.to_string();
    let info = parse_keysets(&format!(r#"{{"keysets":[{{"id":"{id}","unit":"sat","active":false,"final_expiry":{}}}]}}"#, NOW + 60))
        .unwrap()
        .remove(0);
    let keys = parse_keys(&m.keys_json()).unwrap().remove(0);
    let mut mk = MintKeys::new(MINT).unwrap();
    mk.insert(&info, keys).unwrap();
    let t = parse_token(&m.token_v4(vec![m.proof(2, &cashu_p2pk_secret(&ours, None))])).unwrap();
    assert_eq!(verify_p2pk(&t, &mk, &ours, &policy, 3600), Err(Refusal::KeysetExpired));
    assert!(verify_p2pk(&t, &mk, &ours, &policy, 30).is_ok(), "inactive but not expired: still accepted (NUT-02)");
    let later = Policy { now: NOW + 60, ..policy };
    assert_eq!(precheck(&t, &later, Some(&mk)), Err(Refusal::KeysetExpired));

    // Short and full forms resolve to the same keyset (ambiguity: src/keyset.rs unit tests,
    // since verified ids cannot be made to collide).
    let v2 = TestMint::new(true, 0).mint_keys();
    let ks = v2.keysets().next().unwrap();
    assert_eq!(v2.resolve(&KeysetId::Short(ks.id.short())).map(|k| k.id), Ok(ks.id));
    assert_eq!(v2.resolve(&ks.id).map(|k| k.id), Ok(ks.id));
}

#[test]
fn refusal_texts_are_stable_and_distinct() {
    let all = [
        Refusal::MintNotAllowed, Refusal::UnitNotAccepted, Refusal::DuplicateProof, Refusal::Underpaid,
        Refusal::UnknownKeyset, Refusal::AmbiguousKeyset, Refusal::KeysetUnit, Refusal::KeysetExpired,
        Refusal::AmountNotInKeyset, Refusal::MissingDleq, Refusal::InvalidDleq, Refusal::KeysNotLoaded,
        Refusal::Lock(LockError::TooLong), Refusal::Lock(LockError::NotLocked), Refusal::Lock(LockError::NotP2pk),
        Refusal::Lock(LockError::Malformed), Refusal::Lock(LockError::DuplicateTag), Refusal::Lock(LockError::UnknownTag),
        Refusal::Lock(LockError::NotOurKey), Refusal::Lock(LockError::OtherKeys), Refusal::Lock(LockError::RefundKeys),
        Refusal::Lock(LockError::ExpiresTooSoon), Refusal::Lock(LockError::SigFlagUnsupported),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for r in all {
        let t = r.reason();
        assert!(t.len() <= 40 && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '), "{t}");
        assert_eq!(r.fault() == Fault::Server, r == Refusal::KeysNotLoaded);
        assert!(seen.insert(t) || r == Refusal::Lock(LockError::TooLong), "{t} twice");
        assert_eq!(r.to_string(), t);
    }
}

#[test]
fn sat_price_rounds_up() {
    assert_eq!(sat_price(0), 0);
    assert_eq!(sat_price(1), 1);
    assert_eq!(sat_price(1000), 1);
    assert_eq!(sat_price(1001), 2);
    assert_eq!(sat_price(u64::MAX), u64::MAX / 1000 + 1);
}
