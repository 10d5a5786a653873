//! The testnode-lnd binary: its output lines and its plain-HTTP control endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};

/// The running binary, killed when dropped.
struct Binary {
    child: Child,
    lines: Vec<(String, String)>,
    dir: PathBuf,
}

impl Binary {
    fn start() -> Binary {
        let dir = std::env::temp_dir().join(format!("testnode-lnd-bin-{}", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-lnd"))
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if line == "ready" {
                break;
            }
            let (k, v) = line.split_once(' ').unwrap();
            lines.push((k.to_owned(), v.to_owned()));
        }
        Binary { child, lines, dir }
    }

    fn get(&self, key: &str) -> &str {
        &self.lines.iter().find(|(k, _)| k == key).unwrap().1
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One HTTP/1.1 request; returns (status, body).
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.trim().to_owned();
    (status, body)
}

#[test]
fn binary_prints_addresses_and_obeys_controls() {
    let bin = Binary::start();
    let control = bin.get("control").to_owned();
    let grpc = bin.get("grpc").to_owned();
    assert!(grpc.starts_with("127.0.0.1:") && control.starts_with("127.0.0.1:"));
    let cert = std::fs::read_to_string(bin.get("cert")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    let macaroon = std::fs::read(bin.get("macaroon")).unwrap();
    assert_eq!(macaroon[0], 2, "binary v2 macaroon");

    assert_eq!(
        http(&control, "POST", "/mode/slow?ms=250"),
        (200, "ok".into())
    );
    assert_eq!(http(&control, "GET", "/mode"), (200, "slow ms=250".into()));
    assert_eq!(http(&control, "POST", "/mode/slow").0, 400);
    assert_eq!(http(&control, "POST", "/mode/sideways").0, 400);
    assert_eq!(
        http(&control, "POST", &format!("/settle/{}", "00".repeat(32))).0,
        404
    );
    assert_eq!(http(&control, "GET", "/nothing").0, 404);
    let (status, info) = http(&control, "GET", "/info");
    assert_eq!(status, 200);
    assert!(
        info.contains(&format!("grpc {grpc}")) && info.contains("invoices 0"),
        "{info}"
    );

    // Down closes the gRPC listener; normal opens it again.
    assert!(TcpStream::connect(&grpc).is_ok());
    assert_eq!(http(&control, "POST", "/mode/down"), (200, "ok".into()));
    std::thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(&grpc).is_err(), "gRPC port still open");
    assert_eq!(http(&control, "POST", "/mode/normal"), (200, "ok".into()));
    let mut up = false;
    for _ in 0..50 {
        if TcpStream::connect(&grpc).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(up, "gRPC port not reopened");
}

#[tokio::test]
async fn settle_over_http_returns_the_preimage() {
    let dir = std::env::temp_dir().join(format!("testnode-lnd-settle-{}", std::process::id()));
    let node = std::sync::Arc::new(testnode_lnd::TestNode::start(&dir, 0).await.unwrap());
    let control = node.serve_control(0).await.unwrap().to_string();
    let bolt11 = node.add_invoice(21_000, "direct", 600).unwrap();
    let c = control.clone();
    let b = bolt11.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || http(&c, "POST", &format!("/settle/{b}")))
            .await
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let preimage = hex::decode(&body).unwrap();
    let parsed: lightning_invoice::Bolt11Invoice = bolt11.parse().unwrap();
    assert_eq!(
        sha256::Hash::hash(&preimage).to_byte_array(),
        parsed.payment_hash().to_byte_array()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
