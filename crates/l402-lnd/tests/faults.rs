//! LndBackend against testnode-lnd's failure modes: every fault is a classified error,
//! never a panic and never an accepted reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use bitcoin::hashes::{sha256, Hash};
use l402_backend::conformance::sample_request;
use l402_backend::{Backend, BackendError, Settlement};
use l402_lnd::{LndBackend, LndConfig};
use testnode_lnd::{Mode, TestNode};

fn kind<T: std::fmt::Debug>(r: Result<T, BackendError>) -> &'static str {
    r.unwrap_err().kind()
}

fn assert_no_macaroon(e: &BackendError, node: &TestNode) {
    let shown = format!("{e} {e:?}").to_lowercase();
    assert!(!shown.contains(node.macaroon_hex()), "{shown}");
}

#[tokio::test]
async fn wrong_macaroon_is_rejected() {
    let s = common::setup().await;
    let other = common::TempDir::new("other");
    let other_node = TestNode::start(other.path(), 0).await.unwrap();
    // Right node, right cert, another node's macaroon.
    let cfg = LndConfig::load(
        &s.node.address(),
        other_node.macaroon_path(),
        s.node.cert_path(),
    )
    .unwrap();
    let backend = LndBackend::new(cfg);
    let e = backend.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(e.to_string().contains("Unauthenticated"), "{e}");
    assert_no_macaroon(&e, &s.node);
    assert_no_macaroon(&e, &other_node);
    assert_eq!(kind(backend.lookup_invoice(&[1; 32].into()).await), "rejected");
    assert_eq!(s.node.invoice_count(), 0);
}

#[tokio::test]
async fn wrong_pinned_cert_is_unavailable() {
    let s = common::setup().await;
    let other = common::TempDir::new("other");
    let other_node = TestNode::start(other.path(), 0).await.unwrap();
    let cfg = LndConfig::load(
        &s.node.address(),
        s.node.macaroon_path(),
        other_node.cert_path(),
    )
    .unwrap();
    let backend = LndBackend::new(cfg);
    let e = backend.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    assert_no_macaroon(&e, &s.node);
    assert_eq!(s.node.invoice_count(), 0);
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let dir = common::TempDir::new("gone");
    let node = TestNode::start(dir.path(), 0).await.unwrap();
    let cfg = common::config_for(&node, common::TIMEOUT);
    drop(node);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let backend = LndBackend::new(cfg);
    let e = backend.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
}

#[tokio::test]
async fn slow_node_times_out_within_the_timeout() {
    let timeout = Duration::from_millis(300);
    let s = common::setup_with_timeout(timeout).await;
    // Warm the connection so the timing is the call's.
    s.backend.create_invoice(sample_request()).await.unwrap();
    s.node.set_mode(Mode::Slow(Duration::from_secs(3)));
    let started = Instant::now();
    let e = s
        .backend
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        e,
        BackendError::Timeout {
            backend: "lnd",
            after: timeout
        }
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let started = Instant::now();
    assert_eq!(kind(s.backend.lookup_invoice(&[2; 32].into()).await), "timeout");
    assert!(started.elapsed() < Duration::from_millis(1500));
    // Back to normal: the next call works (on a new connection).
    s.node.set_mode(Mode::Normal);
    s.backend.create_invoice(sample_request()).await.unwrap();
}

#[tokio::test]
async fn down_is_unavailable_and_recovers() {
    let s = common::setup().await;
    let inv = s.backend.create_invoice(sample_request()).await.unwrap();
    s.node.set_mode(Mode::Down);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = s
        .backend
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
    assert_eq!(
        kind(s.backend.lookup_invoice(&inv.payment_hash.into()).await),
        "unavailable"
    );
    s.node.set_mode(Mode::Normal);
    // The listener is bound again shortly after; the backend reconnects by itself.
    let mut last = None;
    for _ in 0..50 {
        match s.backend.lookup_invoice(&inv.payment_hash.into()).await {
            Ok(state) => {
                last = Some(Ok(state));
                break;
            }
            Err(e) => last = Some(Err(e)),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last, Some(Ok(Settlement::Open)));
    s.backend.create_invoice(sample_request()).await.unwrap();
}

#[tokio::test]
async fn garbage_replies_are_invalid() {
    let s = common::setup().await;
    let inv = s.backend.create_invoice(sample_request()).await.unwrap();
    s.node.set_mode(Mode::Garbage);
    let e = s
        .backend
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_reply", "{e}");
    assert!(e.to_string().contains("BOLT11"), "{e}");
    let e = s
        .backend
        .lookup_invoice(&inv.payment_hash.into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_reply", "{e}");
    assert!(e.to_string().contains("state"), "{e}");
}

#[tokio::test]
async fn wrong_hash_is_invalid() {
    let s = common::setup().await;
    let inv = s.backend.create_invoice(sample_request()).await.unwrap();
    s.node.set_mode(Mode::WrongHash);
    let e = s
        .backend
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_reply", "{e}");
    assert!(e.to_string().contains("payment hash"), "{e}");
    assert_eq!(
        kind(s.backend.lookup_invoice(&inv.payment_hash.into()).await),
        "invalid_reply"
    );
}

#[tokio::test]
async fn wrong_amount_is_invalid() {
    let s = common::setup().await;
    s.node.set_mode(Mode::WrongAmount);
    let e = s
        .backend
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_reply", "{e}");
    assert!(e.to_string().contains("22000 msat"), "{e}");
}

#[tokio::test]
async fn settled_lookup_returns_the_checked_preimage() {
    let s = common::setup().await;
    let inv = s.backend.create_invoice(sample_request()).await.unwrap();
    assert_eq!(
        s.backend.lookup_invoice(&inv.payment_hash.into()).await,
        Ok(Settlement::Open)
    );
    let preimage = s.node.settle(&hex_of(&inv.payment_hash)).unwrap();
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array(),
        inv.payment_hash
    );
    assert_eq!(
        s.backend.lookup_invoice(&inv.payment_hash.into()).await,
        Ok(Settlement::Settled {
            preimage: Some(preimage)
        })
    );
    // A node that reports a preimage that does not hash to the invoice's hash is refused.
    s.node.set_mode(Mode::WrongPreimage);
    let e = s
        .backend
        .lookup_invoice(&inv.payment_hash.into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_reply", "{e}");
    assert!(e.to_string().contains("preimage"), "{e}");
}

#[tokio::test]
async fn canceled_and_unknown() {
    let s = common::setup().await;
    let inv = s.backend.create_invoice(sample_request()).await.unwrap();
    s.node.cancel(&inv.text).unwrap();
    assert_eq!(
        s.backend.lookup_invoice(&inv.payment_hash.into()).await,
        Ok(Settlement::Canceled)
    );
    assert_eq!(
        s.backend.lookup_invoice(&[9; 32].into()).await,
        Ok(Settlement::Unknown)
    );
}

#[tokio::test]
async fn refused_requests_are_rejected() {
    let s = common::setup().await;
    let mut req = sample_request();
    req.memo = "m".repeat(1025); // LND: "memo too large"
    let e = s.backend.create_invoice(req).await.unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(e.to_string().contains("memo too large"), "{e}");
    let mut req = sample_request();
    req.amount_msat = 0;
    assert_eq!(kind(s.backend.create_invoice(req).await), "rejected");
    assert_eq!(s.node.invoice_count(), 0);
}

/// The backend is built outside any runtime (as in the nginx worker before its runtime
/// exists): making tonic's channel there would panic (it spawns a task), so this shows the
/// channel is made by the first call; then one channel serves many calls.
#[test]
fn built_outside_a_runtime_connects_lazily() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = common::TempDir::new("lazy");
    let node = rt.block_on(TestNode::start(dir.path(), 0)).unwrap();
    let backend = LndBackend::new(common::config_for(&node, common::TIMEOUT));
    rt.block_on(async {
        for _ in 0..5 {
            backend.create_invoice(sample_request()).await.unwrap();
        }
    });
    assert_eq!(node.invoice_count(), 5);
}

#[test]
fn debug_redacts_the_macaroon() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = common::TempDir::new("debug");
    let node = rt.block_on(TestNode::start(dir.path(), 0)).unwrap();
    let cfg = common::config_for(&node, common::TIMEOUT);
    let backend = LndBackend::new(cfg.clone());
    for shown in [format!("{cfg:?}"), format!("{backend:?}")] {
        assert!(
            !shown.to_lowercase().contains(node.macaroon_hex()),
            "{shown}"
        );
        assert!(shown.contains("redacted"), "{shown}");
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
