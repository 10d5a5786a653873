//! The `testnode-lnurl` binary: CLI, ready line, HTTPS with the CA written to `--tls-dir`, and
//! the control endpoint's JSON routes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use common::Conn;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child on drop, so a failing test leaves no process behind.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One control request with `Connection: close`; returns (status, JSON body).
fn control(port: u16, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply[9..12].parse().unwrap();
    let (_, body) = reply.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn binary_serves_https_and_control() {
    let dir = std::env::temp_dir().join(format!("testnode-lnurl-bin-{}", std::process::id()));
    let (api, ctl) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-lnurl"))
        .args([
            "--port",
            &api.to_string(),
            "--control-port",
            &ctl.to_string(),
        ])
        .arg("--tls-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _node = Node(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(
        line.trim_end(),
        format!("testnode-lnurl: api https://127.0.0.1:{api} control http://127.0.0.1:{ctl}")
    );
    let ca = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], api));

    let mut conn = Conn::connect(addr, Some(&ca), "127.0.0.1").await.unwrap();
    let doc = conn.get("/.well-known/lnurlp/zoe").await.json();
    assert_eq!(
        doc["callback"],
        format!("https://127.0.0.1:{api}/lnurlp/zoe/callback")
    );
    let reply = conn
        .get("/lnurlp/zoe/callback?amount=7000&comment=hi%20there")
        .await
        .json();
    let pr = reply["pr"].as_str().unwrap().to_owned();

    let (status, invoices) = control(ctl, "GET", "/invoices?user=zoe", None);
    assert_eq!(status, 200);
    let inv = &invoices[0];
    assert_eq!(inv["pr"], pr.as_str());
    assert_eq!(
        (inv["amount_msat"].as_u64(), inv["requested_msat"].as_u64()),
        (Some(7000), Some(7000))
    );
    assert_eq!(inv["comment"], "hi there");
    assert_eq!(inv["settled"], false);
    let hash = inv["payment_hash"].as_str().unwrap().to_owned();

    let (status, settled) = control(
        ctl,
        "POST",
        "/settle",
        Some(json!({ "payment_hash": hash })),
    );
    assert_eq!(status, 200);
    let verify = conn.get(reply["verify"].as_str().unwrap()).await.json();
    assert_eq!(verify["settled"], true);
    assert_eq!(verify["preimage"], settled["preimage"]);
    let (status, again) = control(ctl, "POST", &format!("/settle/{pr}"), None);
    assert_eq!((status, &again["preimage"]), (200, &settled["preimage"]));
    assert_eq!(
        control(
            ctl,
            "POST",
            "/settle",
            Some(json!({ "payment_hash": "00".repeat(32) }))
        )
        .0,
        404
    );

    let (_, counters) = control(ctl, "GET", "/counters", None);
    assert_eq!(
        counters,
        json!({ "connections": 1, "tls_handshakes": 1, "pay_request": 1, "callback": 1, "verify": 1 })
    );
    assert_eq!(
        control(ctl, "POST", "/counters/reset", None).1,
        json!({ "ok": true })
    );
    assert_eq!(control(ctl, "GET", "/counters", None).1["connections"], 0);

    // Faults and params.
    let set = json!({ "fault": "huge-body", "on": "callback", "user": "zoe" });
    assert_eq!(control(ctl, "POST", "/fault", Some(set)).0, 200);
    assert_eq!(
        control(
            ctl,
            "POST",
            "/fault",
            Some(json!({ "fault": "callback-error" }))
        )
        .0,
        200
    );
    let (_, faults) = control(ctl, "GET", "/fault", None);
    assert_eq!(
        faults,
        json!({ "fault": { "fault": "callback-error" },
                "user_faults": { "zoe": { "fault": "huge-body", "on": "callback" } } })
    );
    assert_eq!(
        control(ctl, "POST", "/fault", Some(json!({ "fault": "nonsense" }))).0,
        400
    );
    let (_, params) = control(
        ctl,
        "POST",
        "/params",
        Some(json!({ "max_sendable": 5000 })),
    );
    assert_eq!(
        params,
        json!({ "min_sendable": 1000, "max_sendable": 5000, "comment_allowed": 255 })
    );
    let doc = conn.get("/lnurlp/zoe").await.json();
    assert_eq!(doc["maxSendable"], 5000);
    assert_eq!(
        conn.get("/lnurlp/amy/callback?amount=2000").await.json()["status"],
        "ERROR"
    );

    // Modes, JSON and path forms.
    assert_eq!(
        control(
            ctl,
            "POST",
            "/mode",
            Some(json!({ "mode": "slow", "ms": 50 }))
        )
        .0,
        200
    );
    assert_eq!(
        control(ctl, "GET", "/mode", None).1,
        json!({ "mode": "slow", "ms": 50 })
    );
    assert_eq!(
        control(ctl, "POST", "/mode/garbage/wrong-hash", None).0,
        200
    );
    assert_eq!(
        control(ctl, "GET", "/mode", None).1,
        json!({ "mode": "garbage", "kind": "wrong-hash" })
    );
    assert_eq!(control(ctl, "POST", "/mode/down", None).0, 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert_eq!(control(ctl, "POST", "/reset", None).0, 200);
    let (_, state) = control(ctl, "GET", "/state", None);
    assert_eq!(state["mode"], json!({ "mode": "normal" }));
    assert_eq!(state["fault"], json!({ "fault": "none" }));
    assert_eq!(state["user_faults"], json!({}));
    assert_eq!(state["params"]["max_sendable"], 1_000_000_000);
    assert_eq!(state["tls"], true);
    assert_eq!(state["base_url"], format!("https://127.0.0.1:{api}"));
    let mut conn = Conn::connect(addr, Some(&ca), "localhost").await.unwrap();
    assert!(conn.get("/lnurlp/amy/callback?amount=2000").await.json()["pr"].is_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_serves_plain_http_without_tls_dir() {
    let (api, ctl) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-lnurl"))
        .args([
            "--port",
            &api.to_string(),
            "--control-port",
            &ctl.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _node = Node(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(
        line.trim_end(),
        format!("testnode-lnurl: api http://127.0.0.1:{api} control http://127.0.0.1:{ctl}")
    );
    let (_, state) = control(ctl, "GET", "/state", None);
    assert_eq!(state["tls"], false);
}

#[test]
fn binary_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_testnode-lnurl"))
        .args(["--port", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--control-port is required"));
}
