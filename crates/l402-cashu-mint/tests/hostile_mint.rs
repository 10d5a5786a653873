//! Against a hostile mint (tests/common/hostile.rs): each fault is an error of the class the
//! caller must act on, within the time limit, never a panic; the cache keeps nothing from it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::hostile::{start, Fault};
use l402_cashu_mint::{ClientOptions, Keys, KeysCache, MintClient, MintError, TransportOptions};

const TIMEOUT: Duration = Duration::from_millis(800);

fn client(url: &str) -> MintClient {
    let transport = TransportOptions { allow_http: true, connect_timeout: TIMEOUT, ca_pem: None };
    MintClient::new(url, &ClientOptions { timeout: TIMEOUT, transport }).unwrap()
}

/// Runs `call`, checks it took less than the limit (plus slack) and failed with `kind`
/// and a text containing `needle`.
async fn expect<T: std::fmt::Debug>(what: &str, call: impl Future<Output = Result<T, MintError>>, kind: &str, needle: &str) {
    let t = Instant::now();
    let got = call.await;
    let took = t.elapsed();
    assert!(took < TIMEOUT + Duration::from_millis(500), "{what}: took {took:?}");
    let e = match got {
        Err(e) => e,
        Ok(v) => panic!("{what}: expected a {kind} error, got {v:?}"),
    };
    let text = e.to_string();
    assert_eq!(e.kind(), kind, "{what}: {text}");
    assert!(text.contains(needle), "{what}: {needle:?} not in {text:?}");
}

#[tokio::test]
async fn a_correct_server_loads() {
    let url = start(Fault::None).await;
    let c = client(&url);
    let keys = c.load_keys().await.unwrap();
    assert_eq!(keys.keysets().count(), 1);
    assert!(c.info().await.unwrap().check_p2pk().is_ok());
}

#[tokio::test]
async fn wrong_json_is_a_bad_reply() {
    let c = client(&start(Fault::WrongJson).await);
    expect("info", c.info(), "bad_reply", "info:").await;
    expect("keysets", c.keysets(), "bad_reply", "malformed keyset reply").await;
    expect("checkstate", c.check_state(&[[2; 33]]), "bad_reply", "checkstate").await;
}

#[tokio::test]
async fn a_huge_body_is_cut_off() {
    let c = client(&start(Fault::Huge).await);
    expect("info", c.info(), "bad_reply", "larger than 65536 bytes").await;
    expect("keysets", c.keysets(), "bad_reply", "larger than").await;
}

#[tokio::test]
async fn a_slow_drip_is_a_timeout_at_the_limit() {
    let c = client(&start(Fault::SlowDrip).await);
    let t = Instant::now();
    expect("info", c.info(), "timeout", "no reply within 800 ms").await;
    assert!(t.elapsed() >= TIMEOUT);
    expect("load_keys", c.load_keys(), "timeout", "800 ms").await;
}

#[tokio::test]
async fn a_keyset_id_that_is_not_its_keys_is_refused() {
    let c = client(&start(Fault::KeysetIdMismatch).await);
    expect("load_keys", c.load_keys(), "bad_reply", "keyset id does not match its keys").await;
    // The cache keeps nothing from it and says why.
    let cache = KeysCache::new(vec![c.clone()]);
    assert!(cache.refresh(c.url()).await.is_err());
    match cache.get(c.url()) {
        Keys::NotLoaded(Some(e)) => assert_eq!(e.kind(), "bad_reply"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let c = client(&start(Fault::Redirect).await);
    expect("info", c.info(), "bad_reply", "redirect refused").await;
    expect("checkstate", c.check_state(&[[2; 33]]), "bad_reply", "redirect refused").await;
}

#[tokio::test]
async fn a_nut_error_is_a_refusal_with_its_code() {
    let c = client(&start(Fault::NutError).await);
    let e = c.check_state(&[[2; 33]]).await.unwrap_err();
    assert_eq!((e.kind(), e.nut_code(), e.retry_later()), ("refused", Some(11001), false), "{e}");
    assert!(e.to_string().contains("Token already spent."), "{e}");
}

#[tokio::test]
async fn server_errors_and_closed_connections_are_retried_later() {
    let c = client(&start(Fault::ServerError).await);
    expect("info 503", c.info(), "unreachable", "HTTP 503").await;
    let c = client(&start(Fault::Close).await);
    expect("info closed", c.info(), "unreachable", "info:").await;
    // Nothing listening.
    let c = client("http://127.0.0.1:9");
    expect("refused", c.info(), "unreachable", "info:").await;
}

#[tokio::test]
async fn checkstate_must_answer_every_y() {
    let c = client(&start(Fault::MissingState).await);
    expect("checkstate", c.check_state(&[[2; 33], [3; 33]]), "bad_reply", "0 states for 2 Ys").await;
    assert!(c.check_state(&[]).await.unwrap().is_empty(), "nothing asked, nothing sent");
}
