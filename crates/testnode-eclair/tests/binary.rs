//! The `testnode-eclair` binary: CLI, API with Basic auth, and the control endpoint, spoken to
//! with plain HTTP/1.1 over TCP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

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

/// One request with `Connection: close`; returns (status, body), or None if refused.
fn http(
    port: u16,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = auth
        .map(|pw| {
            let token = base64::engine::general_purpose::STANDARD.encode(format!(":{pw}"));
            format!("Authorization: Basic {token}\r\n")
        })
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.get(9..12)?.parse().ok()?;
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn json_field(body: &str, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v[name].as_str().unwrap().to_owned()
}

#[test]
fn binary_serves_api_and_control() {
    let dir = std::env::temp_dir().join(format!("testnode-eclair-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw_file = dir.join("password");
    std::fs::write(&pw_file, "bin-password\n").unwrap();
    let (api, control) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_testnode-eclair"))
        .args([
            "--port",
            &api.to_string(),
            "--control-port",
            &control.to_string(),
        ])
        .arg("--password-file")
        .arg(&pw_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _node = Node(child);
    let mut banner = String::new();
    BufReader::new(stdout).read_line(&mut banner).unwrap();
    assert!(banner.contains(&format!("127.0.0.1:{api}")), "{banner}");

    // Auth.
    let (status, _) = http(
        api,
        "POST",
        "/createinvoice",
        Some("nope"),
        "description=x&amountMsat=1000",
    )
    .unwrap();
    assert_eq!(status, 401);
    let (status, _) = http(
        api,
        "POST",
        "/createinvoice",
        None,
        "description=x&amountMsat=1000",
    )
    .unwrap();
    assert_eq!(status, 401);

    // Issue, look up, settle through the control port, look up again.
    let pw = Some("bin-password");
    let (status, body) = http(
        api,
        "POST",
        "/createinvoice",
        pw,
        "description=hi&amountMsat=21000&expireIn=600",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let bolt11 = json_field(&body, "serialized");
    let hash = json_field(&body, "paymentHash");
    assert!(bolt11.starts_with("lnbcrt210n1"), "{bolt11}");
    let lookup = format!("paymentHash={hash}");
    let (status, body) = http(api, "POST", "/getreceivedinfo", pw, &lookup).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"pending\""), "{body}");
    let (status, preimage) = http(control, "POST", &format!("/settle/{bolt11}"), None, "").unwrap();
    assert_eq!(status, 200, "{preimage}");
    assert_eq!(preimage.trim().len(), 64);
    let (_, body) = http(api, "POST", "/getreceivedinfo", pw, &lookup).unwrap();
    assert!(body.contains("\"received\""), "{body}");
    assert!(body.contains(preimage.trim()), "{body}");
    let (status, _) = http(
        api,
        "POST",
        "/getreceivedinfo",
        pw,
        &format!("paymentHash={}", "0".repeat(64)),
    )
    .unwrap();
    assert_eq!(status, 404);

    // Modes.
    let (status, _) = http(control, "POST", "/mode/garbage/not-json", None, "").unwrap();
    assert_eq!(status, 200);
    let (_, body) = http(api, "POST", "/getreceivedinfo", pw, &lookup).unwrap();
    assert!(body.starts_with("<html>"), "{body}");
    assert_eq!(
        http(control, "POST", "/mode/garbage/bogus", None, "")
            .unwrap()
            .0,
        400
    );
    http(control, "POST", "/mode/slow?ms=300", None, "").unwrap();
    let start = Instant::now();
    http(api, "POST", "/getreceivedinfo", pw, &lookup).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    http(control, "POST", "/mode/down", None, "").unwrap();
    assert!(
        http(api, "POST", "/getreceivedinfo", pw, &lookup).is_none(),
        "still listening"
    );
    let (_, mode) = http(control, "GET", "/mode", None, "").unwrap();
    assert_eq!(mode.trim(), "Down");
    http(control, "POST", "/mode/normal", None, "").unwrap();
    assert_eq!(
        http(api, "POST", "/getreceivedinfo", pw, &lookup)
            .unwrap()
            .0,
        200
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binary_refuses_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_testnode-eclair"))
        .args(["--port", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--control-port"));
}
