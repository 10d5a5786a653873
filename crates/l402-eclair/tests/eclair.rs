//! EclairBackend against testnode-eclair: authentication, connection failures, failover,
//! and what errors may say.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use l402_backend::conformance::{sample_request, GarbageKind, Mode};
use l402_backend::{Backend, BackendError, Failover, Settlement};
use l402_eclair::{EclairBackend, EclairConfig, Secret};
use l402_fake::{FakeBackend, FakeConfig, FakeSecret};
use testnode_eclair::TestNode;

const PASSWORD: &str = "right-password";

fn backend(url: &str, password: &str) -> EclairBackend {
    let config = EclairConfig::load(url, Secret::new(password))
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    EclairBackend::new(config).unwrap()
}

#[tokio::test]
async fn wrong_password_is_rejected_without_the_password() {
    let node = TestNode::start(PASSWORD).await.unwrap();
    let eclair = backend(&node.url(), "wrong-password-xyzzy");
    let err = eclair.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!((err.backend(), err.kind()), ("eclair", "rejected"), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(
        !shown.contains("xyzzy") && !shown.contains(PASSWORD),
        "{shown}"
    );
    let err = eclair.lookup_invoice(&[1; 32].into()).await.unwrap_err();
    assert_eq!(err.kind(), "rejected", "{err}");
    assert!(!format!("{eclair:?}").contains("xyzzy"));
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let eclair = backend(&format!("http://127.0.0.1:{port}"), PASSWORD);
    let err = eclair.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    let err = eclair.lookup_invoice(&[1; 32].into()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
}

#[test]
fn new_opens_no_socket_and_needs_no_runtime() {
    // Built outside any tokio runtime, pointing at a port nobody listens on: nothing happens.
    let eclair = backend("http://127.0.0.1:9", PASSWORD);
    assert_eq!(eclair.name(), "eclair");
    assert_eq!(eclair.config().address(), "http://127.0.0.1:9");
}

#[tokio::test]
async fn connections_are_reused() {
    let node = TestNode::start(PASSWORD).await.unwrap();
    let eclair = backend(&node.url(), PASSWORD);
    for _ in 0..3 {
        eclair.create_invoice(sample_request()).await.unwrap();
    }
    // Going down closes the pooled connection; the next call reconnects after recovery.
    node.set_mode(Mode::Down).await.unwrap();
    node.set_mode(Mode::Normal).await.unwrap();
    eclair.create_invoice(sample_request()).await.unwrap();
}

#[tokio::test]
async fn lookup_states_and_wrong_preimage() {
    let node = TestNode::start(PASSWORD).await.unwrap();
    let eclair = backend(&node.url(), PASSWORD);
    let inv = eclair.create_invoice(sample_request()).await.unwrap();
    assert_eq!(
        eclair.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    let preimage = node.settle(&l402_hex(&inv.payment_hash)).unwrap();
    assert_eq!(
        eclair.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
        Settlement::Settled {
            preimage: Some(preimage)
        }
    );
    node.set_mode(Mode::Garbage(GarbageKind::WrongHash))
        .await
        .unwrap();
    let err = eclair.lookup_invoice(&inv.payment_hash.into()).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_reply", "{err}");
    assert!(err.to_string().contains("preimage"), "{err}");
    node.set_mode(Mode::Garbage(GarbageKind::Unparsable))
        .await
        .unwrap();
    let err = eclair.lookup_invoice(&inv.payment_hash.into()).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_reply", "{err}");

    // Expired: an invoice with a 1 s expiry, looked up after it passed.
    node.set_mode(Mode::Normal).await.unwrap();
    let mut req = sample_request();
    req.expiry_secs = 1;
    let short = eclair.create_invoice(req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        eclair.lookup_invoice(&short.payment_hash.into()).await.unwrap(),
        Settlement::Expired
    );
}

fn l402_hex(bytes: &[u8; 32]) -> String {
    testnode_eclair::hex_encode(bytes)
}

#[tokio::test]
async fn failover_eclair_down_issues_via_fake_then_eclair_recovers() {
    let node = TestNode::start(PASSWORD).await.unwrap();
    let eclair: Arc<dyn Backend> = Arc::new(backend(&node.url(), PASSWORD));
    let fake = Arc::new(FakeBackend::new(
        FakeSecret::generate().unwrap(),
        FakeConfig::default(),
    ));
    let log: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let failover = Failover::new(vec![eclair, Arc::clone(&fake) as Arc<dyn Backend>])
        .on_failure(move |e: &BackendError| sink.lock().unwrap().push(e.to_string()));

    node.set_mode(Mode::Down).await.unwrap();
    let via_fake = failover.create_invoice(sample_request()).await.unwrap();
    // The fake issued it: it knows the hash, and its node key signed it.
    assert_eq!(
        fake.lookup_invoice(&via_fake.payment_hash.into()).await.unwrap(),
        Settlement::Open
    );
    l402_backend::check_payee("fake", &via_fake.text, &fake.node_id()).unwrap();
    {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        assert!(log[0].starts_with("eclair: backend unavailable"), "{log:?}");
        assert!(!log[0].contains(PASSWORD));
    }
    // Looking it up goes to the fake, even while Eclair is down.
    assert_eq!(
        failover
            .lookup_invoice(&via_fake.payment_hash.into())
            .await
            .unwrap(),
        Settlement::Open
    );
    assert_eq!(log.lock().unwrap().len(), 1);

    node.set_mode(Mode::Normal).await.unwrap();
    let via_eclair = failover.create_invoice(sample_request()).await.unwrap();
    l402_backend::check_payee("eclair", &via_eclair.text, &node.node_id()).unwrap();
    assert_eq!(log.lock().unwrap().len(), 1);
    node.settle(&via_eclair.text).unwrap();
    assert!(failover
        .lookup_invoice(&via_eclair.payment_hash.into())
        .await
        .unwrap()
        .is_settled());
}

/// A one-shot raw HTTP peer on 127.0.0.1: answers every connection with `reply` (or, with
/// `None`, reads the request and never answers). Returns its URL.
async fn raw_peer(reply: Option<Vec<u8>>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        let _ = stream.write_all(&r).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    format!("http://{addr}")
}

fn http_reply(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test]
async fn oversized_reply_is_invalid() {
    let huge = format!(
        "{{\"serialized\":\"{}\"}}",
        "q".repeat(l402_eclair::MAX_REPLY_BYTES)
    );
    let url = raw_peer(Some(http_reply(
        "200 OK",
        "application/json",
        huge.as_bytes(),
    )))
    .await;
    let err = backend(&url, PASSWORD)
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid_reply", "{err}");
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn server_error_is_unavailable_and_bad_request_is_rejected() {
    let url = raw_peer(Some(http_reply(
        "503 Service Unavailable",
        "text/plain",
        b"proxy: no upstream",
    )))
    .await;
    let err = backend(&url, PASSWORD)
        .create_invoice(sample_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    assert!(err.to_string().contains("503"), "{err}");

    let body = br#"{"error":"amount must be positive"}"#;
    let url = raw_peer(Some(http_reply(
        "400 Bad Request",
        "application/json",
        body,
    )))
    .await;
    let eclair = backend(&url, PASSWORD);
    let err = eclair.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(err.kind(), "rejected", "{err}");
    assert!(err.to_string().contains("amount must be positive"), "{err}");
    // A 400 that is not about an unknown hash stays an error for lookups too.
    assert_eq!(
        eclair.lookup_invoice(&[3; 32].into()).await.unwrap_err().kind(),
        "rejected"
    );
}

#[tokio::test]
async fn not_found_text_is_unknown() {
    let body = br#"{"error":"payment request not found"}"#;
    let url = raw_peer(Some(http_reply(
        "400 Bad Request",
        "application/json",
        body,
    )))
    .await;
    assert_eq!(
        backend(&url, PASSWORD)
            .lookup_invoice(&[3; 32].into())
            .await
            .unwrap(),
        Settlement::Unknown
    );
}

#[tokio::test]
async fn peer_that_never_answers_times_out_in_time() {
    let url = raw_peer(None).await;
    let eclair = backend(&url, PASSWORD);
    let start = std::time::Instant::now();
    let err = eclair.create_invoice(sample_request()).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::Timeout {
            backend: "eclair",
            after: Duration::from_millis(500)
        }
    );
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn garbage_bytes_are_invalid_or_unavailable_never_a_panic() {
    for reply in [
        b"not http at all\r\n\r\n".to_vec(),
        http_reply("200 OK", "application/json", b"{\"serialized\":"),
        http_reply("200 OK", "application/json", b"[]"),
        http_reply(
            "200 OK",
            "application/json",
            b"{\"serialized\":\"lnbc1\",\"paymentHash\":\"zz\"}",
        ),
        http_reply("302 Found", "text/plain", b""),
    ] {
        let url = raw_peer(Some(reply.clone())).await;
        let err = backend(&url, PASSWORD)
            .create_invoice(sample_request())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), "invalid_reply" | "unavailable"),
            "{}: {err}",
            String::from_utf8_lossy(&reply)
        );
    }
}
