//! Many concurrent calls over a pool where each connection carries one request at a time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{req, Setup};
use l402_backend::{Backend, Settlement};
use l402_cln::ClnBackend;
use testnode_cln::Mode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_have_unique_labels_and_hashes() {
    let s = Setup::start().await;
    let backend = Arc::new(s.cln());
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            let b = Arc::clone(&backend);
            tokio::spawn(async move { b.create_invoice(req(1_000 + i)).await })
        })
        .collect();
    let mut hashes = HashSet::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let inv = t.await.unwrap().unwrap();
        assert_eq!(
            inv.amount_msat,
            1_000 + i as u64,
            "replies went to the right caller"
        );
        assert!(hashes.insert(inv.payment_hash));
    }
    assert_eq!(s.node.invoice_count(), 200);
    // One request in flight per connection, at most pool-size connections.
    let connections = s.node.connection_count();
    assert!(
        (1..=l402_cln::DEFAULT_POOL_SIZE).contains(&connections),
        "{connections} connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_of_one_serializes_calls() {
    let s = Setup::start().await;
    let config = s.config(Duration::from_secs(10)).with_pool_size(1).unwrap();
    let backend = Arc::new(ClnBackend::new(config));
    let tasks: Vec<_> = (0..50u64)
        .map(|i| {
            let b = Arc::clone(&backend);
            tokio::spawn(async move { b.create_invoice(req(5_000 + i)).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap().amount_msat, 5_000 + i as u64);
    }
    assert_eq!(s.node.connection_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_on_one_node_never_share_a_label() {
    // Like two nginx workers: separate backends, separate label prefixes.
    let s = Setup::start().await;
    let a = Arc::new(s.cln());
    let b = Arc::new(s.cln());
    let mut tasks = Vec::new();
    for i in 0..50u64 {
        for backend in [&a, &b] {
            let backend: Arc<ClnBackend> = Arc::clone(backend);
            tasks.push(tokio::spawn(async move {
                backend.create_invoice(req(1_000 + i)).await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.node.invoice_count(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_mixed_calls_with_slow_node_complete_correctly() {
    let s = Setup::start().await;
    let backend = Arc::new(s.cln());
    let mut invoices = Vec::new();
    for i in 0..20 {
        invoices.push(backend.create_invoice(req(10_000 + i)).await.unwrap());
    }
    for inv in invoices.iter().step_by(2) {
        s.node.settle(&inv.text).unwrap();
    }
    // Slow replies keep every pooled connection busy, so calls queue for connections.
    s.node.set_mode(Mode::Slow(Duration::from_millis(20)));
    let mut tasks = Vec::new();
    for round in 0..3 {
        for (i, inv) in invoices.iter().enumerate() {
            let b = Arc::clone(&backend);
            let hash = inv.payment_hash;
            tasks.push(tokio::spawn(async move {
                (round, i, b.lookup_invoice(&hash.into()).await)
            }));
        }
    }
    for t in tasks {
        let (_, i, got) = t.await.unwrap();
        let got = got.unwrap();
        if i % 2 == 0 {
            assert!(got.is_settled(), "invoice {i}: {got:?}");
        } else {
            assert_eq!(got, Settlement::Open, "invoice {i}");
        }
    }
}
