//! The LNURL endpoints in-process, over plain HTTP and HTTPS: documents, invoices, verify,
//! modes, faults and counters.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;
use std::time::{Duration, Instant};

use bitcoin::hashes::{sha256, Hash};
use http_body_util::BodyExt;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef, Currency};
use serde_json::Value;
use testnode_lnurl::{Fault, GarbageKind, Mode, PayParams, Target, TestNode, HUGE_BODY_PADDING};

use common::{get, get_json, Conn};

fn invoice(v: &Value) -> Bolt11Invoice {
    Bolt11Invoice::from_str(v["pr"].as_str().expect("pr")).expect("valid BOLT11")
}

fn description_hash(inv: &Bolt11Invoice) -> [u8; 32] {
    match inv.description() {
        Bolt11InvoiceDescriptionRef::Hash(h) => h.0.to_byte_array(),
        Bolt11InvoiceDescriptionRef::Direct(d) => panic!("direct description {d}"),
    }
}

fn hash_hex(inv: &Bolt11Invoice) -> String {
    testnode_lnurl::hex_encode(&inv.payment_hash().to_byte_array())
}

/// The payRequest of `user` and a callback for `amount` msat.
async fn pay(node: &TestNode, user: &str, amount: u64) -> Value {
    let doc = get_json(node, &node.well_known_url(user)).await;
    let callback = doc["callback"].as_str().unwrap();
    get_json(node, &format!("{callback}?amount={amount}")).await
}

#[tokio::test]
async fn pay_request_document_on_both_paths() {
    let node = TestNode::start().await.unwrap();
    let base = node.base_url();
    assert_eq!(base, format!("http://{}", node.addr()));
    for url in [node.well_known_url("alice"), node.lnurlp_url("alice")] {
        let doc = get_json(&node, &url).await;
        assert_eq!(doc["tag"], "payRequest");
        assert_eq!(doc["callback"], format!("{base}/lnurlp/alice/callback"));
        assert_eq!(doc["minSendable"], 1_000);
        assert_eq!(doc["maxSendable"], 1_000_000_000);
        assert_eq!(doc["commentAllowed"], 255);
        let metadata = doc["metadata"].as_str().unwrap();
        assert_eq!(metadata, node.metadata("alice"));
        let entries: Vec<Vec<String>> = serde_json::from_str(metadata).unwrap();
        assert_eq!(entries[0][0], "text/plain");
        assert_eq!(
            entries[1],
            [
                "text/identifier".to_owned(),
                node.lightning_address("alice")
            ]
        );
    }
    let unknown = get(&node, "/nowhere").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["status"], "ERROR");
}

#[tokio::test]
async fn callback_issues_a_signed_invoice_for_the_amount_and_metadata() {
    let node = TestNode::start().await.unwrap();
    let reply = pay(&node, "bob", 21_000).await;
    assert_eq!(reply["routes"], Value::Array(vec![]));
    let inv = invoice(&reply);
    assert_eq!(inv.amount_milli_satoshis(), Some(21_000));
    assert_eq!(inv.currency(), Currency::Regtest);
    assert!(!inv.is_expired());
    assert_eq!(
        description_hash(&inv),
        sha256::Hash::hash(node.metadata("bob").as_bytes()).to_byte_array()
    );
    assert_eq!(inv.recover_payee_pub_key().serialize(), node.node_id());
    assert_eq!(
        reply["verify"],
        format!("{}/lnurlp/bob/verify/{}", node.base_url(), hash_hex(&inv))
    );
    let listed = node.invoices(Some("bob"));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].bolt11, reply["pr"].as_str().unwrap());
    assert_eq!(listed[0].amount_msat, 21_000);
    assert!(node.invoices(Some("alice")).is_empty());
}

#[tokio::test]
async fn callback_records_the_decoded_comment_and_checks_limits() {
    let node = TestNode::start().await.unwrap();
    let cb = format!("{}/lnurlp/carol/callback", node.base_url());
    let ok = get_json(
        &node,
        &format!("{cb}?amount=5000&comment=h%C3%A9llo+w%C3%B6rld%20%26%3D%3F"),
    )
    .await;
    assert!(ok["pr"].is_string(), "{ok}");
    assert_eq!(
        node.invoices(Some("carol"))[0].comment.as_deref(),
        Some("héllo wörld &=?")
    );

    node.set_params(PayParams {
        min_sendable: 10_000,
        max_sendable: 20_000,
        comment_allowed: 3,
    });
    let doc = get_json(&node, &node.lnurlp_url("carol")).await;
    assert_eq!(
        (doc["minSendable"].as_u64(), doc["maxSendable"].as_u64()),
        (Some(10_000), Some(20_000))
    );
    assert_eq!(doc["commentAllowed"], 3);
    for (query, reason) in [
        ("amount=9999", "Amount out of range"),
        ("amount=20001", "Amount out of range"),
        ("amount=ten", "Invalid amount"),
        ("", "Invalid amount"),
        ("amount=15000&comment=four", "Comment too long"),
    ] {
        let r = get_json(&node, &format!("{cb}?{query}")).await;
        assert_eq!(r["status"], "ERROR", "{query}");
        assert_eq!(r["reason"], reason, "{query}");
    }
    assert!(get_json(
        &node,
        &format!("{cb}?amount=20000&comment=%C3%A9%C3%A9%C3%A9")
    )
    .await["pr"]
        .is_string());
}

#[tokio::test]
async fn verify_reports_settlement() {
    let node = TestNode::start().await.unwrap();
    let reply = pay(&node, "dave", 1_000).await;
    let verify = reply["verify"].as_str().unwrap().to_owned();
    let before = get_json(&node, &verify).await;
    assert_eq!(before["status"], "OK");
    assert_eq!(before["settled"], false);
    assert_eq!(before["preimage"], Value::Null);
    assert_eq!(before["pr"], reply["pr"]);

    let preimage = node.settle(reply["pr"].as_str().unwrap()).unwrap();
    let after = get_json(&node, &verify).await;
    assert_eq!(after["settled"], true);
    assert_eq!(after["preimage"], testnode_lnurl::hex_encode(&preimage));
    let inv = invoice(&reply);
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array(),
        inv.payment_hash().to_byte_array()
    );
    assert_eq!(node.settle(&hash_hex(&inv)).unwrap(), preimage);
    assert!(node.invoices(None)[0].settled);

    let unknown = get_json(&node, &format!("/lnurlp/dave/verify/{}", "00".repeat(32))).await;
    assert_eq!(
        (unknown["status"].as_str(), unknown["reason"].as_str()),
        (Some("ERROR"), Some("Not found"))
    );
    // The hash belongs to dave, not to eve.
    let other_user = get_json(&node, &format!("/lnurlp/eve/verify/{}", hash_hex(&inv))).await;
    assert_eq!(other_user["reason"], "Not found");
    assert!(node.settle(&"11".repeat(32)).is_err());
}

#[tokio::test]
async fn https_with_the_throwaway_ca_and_keep_alive() {
    let node = TestNode::start_tls().await.unwrap();
    assert!(node.base_url().starts_with("https://127.0.0.1:"));
    let dir = std::env::temp_dir().join(format!("testnode-lnurl-ca-{}", std::process::id()));
    let path = node.write_ca_pem(&dir).unwrap();
    assert_eq!(path, dir.join("ca.pem"));
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));

    let mut conn = Conn::open(&node).await.unwrap();
    let doc = conn.get(&node.well_known_url("frank")).await.json();
    assert_eq!(
        doc["callback"],
        format!("{}/lnurlp/frank/callback", node.base_url())
    );
    let cb = doc["callback"].as_str().unwrap().to_owned();
    let reply = conn.get(&format!("{cb}?amount=2000")).await.json();
    let verify = reply["verify"].as_str().unwrap().to_owned();
    assert!(verify.starts_with("https://127.0.0.1:"));
    conn.get(&verify).await.json();
    let c = node.counters();
    assert_eq!((c.connections, c.tls_handshakes), (1, 1), "{c:?}");
    assert_eq!((c.pay_request, c.callback, c.verify), (1, 1, 1), "{c:?}");

    // The certificate also names localhost.
    let mut by_name = Conn::open_as(&node, "localhost").await.unwrap();
    assert_eq!(by_name.get(&node.lnurlp_url("frank")).await.status, 200);
    // An unrelated name is refused by the client.
    assert!(Conn::open_as(&node, "example.com").await.is_err());
    let c = node.counters();
    assert_eq!((c.connections, c.tls_handshakes), (3, 2), "{c:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn counters_count_connections_and_requests_and_reset() {
    let node = TestNode::start().await.unwrap();
    let mut conn = Conn::open(&node).await.unwrap();
    for _ in 0..3 {
        conn.get(&node.lnurlp_url("gina")).await.json();
    }
    get(&node, &node.well_known_url("gina")).await;
    let c = node.counters();
    assert_eq!(
        (c.connections, c.tls_handshakes, c.pay_request),
        (2, 0, 4),
        "{c:?}"
    );
    node.reset_counters();
    assert_eq!(node.counters(), testnode_lnurl::Counters::default());
}

#[tokio::test]
async fn down_refuses_connections_then_normal_accepts_again() {
    let node = TestNode::start().await.unwrap();
    let mut kept = Conn::open(&node).await.unwrap();
    assert_eq!(kept.get(&node.lnurlp_url("hal")).await.status, 200);
    node.set_mode(Mode::Down).await.unwrap();
    assert!(tokio::net::TcpStream::connect(node.addr()).await.is_err());
    node.set_mode(Mode::Normal).await.unwrap();
    assert_eq!(get(&node, &node.lnurlp_url("hal")).await.status, 200);
}

#[tokio::test]
async fn conformance_modes() {
    let node = TestNode::start().await.unwrap();

    node.set_mode(Mode::Slow(Duration::from_millis(300)))
        .await
        .unwrap();
    let started = Instant::now();
    get_json(&node, &node.lnurlp_url("ivy")).await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    node.set_mode(Mode::Garbage(GarbageKind::Unparsable))
        .await
        .unwrap();
    let r = pay(&node, "ivy", 3000).await;
    assert!(Bolt11Invoice::from_str(r["pr"].as_str().unwrap()).is_err());

    node.set_mode(Mode::Garbage(GarbageKind::WrongHash))
        .await
        .unwrap();
    let r = pay(&node, "ivy", 3000).await;
    let inv = invoice(&r);
    let verify = r["verify"].as_str().unwrap();
    assert!(!verify.ends_with(&hash_hex(&inv)));
    assert_eq!(get_json(&node, verify).await["reason"], "Not found");
    let preimage = node.settle(&hash_hex(&inv)).unwrap();
    let v = get_json(&node, &format!("/lnurlp/ivy/verify/{}", hash_hex(&inv))).await;
    assert_eq!(v["settled"], true);
    assert_ne!(v["preimage"], testnode_lnurl::hex_encode(&preimage));

    node.set_mode(Mode::Garbage(GarbageKind::NotJson))
        .await
        .unwrap();
    let r = get(&node, &node.lnurlp_url("ivy")).await;
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    node.set_mode(Mode::WrongAmount).await.unwrap();
    let r = pay(&node, "ivy", 3000).await;
    assert_eq!(invoice(&r).amount_milli_satoshis(), Some(4000));
    assert_eq!(
        node.invoices(Some("ivy")).last().unwrap().requested_msat,
        3000
    );
}

#[tokio::test]
async fn error_faults_global_and_per_user() {
    let node = TestNode::start().await.unwrap();
    node.set_user_fault("mallory", Some(Fault::PayRequestError));
    let r = get_json(&node, &node.well_known_url("mallory")).await;
    assert_eq!(
        (r["status"].as_str(), r["reason"].as_str()),
        (Some("ERROR"), Some("Unknown user"))
    );
    assert_eq!(
        get_json(&node, &node.well_known_url("alice")).await["tag"],
        "payRequest"
    );

    node.set_fault(Fault::CallbackError);
    node.set_user_fault("trent", Some(Fault::None));
    let r = get_json(&node, "/lnurlp/alice/callback?amount=1000").await;
    assert_eq!(r["status"], "ERROR");
    assert!(r["pr"].is_null());
    assert!(get_json(&node, "/lnurlp/trent/callback?amount=1000").await["pr"].is_string());
    assert_eq!(node.fault_for("mallory"), Fault::PayRequestError);
    node.set_user_fault("mallory", None);
    assert_eq!(node.fault_for("mallory"), Fault::CallbackError);
    node.clear_faults();
    assert!(get_json(&node, "/lnurlp/alice/callback?amount=1000").await["pr"].is_string());
}

#[tokio::test]
async fn invoice_faults() {
    let node = TestNode::start().await.unwrap();
    let meta_hash = sha256::Hash::hash(node.metadata("joe").as_bytes()).to_byte_array();

    node.set_fault(Fault::MainnetInvoice);
    let r = pay(&node, "joe", 1000).await;
    assert!(r["pr"].as_str().unwrap().starts_with("lnbc1"));
    assert_eq!(invoice(&r).currency(), Currency::Bitcoin);

    node.set_fault(Fault::ExpiredInvoice);
    let inv = invoice(&pay(&node, "joe", 1000).await);
    assert!(inv.is_expired());
    assert_eq!(inv.amount_milli_satoshis(), Some(1000));

    node.set_fault(Fault::WrongDescriptionHash);
    let inv = invoice(&pay(&node, "joe", 1000).await);
    assert_ne!(description_hash(&inv), meta_hash);

    node.set_fault(Fault::NoVerify);
    let r = pay(&node, "joe", 1000).await;
    assert!(r.get("verify").is_none());
    assert!(r["pr"].is_string());

    node.set_fault(Fault::VerifyOtherHost);
    let r = pay(&node, "joe", 1000).await;
    let port = node.addr().port();
    assert!(r["verify"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://127.0.0.2:{port}/lnurlp/joe/verify/")));

    node.set_fault(Fault::CallbackOtherHost);
    let doc = get_json(&node, &node.lnurlp_url("joe")).await;
    assert_eq!(
        doc["callback"],
        format!("http://127.0.0.2:{port}/lnurlp/joe/callback")
    );
}

#[tokio::test]
async fn redirect_faults() {
    let node = TestNode::start().await.unwrap();
    let port = node.addr().port();
    node.set_fault(Fault::RedirectOtherHost(Target::Callback));
    assert_eq!(get(&node, &node.lnurlp_url("kim")).await.status, 200);
    let r = get(&node, "/lnurlp/kim/callback?amount=1000").await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.2:{port}/lnurlp/kim/callback?amount=1000").as_str())
    );

    node.set_fault(Fault::RedirectSameHost(Target::All));
    let r = get(&node, &node.well_known_url("kim")).await;
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(
        location,
        format!("{}/redirected/.well-known/lnurlp/kim", node.base_url())
    );
    let doc = get_json(&node, &location).await;
    assert_eq!(doc["tag"], "payRequest");
    assert_eq!(node.counters().pay_request, 3);
}

#[tokio::test]
async fn body_faults() {
    let node = TestNode::start().await.unwrap();

    node.set_fault(Fault::HugeBody(Target::PayRequest));
    let r = get(&node, &node.lnurlp_url("lee")).await;
    assert!(r.body.len() > HUGE_BODY_PADDING);
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    assert_eq!(r.json()["tag"], "payRequest");
    // Not aimed at the callback.
    assert!(get_json(&node, "/lnurlp/lee/callback?amount=1000").await["pr"].is_string());

    node.set_fault(Fault::EndlessBody(Target::Callback));
    let mut conn = Conn::open(&node).await.unwrap();
    let resp = conn.head("/lnurlp/lee/callback?amount=1000").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("content-length").is_none());
    let mut body = resp.into_body();
    let mut read = 0usize;
    while read < 2 * 1024 * 1024 {
        let frame = tokio::time::timeout(common::TIMEOUT, body.frame())
            .await
            .unwrap()
            .expect("the body does not end")
            .unwrap();
        read += frame.into_data().map(|d| d.len()).unwrap_or(0);
    }
    drop(body);

    node.set_fault(Fault::SlowDrip(Target::All));
    let mut conn = Conn::open(&node).await.unwrap();
    let started = Instant::now();
    let mut body = conn.head("/lnurlp/lee").await.into_body();
    let mut got = Vec::new();
    while got.len() < 3 {
        let frame = body.frame().await.unwrap().unwrap();
        got.extend_from_slice(&frame.into_data().unwrap());
    }
    assert!(got.starts_with(b"{\""), "{got:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn peer_control_for_the_conformance_suite() {
    use l402_backend::conformance::PeerControl;
    use l402_backend::{Invoice, InvoiceKind, LookupRef};

    let node = TestNode::start().await.unwrap();
    let peer: &dyn PeerControl = &node;
    let r = pay(&node, "olga", 1000).await;
    let inv = invoice(&r);
    let payment_hash = inv.payment_hash().to_byte_array();
    let preimage = peer
        .settle(Invoice {
            kind: InvoiceKind::Bolt11,
            text: r["pr"].as_str().unwrap().to_owned(),
            payment_hash,
            amount_msat: 1000,
            expires_at_unix: 0,
            lookup: LookupRef::from_payment_hash(payment_hash),
        })
        .await
        .unwrap();
    assert_eq!(sha256::Hash::hash(&preimage).to_byte_array(), payment_hash);
    peer.set_mode(Mode::Down).await;
    assert!(tokio::net::TcpStream::connect(node.addr()).await.is_err());
    peer.set_mode(Mode::Normal).await;
    assert_eq!(get(&node, &node.lnurlp_url("olga")).await.status, 200);
}

#[test]
fn lnurl_bech32_decodes_to_the_plain_url() {
    let encoded = testnode_lnurl::encode_lnurl("https://127.0.0.1:8443/lnurlp/alice");
    assert!(encoded.starts_with("lnurl1"));
    let (hrp, data) = bech32::decode(&encoded).unwrap();
    assert_eq!(hrp.as_str(), "lnurl");
    assert_eq!(data, b"https://127.0.0.1:8443/lnurlp/alice");
    let upper = bech32::decode(&encoded.to_uppercase()).unwrap();
    assert_eq!(upper.1, data);
}
