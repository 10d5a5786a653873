//! `FakeBackend` as a `Backend`: the invoices it issues, what it refuses, its bounded
//! store, payments recorded across "workers", and its simulated delay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::Network;
use l402_backend::{with_timeout, Backend, BackendError, InvoiceRequest, Settlement};
use l402_fake::{
    FakeBackend, FakeConfig, FakeNetwork, FakeSecret, MAX_AMOUNT_MSAT, MIN_FINAL_CLTV_EXPIRY_DELTA,
};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};

fn secret() -> FakeSecret {
    FakeSecret::from_bytes([0x42; 32], [0x24; 32]).unwrap()
}

fn backend(config: FakeConfig) -> FakeBackend {
    FakeBackend::new(secret(), config)
}

fn req(amount_msat: u64) -> InvoiceRequest {
    InvoiceRequest {
        amount_msat,
        memo: "GET /premium".into(),
        expiry_secs: 900,
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rejected(e: BackendError) -> String {
    match e {
        BackendError::Rejected { backend, cause } => {
            assert_eq!(backend, "fake");
            cause
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn regtest_invoice_has_requested_fields() {
    let b = backend(FakeConfig::default());
    let before = now_unix();
    let inv = b.create_invoice(req(123_456)).await.unwrap();
    assert!(inv.text.starts_with("lnbcrt"), "{}", inv.text);

    let parsed = Bolt11Invoice::from_str(&inv.text).unwrap();
    assert_eq!(parsed.network(), Network::Regtest);
    assert_eq!(parsed.amount_milli_satoshis(), Some(123_456));
    assert_eq!(inv.amount_msat, 123_456);
    assert_eq!(parsed.expiry_time(), Duration::from_secs(900));
    assert_eq!(
        parsed.min_final_cltv_expiry_delta(),
        MIN_FINAL_CLTV_EXPIRY_DELTA
    );
    assert_eq!(parsed.get_payee_pub_key().serialize(), b.node_id());
    assert_eq!(
        parsed.payment_hash().as_ref() as &[u8],
        &inv.payment_hash[..]
    );
    match parsed.description() {
        Bolt11InvoiceDescriptionRef::Direct(d) => assert_eq!(d.as_inner().0, "GET /premium"),
        Bolt11InvoiceDescriptionRef::Hash(_) => panic!("expected a direct description"),
    }
    let ts = parsed.duration_since_epoch().as_secs();
    assert!(ts >= before && ts <= now_unix());
    assert_eq!(inv.expires_at_unix, ts + 900);
    assert_ne!(parsed.payment_secret().0, [0; 32]);
}

#[tokio::test]
async fn testnet_invoice() {
    let b = backend(FakeConfig {
        network: FakeNetwork::Testnet,
        ..FakeConfig::default()
    });
    let inv = b.create_invoice(req(1_000)).await.unwrap();
    assert!(inv.text.starts_with("lntb10n1"), "{}", inv.text);
    let parsed = Bolt11Invoice::from_str(&inv.text).unwrap();
    assert_eq!(parsed.network(), Network::Testnet);
}

#[test]
fn network_names() {
    assert_eq!("regtest".parse(), Ok(FakeNetwork::Regtest));
    assert_eq!("testnet".parse(), Ok(FakeNetwork::Testnet));
    assert!("mainnet".parse::<FakeNetwork>().is_err());
    assert_eq!(FakeNetwork::default().prefix(), "lnbcrt");
    assert_eq!(FakeNetwork::Testnet.prefix(), "lntb");
    let d = FakeConfig::default();
    assert_eq!(
        (d.delay, d.network, d.store_capacity),
        (Duration::ZERO, FakeNetwork::Regtest, 10_000)
    );
}

#[tokio::test]
async fn refuses_out_of_range_requests() {
    let b = backend(FakeConfig::default());
    let c = rejected(b.create_invoice(req(0)).await.unwrap_err());
    assert!(c.contains("at least 1 msat"), "{c}");
    let c = rejected(
        b.create_invoice(req(MAX_AMOUNT_MSAT + 1))
            .await
            .unwrap_err(),
    );
    assert!(c.contains("21 million"), "{c}");
    let c = rejected(b.create_invoice(req(u64::MAX)).await.unwrap_err());
    assert!(c.contains("21 million"), "{c}");
    // Within 21M BTC but its pico-BTC value (msat × 10) overflows 64 bits.
    let c = rejected(b.create_invoice(req(MAX_AMOUNT_MSAT)).await.unwrap_err());
    assert!(c.contains("cannot be encoded"), "{c}");
    // The largest encodable amount works.
    let big = u64::MAX / 10;
    assert_eq!(b.create_invoice(req(big)).await.unwrap().amount_msat, big);

    let mut long_memo = req(1_000);
    long_memo.memo = "x".repeat(640);
    let c = rejected(b.create_invoice(long_memo).await.unwrap_err());
    assert!(c.contains("639"), "{c}");
    let mut max_memo = req(1_000);
    max_memo.memo = "x".repeat(639);
    assert!(b.create_invoice(max_memo).await.is_ok());

    let mut no_expiry = req(1_000);
    no_expiry.expiry_secs = 0;
    rejected(b.create_invoice(no_expiry).await.unwrap_err());
    assert_eq!(b.stored_invoices(), 2);
}

#[tokio::test]
async fn lookup_follows_mark_paid() {
    let b = backend(FakeConfig::default());
    let inv = b.create_invoice(req(1_000)).await.unwrap();
    assert_eq!(
        b.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    assert_eq!(
        b.lookup_invoice(&[0xee; 32].into()).await.unwrap(),
        Settlement::Unknown
    );
    assert!(b.mark_paid(inv.payment_hash));
    assert!(!b.mark_paid([0xee; 32]));
    match b.lookup_invoice(&inv.payment_hash.into()).await.unwrap() {
        Settlement::Settled {
            preimage: Some(preimage),
        } => l402_backend::check_preimage("fake", &inv.payment_hash, &preimage).unwrap(),
        other => panic!("expected Settled with a preimage, got {other:?}"),
    }
}

#[tokio::test]
async fn pay_and_record_on_another_worker() {
    // Worker A issues; worker B (same secret, own store) is paid; B's lookup says Settled.
    let a = backend(FakeConfig::default());
    let b = backend(FakeConfig::default());
    let inv = a.create_invoice(req(7_000)).await.unwrap();
    assert_eq!(
        b.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Unknown
    );
    let preimage = b.pay_and_record(&inv.text).unwrap();
    assert_eq!(
        b.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Settled {
            preimage: Some(preimage)
        }
    );
    // A did not see the payment, but the same preimage pays it statelessly.
    assert_eq!(
        a.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    assert_eq!(l402_fake::pay(&secret(), &inv.text).unwrap(), preimage);
}

#[tokio::test]
async fn store_is_bounded() {
    let b = backend(FakeConfig {
        store_capacity: 3,
        ..FakeConfig::default()
    });
    let mut hashes = Vec::new();
    for _ in 0..5 {
        hashes.push(b.create_invoice(req(1_000)).await.unwrap().payment_hash);
        assert!(b.stored_invoices() <= 3);
    }
    assert_eq!(b.stored_invoices(), 3);
    for (i, h) in hashes.iter().enumerate() {
        let want = if i < 2 {
            Settlement::Unknown
        } else {
            Settlement::Open
        };
        assert_eq!(b.lookup_invoice(&(*h).into()).await.unwrap(), want, "invoice {i}");
    }
    // An evicted invoice can still be paid (stateless) and is then remembered as paid.
    assert!(!b.mark_paid(hashes[0]));
}

#[tokio::test(start_paused = true)]
async fn delay_is_a_tokio_sleep() {
    let b = Arc::new(backend(FakeConfig {
        delay: Duration::from_secs(3),
        ..FakeConfig::default()
    }));
    let start = tokio::time::Instant::now();
    // Ten concurrent requests on a single-threaded runtime: with a blocking sleep they
    // would take 30 s; with tokio's sleep they all finish after 3 s.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let b = Arc::clone(&b);
        tasks.push(tokio::spawn(
            async move { b.create_invoice(req(1_000)).await },
        ));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn slow_fake_times_out_through_with_timeout() {
    let b = backend(FakeConfig {
        delay: Duration::from_secs(10),
        ..FakeConfig::default()
    });
    let got = with_timeout("fake", Duration::from_secs(2), b.create_invoice(req(1_000))).await;
    match got {
        Err(e @ BackendError::Timeout { .. }) => {
            assert_eq!(e.backend(), "fake");
            assert_eq!(e.to_string(), "fake: no reply within 2000 ms");
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(b.stored_invoices(), 0);
}

#[tokio::test]
async fn real_short_delay() {
    let b = backend(FakeConfig {
        delay: Duration::from_millis(50),
        ..FakeConfig::default()
    });
    let start = std::time::Instant::now();
    b.create_invoice(req(1_000)).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn debug_does_not_leak_secrets() {
    let b = backend(FakeConfig::default());
    let shown = format!("{b:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("4242"), "{shown}");
    assert!(!shown.contains("2424"), "{shown}");
    assert!(!shown.contains("66, 66"), "{shown}");
    assert!(!shown.contains("36, 36"), "{shown}");
}

#[test]
fn backend_is_send_sync_static() {
    fn check<T: Send + Sync + 'static>() {}
    check::<FakeBackend>();
    let _boxed: Box<dyn Backend> = Box::new(backend(FakeConfig::default()));
}
