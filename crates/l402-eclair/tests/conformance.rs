//! The shared conformance suite against EclairBackend talking real HTTP to testnode-eclair.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use l402_backend::conformance::{self, Mode, PayFn, PeerControl};
use l402_backend::{Backend, BoxFuture, Invoice};
use l402_eclair::{EclairBackend, EclairConfig, Secret};
use testnode_eclair::TestNode;

const PASSWORD: &str = "conformance-password";
const TIMEOUT: Duration = Duration::from_millis(400);

async fn node_and_backend() -> (TestNode, Arc<EclairBackend>) {
    let node = TestNode::start(PASSWORD).await.unwrap();
    let config = EclairConfig::load(&node.url(), Secret::new(PASSWORD))
        .unwrap()
        .with_timeout(TIMEOUT);
    (node, Arc::new(EclairBackend::new(config).unwrap()))
}

#[tokio::test]
async fn eclair_passes_run_all() {
    let (_node, backend) = node_and_backend().await;
    conformance::run_all(backend.as_ref()).await.unwrap();
}

#[tokio::test]
async fn eclair_starts_and_stops() {
    let (_node, backend) = node_and_backend().await;
    conformance::starts_and_stops(backend.as_ref()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eclair_passes_run_all_as_dyn_backend_on_multithread_runtime() {
    let (_node, backend) = node_and_backend().await;
    let backend: Arc<dyn Backend> = backend;
    let task = tokio::spawn(async move { conformance::run_all(backend.as_ref()).await });
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn eclair_carries_memo() {
    let (_node, backend) = node_and_backend().await;
    conformance::memo_is_carried(backend.as_ref())
        .await
        .unwrap();
}

#[tokio::test]
async fn eclair_settles_after_payment() {
    let (node, backend) = node_and_backend().await;
    let payer = node.clone();
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let got = payer.settle(&inv.text).map(|_| ());
        Box::pin(async move { got })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(backend.as_ref(), pay)
        .await
        .unwrap();
}

#[tokio::test]
async fn eclair_passes_run_faults() {
    let (node, backend) = node_and_backend().await;
    conformance::run_faults(backend.as_ref(), &node, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(node.mode(), Mode::Normal);
}

#[tokio::test]
async fn failover_from_down_eclair_to_fake_and_back() {
    let (node, eclair) = node_and_backend().await;
    let fake: Arc<dyn Backend> = Arc::new(l402_fake::FakeBackend::new(
        l402_fake::FakeSecret::generate().unwrap(),
        l402_fake::FakeConfig::default(),
    ));
    conformance::failover_skips_down_backend(eclair, &node, fake)
        .await
        .unwrap();
}

#[tokio::test]
async fn node_supports_every_mode() {
    let (node, _backend) = node_and_backend().await;
    for mode in [
        Mode::Down,
        Mode::Slow(TIMEOUT),
        Mode::WrongAmount,
        Mode::Garbage(conformance::GarbageKind::NotJson),
    ] {
        assert!(PeerControl::supports(&node, &mode));
    }
}
