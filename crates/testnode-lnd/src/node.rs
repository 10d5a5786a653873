//! [`TestNode`]: a running test node and its controls.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::listener::{self, Serve};
use crate::service::{NodeState, Service};
use crate::store::{hash_of, NewInvoice, Store, DEFAULT_CLTV_EXPIRY};
use crate::{files, Mode};

/// A test node speaking LND's gRPC on 127.0.0.1. Stops when dropped.
pub struct TestNode {
    state: Arc<NodeState>,
    grpc_addr: SocketAddr,
    cert_path: PathBuf,
    macaroon_path: PathBuf,
    macaroon_hex: String,
    down: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for TestNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNode")
            .field("grpc_addr", &self.grpc_addr)
            .field("cert_path", &self.cert_path)
            .field("macaroon_path", &self.macaroon_path)
            .finish_non_exhaustive()
    }
}

impl TestNode {
    /// Writes `tls.cert`, `tls.key` and `admin.macaroon` into `dir` and serves gRPC on
    /// 127.0.0.1:`grpc_port` (0 = any free port). Must run inside a tokio runtime.
    pub async fn start(dir: &Path, grpc_port: u16) -> io::Result<TestNode> {
        let creds = files::write(dir)?;
        let store = Store::new().map_err(io::Error::other)?;
        let state = Arc::new(NodeState {
            store: Mutex::new(store),
            mode: Mutex::new(Mode::Normal),
        });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, grpc_port)).await?;
        let grpc_addr = listener.local_addr()?;
        let serve = Serve {
            tls: listener::tls_acceptor(creds.cert, creds.key).map_err(io::Error::other)?,
            service: Service {
                state: Arc::clone(&state),
            },
            macaroon_hex: Arc::from(creds.macaroon_hex.as_str()),
        };
        let (down, down_rx) = watch::channel(false);
        let task = tokio::spawn(listener::run(listener, grpc_addr, serve, down_rx));
        Ok(TestNode {
            state,
            grpc_addr,
            cert_path: creds.cert_path,
            macaroon_path: creds.macaroon_path,
            macaroon_hex: creds.macaroon_hex,
            down,
            tasks: Mutex::new(vec![task]),
        })
    }

    /// Where gRPC is served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// `127.0.0.1:port`, as an LND address setting.
    pub fn address(&self) -> String {
        self.grpc_addr.to_string()
    }

    /// The node's self-signed certificate (PEM).
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The node's binary macaroon.
    pub fn macaroon_path(&self) -> &Path {
        &self.macaroon_path
    }

    /// Hex of the macaroon, as clients send it in the `macaroon` metadata.
    pub fn macaroon_hex(&self) -> &str {
        &self.macaroon_hex
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.state.mode()
    }

    /// Switches the mode; [`Mode::Down`] closes the listener and drops connections at once,
    /// any other mode reopens it.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
        self.down.send_replace(mode == Mode::Down);
    }

    /// Issues an invoice directly, as `AddInvoice` would (whatever the mode), and returns
    /// its BOLT11 string: for tests that need an invoice without a gRPC client.
    pub fn add_invoice(
        &self,
        value_msat: u64,
        memo: &str,
        expiry_secs: u64,
    ) -> Result<String, String> {
        let new = NewInvoice {
            value_msat,
            memo: memo.to_owned(),
            description_hash: None,
            expiry: expiry_secs,
            cltv_expiry: DEFAULT_CLTV_EXPIRY,
        };
        Ok(self.state.store().add(&new, value_msat)?.payment_request)
    }

    /// Settles ("pays") the invoice named by a BOLT11 string or a hex payment hash and
    /// returns its preimage.
    pub fn settle(&self, invoice_or_hash: &str) -> Result<[u8; 32], String> {
        let hash = hash_of(invoice_or_hash)?;
        self.state.store().settle(&hash)
    }

    /// Cancels the invoice named by a BOLT11 string or a hex payment hash.
    pub fn cancel(&self, invoice_or_hash: &str) -> Result<(), String> {
        let hash = hash_of(invoice_or_hash)?;
        self.state.store().cancel(&hash)
    }

    /// Number of invoices issued so far.
    pub fn invoice_count(&self) -> usize {
        self.state.store().count()
    }

    /// The node's public key, hex (the payee of its invoices).
    pub fn node_id(&self) -> String {
        self.state.store().node_id().to_string()
    }

    /// Serves the plain-HTTP control API (see [`crate::control`]) on
    /// 127.0.0.1:`port` (0 = any free port); returns its address.
    pub async fn serve_control(self: &Arc<Self>, port: u16) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(crate::control::run(listener, Arc::downgrade(self)));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
        Ok(addr)
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}
