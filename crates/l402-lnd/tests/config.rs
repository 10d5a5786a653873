//! LndConfig::load: bad files and addresses are refused with messages that name the
//! problem and never contain the macaroon.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use l402_lnd::{ConfigError, LndConfig, DEFAULT_LND_PORT, DEFAULT_TIMEOUT};
use testnode_lnd::TestNode;

async fn node(dir: &common::TempDir) -> TestNode {
    TestNode::start(dir.path(), 0).await.unwrap()
}

/// The error, checked not to contain the macaroon in any form a reader could reuse.
fn load_err(node: &TestNode, address: &str, mac: &Path, cert: &Path) -> String {
    let e = LndConfig::load(address, mac, cert).unwrap_err();
    let shown = format!("{e} {e:?}");
    let mac_bytes = std::fs::read(node.macaroon_path()).unwrap();
    assert!(
        !shown.to_lowercase().contains(node.macaroon_hex()),
        "{shown}"
    );
    assert!(
        !shown.contains(&String::from_utf8_lossy(&mac_bytes[1..]).to_string()),
        "{shown}"
    );
    e.to_string()
}

#[tokio::test]
async fn loads_node_files() {
    let dir = common::TempDir::new("cfg");
    let n = node(&dir).await;
    let cfg = LndConfig::load(&n.address(), n.macaroon_path(), n.cert_path()).unwrap();
    assert_eq!(cfg.host(), "127.0.0.1");
    assert_eq!(cfg.port(), n.grpc_addr().port());
    assert_eq!(cfg.timeout, DEFAULT_TIMEOUT);
    assert_eq!(
        cfg.clone().with_timeout(Duration::from_secs(1)).timeout,
        Duration::from_secs(1)
    );
    let v6 = LndConfig::load("[::1]", n.macaroon_path(), n.cert_path()).unwrap();
    assert_eq!((v6.host(), v6.port()), ("::1", DEFAULT_LND_PORT));
    assert_eq!(v6.authority(), "[::1]:10009");
}

#[tokio::test]
async fn missing_files() {
    let dir = common::TempDir::new("cfg");
    let n = node(&dir).await;
    let nowhere = dir.path().join("nowhere");
    let e = load_err(&n, &n.address(), &nowhere, n.cert_path());
    assert!(
        e.contains("macaroon file") && e.contains("cannot open"),
        "{e}"
    );
    let e = load_err(&n, &n.address(), n.macaroon_path(), &nowhere);
    assert!(
        e.contains("certificate file") && e.contains("cannot open"),
        "{e}"
    );
}

#[tokio::test]
async fn bad_certificates() {
    let dir = common::TempDir::new("cfg");
    let n = node(&dir).await;
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let no_pem = write("nopem.cert", b"hello, not PEM\n");
    let e = load_err(&n, &n.address(), n.macaroon_path(), &no_pem);
    assert!(e.contains("no PEM CERTIFICATE"), "{e}");
    let not_x509 = write(
        "junk.cert",
        b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let e = load_err(&n, &n.address(), n.macaroon_path(), &not_x509);
    assert!(e.contains("not an X.509 certificate"), "{e}");
    let pem = std::fs::read(n.cert_path()).unwrap();
    let two = write("two.cert", &[pem.clone(), pem].concat());
    let e = load_err(&n, &n.address(), n.macaroon_path(), &two);
    assert!(e.contains("2 certificates"), "{e}");
    // The macaroon given as the certificate: refused without echoing it.
    let e = load_err(&n, &n.address(), n.macaroon_path(), n.macaroon_path());
    assert!(e.contains("certificate file"), "{e}");
}

#[tokio::test]
async fn bad_macaroons() {
    let dir = common::TempDir::new("cfg");
    let n = node(&dir).await;
    let write = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    // The hex of the macaroon instead of the file LND wrote.
    let hex = write("hex.macaroon", n.macaroon_hex().as_bytes());
    let e = load_err(&n, &n.address(), &hex, n.cert_path());
    assert!(e.contains("not a binary macaroon"), "{e}");
    let empty = write("empty.macaroon", b"");
    let e = load_err(&n, &n.address(), &empty, n.cert_path());
    assert!(e.contains("empty"), "{e}");
    let binary = write("bin.macaroon", &[0xff, 0x00, 0x13]);
    let e = load_err(&n, &n.address(), &binary, n.cert_path());
    assert!(e.contains("version-2"), "{e}");
    let e = load_err(&n, &n.address(), n.cert_path(), n.cert_path());
    assert!(e.contains("macaroon file"), "{e}");
}

#[tokio::test]
async fn bad_addresses() {
    let dir = common::TempDir::new("cfg");
    let n = node(&dir).await;
    for (address, says) in [
        ("", "empty"),
        ("host:0", "port"),
        ("host:99999", "port"),
        ("https://host:10009", "scheme"),
        ("::1:10009:x", "brackets"),
        ("[::1", "']'"),
        ("bad host:10009", "DNS name"),
    ] {
        let e = load_err(&n, address, n.macaroon_path(), n.cert_path());
        assert!(
            e.contains("invalid LND address") && e.contains(says),
            "{address}: {e}"
        );
    }
    assert!(matches!(
        LndConfig::load("", n.macaroon_path(), n.cert_path()),
        Err(ConfigError::Address { .. })
    ));
}
