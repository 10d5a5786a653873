//! Fault handling: timeouts, node down and back, garbage replies, JSON-RPC errors, no
//! panics, lazy connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{eventually_creates, req, Setup};
use l402_backend::{Backend, BackendError, Settlement};
use l402_cln::{ClnBackend, ClnConfig, RpcError};
use serde_json::json;
use testnode_cln::{GarbageKind, Mode, TestNode};

#[tokio::test]
async fn slow_node_times_out_then_recovers() {
    let s = Setup::start().await;
    let backend = s.cln_with_timeout(Duration::from_millis(300));
    backend.create_invoice(req(1_000)).await.unwrap();
    s.node.set_mode(Mode::Slow(Duration::from_millis(1_500)));
    let e = backend.create_invoice(req(1_000)).await.unwrap_err();
    assert_eq!(
        e,
        BackendError::Timeout {
            backend: "cln",
            after: Duration::from_millis(300)
        }
    );
    let e = backend.lookup_invoice(&[1; 32].into()).await.unwrap_err();
    assert_eq!(e.kind(), "timeout");
    s.node.set_mode(Mode::Normal);
    backend.create_invoice(req(1_000)).await.unwrap();
}

#[tokio::test]
async fn down_node_is_unavailable_then_recovers() {
    let s = Setup::start().await;
    let backend = s.cln();
    let inv = backend.create_invoice(req(1_000)).await.unwrap();
    s.node.set_mode(Mode::Down);
    // The accept task removes the socket; open connections close at their next request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while s.node.socket_path().exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..3 {
        let e = backend.create_invoice(req(1_000)).await.unwrap_err();
        assert_eq!(e.kind(), "unavailable", "{e}");
        assert!(e.to_string().contains("no socket"), "{e}");
        let e = backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap_err();
        assert_eq!(e.kind(), "unavailable", "{e}");
    }
    s.node.set_mode(Mode::Normal);
    eventually_creates(&backend, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(
        backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
}

#[tokio::test]
async fn node_restart_is_survived() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightning-rpc");
    let node = TestNode::start(&path).await.unwrap();
    let backend = ClnBackend::new(ClnConfig::load(&path).unwrap());
    for _ in 0..4 {
        backend.create_invoice(req(1_000)).await.unwrap();
    }
    drop(node);
    let e = backend.create_invoice(req(1_000)).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable", "{e}");
    // A new node on the same path: pooled connections to the old one are stale.
    let _node = TestNode::start(&path).await.unwrap();
    for _ in 0..8 {
        backend.create_invoice(req(1_000)).await.unwrap();
    }
}

#[tokio::test]
async fn new_opens_no_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightning-rpc");
    // Config checked while a node runs, backend built, node gone: nothing fails until a call.
    let node = TestNode::start(&path).await.unwrap();
    let config = ClnConfig::load(&path).unwrap();
    drop(node);
    let backend = ClnBackend::new(config);
    let e = backend.create_invoice(req(1_000)).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable");
    // The node starts later: the first call connects.
    let node = TestNode::start(&path).await.unwrap();
    backend.create_invoice(req(1_000)).await.unwrap();
    assert_eq!(node.invoice_count(), 1);
}

#[tokio::test]
async fn every_garbage_kind_is_invalid_reply() {
    let s = Setup::start().await;
    let backend = s.cln();
    // A paid invoice, so lookups return preimage and amounts the garbage modes alter.
    let paid = backend.create_invoice(req(2_000)).await.unwrap();
    s.node.settle(&paid.text).unwrap();
    for kind in GarbageKind::ALL {
        s.node.set_mode(Mode::Garbage(kind));
        let e = backend.create_invoice(req(1_000)).await.unwrap_err();
        assert_eq!(e.kind(), "invalid_reply", "create under {kind}: {e}");
        if kind != GarbageKind::ForeignSignature {
            let e = backend.lookup_invoice(&paid.payment_hash.into()).await.unwrap_err();
            assert_eq!(e.kind(), "invalid_reply", "lookup under {kind}: {e}");
        }
        s.node.set_mode(Mode::Normal);
        // Recovers on the next call.
        backend.create_invoice(req(1_000)).await.unwrap();
    }
}

#[tokio::test]
async fn foreign_signature_is_named() {
    let s = Setup::start().await;
    let backend = s.cln();
    backend.create_invoice(req(1_000)).await.unwrap();
    s.node
        .set_mode(Mode::Garbage(GarbageKind::ForeignSignature));
    let e = backend.create_invoice(req(1_000)).await.unwrap_err();
    assert!(e.to_string().contains("another node"), "{e}");
    let e = s.bolt12().create_invoice(req(1_000)).await.unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");
}

#[tokio::test]
async fn huge_reply_is_refused_by_size() {
    let s = Setup::start().await;
    s.node.set_mode(Mode::Garbage(GarbageKind::HugeReply));
    let e = s.cln().create_invoice(req(1_000)).await.unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
}

#[tokio::test]
async fn json_rpc_error_is_rejected_with_code() {
    let s = Setup::start().await;
    s.node.set_mode(Mode::Error {
        code: -32602,
        message: "amount_msat: should be positive msat or 'any'\r\nforged".to_owned(),
    });
    let e = s.cln().create_invoice(req(1_000)).await.unwrap_err();
    assert_eq!(e.kind(), "rejected");
    let shown = e.to_string();
    assert!(shown.contains("-32602"), "{shown}");
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
}

#[tokio::test]
async fn duplicate_label_is_code_900() {
    let s = Setup::start().await;
    let backend = s.cln();
    let params = json!({"amount_msat": 1000, "label": "same", "description": "d"});
    backend.rpc().call("invoice", params.clone()).await.unwrap();
    let e = backend.rpc().call("invoice", params).await.unwrap_err();
    assert!(matches!(e, RpcError::Rpc { code: 900, .. }), "{e:?}");
    assert_eq!(e.into_backend_error("cln").kind(), "rejected");
    let e = backend
        .rpc()
        .call("nosuchmethod", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, RpcError::Rpc { code: -32601, .. }), "{e:?}");
}

#[tokio::test]
async fn bad_requests_are_refused_before_the_node() {
    let s = Setup::start().await;
    let backend = s.cln();
    for r in [req(0), req(u64::MAX)] {
        assert_eq!(
            backend.create_invoice(r).await.unwrap_err().kind(),
            "rejected"
        );
    }
    let mut r = req(1_000);
    r.expiry_secs = 0;
    assert_eq!(
        backend.create_invoice(r).await.unwrap_err().kind(),
        "rejected"
    );
    assert_eq!(s.node.invoice_count(), 0);
    // A description the node refuses (BOLT11 limit) comes back as Rejected with its code.
    let mut r = req(1_000);
    r.memo = "x".repeat(700);
    let e = backend.create_invoice(r).await.unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(e.to_string().contains("-32602"), "{e}");
}

#[tokio::test]
async fn lookup_reports_states() {
    let s = Setup::start().await;
    let backend = s.cln();
    assert_eq!(
        backend.lookup_invoice(&[9; 32].into()).await.unwrap(),
        Settlement::Unknown
    );
    let mut r = req(3_000);
    r.expiry_secs = 1;
    let inv = backend.create_invoice(r).await.unwrap();
    assert_eq!(
        backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Expired
    );
    assert!(
        s.node.settle(&inv.text).is_none(),
        "expired invoices cannot be paid"
    );
}
