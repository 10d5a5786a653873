//! [`Transport`]: how payees are reached — one pooled HTTP/1.1 client per worker, shared by
//! every payee, with TLS sessions resumed (rustls's in-memory session cache), public CA roots
//! plus an operator's CA file, plain `http://` only when allowed, bounded bodies, and redirects
//! followed only within the same host.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, LOCATION};
use hyper::{Request, StatusCode};
use url::Url;

use crate::payee::{check_scheme, host_port};

/// Largest reply body read, in bytes (a payRequest with a base64 image fits).
pub const MAX_REPLY_BYTES: usize = 256 * 1024;
/// Most redirects followed (each to the same host).
const MAX_REDIRECTS: usize = 3;
type HttpClient = l402_https::PooledClient<Empty<Bytes>>;

/// What may go wrong reaching a payee, classified as the backend reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// Connection refused, TLS failure, reset, 5xx: try again later.
    Unavailable(String),
    /// The reply cannot be used: too large, a redirect elsewhere, not JSON.
    Invalid(String),
    /// 4xx: the payee refused the request.
    Refused(String),
}

/// The transport settings of every LNURL payee (`l402_lnurl_ca_file`, `l402_lnurl_allow_http`).
#[derive(Clone, Debug, Default)]
pub struct TransportConfig {
    /// PEM certificates trusted besides the public roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Admit `http://` payees (off by default).
    pub allow_http: bool,
    /// Connect timeout; the whole call is bounded by the caller.
    pub connect_timeout: Duration,
}

/// One HTTP client for every payee of a worker. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Transport {
    client: HttpClient,
    allow_http: bool,
}

impl Transport {
    /// Builds the client. Opens no socket; fails only if the TLS settings are unusable (a CA
    /// file with no certificate in it).
    pub fn new(config: &TransportConfig) -> Result<Transport, String> {
        let options = l402_https::Options {
            ca_pem: config.ca_pem.as_deref(),
            allow_http: config.allow_http,
            connect_timeout: config.connect_timeout,
        };
        Ok(Transport { client: l402_https::pooled_client(&options)?, allow_http: config.allow_http })
    }

    /// Whether plain `http://` URLs are admitted.
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// `GET url` with `Accept: application/json`; returns the body of a 2xx reply, at most
    /// [`MAX_REPLY_BYTES`]. A 3xx is followed only to the same scheme and host.
    pub async fn get(&self, url: &Url) -> Result<Bytes, Fetch> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            check_scheme(&current, self.allow_http).map_err(|e| Fetch::Invalid(format!("URL {e}")))?;
            let request = Request::get(current.as_str())
                .header(ACCEPT, "application/json")
                .body(Empty::<Bytes>::new())
                .map_err(|e| Fetch::Invalid(format!("cannot build the request: {e}")))?;
            let response = self.client.request(request).await.map_err(|e| Fetch::Unavailable(chain(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                let target = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or_else(|| Fetch::Invalid(format!("HTTP {} without a usable Location", status.as_u16())))?;
                if target.scheme() != current.scheme() || host_port(&target) != host_port(&current) {
                    return Err(Fetch::Invalid(format!(
                        "redirect to another host ({}) refused",
                        crate::document::printable(&host_port(&target))
                    )));
                }
                current = target;
                continue;
            }
            let body = Limited::new(response.into_body(), MAX_REPLY_BYTES).collect().await.map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    Fetch::Invalid(format!("reply is larger than {MAX_REPLY_BYTES} bytes"))
                } else {
                    Fetch::Unavailable(format!("reading the reply failed: {}", chain(&*e)))
                }
            })?;
            let body = body.to_bytes();
            return if status.is_success() {
                Ok(body)
            } else if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
                Err(Fetch::Refused(format!("HTTP {}{}", status.as_u16(), reason_of(&body))))
            } else {
                Err(Fetch::Unavailable(format!("HTTP {}{}", status.as_u16(), reason_of(&body))))
            };
        }
        Err(Fetch::Invalid(format!("more than {MAX_REDIRECTS} redirects")))
    }
}

/// `: <reason>` of a LUD-06 error body, if it is one.
fn reason_of(body: &[u8]) -> String {
    match crate::document::pay_request(body) {
        Ok(crate::document::Reply::Error(reason)) => format!(": {reason}"),
        _ => String::new(),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    crate::document::printable(&l402_https::error_chain(e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_must_hold_a_certificate() {
        let bad = TransportConfig { ca_pem: Some(b"not pem".to_vec()), ..Default::default() };
        assert!(Transport::new(&bad).is_err());
        assert!(Transport::new(&TransportConfig::default()).is_ok());
    }
}
