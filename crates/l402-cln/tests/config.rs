//! Configuration errors name the problem; loading does no I/O beyond looking at the path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Setup;
use l402_cln::{Bolt12Config, ClnConfig, ConfigError, DEFAULT_TIMEOUT};

#[tokio::test]
async fn socket_is_accepted() {
    let s = Setup::start().await;
    let c = ClnConfig::load(s.node.socket_path()).unwrap();
    assert_eq!(c.timeout, DEFAULT_TIMEOUT);
    assert!(c.pool_size >= 1);
    let c = c.with_timeout(Duration::from_millis(1500)).unwrap();
    assert_eq!(c.timeout, Duration::from_millis(1500));
}

#[test]
fn missing_socket_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regtest").join("lightning-rpc");
    let e = ClnConfig::load(&path).unwrap_err();
    assert_eq!(e, ConfigError::RpcFileMissing(path.clone()));
    let shown = e.to_string();
    assert!(
        shown.contains("does not exist") && shown.contains("lightning-rpc"),
        "{shown}"
    );
}

#[test]
fn directory_is_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let e = ClnConfig::load(dir.path()).unwrap_err();
    assert!(matches!(e, ConfigError::RpcFileNotSocket(_)), "{e}");
}

#[test]
fn regular_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lightning-rpc");
    std::fs::write(&path, b"").unwrap();
    ClnConfig::load(&path).unwrap();
}

#[tokio::test]
async fn offers_are_checked() {
    let s = Setup::start().await;
    let sock = s.node.socket_path();
    let offer = s.node.offer();
    let c = Bolt12Config::load(&format!("  {}  ", offer.to_uppercase()), sock).unwrap();
    assert_eq!(c.offer, offer);
    for bad in [
        "",
        "lno1",
        "lnbcrt1xyz",
        "lni1qqqq",
        "lno1 spaces inside",
        &offer.replacen("lno1", "lno1b", 1),
    ] {
        let e = Bolt12Config::load(bad, sock).unwrap_err();
        assert!(matches!(e, ConfigError::BadOffer(_)), "{bad:?}: {e}");
        assert!(e.to_string().starts_with("BOLT12 offer is invalid"), "{e}");
    }
    // A good offer with a missing socket names the socket.
    let e = Bolt12Config::load(&offer, &s.dir.path().join("nope")).unwrap_err();
    assert!(matches!(e, ConfigError::RpcFileMissing(_)), "{e}");
}
