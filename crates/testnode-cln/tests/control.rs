//! The HTTP control endpoint and the binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use testnode_cln::{GarbageKind, Mode, TestNode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

async fn http(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// One raw JSON-RPC call on a fresh connection; returns the reply object.
async fn rpc(path: &std::path::Path, method: &str, params: Value) -> Value {
    let mut s = UnixStream::connect(path).await.unwrap();
    let req = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
    s.write_all(&serde_json::to_vec(&req).unwrap())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.ends_with(b"\n\n") {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
    serde_json::from_slice(&buf).unwrap()
}

#[tokio::test]
async fn control_endpoint_sets_modes_and_settles() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path().join("rpc")).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _task = node.serve_control(listener);

    assert_eq!(http(addr, "POST", "/mode/slow?ms=2000").await.0, 200);
    assert_eq!(node.mode(), Mode::Slow(Duration::from_millis(2000)));
    assert_eq!(http(addr, "POST", "/mode/garbage/not-json").await.0, 200);
    assert_eq!(node.mode(), Mode::Garbage(GarbageKind::NotJson));
    assert_eq!(http(addr, "POST", "/mode/garbage/bogus").await.0, 400);
    assert_eq!(http(addr, "POST", "/mode/slow").await.0, 400);
    assert_eq!(http(addr, "POST", "/mode/error?code=900").await.0, 200);
    assert!(matches!(node.mode(), Mode::Error { code: 900, .. }));
    assert_eq!(http(addr, "POST", "/mode/down").await.0, 200);
    assert_eq!(node.mode(), Mode::Down);
    assert_eq!(http(addr, "POST", "/mode/normal").await.0, 200);
    assert_eq!(node.mode(), Mode::Normal);

    // Wait for the socket to be bound again, then issue an invoice and pay it by hash
    // and by string.
    for _ in 0..100 {
        if UnixStream::connect(node.socket_path()).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reply = rpc(
        node.socket_path(),
        "invoice",
        json!({"amount_msat": 5000, "label": "a", "description": "d", "expiry": 60}),
    )
    .await;
    let bolt11 = reply["result"]["bolt11"].as_str().unwrap().to_owned();
    let hash = reply["result"]["payment_hash"].as_str().unwrap().to_owned();
    let (status, body) = http(addr, "POST", &format!("/settle/{hash}")).await;
    assert_eq!(status, 200);
    let (status2, body2) = http(addr, "POST", &format!("/settle/{bolt11}")).await;
    assert_eq!(
        (status2, &body2),
        (200, &body),
        "settling twice returns the same preimage"
    );
    assert_eq!(
        http(addr, "POST", &format!("/settle/{}", "00".repeat(32)))
            .await
            .0,
        404
    );

    let listed = rpc(
        node.socket_path(),
        "listinvoices",
        json!({"payment_hash": hash}),
    )
    .await;
    let inv = &listed["result"]["invoices"][0];
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["payment_preimage"].as_str().unwrap(), body.trim());
    assert_eq!(inv["amount_received_msat"], 5000);

    let (status, offer) = http(addr, "GET", "/offer").await;
    assert_eq!(status, 200);
    assert!(offer.starts_with("lno1"));
    assert_eq!(http(addr, "GET", "/nope").await.0, 404);
    assert_eq!(http(addr, "DELETE", "/mode/down").await.0, 405);
}

#[tokio::test]
async fn methods_follow_cln_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start(dir.path().join("rpc")).await.unwrap();
    let p = node.socket_path();

    let info = rpc(p, "getinfo", json!({})).await;
    assert_eq!(info["result"]["network"], "regtest");
    assert_eq!(info["jsonrpc"], "2.0");
    assert_eq!(info["id"], 7);

    // Positional params work as in lightningd.
    let inv = rpc(p, "invoice", json!([1000, "pos", "desc"])).await;
    let r = &inv["result"];
    assert!(r["bolt11"].as_str().unwrap().starts_with("lnbcrt"));
    assert_eq!(r["payment_hash"].as_str().unwrap().len(), 64);
    assert!(r["expires_at"].as_u64().unwrap() > 0);

    let dup = rpc(
        p,
        "invoice",
        json!({"amount_msat": 1000, "label": "pos", "description": "x"}),
    )
    .await;
    assert_eq!(dup["error"]["code"], 900);
    let zero = rpc(
        p,
        "invoice",
        json!({"amount_msat": 0, "label": "z", "description": "x"}),
    )
    .await;
    assert_eq!(zero["error"]["code"], -32602);
    let missing = rpc(p, "invoice", json!({"amount_msat": 10, "label": "m"})).await;
    assert_eq!(missing["error"]["code"], -32602);
    let unknown = rpc(p, "frobnicate", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);

    let d = rpc(p, "decode", json!({"string": r["bolt11"]})).await;
    assert_eq!(d["result"]["type"], "bolt11 invoice");
    assert_eq!(d["result"]["payment_hash"], r["payment_hash"]);
    assert_eq!(d["result"]["amount_msat"], 1000);

    let f = rpc(
        p,
        "fetchinvoice",
        json!({"offer": node.offer(), "amount_msat": 4000, "payer_note": "hi"}),
    )
    .await;
    let lni = f["result"]["invoice"].as_str().unwrap();
    assert!(lni.starts_with("lni1"));
    let d = rpc(p, "decode", json!({"string": lni})).await;
    assert_eq!(d["result"]["type"], "bolt12 invoice");
    assert_eq!(d["result"]["valid"], true);
    assert_eq!(d["result"]["invoice_amount_msat"], 4000);
    let listed = rpc(p, "listinvoices", json!({})).await;
    let all = listed["result"]["invoices"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[1]["bolt12"].as_str().is_some());
    let d = rpc(p, "decode", json!({"string": node.offer()})).await;
    assert_eq!(d["result"]["type"], "bolt12 offer");
}

#[test]
fn binary_serves_socket_and_control() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("lightning-rpc");
    let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-cln"))
        .args(["--socket", sock.to_str().unwrap(), "--control-port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut control = None;
    for _ in 0..4 {
        let line = lines.next().unwrap().unwrap();
        if let Some(url) = line.strip_prefix("testnode-cln: control http://") {
            control = Some(url.to_owned());
        }
    }
    let control = control.unwrap();
    assert!(sock.exists());
    let mut s = std::net::TcpStream::connect(&control).unwrap();
    s.write_all(b"POST /mode/down HTTP/1.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    for _ in 0..100 {
        if !sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!sock.exists(), "down mode removes the socket");
    child.kill().unwrap();
    child.wait().unwrap();

    let bad = Command::new(env!("CARGO_BIN_EXE_testnode-cln"))
        .arg("--socket")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
