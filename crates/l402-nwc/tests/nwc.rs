//! NwcBackend against testnode-nwc through a real Nostr relay (`L402_NOSTR_RELAY`, see
//! testnode_nwc::relay): the shared conformance suite, both encryptions, relay restarts,
//! fallback relays, an offline wallet, responses by the wrong signer, NIP-47 error codes.
//!
//! Tests that need the relay fail, saying why, when `L402_NOSTR_RELAY` is unset
//! (`scripts/test.sh` sets it); with `L402_ALLOW_SKIP=1` they skip instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use l402_backend::conformance::{self, sample_request, PayFn};
use l402_backend::{Backend, BackendError, BoxFuture, Capabilities, Invoice, Settlement};
use l402_nwc::breaker::{OPEN_FIRST, OPEN_MAX};
use l402_nwc::{BreakerSettings, Encryption, Link, NwcBackend, NwcConfig, MAX_BACKOFF};
use testnode_nwc::relay::{free_port, TestRelay, RELAY_ENV};
use testnode_nwc::{Behaviour, TestWallet, WalletEncryption, WalletOptions};

const TIMEOUT: Duration = Duration::from_millis(1500);

async fn relay() -> Option<TestRelay> {
    or_skip(TestRelay::start().await.unwrap())
}

/// A relay that forwards events with bad signatures (when the relay can be so configured).
async fn relay_unchecked() -> Option<TestRelay> {
    or_skip(TestRelay::start_unchecked().await.unwrap())
}

fn or_skip(relay: Option<TestRelay>) -> Option<TestRelay> {
    match relay {
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

fn backend_for(uri: &str) -> Arc<NwcBackend> {
    let config = NwcConfig::parse(uri).unwrap().with_timeout(TIMEOUT);
    Arc::new(NwcBackend::new(config).unwrap())
}

/// A backend whose breaker has no cool-down: after a silent call the next one still reaches
/// the wallet (as a probe), so faults can be tested call by call.
fn backend_without_cool_down(uri: &str) -> Arc<NwcBackend> {
    let none = BreakerSettings { open_first: Duration::ZERO, open_max: Duration::ZERO };
    let config = NwcConfig::parse(uri).unwrap().with_timeout(TIMEOUT).with_breaker(none);
    Arc::new(NwcBackend::new(config).unwrap())
}

async fn wallet_with(relay: &TestRelay, encryption: WalletEncryption) -> TestWallet {
    let options = WalletOptions { encryption, ..WalletOptions::default() };
    TestWallet::start_with(&relay.url(), options).await.unwrap()
}

fn assert_kind<T: std::fmt::Debug>(got: Result<T, BackendError>, kind: &str) -> BackendError {
    match got {
        Err(e) if e.kind() == kind => e,
        other => panic!("expected a {kind} error, got {other:?}"),
    }
}

#[tokio::test]
async fn conformance_suite_against_a_wallet_on_a_real_relay() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let backend = backend_for(&wallet.uri());
    backend.start().await.unwrap();
    assert_eq!(backend.wallet_info().unwrap().encryption, Encryption::Nip44V2);
    assert_eq!(backend.capabilities(), Capabilities::FULL);

    conformance::run_all(backend.as_ref()).await.unwrap();
    conformance::memo_is_carried(backend.as_ref()).await.unwrap();
    let payer = wallet.clone();
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let got = payer.settle(&inv.text).map(|_| ());
        Box::pin(async move { got })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(backend.as_ref(), pay).await.unwrap();
    conformance::run_faults(backend.as_ref(), &wallet, TIMEOUT).await.unwrap();
    assert_eq!(wallet.behaviour(), Behaviour::Normal);

    let counts = wallet.counts();
    assert!(counts.nip44 > 10 && counts.nip04 == 0, "{counts:?}");
    assert_eq!(counts.unauthorized, 0);
    // Every invoice the backend accepted is one the wallet issued and signed.
    for inv in wallet.invoices() {
        l402_backend::check_payee("nwc", &inv.bolt11, &wallet.node_id()).unwrap();
    }
    conformance::starts_and_stops(backend.as_ref()).await.unwrap();
    assert_eq!(backend.link(), Link::Stopped);
    assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_as_dyn_backend_on_a_multithread_runtime() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Nip44).await;
    let backend: Arc<dyn Backend> = backend_for(&wallet.uri());
    // Not started: the first call connects.
    let task = tokio::spawn(async move { conformance::run_all(backend.as_ref()).await });
    task.await.unwrap().unwrap();
    assert!(wallet.counts().nip44 > 0);
}

#[tokio::test]
async fn nip04_only_and_nip44_only_wallets() {
    let Some(relay) = relay().await else { return };
    for (encryption, expected) in [
        (WalletEncryption::Nip04, Encryption::Nip04),
        (WalletEncryption::Nip44, Encryption::Nip44V2),
    ] {
        let wallet = wallet_with(&relay, encryption).await;
        let backend = backend_for(&wallet.uri());
        backend.start().await.unwrap();
        assert_eq!(backend.wallet_info().unwrap().encryption, expected);
        conformance::run_all(backend.as_ref()).await.unwrap();
        let inv = backend.create_invoice(sample_request()).await.unwrap();
        let preimage = wallet.settle(&inv.text).unwrap();
        assert_eq!(
            backend.lookup_invoice(&inv.lookup).await.unwrap(),
            Settlement::Settled { preimage: Some(preimage) }
        );
        let counts = wallet.counts();
        match expected {
            Encryption::Nip04 => assert!(counts.nip04 > 0 && counts.nip44 == 0, "{counts:?}"),
            Encryption::Nip44V2 => assert!(counts.nip44 > 0 && counts.nip04 == 0, "{counts:?}"),
        }
        backend.stop().await;
    }
}

#[tokio::test]
async fn wallet_without_lookup_reports_no_capability() {
    let Some(relay) = relay().await else { return };
    let options = WalletOptions { methods: vec!["make_invoice".into()], ..WalletOptions::default() };
    let wallet = TestWallet::start_with(&relay.url(), options).await.unwrap();
    let backend = backend_for(&wallet.uri());
    assert_eq!(backend.capabilities(), Capabilities::FULL, "nothing known before the info");
    backend.start().await.unwrap();
    assert_eq!(backend.capabilities(), Capabilities::NONE);
    backend.create_invoice(sample_request()).await.unwrap();
    let e = assert_kind(backend.lookup_invoice(&[1; 32].into()).await, "rejected");
    assert!(e.to_string().contains("lookup_invoice"), "{e}");
    assert_eq!(wallet.counts().lookup_invoice, 0, "refused without asking the wallet");
}

#[tokio::test]
async fn relay_killed_and_restarted_the_backend_reconnects() {
    let Some(mut relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let backend = backend_for(&wallet.uri());
    backend.start().await.unwrap();
    let before = backend.create_invoice(sample_request()).await.unwrap();
    assert_eq!(backend.connections(), 1);

    relay.kill().await;
    let noticed = Instant::now();
    while matches!(backend.link(), Link::Up { .. }) {
        assert!(noticed.elapsed() < Duration::from_secs(5), "the backend did not notice the relay died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Down: calls fail at once, naming the relay.
    let start = Instant::now();
    let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    assert!(start.elapsed() < Duration::from_millis(200), "{:?}", start.elapsed());
    assert!(e.to_string().contains(&relay.url()), "{e}");
    assert_kind(backend.lookup_invoice(&before.lookup).await, "unavailable");

    relay.restart().await.unwrap();
    wallet.wait_until_connected().await.unwrap();
    // The backend may be in its backoff: the call asks for a reconnection at once.
    let back = Instant::now();
    let deadline = back + Duration::from_secs(20);
    let inv = loop {
        match backend.create_invoice(sample_request()).await {
            Ok(inv) => break inv,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for the reconnection: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no recovery after the relay restarted: {e}"),
        }
    };
    assert!(back.elapsed() < Duration::from_secs(3), "reconnected only after {:?}", back.elapsed());
    assert!(backend.connections() >= 2);
    assert_eq!(backend.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Open);
    assert_eq!(backend.lookup_invoice(&before.lookup).await.unwrap(), Settlement::Open);
}

#[tokio::test]
async fn fallback_relay_is_used_when_the_first_is_dead() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let dead = format!("ws://127.0.0.1:{}", free_port().unwrap());
    let backend = backend_for(&wallet.uri_with_relays(&[&dead, &relay.url()]));
    backend.start().await.unwrap();
    assert_eq!(backend.connected_relay(), Some(relay.url()));
    let inv = backend.create_invoice(sample_request()).await.unwrap();
    assert_eq!(backend.lookup_invoice(&inv.lookup).await.unwrap(), Settlement::Open);
}

#[tokio::test]
async fn wallet_faults_offline_wrong_signer_and_error_codes() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let backend = backend_without_cool_down(&wallet.uri());
    backend.start().await.unwrap();
    let issued = backend.create_invoice(sample_request()).await.unwrap();

    // Offline wallet: Unavailable, within the timeout.
    wallet.set_behaviour(Behaviour::Offline).await.unwrap();
    let start = Instant::now();
    let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    let took = start.elapsed();
    assert!(took >= TIMEOUT - Duration::from_millis(50) && took < TIMEOUT + Duration::from_millis(400), "{took:?}");
    assert!(e.to_string().contains("did not answer"), "{e}");
    wallet.set_behaviour(Behaviour::Normal).await.unwrap();
    backend.create_invoice(sample_request()).await.unwrap();

    // A wallet slower than the timeout looks the same.
    wallet.set_behaviour(Behaviour::Slow(TIMEOUT * 2)).await.unwrap();
    let start = Instant::now();
    assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    assert!(start.elapsed() < TIMEOUT + Duration::from_millis(400));

    // Responses signed by another key are ignored: the call times out as if unanswered.
    wallet.set_behaviour(Behaviour::WrongSigner).await.unwrap();
    let ignored = backend.ignored_events();
    let replies = wallet.counts().replies;
    assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    assert!(wallet.counts().replies > replies, "the wallet answered");
    assert!(backend.ignored_events() > ignored, "the answer was ignored");

    // NIP-47 error codes.
    for (code, kind) in [
        ("RATE_LIMITED", "unavailable"),
        ("INTERNAL", "unavailable"),
        ("UNAUTHORIZED", "rejected"),
        ("RESTRICTED", "rejected"),
        ("QUOTA_EXCEEDED", "rejected"),
        ("NOT_IMPLEMENTED", "rejected"),
    ] {
        wallet.set_behaviour(Behaviour::Error(code.into())).await.unwrap();
        let e = assert_kind(backend.create_invoice(sample_request()).await, kind);
        assert!(e.to_string().contains(code), "{e}");
    }
    wallet.set_behaviour(Behaviour::Error("NOT_FOUND".into())).await.unwrap();
    assert_eq!(backend.lookup_invoice(&issued.lookup).await.unwrap(), Settlement::Unknown);

    // Back to normal: the same backend works, and no error ever showed the secret.
    wallet.set_behaviour(Behaviour::Normal).await.unwrap();
    assert_eq!(backend.lookup_invoice(&issued.lookup).await.unwrap(), Settlement::Open);
    let secret = wallet.uri().rsplit_once("secret=").unwrap().1.to_owned();
    assert!(!format!("{backend:?}").contains(&secret));
}

#[tokio::test]
async fn relays_all_down_fail_fast_without_a_relay_process() {
    let dead1 = format!("ws://127.0.0.1:{}", free_port().unwrap());
    let dead2 = format!("ws://127.0.0.1:{}", free_port().unwrap());
    let uri = format!(
        "nostr+walletconnect://{}?relay={dead1}&relay={dead2}&secret={}",
        "b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4",
        "71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c"
    );
    let backend = backend_for(&uri);
    assert_eq!(backend.link(), Link::Idle);
    let e = assert_kind(backend.start().await, "unavailable");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    let start = Instant::now();
    let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    assert!(start.elapsed() < Duration::from_millis(100), "{:?}", start.elapsed());
    assert!(e.to_string().contains("refused"), "{e}");
    assert!(!e.to_string().contains("71a8c14c"), "{e}");
    backend.stop().await;
}

#[test]
fn new_opens_no_socket_and_needs_no_runtime() {
    let uri = format!(
        "nostr+walletconnect://{}?relay=ws://127.0.0.1:9&secret={}",
        "b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4",
        "71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c"
    );
    let backend = backend_for(&uri);
    assert_eq!(backend.name(), "nwc");
    assert_eq!(backend.link(), Link::Idle);
    assert_eq!(backend.config().relays()[0].as_str(), "ws://127.0.0.1:9");
    assert!(!format!("{backend:?}").contains("71a8c14c"));
}

/// Hostile or broken replies from the wallet's own connection: a response with a signature
/// that does not verify (through a relay configured not to check, so the backend's own
/// check is what is tested), one `e`-tagged with another request, none at all, content that
/// does not decrypt, a settled lookup without its preimage. None is believed, none panics,
/// every call ends within the timeout, and the backend works normally afterwards.
#[tokio::test]
async fn hostile_replies_are_ignored_or_invalid() {
    let Some(relay) = relay_unchecked().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let backend = backend_without_cool_down(&wallet.uri());
    backend.start().await.unwrap();
    let paid = backend.create_invoice(sample_request()).await.unwrap();
    let preimage = wallet.settle(&paid.text).unwrap();

    let within_timeout = |start: Instant| {
        let took = start.elapsed();
        assert!(took < TIMEOUT + Duration::from_millis(400), "{took:?}");
    };
    for (behaviour, reaches_us) in [
        (Behaviour::BadSignature, !relay.checks_signatures()),
        (Behaviour::WrongRequest, true),
        (Behaviour::Silent, false),
    ] {
        wallet.set_behaviour(behaviour.clone()).await.unwrap();
        let ignored = backend.ignored_events();
        let replies = wallet.counts().replies;
        let start = Instant::now();
        let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
        within_timeout(start);
        assert!(e.to_string().contains("did not answer"), "{behaviour:?}: {e}");
        let start = Instant::now();
        assert_kind(backend.lookup_invoice(&paid.lookup).await, "unavailable");
        within_timeout(start);
        if behaviour != Behaviour::Silent {
            assert!(wallet.counts().replies > replies, "{behaviour:?}: the wallet answered");
        }
        if reaches_us {
            assert!(backend.ignored_events() > ignored, "{behaviour:?}: the response reached us and was ignored");
        }
    }

    wallet.set_behaviour(Behaviour::Undecryptable).await.unwrap();
    let e = assert_kind(backend.create_invoice(sample_request()).await, "invalid_reply");
    assert!(e.to_string().contains("decrypt"), "{e}");
    assert_kind(backend.lookup_invoice(&paid.lookup).await, "invalid_reply");

    // Settled is believed only with the preimage (and only one that hashes to the hash).
    wallet.set_behaviour(Behaviour::NoPreimage).await.unwrap();
    let e = assert_kind(backend.lookup_invoice(&paid.lookup).await, "invalid_reply");
    assert!(e.to_string().contains("preimage"), "{e}");
    wallet.set_behaviour(Behaviour::Garbage(l402_backend::conformance::GarbageKind::WrongHash)).await.unwrap();
    assert_kind(backend.lookup_invoice(&paid.lookup).await, "invalid_reply");

    wallet.set_behaviour(Behaviour::Normal).await.unwrap();
    assert_eq!(
        backend.lookup_invoice(&paid.lookup).await.unwrap(),
        Settlement::Settled { preimage: Some(preimage) }
    );
    backend.create_invoice(sample_request()).await.unwrap();
    // Neither the client secret nor the preimage shows in Debug output.
    let secret = wallet.uri().rsplit_once("secret=").unwrap().1.to_owned();
    let shown = format!("{backend:?} {:?} {:?}", backend.config(), backend.lookup_invoice(&paid.lookup).await);
    assert!(!shown.contains(&secret), "{shown}");
    assert!(!shown.contains(&testnode_nwc::hex_encode(&preimage)), "{shown}");
    backend.stop().await;
}

/// A silent wallet (connected, never answering): the first call waits for the timeout and
/// names the wallet and the relay; the following ones fail at once, also naming them, until
/// the cool-down ends; then one call probes and, the wallet answering again, all go through.
#[tokio::test]
async fn a_silent_wallet_opens_the_breaker_then_a_probe_closes_it() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let backend = backend_for(&wallet.uri());
    backend.start().await.unwrap();
    let issued = backend.create_invoice(sample_request()).await.unwrap();
    assert!(backend.wallet_available());

    wallet.set_behaviour(Behaviour::Silent).await.unwrap();
    let start = Instant::now();
    let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    let opened = Instant::now();
    assert!(start.elapsed() >= TIMEOUT - Duration::from_millis(100), "{:?}", start.elapsed());
    let text = e.to_string();
    for needle in ["did not answer", "marked unavailable", &wallet.wallet_pubkey_hex(), &relay.url()] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    assert!(!backend.wallet_available());
    let requests = wallet.counts().requests;
    for _ in 0..5 {
        let start = Instant::now();
        let e = assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
        assert!(start.elapsed() < Duration::from_millis(50), "{:?}", start.elapsed());
        assert!(e.to_string().contains("marked unavailable") && e.to_string().contains(&wallet.wallet_pubkey_hex()), "{e}");
        assert_kind(backend.lookup_invoice(&issued.lookup).await, "unavailable");
    }
    assert_eq!(wallet.counts().requests, requests, "calls reached the wallet while the breaker was open");

    // The wallet answers again (without reconnecting, so without announcing itself): after
    // the cool-down a probe goes through and closes the breaker.
    wallet.set_behaviour(Behaviour::Normal).await.unwrap();
    let deadline = opened + OPEN_FIRST + TIMEOUT + Duration::from_secs(1);
    loop {
        match backend.create_invoice(sample_request()).await {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                assert!(e.to_string().contains("marked unavailable"), "{e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("not recovered {:?} after opening: {e}", opened.elapsed()),
        }
    }
    assert!(opened.elapsed() >= OPEN_FIRST - Duration::from_millis(50), "{:?}", opened.elapsed());
    assert!(backend.wallet_available());
    assert_eq!(backend.lookup_invoice(&issued.lookup).await.unwrap(), Settlement::Open);
}

/// A wallet that went offline and comes back publishes its info event again: that closes the
/// breaker at once, before the cool-down ends.
#[tokio::test]
async fn a_wallet_coming_back_announces_itself_and_closes_the_breaker() {
    let Some(relay) = relay().await else { return };
    let wallet = wallet_with(&relay, WalletEncryption::Both).await;
    let settings = BreakerSettings { open_first: Duration::from_secs(30), open_max: Duration::from_secs(30) };
    let config = NwcConfig::parse(&wallet.uri()).unwrap().with_timeout(TIMEOUT).with_breaker(settings);
    let backend = NwcBackend::new(config).unwrap();
    backend.start().await.unwrap();
    backend.create_invoice(sample_request()).await.unwrap();
    wallet.set_behaviour(Behaviour::Offline).await.unwrap();
    assert_kind(backend.create_invoice(sample_request()).await, "unavailable");
    assert!(!backend.wallet_available());
    wallet.set_behaviour(Behaviour::Normal).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !backend.wallet_available() {
        assert!(Instant::now() < deadline, "the wallet's info event did not close the breaker");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    backend.create_invoice(sample_request()).await.unwrap();
}

/// No info event on the relay (a wrong wallet key, a wallet never started there): the first
/// call probes, the calls made meanwhile fail at once; a wallet that answers anyway is used.
#[tokio::test]
async fn no_info_event_the_first_call_probes_and_the_others_fail_at_once() {
    let Some(relay) = relay().await else { return };
    let options = WalletOptions { publish_info: false, ..WalletOptions::default() };
    let wallet = TestWallet::start_with(&relay.url(), options).await.unwrap();
    let backend = backend_for(&wallet.uri());
    backend.start().await.unwrap();
    assert_eq!(backend.wallet_info().unwrap().methods, None);
    wallet.set_behaviour(Behaviour::Slow(Duration::from_millis(300))).await.unwrap();
    let probe = backend.create_invoice(sample_request());
    let other = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let start = Instant::now();
        let got = backend.create_invoice(sample_request()).await;
        (got, start.elapsed())
    };
    let (probed, (other, took)) = tokio::join!(probe, other);
    // Without an info event NIP-04 is assumed (NIP-47), which this wallet also offers.
    probed.unwrap();
    let e = assert_kind(other, "unavailable");
    assert!(took < Duration::from_millis(50), "{took:?}");
    assert!(e.to_string().contains("no info event") && e.to_string().contains("probed"), "{e}");
    assert!(backend.wallet_available());
    backend.create_invoice(sample_request()).await.unwrap();
}

/// What operators are promised: reconnect delays and breaker cool-downs of at most 5 s.
#[test]
fn reconnect_backoff_and_cool_down_are_bounded() {
    assert!(OPEN_FIRST <= OPEN_MAX && OPEN_MAX <= Duration::from_secs(5));
    assert!(MAX_BACKOFF <= Duration::from_secs(5));
}
