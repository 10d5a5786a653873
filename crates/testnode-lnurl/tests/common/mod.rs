//! A small HTTP/1.1 client (hyper's connection API, optionally over rustls trusting the
//! node's throwaway CA) for the tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use testnode_lnurl::TestNode;
use tokio::net::TcpStream;

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// One reply, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One kept-alive connection to the node (TLS when the node serves HTTPS).
pub struct Conn {
    sender: SendRequest<Empty<Bytes>>,
    host: String,
}

/// A TLS client config trusting only `ca_pem`.
pub fn client_config(ca_pem: &str) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl Conn {
    /// Connects to `node` (verifying its certificate for `server_name` over HTTPS).
    pub async fn open_as(node: &TestNode, server_name: &str) -> std::io::Result<Conn> {
        Conn::connect(node.addr(), node.ca_pem(), server_name).await
    }

    /// Connects to `addr`, over HTTPS trusting `ca_pem` when given.
    pub async fn connect(
        addr: std::net::SocketAddr,
        ca_pem: Option<&str>,
        server_name: &str,
    ) -> std::io::Result<Conn> {
        let tcp = TcpStream::connect(addr).await?;
        let host = addr.to_string();
        let sender = match ca_pem {
            Some(ca) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(ca)));
                let name = ServerName::try_from(server_name.to_owned()).unwrap();
                let tls = connector.connect(name, tcp).await?;
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(conn);
                sender
            }
            None => {
                let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(std::io::Error::other)?;
                tokio::spawn(conn);
                sender
            }
        };
        Ok(Conn { sender, host })
    }

    pub async fn open(node: &TestNode) -> std::io::Result<Conn> {
        Conn::open_as(node, "127.0.0.1").await
    }

    /// Sends `GET target` (a path, or a full URL on the node) and returns the reply head.
    pub async fn head(&mut self, target: &str) -> Response<Incoming> {
        let path = path_of(target);
        let req = Request::get(path)
            .header("host", &self.host)
            .body(Empty::new())
            .unwrap();
        self.sender.ready().await.unwrap();
        tokio::time::timeout(TIMEOUT, self.sender.send_request(req))
            .await
            .expect("reply head in time")
            .unwrap()
    }

    /// Sends `GET target` and reads the whole reply.
    pub async fn get(&mut self, target: &str) -> Reply {
        let resp = self.head(target).await;
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(TIMEOUT, body.collect())
            .await
            .expect("body in time")
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// The path and query of a URL (a path is returned as is).
pub fn path_of(target: &str) -> &str {
    match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    }
}

/// `GET target` on a fresh connection.
pub async fn get(node: &TestNode, target: &str) -> Reply {
    Conn::open(node).await.unwrap().get(target).await
}

/// `GET target` on a fresh connection, JSON body.
pub async fn get_json(node: &TestNode, target: &str) -> Value {
    get(node, target).await.json()
}
