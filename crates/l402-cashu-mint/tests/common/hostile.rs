//! A hostile mint: a raw HTTP/1.1 server on 127.0.0.1 answering every request with one fault.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use l402_cashu::{derive_v2_id, hash_to_curve, PublicKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A correct mint (keys whose id is derived from them).
    None,
    /// 200 with JSON of the wrong shape.
    WrongJson,
    /// 200 with a body that never ends (no length, 64 KiB chunks).
    Huge,
    /// Headers, then one byte every 100 ms.
    SlowDrip,
    /// A keyset whose id is not the one its keys derive.
    KeysetIdMismatch,
    /// 302 to another path of the same host.
    Redirect,
    /// 400 with a NUT-00 error (11001).
    NutError,
    /// 503.
    ServerError,
    /// The connection closed before any reply.
    Close,
    /// checkstate answering no state.
    MissingState,
}

pub fn keys() -> BTreeMap<u64, PublicKey> {
    [1u64, 2, 4, 8].iter().map(|a| (*a, hash_to_curve(format!("key {a}").as_bytes()).unwrap())).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn keyset_id(fault: Fault) -> String {
    let mut id = derive_v2_id(&keys(), "sat", 0, None);
    if fault == Fault::KeysetIdMismatch {
        id[32] ^= 1;
    }
    hex(&id)
}

fn json_reply(status: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

fn body_for(fault: Fault, path: &str) -> String {
    let id = keyset_id(fault);
    match path {
        "/v1/info" => r#"{"name":"hostile","version":"x/1","nuts":{"7":{"supported":true},"10":{"supported":true},"11":{"supported":true},"12":{"supported":true}}}"#.into(),
        "/v1/keysets" => format!(r#"{{"keysets":[{{"id":"{id}","unit":"sat","active":true,"input_fee_ppk":0}}]}}"#),
        p if p.starts_with("/v1/keys/") => {
            let keys: Vec<String> = keys().iter().map(|(a, k)| format!(r#""{a}":"{}""#, hex(&k.serialize()))).collect();
            format!(r#"{{"keysets":[{{"id":"{id}","unit":"sat","keys":{{{}}}}}]}}"#, keys.join(","))
        }
        "/v1/checkstate" => r#"{"states":[]}"#.into(),
        _ => r#"{"detail":"not found","code":0}"#.into(),
    }
}

async fn serve_one(mut s: TcpStream, fault: Fault) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the head (and whatever body came with it: the replies do not depend on it).
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let reply = match fault {
        Fault::None | Fault::KeysetIdMismatch => json_reply("200 OK", &body_for(fault, &path)),
        Fault::MissingState if path == "/v1/checkstate" => json_reply("200 OK", r#"{"states":[]}"#),
        Fault::MissingState => json_reply("200 OK", &body_for(fault, &path)),
        Fault::WrongJson => json_reply("200 OK", r#"{"nuts":"everything","keysets":7,"states":{}}"#),
        Fault::Redirect => b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n".to_vec(),
        Fault::NutError => json_reply("400 Bad Request", r#"{"detail":"Token already spent.","code":11001}"#),
        Fault::ServerError => json_reply("503 Service Unavailable", "{}"),
        Fault::Close => return,
        Fault::Huge => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[").await;
            let block = vec![b' '; 64 * 1024];
            while s.write_all(&block).await.is_ok() {}
            return;
        }
        Fault::SlowDrip => {
            let body = body_for(Fault::None, &path);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            for b in body.bytes() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if s.write_all(&[b]).await.is_err() {
                    return;
                }
            }
            return;
        }
    };
    let _ = s.write_all(&reply).await;
    let _ = s.shutdown().await;
}

/// Starts the server; its URL (http://127.0.0.1:port). Runs until the runtime ends.
pub async fn start(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_one(s, fault));
        }
    });
    url
}
