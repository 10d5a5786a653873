//! The shared conformance suite (l402-backend's `conformance`) against `LnurlBackend` talking
//! HTTPS to testnode-lnurl (LUD-06 payRequest and callback, LUD-16 address, LUD-21 verify).
//!
//! Two LNURL facts shape the set-up, each handled where the suite provides for it:
//! - a LUD-06 callback takes no expiry: the payee chooses it. The suite checks that an
//!   invoice expires when the request asked, so the payee here issues invoices with the
//!   suite's expiry; `expiry_is_the_payees` checks the backend reports the payee's choice
//!   when it differs.
//! - a LUD-21 verify URL is given per invoice, so a payment hash alone cannot be looked up
//!   (`Capabilities { lookup: true, detect_without_preimage: false }`): the suite then looks
//!   up issued invoices by the reference the backend handed out. A callback reports no
//!   payment hash beside `pr`, so testnode-lnurl does not offer `GarbageKind::WrongHash` at
//!   creation (`PeerControl::supports`); its verify-side form is tested in `faults.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use l402_backend::conformance::{self, PayFn};
use l402_backend::{Backend, BoxFuture, Invoice, InvoiceRequest};
use testnode_lnurl::{PayParams, TestNode};

use common::{backend, node, TIMEOUT};

/// A payee whose invoices expire when the suite's requests ask.
async fn conformance_node() -> TestNode {
    let node = node().await;
    let expiry = u64::from(conformance::sample_request().expiry_secs);
    node.set_params(PayParams { invoice_expiry_secs: expiry, ..PayParams::default() });
    node
}

#[tokio::test]
async fn lnurl_run_all() {
    let node = conformance_node().await;
    conformance::run_all(backend(&node, "conformance").as_ref()).await.unwrap();
    // It really went through the payee: every invoice checked came from its callback.
    let c = node.counters();
    assert!(c.callback >= 10 && c.verify >= 1, "{c:?}");
    assert_eq!(c.pay_request, 1, "one payRequest fetch within its lifetime: {c:?}");
}

#[tokio::test]
async fn lnurl_run_faults() {
    let node = conformance_node().await;
    conformance::run_faults(backend(&node, "conformance").as_ref(), &node, TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn lnurl_starts_and_stops() {
    let node = conformance_node().await;
    conformance::starts_and_stops(backend(&node, "conformance").as_ref()).await.unwrap();
}

#[tokio::test]
async fn lnurl_settles_after_payment() {
    let node = conformance_node().await;
    let payer = node.clone();
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let payer = payer.clone();
        Box::pin(async move { payer.settle(&inv.text).map(|_| ()) })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(backend(&node, "conformance").as_ref(), pay).await.unwrap();
}

/// The suite's `memo_is_carried` cannot apply (the invoice commits to the payee's metadata
/// with a description hash, LUD-06); the memo travels as the LUD-12 comment instead, cut to
/// `commentAllowed` characters.
#[tokio::test]
async fn memo_is_the_lud12_comment() {
    let node = conformance_node().await;
    let b = backend(&node, "memo");
    let memo = "l402: memo ✓ & co".to_owned();
    b.create_invoice(InvoiceRequest { memo: memo.clone(), ..conformance::sample_request() }).await.unwrap();
    node.set_params(PayParams { comment_allowed: 4, ..node.params() });
    // The cached document still allows 255: a fresh backend reads the new limit.
    let b = backend(&node, "memo");
    b.create_invoice(InvoiceRequest { memo, ..conformance::sample_request() }).await.unwrap();
    let comments: Vec<Option<String>> = node.invoices(Some("memo")).into_iter().map(|i| i.comment).collect();
    assert_eq!(comments, [Some("l402: memo ✓ & co".to_owned()), Some("l402".to_owned())]);
}

/// With the payee's own expiry (an hour), the invoice reports that expiry, not the asked one.
#[tokio::test]
async fn expiry_is_the_payees() {
    let node = node().await;
    let b = backend(&node, "expiry");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let inv = b.create_invoice(conformance::sample_request()).await.unwrap();
    let want = now + testnode_lnurl::INVOICE_EXPIRY_SECS;
    assert!(inv.expires_at_unix.abs_diff(want) <= 5, "{} vs {want}", inv.expires_at_unix);
}

#[tokio::test]
async fn lnurl_times_out_within_the_limit_of_a_longer_timeout() {
    // The same check with another limit: the bound is the configured one, not a constant.
    let node = conformance_node().await;
    let timeout = Duration::from_millis(1500);
    let b = common::backend_with(&node, "conformance", Duration::from_secs(60), timeout);
    conformance::times_out_against_slow_peer(b.as_ref(), &node, timeout).await.unwrap();
}
