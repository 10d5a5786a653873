//! Verification order and outcomes (bLIP-26, "Macaroon Verification"; Aperture's `mint/mint.go`).

use super::*;
use crate::caveat::preimage_predicate;
use crate::keys::RootKey;
use crate::mint::MintParams;

const PREIMAGE: [u8; 32] = [3; 32];

fn ring(byte: u8) -> KeyRing {
    KeyRing::new(vec![RootKey::from_material(&[byte; 32]).unwrap()]).unwrap()
}

fn minted(ring: &KeyRing) -> Macaroon {
    ring.mint(&MintParams {
        payment_hash: sha256(&PREIMAGE),
        token_id: [9; 32],
        service: "svc",
        valid_until: Some(100),
        capabilities: None,
        lookup: None,
    })
}

fn cred(macaroons: Vec<Macaroon>, preimage: Option<[u8; 32]>) -> Credential {
    Credential {
        macaroons,
        preimage,
    }
}

#[test]
fn accepts_and_reports() {
    let ring = ring(1);
    let verified = ring
        .verify(&cred(vec![minted(&ring)], Some(PREIMAGE)), "svc", 99)
        .unwrap();
    assert_eq!(
        verified,
        Verified {
            payment_hash: sha256(&PREIMAGE),
            token_id: [9; 32],
            valid_until: Some(100),
            terms: None,
        }
    );
    assert_eq!(
        ring.verify(&cred(vec![minted(&ring)], Some(PREIMAGE)), "svc", 100),
        Err(Rejection::Expired)
    );
    assert!(Rejection::Expired.is_expired());
    assert_eq!(
        Rejection::WrongService.to_string(),
        "token not valid for this service"
    );
}

#[test]
fn preimage_sources() {
    let ring = ring(1);
    let mac = minted(&ring);
    assert_eq!(
        ring.verify(&cred(vec![mac.clone()], None), "svc", 0),
        Err(Rejection::MissingPreimage)
    );
    let mut paid = mac.clone();
    paid.add_first_party_caveat(&preimage_predicate(&PREIMAGE));
    assert!(ring
        .verify(&cred(vec![paid.clone()], None), "svc", 0)
        .is_ok());
    assert!(ring
        .verify(&cred(vec![paid.clone()], Some(PREIMAGE)), "svc", 0)
        .is_ok());
    // A wrong header preimage fails on the hash before any caveat is read.
    assert_eq!(
        ring.verify(&cred(vec![paid], Some([4; 32])), "svc", 0),
        Err(Rejection::PreimageMismatch)
    );
    let mut broken = mac;
    broken.add_first_party_caveat(b"preimage=zz");
    assert_eq!(
        ring.verify(&cred(vec![broken.clone()], None), "svc", 0),
        Err(Rejection::PreimageCaveatDisagrees)
    );
    assert_eq!(
        ring.verify(&cred(vec![broken], Some(PREIMAGE)), "svc", 0),
        Err(Rejection::PreimageCaveatDisagrees)
    );
}

#[test]
fn first_l402_candidate_is_the_token() {
    let ring = ring(1);
    let not_l402 = Macaroon::new(b"k", b"AA==".to_vec(), None);
    let good = minted(&ring);
    let mut forged = good.clone();
    forged.signature = [0; 32];
    let picks_good = cred(
        vec![not_l402.clone(), good.clone(), forged.clone()],
        Some(PREIMAGE),
    );
    assert!(ring.verify(&picks_good, "svc", 0).is_ok());
    let picks_forged = cred(vec![not_l402.clone(), forged, good], Some(PREIMAGE));
    assert_eq!(
        ring.verify(&picks_forged, "svc", 0),
        Err(Rejection::SignatureMismatch)
    );
    assert_eq!(
        ring.verify(&cred(vec![not_l402], Some(PREIMAGE)), "svc", 0),
        Err(Rejection::NotL402Identifier)
    );
    assert_eq!(
        ring.verify(&cred(Vec::new(), Some(PREIMAGE)), "svc", 0),
        Err(Rejection::NotL402Identifier)
    );
}

#[test]
fn third_party_caveats_are_refused() {
    let ring = ring(1);
    let mut mac = minted(&ring);
    mac.caveats.push(Caveat {
        location: None,
        id: b"cid".to_vec(),
        verification_id: Some(vec![1]),
    });
    assert_eq!(
        ring.verify(&cred(vec![mac], Some(PREIMAGE)), "svc", 0),
        Err(Rejection::ThirdPartyCaveat)
    );
}

#[test]
fn rotation_and_foreign_keys() {
    let old = ring(1);
    let mac = minted(&old);
    let rotated = KeyRing::new(vec![
        RootKey::from_material(&[2; 32]).unwrap(),
        RootKey::from_material(&[1; 32]).unwrap(),
    ])
    .unwrap();
    assert!(rotated
        .verify(&cred(vec![mac.clone()], Some(PREIMAGE)), "svc", 0)
        .is_ok());
    assert_eq!(
        ring(2).verify(&cred(vec![mac.clone()], Some(PREIMAGE)), "svc", 0),
        Err(Rejection::SignatureMismatch)
    );
    let token_key = old.minting_token_root_key(&[9; 32]);
    assert!(verify_with_token_key(&cred(vec![mac], Some(PREIMAGE)), &token_key, "svc", 0).is_ok());
}

#[test]
fn unpaid_checks_everything_but_the_preimage() {
    let other = ring(2);
    let ring = ring(1);
    let unpaid = ring
        .verify_unpaid(&cred(vec![minted(&ring)], None), "svc", 99)
        .unwrap();
    assert_eq!(unpaid.payment_hash(), sha256(&PREIMAGE));
    assert_eq!(unpaid.token_id(), [9; 32]);
    assert_eq!(unpaid.valid_until(), Some(100));
    assert_eq!(
        unpaid.settled(),
        ring.verify(&cred(vec![minted(&ring)], Some(PREIMAGE)), "svc", 99)
            .unwrap()
    );
    // Signature, service and expiry still apply.
    assert_eq!(
        other.verify_unpaid(&cred(vec![minted(&ring)], None), "svc", 99),
        Err(Rejection::SignatureMismatch)
    );
    assert_eq!(
        ring.verify_unpaid(&cred(vec![minted(&ring)], None), "other", 99),
        Err(Rejection::WrongService)
    );
    assert_eq!(
        ring.verify_unpaid(&cred(vec![minted(&ring)], None), "svc", 100),
        Err(Rejection::Expired)
    );
    let mut tampered = minted(&ring);
    tampered.caveats.pop();
    assert_eq!(
        ring.verify_unpaid(&cred(vec![tampered], None), "svc", 99),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn unpaid_never_skips_a_presented_preimage() {
    let ring = ring(1);
    // A wrong preimage in the credential is checked in full.
    assert_eq!(
        ring.verify_unpaid(&cred(vec![minted(&ring)], Some([4; 32])), "svc", 99),
        Err(Rejection::PreimageMismatch)
    );
    // So is a wrong preimage caveat.
    let mut with_caveat = minted(&ring);
    with_caveat.add_first_party_caveat(&preimage_predicate(&[4; 32]));
    assert_eq!(
        ring.verify_unpaid(&cred(vec![with_caveat], None), "svc", 99),
        Err(Rejection::PreimageMismatch)
    );
    // A malformed preimage caveat is refused as well.
    let mut malformed = minted(&ring);
    malformed.add_first_party_caveat(b"preimage=zz");
    assert!(ring
        .verify_unpaid(&cred(vec![malformed], None), "svc", 99)
        .is_err());
    // The normal path still needs a preimage.
    assert_eq!(
        ring.verify(&cred(vec![minted(&ring)], None), "svc", 99),
        Err(Rejection::MissingPreimage)
    );
}

/// Issue "payment integrity" item 1: a client-added `valid_until` narrows what is accepted but
/// never what the server minted; item 2: the price paid travels in the signed token id.
#[test]
fn terms_come_from_the_signed_token_id_not_from_caveats() {
    use crate::caveat::valid_until_predicate;
    use crate::terms::Terms;
    let ring = ring(1);
    let terms = Terms { paid_msat: 1000, valid_until: None };
    let mut mac = ring.mint(&MintParams {
        payment_hash: sha256(&PREIMAGE),
        token_id: terms.token_id([5; 12]),
        service: "svc",
        valid_until: None,
        capabilities: None,
        lookup: None,
    });
    mac.add_first_party_caveat(&valid_until_predicate("svc", 50));
    let v = ring.verify(&cred(vec![mac.clone()], Some(PREIMAGE)), "svc", 10).unwrap();
    assert_eq!(v.valid_until, Some(50), "the client's caveat narrows acceptance");
    assert_eq!(v.terms, Some(terms), "but the minted terms stay what the server sold");
    assert_eq!(
        ring.verify(&cred(vec![mac], Some(PREIMAGE)), "svc", 50),
        Err(Rejection::Expired)
    );

    // The minted expiry is enforced from the token id as well.
    let short = Terms { paid_msat: 1, valid_until: Some(20) };
    let mac = ring.mint(&MintParams {
        payment_hash: sha256(&PREIMAGE),
        token_id: short.token_id([6; 12]),
        service: "svc",
        valid_until: None,
        capabilities: None,
        lookup: None,
    });
    assert!(ring.verify(&cred(vec![mac.clone()], Some(PREIMAGE)), "svc", 19).is_ok());
    assert_eq!(ring.verify(&cred(vec![mac], Some(PREIMAGE)), "svc", 20), Err(Rejection::Expired));
}
