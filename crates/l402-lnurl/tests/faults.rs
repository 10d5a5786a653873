//! `LnurlBackend` against a hostile payee (testnode-lnurl's faults): every fault gives the
//! error class the caller must act on, naming the payee and the cause, and never an invoice
//! that is not the payee's own for the requested amount. Also connection reuse and the
//! payRequest cache (LUD-06 step 3: the document is fetched once, then only the callback).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use l402_backend::{check_invoice, Backend, BackendError, Invoice, InvoiceRequest, LookupRef, Settlement};
use l402_lnurl::LnurlBackend;
use testnode_lnurl::{Fault, GarbageKind, Mode, PayParams, Target, TestNode};

use common::{backend, backend_with, node, TIMEOUT};

const USER: &str = "hostile";

fn request(amount_msat: u64) -> InvoiceRequest {
    InvoiceRequest { amount_msat, memo: "l402 faults".into(), expiry_secs: 600 }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// An invoice the backend returned is one the payee issued to `user`, for the amount asked,
/// and it passes the shared reply checks.
fn assert_payees_own(node: &TestNode, user: &str, inv: &Invoice, amount_msat: u64) {
    let issued = node.invoices(Some(user));
    let mine = issued.iter().find(|i| i.bolt11 == inv.text).expect("the invoice is the payee's own");
    assert_eq!((mine.amount_msat, inv.amount_msat), (amount_msat, amount_msat));
    assert_eq!(mine.payment_hash, inv.payment_hash);
    check_invoice("lnurl", &inv.text, &request(amount_msat), Some(inv.payment_hash), now()).unwrap();
}

/// `got` is an error of `kind` whose text names the payee and contains `needle`.
fn assert_error<T: std::fmt::Debug>(node: &TestNode, got: Result<T, BackendError>, kind: &str, needle: &str) {
    let e = match got {
        Err(e) => e,
        Ok(v) => panic!("expected a {kind} error containing {needle:?}, got {v:?}"),
    };
    let text = e.to_string();
    assert_eq!(e.kind(), kind, "{text}");
    assert!(text.contains(needle), "{needle:?} not in {text:?}");
    if kind != "timeout" {
        // A timeout carries only the limit; the nginx adapter adds the payee (see test_lnurl.py).
        assert!(text.contains(&format!("payee {}", node.lightning_address(USER))), "{text}");
    }
}

async fn faulty(fault: Fault) -> (TestNode, Arc<LnurlBackend>) {
    let node = node().await;
    node.set_fault(fault);
    let b = backend(&node, USER);
    (node, b)
}

/// Faults at invoice creation: (fault, error kind, text the error must contain).
const CREATE_FAULTS: &[(Fault, &str, &str)] = &[
    (Fault::PayRequestError, "rejected", "payRequest: the payee says: Unknown user"),
    (Fault::CallbackError, "rejected", "callback: the payee says: Payee refuses"),
    (Fault::HugeBody(Target::PayRequest), "invalid_reply", "payRequest: reply is larger than"),
    (Fault::HugeBody(Target::Callback), "invalid_reply", "callback: reply is larger than"),
    (Fault::EndlessBody(Target::PayRequest), "invalid_reply", "payRequest: reply is larger than"),
    (Fault::EndlessBody(Target::Callback), "invalid_reply", "callback: reply is larger than"),
    (Fault::RedirectOtherHost(Target::PayRequest), "invalid_reply", "redirect to another host (127.0.0.2"),
    (Fault::RedirectOtherHost(Target::Callback), "invalid_reply", "callback: redirect to another host"),
    (Fault::MainnetInvoice, "invalid_reply", "must be paid on Regtest"),
    (Fault::ExpiredInvoice, "invalid_reply", "expired"),
    (Fault::WrongDescriptionHash, "invalid_reply", "description hash does not match the metadata"),
    // LUD-06 lets the callback live on another host; nothing listens on 127.0.0.2 here.
    (Fault::CallbackOtherHost, "unavailable", "callback:"),
];

#[tokio::test]
async fn hostile_payee_at_creation_is_an_error_of_the_right_class() {
    for &(fault, kind, needle) in CREATE_FAULTS {
        let (node, b) = faulty(fault).await;
        let start = Instant::now();
        let got = b.create_invoice(request(21_000)).await;
        assert!(start.elapsed() < TIMEOUT + Duration::from_millis(500), "{fault}: {:?}", start.elapsed());
        assert_error(&node, got, kind, needle);
        // Back to normal, the same backend value issues the payee's invoices again.
        node.clear_faults();
        let inv = b.create_invoice(request(21_000)).await.unwrap_or_else(|e| panic!("{fault}: {e}"));
        assert_payees_own(&node, USER, &inv, 21_000);
        node.shutdown();
    }
}

#[tokio::test]
async fn slow_drip_is_a_timeout_within_the_limit() {
    for target in [Target::PayRequest, Target::Callback] {
        let (node, b) = faulty(Fault::SlowDrip(target)).await;
        let start = Instant::now();
        let got = b.create_invoice(request(21_000)).await;
        let took = start.elapsed();
        assert_error(&node, got, "timeout", "no reply within 800 ms");
        assert!(took >= TIMEOUT && took < TIMEOUT + Duration::from_millis(500), "{target:?}: {took:?}");
        node.shutdown();
    }
}

#[tokio::test]
async fn redirect_on_the_same_host_is_followed() {
    let (node, b) = faulty(Fault::RedirectSameHost(Target::All)).await;
    let inv = b.create_invoice(request(21_000)).await.unwrap();
    assert_payees_own(&node, USER, &inv, 21_000);
    assert_eq!(b.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Open);
    let preimage = node.settle(&inv.text).unwrap();
    assert_eq!(b.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Settled { preimage: Some(preimage) });
    // Each request went to the faulty path first, then to the redirected one.
    let c = node.counters();
    assert_eq!((c.pay_request, c.callback, c.verify), (2, 2, 4), "{c:?}");
}

/// No LUD-21 verify URL, or one on another host: the invoice is still the payee's (the
/// client's preimage proves payment) but the backend never asks anyone about it and never
/// reports it settled, even once it is paid.
#[tokio::test]
async fn missing_or_foreign_verify_url_is_never_asked() {
    for fault in [Fault::NoVerify, Fault::VerifyOtherHost] {
        let (node, b) = faulty(fault).await;
        let inv = b.create_invoice(request(21_000)).await.unwrap();
        assert_payees_own(&node, USER, &inv, 21_000);
        assert!(inv.lookup.is_hash_only(), "{fault}: a reference beyond the hash");
        node.settle(&inv.text).unwrap();
        assert_eq!(b.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Unknown, "{fault}");
        assert_eq!(node.counters().verify, 0, "{fault}");
        node.shutdown();
    }
}

/// A verify URL that is not on the payee's host is refused even if a reference carries one
/// (a token's reference comes back from the client).
#[tokio::test]
async fn lookup_refuses_a_verify_url_on_another_host() {
    let node = node().await;
    let b = backend(&node, USER);
    let inv = b.create_invoice(request(21_000)).await.unwrap();
    let url = format!("https://127.0.0.2:{}/lnurlp/{USER}/verify/00", node.addr().port());
    let forged = LookupRef::with_extra(inv.payment_hash, url.as_bytes()).unwrap();
    assert_error(&node, b.lookup_invoice(&forged).await, "rejected", "verify URL is not on the payee's host");
    assert_eq!(node.counters().verify, 0);
}

/// Faults of the verify endpoint: (fault, error kind, text).
const VERIFY_FAULTS: &[(Fault, &str, &str)] = &[
    (Fault::HugeBody(Target::Verify), "invalid_reply", "verify: reply is larger than"),
    (Fault::EndlessBody(Target::Verify), "invalid_reply", "verify: reply is larger than"),
    (Fault::RedirectOtherHost(Target::Verify), "invalid_reply", "verify: redirect to another host"),
    (Fault::SlowDrip(Target::Verify), "timeout", "no reply within 800 ms"),
];

#[tokio::test]
async fn hostile_verify_is_an_error_never_settled() {
    for &(fault, kind, needle) in VERIFY_FAULTS {
        let node = node().await;
        let b = backend(&node, USER);
        let inv = b.create_invoice(request(21_000)).await.unwrap();
        node.settle(&inv.text).unwrap();
        node.set_fault(fault);
        assert_error(&node, b.lookup_invoice(&inv.lookup).await, kind, needle);
        node.clear_faults();
        assert!(b.lookup_invoice(&inv.lookup).await.unwrap().is_settled(), "{fault}");
        node.shutdown();
    }
}

/// `GarbageKind::WrongHash` on the verify side: a settled invoice whose verify reply carries
/// a preimage of another payment is an invalid reply, and a verify URL naming another
/// payment hash finds nothing.
#[tokio::test]
async fn verify_with_a_foreign_preimage_or_hash_is_never_settled() {
    let node = node().await;
    let b = backend(&node, USER);
    let inv = b.create_invoice(request(21_000)).await.unwrap();
    node.settle(&inv.text).unwrap();
    node.set_mode(Mode::Garbage(GarbageKind::WrongHash)).await.unwrap();
    assert_error(&node, b.lookup_invoice(&inv.lookup).await, "invalid_reply", "preimage does not match");
    let other = b.create_invoice(request(21_000)).await.unwrap();
    assert_payees_own(&node, USER, &other, 21_000);
    node.settle(&other.text).unwrap();
    node.set_mode(Mode::Normal).await.unwrap();
    assert_eq!(b.lookup_invoice(&other.lookup).await.unwrap(), Settlement::Unknown);
}

#[tokio::test]
async fn price_outside_min_max_sendable_is_refused_before_the_callback() {
    let node = node().await;
    node.set_params(PayParams { min_sendable: 10_000, max_sendable: 20_000, ..PayParams::default() });
    let b = backend(&node, USER);
    for amount in [9_999, 20_001] {
        assert_error(
            &node,
            b.create_invoice(request(amount)).await,
            "rejected",
            &format!("the price {amount} msat is outside what the payee accepts (10000..=20000 msat)"),
        );
    }
    assert_eq!(node.counters().callback, 0);
    for amount in [10_000, 20_000] {
        let inv = b.create_invoice(request(amount)).await.unwrap();
        assert_payees_own(&node, USER, &inv, amount);
    }
}

#[tokio::test]
async fn wrong_amount_and_unparsable_are_invalid_replies() {
    let node = node().await;
    let b = backend(&node, USER);
    node.set_mode(Mode::WrongAmount).await.unwrap();
    assert_error(&node, b.create_invoice(request(21_000)).await, "invalid_reply", "invoice is for 22000 msat, 21000 msat were requested");
    node.set_mode(Mode::Garbage(GarbageKind::Unparsable)).await.unwrap();
    assert_error(&node, b.create_invoice(request(21_000)).await, "invalid_reply", "not a valid BOLT11 invoice");
    node.set_mode(Mode::Garbage(GarbageKind::NotJson)).await.unwrap();
    assert_error(&node, b.create_invoice(request(21_000)).await, "invalid_reply", "callback");
}

/// 50 invoices one after the other: one TCP connection and one TLS handshake, one payRequest
/// fetch (within its lifetime), one callback each.
#[tokio::test]
async fn one_connection_and_one_document_for_fifty_invoices() {
    let node = node().await;
    let b = backend(&node, USER);
    let mut hashes = std::collections::HashSet::new();
    for _ in 0..50 {
        let inv = b.create_invoice(request(21_000)).await.unwrap();
        hashes.insert(inv.payment_hash);
    }
    assert_eq!(hashes.len(), 50);
    let c = node.counters();
    assert!(c.connections <= 2 && c.tls_handshakes <= 2, "{c:?}");
    assert_eq!((c.pay_request, c.callback), (1, 50), "{c:?}");
}

/// Concurrent first calls wait for one payRequest fetch instead of each fetching.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_calls_fetch_the_document_once() {
    let node = node().await;
    let b = backend(&node, USER);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.create_invoice(request(21_000)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let c = node.counters();
    assert_eq!((c.pay_request, c.callback), (1, 20), "{c:?}");
}

/// After its lifetime the document is fetched again (and a payee that changed its limits is
/// then judged by the new ones).
#[tokio::test]
async fn document_is_fetched_again_after_its_lifetime() {
    let node = node().await;
    let ttl = Duration::from_millis(500);
    let b = backend_with(&node, USER, ttl, TIMEOUT);
    b.create_invoice(request(21_000)).await.unwrap();
    b.create_invoice(request(21_000)).await.unwrap();
    assert_eq!(node.counters().pay_request, 1);
    node.set_params(PayParams { max_sendable: 20_000, ..PayParams::default() });
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_error(&node, b.create_invoice(request(21_000)).await, "rejected", "outside what the payee accepts");
    assert_eq!(node.counters().pay_request, 2);
}

/// A payee that errors on the callback may have moved it: the next call fetches the
/// document again.
#[tokio::test]
async fn callback_failure_forgets_the_document() {
    let node = node().await;
    let b = backend(&node, USER);
    b.create_invoice(request(21_000)).await.unwrap();
    node.set_fault(Fault::CallbackError);
    assert!(b.create_invoice(request(21_000)).await.is_err());
    node.clear_faults();
    b.create_invoice(request(21_000)).await.unwrap();
    assert_eq!(node.counters().pay_request, 2);
}
