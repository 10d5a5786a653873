//! [`Transport`]: how mints are reached — one pooled HTTP/1.1 client per worker (the stack of
//! l402-lnurl: rustls with ring, TLS sessions resumed, public roots plus an operator's CA
//! file), plain `http://` only when allowed, bodies bounded, **no redirect followed** (a mint
//! client talks to the URL it was built with and nothing else).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::ConfigError;

/// Largest reply body read, in bytes ([`l402_cashu::MAX_REPLY_LEN`], the keyset replies' cap).
pub const MAX_REPLY_BYTES: usize = l402_cashu::MAX_REPLY_LEN;
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The transport settings shared by every mint of a worker.
#[derive(Clone, Debug)]
pub struct TransportOptions {
    /// PEM certificates trusted besides the public roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Admit `http://` mints (tests, a mint on localhost; off by default).
    pub allow_http: bool,
    /// Connect timeout; each call is bounded as a whole by its client.
    pub connect_timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions { ca_pem: None, allow_http: false, connect_timeout: Duration::from_secs(3) }
    }
}

/// One HTTP client for every mint of a worker. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Transport {
    client: HttpClient,
    allow_http: bool,
}

/// What went wrong below the protocol (the client adds which mint).
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection, reset, TLS.
    Unreachable(String),
    /// The reply cannot be read as one: too large, a redirect.
    Bad(String),
}

/// A reply with its status and its (bounded) body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Transport {
    /// Builds the client. Opens no socket; fails only if the TLS settings are unusable.
    pub fn new(options: &TransportOptions) -> Result<Transport, ConfigError> {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(pem) = &options.ca_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| ConfigError(format!("the CA file is not PEM: {e}")))?;
                roots.add(cert).map_err(|e| ConfigError(format!("a certificate of the CA file is refused: {e}")))?;
                added += 1;
            }
            if added == 0 {
                return Err(ConfigError("the CA file holds no certificate".into()));
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let builder = HttpsConnectorBuilder::new().with_tls_config(tls);
        let connector = if options.allow_http {
            builder.https_or_http().enable_http1().wrap_connector(http)
        } else {
            builder.https_only().enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Transport { client, allow_http: options.allow_http })
    }

    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// One request; the body of any non-3xx reply, at most `limit` bytes. Not bounded in
    /// time here: the client bounds the whole call.
    pub(crate) async fn call(&self, uri: Uri, json: Option<Vec<u8>>, limit: usize) -> Result<Reply, Failure> {
        let method = if json.is_some() { Method::POST } else { Method::GET };
        let mut builder = Request::builder().method(method).uri(uri).header(ACCEPT, "application/json");
        if json.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|e| Failure::Bad(format!("cannot build the request: {e}")))?;
        let response = self.client.request(request).await.map_err(|e| Failure::Unreachable(chain(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(Failure::Bad(format!("HTTP {} redirect refused (only the configured URL is used)", status.as_u16())));
        }
        let body = Limited::new(response.into_body(), limit).collect().await.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Failure::Bad(format!("reply is larger than {limit} bytes"))
            } else {
                Failure::Unreachable(format!("reading the reply failed: {}", chain(&*e)))
            }
        })?;
        Ok(Reply { status, body: body.to_bytes() })
    }
}

/// An error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_must_hold_a_certificate() {
        let bad = TransportOptions { ca_pem: Some(b"not pem".to_vec()), ..Default::default() };
        assert!(Transport::new(&bad).is_err());
        assert!(Transport::new(&TransportOptions::default()).is_ok());
    }
}
