//! The shared backend conformance suite against ClnBackend <-> testnode-cln over a real
//! unix socket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::Setup;
use l402_backend::conformance::{self, PayFn};
use l402_backend::{Backend, BoxFuture, Invoice};

#[tokio::test]
async fn cln_passes_run_all() {
    let s = Setup::start().await;
    conformance::run_all(&s.cln()).await.unwrap();
}

#[tokio::test]
async fn cln_starts_and_stops() {
    let s = Setup::start().await;
    conformance::starts_and_stops(&s.cln()).await.unwrap();
}

#[tokio::test]
async fn cln_carries_memo() {
    let s = Setup::start().await;
    conformance::memo_is_carried(&s.cln()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cln_passes_run_all_as_dyn_backend_on_multithread_runtime() {
    let s = Setup::start().await;
    let backend: Arc<dyn Backend> = Arc::new(s.cln());
    let task = tokio::spawn(async move { conformance::run_all(backend.as_ref()).await });
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn cln_settles_after_payment() {
    let s = Setup::start().await;
    let node = s.node.handle();
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let node = node.clone();
        Box::pin(async move {
            node.settle(&inv.text)
                .map(|_| ())
                .ok_or_else(|| "test node does not know the invoice".to_owned())
        })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(&s.cln(), pay)
        .await
        .unwrap();
}

#[tokio::test]
async fn invoices_are_signed_by_the_node() {
    let s = Setup::start().await;
    let inv = s.cln().create_invoice(common::req(5_000)).await.unwrap();
    l402_backend::check_payee("cln", &inv.text, &s.node.node_id()).unwrap();
}
