//! Byte-exact vectors from the libmacaroons README, Aperture's l402 tests
//! (`client_interceptor_test.go`, `identifier_test.go`), the L402 repo's `macaroon-spec.md`
//! example and bLIP-26's header examples: the
//! macaroon codec and HMAC chain, the L402 identifier, and header inputs the
//! parser must refuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine;
use hmac::{Hmac, Mac};
use l402_core::{
    hex_encode, parse_authorization, sha256, www_authenticate, CredentialError, Identifier,
    Macaroon, Rejection,
};
use sha2::Sha256;

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0);
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// The libmacaroons README chain.
#[test]
fn section_0_libmacaroons_chain() {
    let root = b"this is our super secret key; only we should know it";
    let mut mac = Macaroon::new(
        root,
        b"we used our secret key".to_vec(),
        Some(b"http://mybank/".to_vec()),
    );
    assert_eq!(
        hex_encode(&mac.signature),
        "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f"
    );
    let steps = [
        (
            "account = 3735928559",
            "1efe4763f290dbce0c1d08477367e11f4eee456a64933cf662d79772dbb82128",
        ),
        (
            "time < 2020-01-01T00:00",
            "b5f06c8c8ef92f6c82c6ff282cd1f8bd1849301d09a2db634ba182536a611c49",
        ),
        (
            "email = alice@example.org",
            "ddf553e46083e55b8d71ab822be3d8fcf21d6bf19c40d617bb9fb438934474b6",
        ),
    ];
    for (predicate, signature) in steps {
        mac.add_first_party_caveat(predicate.as_bytes());
        assert_eq!(hex_encode(&mac.signature), signature, "after {predicate}");
        assert!(mac.verify_signature(root));
    }
    assert!(!mac.verify_signature(b"another key"));
    assert_eq!(Macaroon::decode(&mac.encode_v2()).unwrap(), mac);
}

/// Aperture's `l402/client_interceptor_test.go` makeMac.
#[test]
fn section_1_aperture_test_macaroon() {
    let root = b"aabbccddeeff00112233445566778899";
    let mac = Macaroon::new(root, b"AA==".to_vec(), Some(b"LSAT".to_vec()));
    assert_eq!(
        hex_encode(&mac.signature),
        "1f2fc86a22b0dff167a851c2d613ceab1d54fd99b6f7b1adb76564aa13c2701b"
    );
    assert_eq!(hex_encode(&mac.encode_v2()), "0201044c534154020441413d3d000006201f2fc86a22b0dff167a851c2d613ceab1d54fd99b6f7b1adb76564aa13c2701b");
    assert_eq!(
        mac.to_base64(),
        "AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw=="
    );
    assert_eq!(Macaroon::decode(&hex("0201044c534154020441413d3d000006201f2fc86a22b0dff167a851c2d613ceab1d54fd99b6f7b1adb76564aa13c2701b")).unwrap(), mac);

    // The paid macaroon: the client appends `preimage=<hex>`.
    let mut preimage = [0u8; 32];
    preimage[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
    let mut paid = mac.clone();
    paid.add_first_party_caveat(format!("preimage={}", hex_encode(&preimage)).as_bytes());
    assert_eq!(
        hex_encode(&paid.signature),
        "9a62a8e448dcad4de6d3cf23802427143bbe594007bee88b40ac3aec122c0452"
    );
    assert_eq!(hex_encode(&paid.encode_v2()), "0201044c534154020441413d3d000249707265696d6167653d30313032303330343035303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030000006209a62a8e448dcad4de6d3cf23802427143bbe594007bee88b40ac3aec122c0452");
    assert_eq!(paid.to_base64(), "AgEETFNBVAIEQUE9PQACSXByZWltYWdlPTAxMDIwMzA0MDUwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAAAAYgmmKo5EjcrU3m088jgCQnFDu+WUAHvuiLQKw67BIsBFI=");
    assert_eq!(Macaroon::decode(&b64("AgEETFNBVAIEQUE9PQACSXByZWltYWdlPTAxMDIwMzA0MDUwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAAAAYgmmKo5EjcrU3m088jgCQnFDu+WUAHvuiLQKw67BIsBFI=")).unwrap(), paid);
    assert!(paid.verify_signature(root));

    // Its identifier `AA==` is not an L402 identifier: the credential parses
    // (the macaroon decodes) but verification refuses it.
    let header = format!("LSAT {}:{}", paid.to_base64(), hex_encode(&preimage));
    let cred = parse_authorization(header.as_bytes()).unwrap();
    assert_eq!(cred.preimage, Some(preimage));
    assert_eq!(
        l402_core::verify_with_token_key(&cred, root, "any", 0),
        Err(Rejection::NotL402Identifier)
    );

    // The challenge line the test server sends.
    let invoice = "lntb5u1p0pskpmpp5jzw9xvdast2g5lm5tswq6n64t2epe3f4xav43dyd239qr8h3yllqdqqcqzpgsp5m8sfjqgugthk66q3tr4gsqr5rh740jrq9x4l0kvj5e77nmwqvpnq9qy9qsq72afzu7sfuppzqg3q2pn49hlh66rv7w60h2ruahx857g94s066yzxcjn4yccqc79779sd232v9ewluvu0tmusvht6r99rld8xsk287cpyac79r";
    let lines = www_authenticate(&mac.to_base64(), invoice, true);
    assert_eq!(
        lines[0],
        format!(
            r#"LSAT macaroon="AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw==", invoice="{invoice}""#
        )
    );
    assert_eq!(
        lines[1],
        format!(
            r#"L402 macaroon="AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw==", invoice="{invoice}", version="0", token="AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw==""#
        )
    );
}

/// Aperture's `l402/identifier_test.go` TestEncodeIdentifierBytes.
#[test]
fn section_2_identifier() {
    let payment_hash: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    let token_id: [u8; 32] = std::array::from_fn(|i| 32 - i as u8);
    let id = Identifier {
        payment_hash,
        token_id,
    };
    let encoded = id.encode();
    assert_eq!(
        hex_encode(&encoded),
        "00000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a090807060504030201"
    );
    assert_eq!(
        hex_encode(&sha256(&encoded)),
        "02ef8dfbbe301d33cb47b8216caf3afbd4a60213fa28e3a6026508e1d4e22f2e"
    );
    assert_eq!(Identifier::decode(&encoded), Ok(id));
}

/// The L402 repo's `macaroon-spec.md` example, encoded as libmacaroons does
/// (the spec's own byte table is wrong).
#[test]
fn section_4_spec_example() {
    let zero_key = [0u8; 32];
    let mut mac = Macaroon::new(&zero_key, b"test-id".to_vec(), None);
    assert_eq!(
        hex_encode(&mac.signature),
        "50b9b12878ee5d64271019dd55d8e145b7b1b10b2b8c1118be206ee978acf798"
    );
    mac.add_first_party_caveat(b"account=12345");
    assert_eq!(
        hex_encode(&mac.signature),
        "27682fa644ce1b94922b6d84d57d111a1d784093b548be9a9d6fdb809b06a001"
    );
    let bytes = "020207746573742d696400020d6163636f756e743d31323334350000062027682fa644ce1b94922b6d84d57d111a1d784093b548be9a9d6fdb809b06a001";
    assert_eq!(hex_encode(&mac.encode_v2()), bytes);
    assert_eq!(
        mac.to_base64(),
        "AgIHdGVzdC1pZAACDWFjY291bnQ9MTIzNDUAAAYgJ2gvpkTOG5SSK22E1X0RGh14QJO1SL6anW/bgJsGoAE="
    );
    assert_eq!(Macaroon::decode(&hex(bytes)).unwrap(), mac);
    assert!(mac.verify_signature(&zero_key));

    // The spec text's chain without the key-derivation step is not what we do.
    let literal = |key: &[u8], msg: &[u8]| -> [u8; 32] {
        let mut h = Hmac::<Sha256>::new_from_slice(key).unwrap();
        h.update(msg);
        h.finalize().into_bytes().into()
    };
    let without_derivation = literal(&literal(&zero_key, b"test-id"), b"account=12345");
    assert_eq!(
        hex_encode(&without_derivation),
        "ba3d1c3a5c7c3795d9b363cf6a924e3aec163eca60361d7a4fa46460db0e8a79"
    );
    let mut forged = mac.clone();
    forged.signature = without_derivation;
    assert!(!forged.verify_signature(&zero_key));

    // The spec's worked example.
    let mut worked = Macaroon::new(&zero_key, b"example-id".to_vec(), None);
    let mut chain = vec![hex_encode(&worked.signature)];
    for predicate in ["account = 12345", "valid_until = 1700000000"] {
        worked.add_first_party_caveat(predicate.as_bytes());
        chain.push(hex_encode(&worked.signature));
    }
    assert_eq!(
        chain,
        [
            "39928649c373c43c8efa5686021def3fa8747ed4155a4c6ab489a873baf62cb9",
            "7cbc8f0bdaabe5a36a38a9b33c7e8ff5ce8e512725cd46031b40198ed09e16e6",
            "2f4222d5775c9591b0740910d957b876d13183cc9baf4bf8d9727c65d48801d4",
        ]
    );
}

/// bLIP-26's placeholder macaroon and 24-hex preimage ("Server Flow", "Client Flow").
#[test]
fn section_5_placeholders_are_rejected() {
    let placeholder = "AGIAJEemVQUTEyNCR0exk7ek90Cg==";
    // 30 characters: the `==` is surplus padding, so strict base64 refuses it;
    // its 28 data characters decode to the 21 bytes the vectors list.
    assert!(base64::engine::general_purpose::STANDARD
        .decode(placeholder)
        .is_err());
    let bytes = b64(&placeholder[..28]);
    assert_eq!(
        hex_encode(&bytes),
        "0062002447a65505131323424747b193b7a4f740a0"
    );
    assert!(Macaroon::decode(&bytes).is_err());

    let spec_example = format!("L402 {placeholder}:1234abcd1234abcd1234abcd");
    assert_eq!(
        parse_authorization(spec_example.as_bytes()),
        Err(CredentialError::MalformedPreimage)
    );
    let with_good_preimage = format!("L402 {placeholder}:{}", "11".repeat(32));
    assert_eq!(
        parse_authorization(with_good_preimage.as_bytes()),
        Err(CredentialError::MalformedMacaroon)
    );
    // A 48-byte preimage (96 hex) is not a preimage either.
    let long_preimage = format!(
        "L402 AgEETFNBVAIEQUE9PQAABiAfL8hqIrDf8WeoUcLWE86rHVT9mbb3sa23ZWSqE8JwGw==:{}",
        "11".repeat(48)
    );
    assert_eq!(
        parse_authorization(long_preimage.as_bytes()),
        Err(CredentialError::MalformedPreimage)
    );
}
