//! The primary interop vector: an L402 in Aperture's shape (`mint/mint.go`: location `lsat`,
//! services, capabilities, valid_until), with every header form clients send (bLIP-26,
//! "Client HTTP Authentication Headers"; Aperture's and lnget's `preimage=` caveat; gRPC
//! metadata) and every verification outcome of Aperture's `mint/mint.go` and
//! `l402/satisfier.go` (stricter on widened capabilities). Verified with the per-token root key
//! Aperture would store (`verify_with_token_key`) at now = 4_000_000_000.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use l402_core::caveat::preimage_predicate;
use l402_core::{
    hex_encode, parse_authorization, parse_hex_macaroon, sha256, verify_with_token_key,
    www_authenticate, CredentialError, Identifier, KeyRing, Macaroon, MintParams, Rejection,
    RootKey, Verified,
};

const NOW: u64 = 4_000_000_000;
const SERVICE: &str = "myservice";
const PREIMAGE_HEX: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const V3_B64: &str = "AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz/p1qOjL0md2eawgKDM";

fn hex32(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

/// The vector-3 macaroon, decoded from its bytes.
fn vector_3() -> Macaroon {
    let text = "0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d3431303234343438303000000620736fc1726b734a6d6662381dae3785f2701b3fe9d6a3a32f499dd9e6b080a0cc";
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    Macaroon::decode(&bytes).unwrap()
}

fn root_key() -> [u8; 32] {
    hex32("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
}

fn payment_hash() -> [u8; 32] {
    hex32("02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc")
}

fn token_id() -> [u8; 32] {
    hex32("fed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f1013")
}

fn accepted(valid_until: u64) -> Result<Verified, Rejection> {
    Ok(Verified {
        payment_hash: payment_hash(),
        token_id: token_id(),
        valid_until: Some(valid_until),
        terms: None,
    })
}

/// Parses `L402 <token>:<preimage>` and verifies it for `service`.
fn outcome(token: &str, preimage: &str, service: &str) -> Result<Verified, Rejection> {
    let cred = parse_authorization(format!("L402 {token}:{preimage}").as_bytes()).unwrap();
    verify_with_token_key(&cred, &root_key(), service, NOW)
}

/// §3: identifier, chain signatures, bytes, base64 in both alphabets.
#[test]
fn section_3_full_vector() {
    let preimage = hex32(PREIMAGE_HEX);
    assert_eq!(sha256(&preimage), payment_hash());
    let identifier = Identifier {
        payment_hash: payment_hash(),
        token_id: token_id(),
    }
    .encode();
    assert_eq!(
        hex_encode(&identifier),
        "000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f1013"
    );
    assert_eq!(
        hex_encode(&sha256(&identifier)),
        "f7fb4f6ca5b1d2d6746c89b91ee8f03f71d144dee68ab25729c25a3b2a94f21b"
    );

    let mut mac = Macaroon::new(&root_key(), identifier.to_vec(), Some(b"lsat".to_vec()));
    let mut chain = vec![hex_encode(&mac.signature)];
    for predicate in [
        "services=myservice:0",
        "myservice_capabilities=add,subtract",
        "myservice_valid_until=4102444800",
    ] {
        mac.add_first_party_caveat(predicate.as_bytes());
        chain.push(hex_encode(&mac.signature));
    }
    assert_eq!(
        chain,
        [
            "2d15090e61b874fdec250b1253e47ca58053ea15b387e2a6a19c68420125078d",
            "444d2f3c16d8811fa9208c2cc5bf9764cacdbdf7046104bfc59d7e3d93554bf4",
            "855f05accc0813c633bc3812db80dc63ddec4334c68f06960d29765b08f91fc4",
            "736fc1726b734a6d6662381dae3785f2701b3fe9d6a3a32f499dd9e6b080a0cc",
        ]
    );
    let bytes = mac.encode_v2();
    assert_eq!(bytes.len(), 207);
    assert_eq!(hex_encode(&bytes), "0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d3431303234343438303000000620736fc1726b734a6d6662381dae3785f2701b3fe9d6a3a32f499dd9e6b080a0cc");
    assert_eq!(mac.to_base64(), V3_B64);
    assert_eq!(Macaroon::decode(&bytes).unwrap(), mac);

    let url_safe = parse_authorization(format!("L402 AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54-X8lcG76qUC_WRU695aS-3P7XSz7ySCD0QGAe_1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz_p1qOjL0md2eawgKDM:{PREIMAGE_HEX}").as_bytes()).unwrap();
    assert_eq!(url_safe.macaroons, [mac.clone()]);
    assert_eq!(outcome(V3_B64, PREIMAGE_HEX, SERVICE), accepted(4102444800));
}

/// §3: our minter produces Aperture's shape (location, identifier, caveats in
/// order); only the signature differs, as our per-token key is derived.
#[test]
fn section_3_mint_matches_aperture_shape() {
    let ring = KeyRing::new(vec![RootKey::from_material(&[7u8; 32]).unwrap()]).unwrap();
    let minted = ring.mint(&MintParams {
        payment_hash: payment_hash(),
        token_id: token_id(),
        service: SERVICE,
        valid_until: Some(4102444800),
        capabilities: Some("add,subtract"),
        lookup: None,
    });
    let bytes = minted.encode_v2();
    let vector = Macaroon::decode(&bytes).unwrap();
    assert_eq!(hex_encode(&bytes[..175]), &"0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d3431303234343438303000000620736fc1726b734a6d6662381dae3785f2701b3fe9d6a3a32f499dd9e6b080a0cc"[..350]);
    assert_eq!(vector.caveats.len(), 3);
    let cred =
        parse_authorization(format!("L402 {}:{PREIMAGE_HEX}", minted.to_base64()).as_bytes())
            .unwrap();
    assert_eq!(ring.verify(&cred, SERVICE, NOW), accepted(4102444800));
}

/// §3a: the challenge lines.
#[test]
fn section_3a_challenge() {
    let invoice = "lnbc1invoice";
    let lines = www_authenticate(V3_B64, invoice, true);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        format!(r#"LSAT macaroon="{V3_B64}", invoice="{invoice}""#)
    );
    assert_eq!(
        lines[1],
        format!(r#"L402 macaroon="{V3_B64}", invoice="{invoice}", version="0", token="{V3_B64}""#)
    );
    // Aperture's L402 line is a prefix of ours: the regex clients still match.
    assert!(lines[1].starts_with(&format!(r#"L402 macaroon="{V3_B64}", invoice="{invoice}""#)));
}

/// §3a: every Authorization form a server must accept.
#[test]
fn section_3a_authorization_forms() {
    let accept = |header: &str| {
        let cred = parse_authorization(header.as_bytes()).unwrap();
        assert_eq!(cred.preimage, Some(hex32(PREIMAGE_HEX)));
        assert_eq!(
            verify_with_token_key(&cred, &root_key(), SERVICE, NOW),
            accepted(4102444800),
            "{header}"
        );
    };
    accept("L402 AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz/p1qOjL0md2eawgKDM:1111111111111111111111111111111111111111111111111111111111111111");
    accept("LSAT AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz/p1qOjL0md2eawgKDM:1111111111111111111111111111111111111111111111111111111111111111");
    // lnget / Aperture Go client: paid macaroon with a `preimage=` caveat.
    let lnget = "L402 AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAJJcHJlaW1hZ2U9MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMQAABiCcwVNJlVwSF1kC1geBAxdCTNwfemNWotn04CWxre4dEA==:1111111111111111111111111111111111111111111111111111111111111111";
    accept(lnget);
    // The same without the `:preimage` part: the caveat supplies it.
    accept(lnget.rsplit_once(':').unwrap().0);
    // Scheme in any case, several spaces, pyl402's doubled prefix.
    accept(&format!("l402   {V3_B64}:{PREIMAGE_HEX}"));
    accept(&format!("lSaT {V3_B64}:{PREIMAGE_HEX}"));
    accept(&format!("L402 LSAT {V3_B64}:{PREIMAGE_HEX}"));
    // A comma list: the first candidate with an L402 identifier is the token.
    let aperture_test_mac = "AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw==";
    accept(&format!(
        "L402 not-base64!,{aperture_test_mac},{V3_B64}:{PREIMAGE_HEX}"
    ));

    // gRPC: no Authorization, metadata `macaroon: <hex of paid macaroon>`.
    let grpc = parse_hex_macaroon(b"0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d34313032343434383030000249707265696d6167653d31313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131000006209cc15349955c12175902d607810317424cdc1f7a6356a2d9f4e025b1adee1d10").unwrap();
    assert_eq!(grpc.preimage, Some(hex32(PREIMAGE_HEX)));
    assert_eq!(
        hex_encode(&grpc.macaroons[0].signature),
        "9cc15349955c12175902d607810317424cdc1f7a6356a2d9f4e025b1adee1d10"
    );
    assert_eq!(
        verify_with_token_key(&grpc, &root_key(), SERVICE, NOW),
        accepted(4102444800)
    );
    let grpc_upper = parse_hex_macaroon("0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d34313032343434383030000249707265696d6167653d31313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131000006209cc15349955c12175902d607810317424cdc1f7a6356a2d9f4e025b1adee1d10".to_uppercase().as_bytes()).unwrap();
    assert_eq!(grpc_upper, grpc);

    // The paid macaroon is the base one plus the preimage caveat.
    let mut paid = vector_3();
    paid.add_first_party_caveat(&preimage_predicate(&hex32(PREIMAGE_HEX)));
    assert_eq!(paid, grpc.macaroons[0]);
    // A hex carrier without a preimage caveat has no preimage.
    assert_eq!(parse_hex_macaroon(b"0201046c7361740242000002d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedcfed74b3ef24820f440601eff5bfb42bef4d615c4948cec8aca3cb15bd23f101300021473657276696365733d6d79736572766963653a300002236d79736572766963655f6361706162696c69746965733d6164642c73756274726163740002206d79736572766963655f76616c69645f756e74696c3d3431303234343438303000000620736fc1726b734a6d6662381dae3785f2701b3fe9d6a3a32f499dd9e6b080a0cc"), Err(CredentialError::MissingPreimage));
    assert_eq!(
        parse_hex_macaroon(b""),
        Err(CredentialError::MalformedMacaroon)
    );
    assert_eq!(
        parse_hex_macaroon(b"020"),
        Err(CredentialError::MalformedMacaroon)
    );
    // Without `:` and without a preimage caveat there is no preimage.
    assert_eq!(
        parse_authorization(format!("L402 {V3_B64}").as_bytes()),
        Err(CredentialError::MissingPreimage)
    );
}

/// §3a: a preimage caveat that disagrees with the header preimage.
#[test]
fn section_3a_preimage_caveat_must_agree() {
    let lnget = "L402 AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAJJcHJlaW1hZ2U9MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMQAABiCcwVNJlVwSF1kC1geBAxdCTNwfemNWotn04CWxre4dEA==:1111111111111111111111111111111111111111111111111111111111111111";
    let (token, _) = lnget.rsplit_once(':').unwrap();
    let token = token.strip_prefix("L402 ").unwrap();
    assert_eq!(
        outcome(token, &"12".repeat(32), SERVICE),
        Err(Rejection::PreimageMismatch)
    );
    // A disagreeing `preimage=` caveat is a valid attenuation (the signature
    // verifies), so only the agreement check can catch it.
    let mut mac = vector_3();
    mac.add_first_party_caveat(&preimage_predicate(&[0x12; 32]));
    assert_eq!(
        outcome(&mac.to_base64(), PREIMAGE_HEX, SERVICE),
        Err(Rejection::PreimageCaveatDisagrees)
    );
}

/// §3b: every row, with this server's outcome.
#[test]
fn section_3b_verification_outcomes() {
    // OK base.
    assert_eq!(outcome(V3_B64, PREIMAGE_HEX, SERVICE), accepted(4102444800));
    // OK attenuated expiry (earlier): the later, smaller value is the effective one.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIgbXlzZXJ2aWNlX3ZhbGlkX3VudGlsPTQxMDI0NDQwMDAAAAYgCl7+i7EOqqtFXH7IpatDxZN9NUMwpE3S8tvltah1hVY=", PREIMAGE_HEX, SERVICE), accepted(4102444000));
    // OK capabilities narrowed.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIabXlzZXJ2aWNlX2NhcGFiaWxpdGllcz1hZGQAAAYg1N6YEMJBUXU0rHOZM//EeVEbY5uxMcPIZ/owq+aJYHk=", PREIMAGE_HEX, SERVICE), accepted(4102444800));
    // OK unknown caveat `client_ip=203.0.113.7`: skipped.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIVY2xpZW50X2lwPTIwMy4wLjExMy43AAAGIPdlxai6FWy8GvWrgDo36P9IyFoJdivEVJ79+KmtpEkE", PREIMAGE_HEX, SERVICE), accepted(4102444800));
    // No services caveat ("admin" token): Aperture accepts it for every service;
    // WE REJECT it. This server never mints a token without `services`, so such
    // a token grants nothing here; accepting it would turn any macaroon signed
    // with a token key into an all-services pass.
    let admin = "AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAAGIC0VCQ5huHT97CULElPkfKWAU+oVs4fipqGcaEIBJQeN";
    assert_eq!(
        outcome(admin, PREIMAGE_HEX, SERVICE),
        Err(Rejection::WrongService)
    );
    let admin_mac = &parse_authorization(format!("L402 {admin}:{PREIMAGE_HEX}").as_bytes())
        .unwrap()
        .macaroons[0];
    assert!(
        admin_mac.verify_signature(&root_key()),
        "rejected by policy, not by signature"
    );
    // Wrong preimage: rejected before any key is used.
    assert_eq!(
        outcome(V3_B64, &"12".repeat(32), SERVICE),
        Err(Rejection::PreimageMismatch)
    );
    // Tampered signature (last byte ^1).
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz/p1qOjL0md2eawgKDN", PREIMAGE_HEX, SERVICE), Err(Rejection::SignatureMismatch));
    // Expired: valid_until=1, valid only while now < 1.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACF215c2VydmljZV92YWxpZF91bnRpbD0xAAAGIOf3kteqkTU8dW2xXNB9Ta0JqXoNpdwJehHF9lRGkLFN", PREIMAGE_HEX, SERVICE), Err(Rejection::Expired));
    // Expiry widened: a later valid_until after an earlier one.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIgbXlzZXJ2aWNlX3ZhbGlkX3VudGlsPTQxMDI0NDQ4MDEAAAYgRRK6LNvWROJesXmMloMekBzMSyVsk0CvwqOcmA2qIKA=", PREIMAGE_HEX, SERVICE), Err(Rejection::CaveatWidens));
    // Services widened: `other` was not previously allowed.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIcc2VydmljZXM9bXlzZXJ2aWNlOjAsb3RoZXI6MAAABiDnep/JQVqF/vcSFD6fKmw1axViUCq9/qbyCER6KRiJ+A==", PREIMAGE_HEX, SERVICE), Err(Rejection::CaveatWidens));
    // Capabilities widened: Aperture accepts; the spec says reject, and we do.
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54+X8lcG76qUC/WRU695aS+3P7XSz7ySCD0QGAe/1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAIsbXlzZXJ2aWNlX2NhcGFiaWxpdGllcz1hZGQsc3VidHJhY3QsbXVsdGlwbHkAAAYgI0/EHwXpQjit2ZXq5p7gJUHl/p9jCj2ZkdMMXGiE6U8=", PREIMAGE_HEX, SERVICE), Err(Rejection::CaveatWidens));
    // Wrong service: the request is routed to `other`.
    assert_eq!(
        outcome(V3_B64, PREIMAGE_HEX, "other"),
        Err(Rejection::WrongService)
    );
    // Preimage in uppercase hex: accepted (the vector's digits have no letters,
    // so also a mixed-case check against a preimage that has some).
    assert_eq!(
        outcome(V3_B64, &PREIMAGE_HEX.to_uppercase(), SERVICE),
        accepted(4102444800)
    );
    let cred =
        parse_authorization(format!("L402 {V3_B64}:{}", "aBcDeF".repeat(10) + "abCD").as_bytes())
            .unwrap();
    assert_eq!(
        cred.preimage.map(|p| hex_encode(&p)),
        Some("abcdef".repeat(10) + "abcd")
    );
    // URL-safe, unpadded base64: accepted (Aperture rejects it).
    assert_eq!(outcome("AgEEbHNhdAJCAAAC1EmjH7smfI81Lplop54-X8lcG76qUC_WRU695aS-3P7XSz7ySCD0QGAe_1v7Qr701hXElIzsiso8sVvSPxATAAIUc2VydmljZXM9bXlzZXJ2aWNlOjAAAiNteXNlcnZpY2VfY2FwYWJpbGl0aWVzPWFkZCxzdWJ0cmFjdAACIG15c2VydmljZV92YWxpZF91bnRpbD00MTAyNDQ0ODAwAAAGIHNvwXJrc0ptZmI4Ha43hfJwGz_p1qOjL0md2eawgKDM", PREIMAGE_HEX, SERVICE), accepted(4102444800));
    // Junk after the 64 hex digits: Aperture accepts; we reject.
    let junk = format!("L402 {V3_B64}:{PREIMAGE_HEX}zz");
    assert_eq!(
        parse_authorization(junk.as_bytes()),
        Err(CredentialError::MalformedPreimage)
    );
    // Two Authorization lines: nginx answers 400 before any module runs; not ours.
}
