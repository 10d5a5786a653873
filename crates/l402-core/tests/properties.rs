//! Property tests: codec round trip, mint/verify, attenuation, tamper
//! detection, and total (non-panicking) parsers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use l402_core::caveat::{preimage_predicate, valid_until_predicate};
use l402_core::limits::{MAX_CAVEATS, MAX_MACAROON_BYTES};
use l402_core::{
    hex_encode, parse_authorization, parse_hex_macaroon, sha256, Caveat, Credential, KeyRing,
    Macaroon, MintParams, RootKey,
};
use proptest::collection::vec;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000;

fn arb_caveat() -> impl Strategy<Value = Caveat> {
    (
        proptest::option::of(vec(any::<u8>(), 0..16)),
        vec(any::<u8>(), 0..64),
        proptest::option::of(vec(any::<u8>(), 0..32)),
    )
        .prop_map(|(location, id, verification_id)| Caveat {
            location,
            id,
            verification_id,
        })
}

fn arb_macaroon() -> impl Strategy<Value = Macaroon> {
    (
        proptest::option::of(vec(any::<u8>(), 0..32)),
        vec(any::<u8>(), 0..200),
        vec(arb_caveat(), 0..=MAX_CAVEATS),
        any::<[u8; 32]>(),
    )
        .prop_map(|(location, identifier, caveats, signature)| Macaroon {
            location,
            identifier,
            caveats,
            signature,
        })
        .prop_filter("within the size cap", |mac| {
            mac.encode_v2().len() <= MAX_MACAROON_BYTES
        })
}

/// A token as minted by a ring, with everything needed to present it.
#[derive(Debug, Clone)]
struct Minted {
    ring_keys: Vec<Vec<u8>>,
    preimage: [u8; 32],
    service: String,
    valid_until: Option<u64>,
    macaroon: Macaroon,
}

impl Minted {
    fn ring(&self) -> KeyRing {
        KeyRing::new(
            self.ring_keys
                .iter()
                .map(|k| RootKey::from_material(k).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn credential(&self, mac: &Macaroon) -> Credential {
        let header = format!("L402 {}:{}", mac.to_base64(), hex_encode(&self.preimage));
        parse_authorization(header.as_bytes()).unwrap()
    }
}

fn arb_minted() -> impl Strategy<Value = Minted> {
    (
        vec(
            vec(
                any::<u8>().prop_filter("not whitespace", |b| !b.is_ascii_whitespace()),
                32..48,
            ),
            1..4,
        ),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        "[a-z][a-z0-9._-]{0,20}",
        proptest::option::of(NOW + 1..NOW + 10_000_000),
        proptest::option::of("[a-z]{1,8}(,[a-z]{1,8}){0,3}"),
    )
        .prop_map(
            |(ring_keys, preimage, token_id, service, valid_until, capabilities)| {
                let ring = KeyRing::new(
                    ring_keys
                        .iter()
                        .map(|k| RootKey::from_material(k).unwrap())
                        .collect(),
                )
                .unwrap();
                let macaroon = ring.mint(&MintParams {
                    payment_hash: sha256(&preimage),
                    token_id,
                    service: &service,
                    valid_until,
                    capabilities: capabilities.as_deref(),
                    lookup: None,
                });
                Minted {
                    ring_keys,
                    preimage,
                    service,
                    valid_until,
                    macaroon,
                }
            },
        )
}

/// A first-party caveat that only narrows the token.
fn arb_attenuation(minted: &Minted) -> impl Strategy<Value = (Vec<u8>, Option<u64>)> {
    let service = minted.service.clone();
    let current = minted.valid_until;
    let preimage = minted.preimage;
    let ceiling = current.unwrap_or(u64::MAX);
    prop_oneof![
        ("[a-z]{1,10}", "[ -~]{0,40}").prop_map(move |(condition, value)| {
            (format!("x_{condition}={value}").into_bytes(), current)
        }),
        (NOW + 1..=ceiling)
            .prop_map(move |until| (valid_until_predicate(&service, until), Some(until))),
        Just((preimage_predicate(&preimage), current)),
        Just((b"no condition at all".to_vec(), current)),
    ]
}

proptest! {
    #[test]
    fn encode_decode_round_trip(mac in arb_macaroon()) {
        let bytes = mac.encode_v2();
        prop_assert_eq!(Macaroon::decode(&bytes).unwrap(), mac.clone());
        let header = format!("L402 {}:{}", mac.to_base64(), "ab".repeat(32));
        prop_assert_eq!(parse_authorization(header.as_bytes()).unwrap().macaroons, vec![mac]);
    }

    #[test]
    fn minted_tokens_verify(minted in arb_minted(), uppercase in any::<bool>()) {
        let mut preimage_hex = hex_encode(&minted.preimage);
        if uppercase {
            preimage_hex = preimage_hex.to_uppercase();
        }
        let header = format!("L402 {}:{preimage_hex}", minted.macaroon.to_base64());
        let cred = parse_authorization(header.as_bytes()).unwrap();
        let verified = minted.ring().verify(&cred, &minted.service, NOW).unwrap();
        prop_assert_eq!(verified.payment_hash, sha256(&minted.preimage));
        prop_assert_eq!(verified.valid_until, minted.valid_until);
        // Rotation: a ring where the minting key is no longer first still verifies.
        let mut rotated = minted.ring_keys.clone();
        rotated.rotate_left(1);
        rotated.insert(0, vec![b'n'; 32]);
        let ring = KeyRing::new(rotated.iter().map(|k| RootKey::from_material(k).unwrap()).collect()).unwrap();
        prop_assert!(ring.verify(&cred, &minted.service, NOW).is_ok());
        // A ring without the minting key does not.
        let stranger = KeyRing::new(vec![RootKey::from_material(&[b'n'; 32]).unwrap()]).unwrap();
        prop_assert!(stranger.verify(&cred, &minted.service, NOW).is_err());
    }

    #[test]
    fn attenuated_tokens_still_verify(
        (minted, (predicate, valid_until)) in arb_minted().prop_flat_map(|m| {
            let attenuation = arb_attenuation(&m);
            (Just(m), attenuation)
        })
    ) {
        let mut mac = minted.macaroon.clone();
        mac.add_first_party_caveat(&predicate);
        let verified = minted.ring().verify(&minted.credential(&mac), &minted.service, NOW).unwrap();
        prop_assert_eq!(verified.valid_until, valid_until);
    }

    #[test]
    fn any_single_byte_change_is_refused(
        (minted, index, mask) in arb_minted().prop_flat_map(|m| {
            let len = m.macaroon.encode_v2().len();
            (Just(m), 0..len, 1u8..=255)
        })
    ) {
        let mut bytes = minted.macaroon.encode_v2();
        // Bytes 3..7 hold the location `lsat`: a hint that macaroons never sign
        // (see `location_is_not_signed`), so changing it changes no authority.
        prop_assume!(!(3..7).contains(&index));
        bytes[index] ^= mask;
        if let Ok(mac) = Macaroon::decode(&bytes) {
            let result = minted.ring().verify(&minted.credential(&mac), &minted.service, NOW);
            prop_assert!(result.is_err(), "accepted a macaroon changed at byte {}", index);
        }
    }

    #[test]
    fn location_is_not_signed(minted in arb_minted(), location in vec(any::<u8>(), 0..16)) {
        let mut mac = minted.macaroon.clone();
        mac.location = Some(location);
        prop_assert!(minted.ring().verify(&minted.credential(&mac), &minted.service, NOW).is_ok());
    }

    #[test]
    fn parsers_never_panic(bytes in vec(any::<u8>(), 0..10_000)) {
        let _ = parse_authorization(&bytes);
        let _ = parse_hex_macaroon(&bytes);
        let _ = Macaroon::decode(&bytes);
        let mut prefixed = b"L402 ".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = parse_authorization(&prefixed);
    }

    #[test]
    fn parsers_never_panic_on_token_like_text(text in "(L402|LSAT|l402) [A-Za-z0-9+/=_,:-]{0,400}") {
        let _ = parse_authorization(text.as_bytes());
    }
}
