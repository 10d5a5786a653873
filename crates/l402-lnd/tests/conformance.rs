//! The shared backend conformance suite (l402_backend::conformance) against LndBackend
//! talking real TLS gRPC to testnode-lnd.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use l402_backend::conformance::{self, PayFn};
use l402_backend::{Backend, BoxFuture, Invoice};

#[tokio::test]
async fn lnd_passes_run_all() {
    let s = common::setup().await;
    conformance::run_all(&s.backend).await.unwrap();
}

#[tokio::test]
async fn lnd_starts_and_stops() {
    let s = common::setup().await;
    conformance::starts_and_stops(&s.backend).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lnd_passes_run_all_as_dyn_backend_on_multithread_runtime() {
    let s = common::setup().await;
    let backend: Arc<dyn Backend> = Arc::new(s.backend);
    let task = tokio::spawn(async move { conformance::run_all(backend.as_ref()).await });
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn lnd_carries_memo() {
    let s = common::setup().await;
    conformance::memo_is_carried(&s.backend).await.unwrap();
}

#[tokio::test]
async fn lnd_settles_after_payment() {
    let s = common::setup().await;
    let node = Arc::new(s.node);
    let payer = Arc::clone(&node);
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let payer = Arc::clone(&payer);
        Box::pin(async move { payer.settle(&inv.text).map(|_| ()) })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(&s.backend, pay)
        .await
        .unwrap();
}
