//! [`Transport`]: how mints are reached — one pooled HTTP/1.1 client per worker (the stack of
//! l402-lnurl: rustls with ring, TLS sessions resumed, public roots plus an operator's CA
//! file), plain `http://` only when allowed, bodies bounded, **no redirect followed** (a mint
//! client talks to the URL it was built with and nothing else).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode, Uri};

use crate::error::ConfigError;

/// Largest reply body read, in bytes ([`l402_cashu::MAX_REPLY_LEN`], the keyset replies' cap).
pub const MAX_REPLY_BYTES: usize = l402_cashu::MAX_REPLY_LEN;
type HttpClient = l402_https::PooledClient<Full<Bytes>>;

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
        let https = l402_https::Options {
            ca_pem: options.ca_pem.as_deref(),
            allow_http: options.allow_http,
            connect_timeout: options.connect_timeout,
        };
        let client = l402_https::pooled_client(&https).map_err(ConfigError)?;
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

fn chain(e: &dyn std::error::Error) -> String {
    l402_https::error_chain(e)
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
