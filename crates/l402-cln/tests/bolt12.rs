//! Bolt12Backend <-> testnode-cln: fetchinvoice + decode, verified BOLT12 invoices.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{req, Setup};
use l402_backend::{Backend, Settlement};
use l402_cln::bolt12::Bolt12Invoice;
use l402_backend::InvoiceKind;
use l402_cln::{Bolt12Backend, Bolt12Config};
use testnode_cln::{GarbageKind, Mode};

#[tokio::test]
async fn create_lookup_settle() {
    let s = Setup::start().await;
    let backend = s.bolt12();
    assert_eq!(backend.name(), "bolt12");
    let inv = backend.create_invoice(req(21_000)).await.unwrap();
    assert_eq!(inv.kind, InvoiceKind::Bolt12);
    assert_eq!(InvoiceKind::of_text(&inv.text), Some(InvoiceKind::Bolt12));
    assert_eq!(inv.lookup.payment_hash(), inv.payment_hash);
    assert_eq!(inv.amount_msat, 21_000);
    let parsed = Bolt12Invoice::parse(&inv.text).unwrap();
    assert_eq!(parsed.payment_hash, inv.payment_hash);
    assert_eq!(parsed.node_id, s.node.node_id());
    assert_eq!(inv.expires_at_unix, parsed.expires_at());

    assert_eq!(
        backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    let preimage = s.node.settle(&inv.text).unwrap();
    assert_eq!(
        backend.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Settled {
            preimage: Some(preimage)
        }
    );
    assert_eq!(
        backend.lookup_invoice(&[3; 32].into()).await.unwrap(),
        Settlement::Unknown
    );
}

#[tokio::test]
async fn distinct_invoices_per_request() {
    let s = Setup::start().await;
    let backend = s.bolt12();
    let a = backend.create_invoice(req(1_000)).await.unwrap();
    let b = backend.create_invoice(req(1_000)).await.unwrap();
    assert_ne!(a.payment_hash, b.payment_hash);
    assert_ne!(a.text, b.text);
    assert_eq!(
        l402_backend::conformance::zero_amount_is_refused(&backend).await,
        Ok(())
    );
}

#[tokio::test]
async fn every_garbage_kind_is_invalid_reply() {
    let s = Setup::start().await;
    let backend = s.bolt12();
    for kind in GarbageKind::ALL {
        s.node.set_mode(Mode::Garbage(kind));
        let e = backend.create_invoice(req(1_000)).await.unwrap_err();
        assert_eq!(e.kind(), "invalid_reply", "create under {kind}: {e}");
        s.node.set_mode(Mode::Normal);
        backend.create_invoice(req(1_000)).await.unwrap();
    }
}

#[tokio::test]
async fn unknown_offer_is_rejected() {
    let s = Setup::start().await;
    let other = testnode_cln::TestNode::start(s.dir.path().join("other-rpc"))
        .await
        .unwrap();
    // The offer of another node, fetched through this node: it answers with an error.
    let mut c = Bolt12Config::load(&other.offer(), s.node.socket_path()).unwrap();
    c.cln.timeout = std::time::Duration::from_secs(5);
    let e = Bolt12Backend::new(c)
        .create_invoice(req(1_000))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(e.to_string().contains("1002"), "{e}");
}

#[tokio::test]
async fn bolt11_backend_invoices_are_bolt11() {
    let s = Setup::start().await;
    let inv = s.cln().create_invoice(req(1_000)).await.unwrap();
    assert_eq!(inv.kind, InvoiceKind::Bolt11);
}
