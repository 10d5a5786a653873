//! `l402_fake::pay`: the preimage it returns pays the invoice, and it refuses everything
//! that is not an unexpired invoice of ours.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use l402_backend::{Backend, InvoiceRequest, MAX_BOLT11_LEN};
use l402_fake::{pay, FakeBackend, FakeConfig, FakeSecret, PayError};
use lightning_invoice::{
    Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret, SignedRawBolt11Invoice,
};

fn secret(n: u8) -> FakeSecret {
    FakeSecret::from_bytes([n; 32], [n.wrapping_add(100); 32]).unwrap()
}

fn req() -> InvoiceRequest {
    InvoiceRequest {
        amount_msat: 42_000,
        memo: "pay test".into(),
        expiry_secs: 600,
    }
}

async fn issue(secret: FakeSecret) -> String {
    FakeBackend::new(secret, FakeConfig::default())
        .create_invoice(req())
        .await
        .unwrap()
        .text
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

#[tokio::test]
async fn preimage_hashes_to_payment_hash() {
    let bolt11 = issue(secret(1)).await;
    let preimage = pay(&secret(1), &bolt11).unwrap();
    let parsed = Bolt11Invoice::from_str(&bolt11).unwrap();
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array(),
        parsed.payment_hash().to_byte_array()
    );
    // Stateless: a fresh copy of the secret (another worker) derives the same preimage.
    assert_eq!(pay(&secret(1).clone(), &bolt11).unwrap(), preimage);
    // Surrounding whitespace (e.g. a trailing newline from curl) is ignored.
    assert_eq!(pay(&secret(1), &format!("  {bolt11}\n")).unwrap(), preimage);
}

#[tokio::test]
async fn refuses_invoice_of_another_node() {
    let bolt11 = issue(secret(2)).await;
    assert_eq!(pay(&secret(1), &bolt11), Err(PayError::NotOurs));
}

#[tokio::test]
async fn refuses_same_node_key_with_other_preimage_secret() {
    let bolt11 = issue(FakeSecret::from_bytes([1; 32], [7; 32]).unwrap()).await;
    assert_eq!(pay(&secret(1), &bolt11), Err(PayError::NotOurs));
}

#[test]
fn refuses_our_node_key_with_foreign_payment_hash() {
    // Signed by our node key, but its payment hash was not derived from our secret.
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[1; 32]).unwrap();
    let bolt11 = InvoiceBuilder::new(Currency::Regtest)
        .description("x".into())
        .payment_hash(sha256::Hash::hash(b"someone else's preimage"))
        .payment_secret(PaymentSecret([9; 32]))
        .duration_since_epoch(now())
        .min_final_cltv_expiry_delta(80)
        .amount_milli_satoshis(1_000)
        .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
        .unwrap()
        .to_string();
    assert_eq!(pay(&secret(1), &bolt11), Err(PayError::NotOurs));
}

#[tokio::test]
async fn refuses_tampered_invoice() {
    let bolt11 = issue(secret(1)).await;

    // 1. Amount changed, original signature kept, checksum recomputed: the signature now
    //    recovers to some other key, so it is not ours.
    let signed = SignedRawBolt11Invoice::from_str(&bolt11).unwrap();
    let (mut raw, _hash, sig) = signed.into_parts();
    raw.hrp.raw_amount = Some(1);
    let tampered = raw.sign::<_, ()>(|_| Ok(sig.0)).unwrap().to_string();
    assert_ne!(tampered, bolt11);
    assert!(matches!(
        pay(&secret(1), &tampered),
        Err(PayError::NotOurs | PayError::Invalid(_))
    ));

    // 2. One character flipped without fixing the checksum.
    let mut bytes = bolt11.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'q' { b'p' } else { b'q' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        pay(&secret(1), &flipped),
        Err(PayError::Invalid(_))
    ));

    // 3. Truncated.
    let cut = &bolt11[..bolt11.len() - 5];
    assert!(matches!(pay(&secret(1), cut), Err(PayError::Invalid(_))));
}

#[test]
fn refuses_garbage() {
    let junk = [
        "",
        " ",
        "lnbcrt",
        "lnbcrt1",
        "lnbcrt10u1",
        "hello world",
        "\u{0}\u{1}\u{2}",
        "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w",
        "☃☃☃☃",
    ];
    for j in junk {
        let e = pay(&secret(1), j).unwrap_err();
        assert!(
            matches!(e, PayError::Invalid(_) | PayError::NotOurs),
            "{j:?}: {e:?}"
        );
        assert!(!e.reason().is_empty());
    }
}

#[test]
fn refuses_huge_input_before_parsing() {
    let huge = format!("lnbcrt1{}", "q".repeat(MAX_BOLT11_LEN));
    let e = pay(&secret(1), &huge).unwrap_err();
    assert_eq!(e, PayError::TooLong { len: huge.len() });
    assert_eq!(e.reason(), "invoice too long");
    let giant = "q".repeat(10 * 1024 * 1024);
    assert!(matches!(
        pay(&secret(1), &giant),
        Err(PayError::TooLong { .. })
    ));
}

#[test]
fn refuses_expired_invoice() {
    // A real fake invoice created an hour ago with a one-minute expiry.
    let s = secret(1);
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[1; 32]).unwrap();
    let payment_secret = [4u8; 32];
    let preimage = l402_fake::derive::preimage(&[101; 32], &payment_secret);
    let bolt11 = InvoiceBuilder::new(Currency::Regtest)
        .description("old".into())
        .payment_hash(sha256::Hash::hash(&preimage))
        .payment_secret(PaymentSecret(payment_secret))
        .duration_since_epoch(now() - Duration::from_secs(3600))
        .min_final_cltv_expiry_delta(80)
        .amount_milli_satoshis(1_000)
        .expiry_time(Duration::from_secs(60))
        .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
        .unwrap()
        .to_string();
    assert_eq!(pay(&s, &bolt11), Err(PayError::Expired));
}
