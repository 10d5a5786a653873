//! The `testnode-nwc` binary against a real relay (`L402_NOSTR_RELAY`), driven only through
//! its ready line and its HTTP control endpoint, with the real `l402-nwc` backend as the
//! client: the shared conformance suite (`run_all`, `run_faults` through an HTTP
//! [`PeerControl`]), settling, and the faults the control endpoint offers.
//!
//! Fails, saying why, when `L402_NOSTR_RELAY` is unset, unless `L402_ALLOW_SKIP=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use l402_backend::conformance::{self, sample_request, GarbageKind, Mode, PeerControl};
use l402_backend::{Backend, BackendError, BoxFuture, Invoice, Settlement};
use l402_nwc::{BreakerSettings, NwcBackend, NwcConfig};
use testnode_nwc::relay::{TestRelay, RELAY_ENV};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_millis(1500);

async fn relay() -> Option<TestRelay> {
    match TestRelay::start().await.unwrap() {
        Some(r) => Some(r),
        None => {
            let why = format!(
                "{RELAY_ENV} is not set: it names the nostr-relay executable that \
                 `scripts/install-deps.sh test` installs under $HOME/.cache/ngx-l402/peers/ \
                 (scripts/test.sh sets it); set L402_ALLOW_SKIP=1 to skip these tests"
            );
            if std::env::var("L402_ALLOW_SKIP").as_deref() == Ok("1") {
                eprintln!("skipping: {why}");
                None
            } else {
                panic!("{why}");
            }
        }
    }
}

/// The binary, its connection URI and its control address (from the ready line).
struct Wallet {
    child: Child,
    uri: String,
    control: String,
}

async fn start_wallet(relay: &TestRelay) -> Wallet {
    let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-nwc"))
        .arg("--relay")
        .arg(relay.url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(20), BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("no ready line within 20 s")
        .unwrap();
    // `testnode-nwc: uri <uri> control http://127.0.0.1:<port>`
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((words.first(), words.get(1), words.get(3)), (Some(&"testnode-nwc:"), Some(&"uri"), Some(&"control")), "{line}");
    let uri = words[2].to_owned();
    let control = words[4].strip_prefix("http://").unwrap().to_owned();
    assert!(control.starts_with("127.0.0.1:"), "{line}");
    Wallet { child, uri, control }
}

/// One HTTP/1.1 request to the control endpoint; (status, body).
async fn http(control: &str, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(control).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {control}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.trim().to_owned()).unwrap_or_default();
    (status, body)
}

/// The conformance suite's [`PeerControl`], over the binary's control endpoint.
struct HttpPeer(String);

impl PeerControl for HttpPeer {
    fn set_mode(&self, mode: Mode) -> BoxFuture<'_, ()> {
        let path = match mode {
            Mode::Normal => "/mode/normal".to_owned(),
            Mode::Slow(d) => format!("/mode/slow?ms={}", d.as_millis()),
            Mode::Down => "/mode/down".to_owned(),
            Mode::Garbage(GarbageKind::Unparsable) => "/mode/garbage/unparsable".to_owned(),
            Mode::Garbage(GarbageKind::WrongHash) => "/mode/garbage/wrong-hash".to_owned(),
            Mode::Garbage(GarbageKind::NotJson) => "/mode/garbage/not-json".to_owned(),
            Mode::WrongAmount => "/mode/wrong-amount".to_owned(),
        };
        Box::pin(async move {
            let (status, body) = http(&self.0, "POST", &path).await;
            assert_eq!(status, 200, "{path}: {body}");
        })
    }

    fn settle(&self, invoice: Invoice) -> BoxFuture<'_, Result<[u8; 32], String>> {
        Box::pin(async move {
            let (status, body) = http(&self.0, "POST", &format!("/settle/{}", invoice.text)).await;
            if status != 200 {
                return Err(format!("{status}: {body}"));
            }
            let mut preimage = [0u8; 32];
            for (i, b) in preimage.iter_mut().enumerate() {
                *b = u8::from_str_radix(body.get(2 * i..2 * i + 2).ok_or("short preimage")?, 16).map_err(|e| e.to_string())?;
            }
            Ok(preimage)
        })
    }

    /// As the library's: a wallet slower than the timeout looks offline (`Unavailable`).
    fn supports(&self, mode: &Mode) -> bool {
        !matches!(mode, Mode::Slow(_))
    }
}

fn assert_kind<T: std::fmt::Debug>(what: &str, got: Result<T, BackendError>, kind: &str) {
    match got {
        Err(e) if e.kind() == kind => {}
        other => panic!("{what}: expected a {kind} error, got {other:?}"),
    }
}

#[tokio::test]
async fn binary_serves_the_backend_and_obeys_its_control_endpoint() {
    let Some(relay) = relay().await else { return };
    let mut wallet = start_wallet(&relay).await;
    // No cool-down after a silent call: the fault modes are tested call by call (a wallet that
    // answers garbage looks silent to the breaker).
    let none = BreakerSettings { open_first: Duration::ZERO, open_max: Duration::ZERO };
    let config = NwcConfig::parse(&wallet.uri).unwrap().with_timeout(TIMEOUT).with_breaker(none);
    let backend = NwcBackend::new(config).unwrap();
    backend.start().await.unwrap();

    let peer = HttpPeer(wallet.control.clone());
    conformance::run_all(&backend).await.unwrap();
    conformance::run_faults(&backend, &peer, TIMEOUT).await.unwrap();

    // Settling through the control endpoint; the lookup carries the preimage.
    let inv = backend.create_invoice(sample_request()).await.unwrap();
    let preimage = peer.settle(inv.clone()).await.unwrap();
    assert_eq!(backend.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Settled { preimage: Some(preimage) });

    // Faults the control endpoint offers, beyond the suite's.
    for (path, kind) in [
        ("/mode/error/RATE_LIMITED", "unavailable"),
        ("/mode/error/QUOTA_EXCEEDED", "rejected"),
        ("/mode/no-reply", "unavailable"),
        ("/mode/wrong-signer", "unavailable"),
        ("/mode/bad-signature", "unavailable"),
        ("/mode/wrong-request", "unavailable"),
        ("/mode/undecryptable", "invalid_reply"),
        ("/mode/slow?ms=3000", "unavailable"),
        ("/mode/wrong-amount", "invalid_reply"),
        ("/mode/garbage/not-json", "invalid_reply"),
    ] {
        let (status, body) = http(&wallet.control, "POST", path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let start = Instant::now();
        let got = backend.create_invoice(sample_request()).await;
        assert_kind(path, got, kind);
        assert!(start.elapsed() < TIMEOUT + Duration::from_millis(400), "{path}: {:?}", start.elapsed());
        if path == "/mode/bad-signature" {
            // The relay refused the response (NIP-01: relays check signatures) and now
            // throttles the wallet's connection: a new connection starts clean.
            assert_eq!(http(&wallet.control, "POST", "/mode/down").await.0, 200);
            assert_eq!(http(&wallet.control, "POST", "/mode/normal").await.0, 200);
        }
    }
    let (status, _) = http(&wallet.control, "POST", "/mode/no-preimage").await;
    assert_eq!(status, 200);
    assert_kind("no-preimage", backend.lookup_invoice(&inv.lookup).await, "invalid_reply");
    let (status, _) = http(&wallet.control, "POST", "/mode/normal").await;
    assert_eq!(status, 200);
    backend.create_invoice(sample_request()).await.unwrap();

    // The other control paths.
    assert_eq!(http(&wallet.control, "GET", "/mode").await, (200, "Normal".to_owned()));
    let (status, body) = http(&wallet.control, "GET", "/counters").await;
    assert_eq!(status, 200);
    let counters: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(counters["make_invoice"].as_u64().unwrap() > 10, "{body}");
    let (status, body) = http(&wallet.control, "GET", "/invoices").await;
    assert_eq!(status, 200);
    assert!(body.contains(&inv.text), "the settled invoice is listed");
    assert_eq!(http(&wallet.control, "GET", "/uri").await, (200, wallet.uri.clone()));
    assert_eq!(http(&wallet.control, "POST", "/mode/sideways").await.0, 400);
    assert_eq!(http(&wallet.control, "POST", "/settle/lnbcrt1nothing").await.0, 404);

    backend.stop().await;
    wallet.child.kill().await.unwrap();
}

#[tokio::test]
async fn binary_refuses_a_relay_off_this_machine() {
    let out = Command::new(env!("CARGO_BIN_EXE_testnode-nwc"))
        .args(["--relay", "wss://relay.example.com"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1"));
}
