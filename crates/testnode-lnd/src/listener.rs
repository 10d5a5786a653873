//! The gRPC listener: TLS (ALPN h2) on 127.0.0.1, HTTP/2 per connection with hyper. In
//! [`crate::Mode::Down`] the listening socket is closed (connections are refused) and open
//! connections are dropped; leaving that mode binds the same port again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::proto::lightning_server::LightningServer;
use crate::service::{macaroon_check, Service};

/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A rustls server config for the node's certificate, offering HTTP/2 only (gRPC).
pub(crate) fn tls_acceptor(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Everything one connection needs.
#[derive(Clone)]
pub(crate) struct Serve {
    pub(crate) tls: TlsAcceptor,
    pub(crate) service: Service,
    pub(crate) macaroon_hex: Arc<str>,
}

/// Accepts connections on `listener` until `down` says so, then waits for `down` to clear
/// and binds `addr` again. Ends when the sender of `down` is dropped.
pub(crate) async fn run(
    listener: TcpListener,
    addr: SocketAddr,
    serve: Serve,
    mut down: watch::Receiver<bool>,
) {
    let mut listener = Some(listener);
    let mut connections = JoinSet::new();
    loop {
        if *down.borrow_and_update() {
            listener = None;
            connections.abort_all();
            if down.changed().await.is_err() {
                return;
            }
            continue;
        }
        let current = match &listener {
            Some(l) => l,
            None => match TcpListener::bind(addr).await {
                Ok(l) => listener.insert(l),
                Err(_) => {
                    // The port may linger for a moment after close: try again shortly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        tokio::select! {
            accepted = current.accept() => {
                if let Ok((tcp, _)) = accepted {
                    connections.spawn(connection(tcp, serve.clone()));
                }
            }
            changed = down.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// TLS handshake, then gRPC over HTTP/2 until the client goes away.
async fn connection(tcp: TcpStream, serve: Serve) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, serve.tls.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        _ => return,
    };
    let grpc = LightningServer::with_interceptor(serve.service, macaroon_check(serve.macaroon_hex));
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(grpc))
        .await;
}
