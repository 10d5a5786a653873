//! Edge cases of credential parsing (bLIP-26, "Client HTTP Authentication Headers").

use super::*;
use crate::caveat::preimage_predicate;
use crate::encoding::hex_encode;

const PREIMAGE: [u8; 32] = [0x5a; 32];

fn mac() -> Macaroon {
    let mut mac = Macaroon::new(b"root", vec![0; 66], Some(b"lsat".to_vec()));
    mac.add_first_party_caveat(b"services=svc:0");
    mac
}

fn header(token: &str) -> Result<Credential, CredentialError> {
    parse_authorization(token.as_bytes())
}

#[test]
fn accepts_the_plain_form() {
    let b64 = mac().to_base64();
    let cred = header(&format!("L402 {b64}:{}", hex_encode(&PREIMAGE))).unwrap();
    assert_eq!(
        cred,
        Credential {
            macaroons: vec![mac()],
            preimage: Some(PREIMAGE)
        }
    );
    // Surrounding whitespace (nginx normally strips it) is tolerated.
    assert!(header(&format!(" \tL402 {b64}:{} \r\n", hex_encode(&PREIMAGE))).is_ok());
    // Schemes are case-insensitive (RFC 9110 §11.1), and LSAT is the old name.
    for scheme in ["l402", "LSAT", "lsat", "LsAt", "L402 LSAT", "lsat  L402"] {
        let value = format!("{scheme} {b64}:{}", hex_encode(&PREIMAGE));
        assert_eq!(header(&value).map(|c| c.preimage), Ok(Some(PREIMAGE)), "{scheme}");
        assert!(is_l402_scheme(value.as_bytes()), "{scheme}");
    }
}

#[test]
fn refuses_other_schemes() {
    let b64 = mac().to_base64();
    let pre = hex_encode(&PREIMAGE);
    for value in [
        String::new(),
        "L402".to_owned(),
        "L402 ".to_owned(),
        format!("Bearer {b64}:{pre}"),
        format!("L402{b64}:{pre}"),
        format!("L402\t{b64}:{pre}"),
        format!("Basic {b64}"),
        // One bit away from the schemes: only letters fold case.
        format!("L\u{14}02 {b64}:{pre}"),
        format!("L4\u{10}2 {b64}:{pre}"),
        format!("\u{c}402 {b64}:{pre}"),
        format!("LS\u{1}T {b64}:{pre}"),
        format!("lsa\u{14} {b64}:{pre}"),
    ] {
        let err = header(&value).unwrap_err();
        assert!(
            matches!(
                err,
                CredentialError::UnsupportedScheme | CredentialError::MalformedMacaroon
            ),
            "{value}: {err:?}"
        );
    }
    assert!(header(&format!("Bearer {b64}:{pre}"))
        .unwrap_err()
        .is_other_scheme());
}

#[test]
fn preimage_must_be_exactly_64_hex() {
    let b64 = mac().to_base64();
    let pre = hex_encode(&PREIMAGE);
    for bad in [
        &pre[..63],
        &format!("{pre}0"),
        &format!("{pre} x"),
        &format!("{}zz", &pre[..62]),
    ] {
        assert_eq!(
            header(&format!("L402 {b64}:{bad}")),
            Err(CredentialError::MalformedPreimage),
            "{bad}"
        );
    }
    // Split at the LAST colon: a second colon leaves `mac:pre` on the left.
    assert_eq!(
        header(&format!("L402 {b64}:{pre}:{pre}")),
        Err(CredentialError::MalformedMacaroon)
    );
    assert_eq!(
        header(&format!("L402 {b64}:{pre}:x")),
        Err(CredentialError::MalformedPreimage)
    );
    // Nothing after the colon, and no preimage caveat.
    assert_eq!(
        header(&format!("L402 {b64}:")),
        Err(CredentialError::MissingPreimage)
    );
}

#[test]
fn preimage_may_come_from_a_caveat() {
    let mut paid = mac();
    paid.add_first_party_caveat(&preimage_predicate(&PREIMAGE));
    let cred = header(&format!("LSAT {}", paid.to_base64())).unwrap();
    assert_eq!(cred.preimage, Some(PREIMAGE));
    let mut broken = mac();
    broken.add_first_party_caveat(b"preimage=abcd");
    assert_eq!(
        header(&format!("L402 {}", broken.to_base64())),
        Err(CredentialError::MalformedPreimage)
    );
}

#[test]
fn candidate_lists() {
    let b64 = mac().to_base64();
    let pre = hex_encode(&PREIMAGE);
    let cred = header(&format!("L402 ,junk,{b64},,{b64}:{pre}")).unwrap();
    assert_eq!(cred.macaroons.len(), 2);
    let eight = [b64.as_str(); 8].join(",");
    assert_eq!(
        header(&format!("L402 {eight}:{pre}"))
            .unwrap()
            .macaroons
            .len(),
        8
    );
    let nine = [b64.as_str(); 9].join(",");
    assert_eq!(
        header(&format!("L402 {nine}:{pre}")),
        Err(CredentialError::TooManyMacaroons)
    );
    assert_eq!(
        header(&format!("L402 junk,:{pre}")),
        Err(CredentialError::MalformedMacaroon)
    );
    // Whitespace inside a candidate spoils it.
    let (head, tail) = b64.split_at(10);
    assert_eq!(
        header(&format!("L402 {head} {tail}:{pre}")),
        Err(CredentialError::MalformedMacaroon)
    );
    assert_eq!(
        header(&format!("L402 {b64}, {b64}:{pre}"))
            .unwrap()
            .macaroons
            .len(),
        1
    );
}

#[test]
fn caps_lengths() {
    let long = format!("L402 {}", "A".repeat(MAX_AUTHORIZATION_BYTES));
    assert_eq!(header(&long), Err(CredentialError::TooLong));
    let long_hex = "00".repeat(MAX_MACAROON_BYTES + 1);
    assert_eq!(
        parse_hex_macaroon(long_hex.as_bytes()),
        Err(CredentialError::TooLong)
    );
    // A macaroon over 4096 bytes is refused even when the header fits.
    let mut big = mac();
    for _ in 0..5 {
        big.add_first_party_caveat(&[b'x'; 1000]);
    }
    let value = format!("L402 {}:{}", big.to_base64(), hex_encode(&PREIMAGE));
    assert!(value.len() <= MAX_AUTHORIZATION_BYTES);
    assert_eq!(header(&value), Err(CredentialError::MalformedMacaroon));
}

#[test]
fn debug_redacts_the_preimage() {
    let cred = Credential {
        macaroons: vec![mac()],
        preimage: Some(PREIMAGE),
    };
    let text = format!("{cred:?}");
    assert!(text.contains("<redacted>"));
    assert!(!text.contains(&hex_encode(&PREIMAGE)));
    assert!(
        !text.contains("90"),
        "no decimal bytes of the preimage either: {text}"
    );
}

#[test]
fn unpaid_parse_accepts_a_macaroon_only() {
    let b64 = mac().to_base64();
    for form in [format!("L402 {b64}"), format!("L402 {b64}:"), format!("LSAT {b64}:")] {
        // The normal path still refuses it…
        assert_eq!(header(&form), Err(CredentialError::MissingPreimage), "{form}");
        // …the unpaid path keeps the macaroon and no preimage.
        let cred = parse_authorization_unpaid(form.as_bytes()).unwrap();
        assert_eq!(
            cred,
            Credential {
                macaroons: vec![mac()],
                preimage: None
            }
        );
    }
}

#[test]
fn unpaid_parse_is_the_normal_parse_otherwise() {
    let b64 = mac().to_base64();
    let pre = hex_encode(&PREIMAGE);
    let with = format!("L402 {b64}:{pre}");
    assert_eq!(
        parse_authorization_unpaid(with.as_bytes()),
        header(&with)
    );
    assert_eq!(
        parse_authorization_unpaid(format!("L402 {b64}:abcd").as_bytes()),
        Err(CredentialError::MalformedPreimage)
    );
    assert_eq!(
        parse_authorization_unpaid(b"L402 !!!"),
        Err(CredentialError::MalformedMacaroon)
    );
    assert_eq!(
        parse_authorization_unpaid(b"Bearer x"),
        Err(CredentialError::UnsupportedScheme)
    );
    let mut paid = mac();
    paid.add_first_party_caveat(&preimage_predicate(&PREIMAGE));
    let cred = parse_authorization_unpaid(format!("L402 {}", paid.to_base64()).as_bytes()).unwrap();
    assert_eq!(cred.preimage, Some(PREIMAGE));
}
