//! The outbound HTTPS client of the peer crates (LNURL payees, Cashu mints): one pooled
//! HTTP/1.1 client per worker, TLS by rustls with the ring provider (sessions resumed from its
//! in-memory cache), the public CA roots (webpki-roots) plus an operator's CA file, plain
//! `http://` only when allowed, a connect timeout. What each crate sends and reads (methods,
//! redirects, body limits) stays in its own transport.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// How long an idle pooled connection is kept.
pub const POOL_IDLE: Duration = Duration::from_secs(90);

/// A pooled client sending bodies of type `B`.
pub type PooledClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// How peers are reached.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// PEM certificates trusted besides the public roots.
    pub ca_pem: Option<&'a [u8]>,
    /// Admit `http://` URLs.
    pub allow_http: bool,
    pub connect_timeout: Duration,
}

/// Builds the client. Opens no socket; fails only if the TLS settings are unusable (a CA file
/// that is not PEM or holds no certificate).
pub fn pooled_client<B>(options: &Options<'_>) -> Result<PooledClient<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(pem) = options.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the CA file is not PEM: {e}"))?;
            roots.add(cert).map_err(|e| format!("a certificate of the CA file is refused: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err("the CA file holds no certificate".into());
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
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
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(POOL_IDLE).pool_timer(TokioTimer::new()).build(connector))
}

/// An error and its sources on one line ("client error (Connect): tcp connect error: …"),
/// each source added unless the text already says it.
pub fn error_chain(e: &dyn std::error::Error) -> String {
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

    type Empty = http_body_util::Empty<bytes::Bytes>;

    fn options(ca_pem: Option<&[u8]>) -> Options<'_> {
        Options { ca_pem, allow_http: false, connect_timeout: Duration::from_secs(1) }
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        assert!(pooled_client::<Empty>(&options(None)).is_ok());
        let err = pooled_client::<Empty>(&options(Some(b"not pem at all"))).err().unwrap_or_default();
        assert_eq!(err, "the CA file holds no certificate");
        let bad = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(pooled_client::<Empty>(&options(Some(bad))).is_err());
    }
}
