//! A test server speaking Core Lightning's JSON-RPC on a unix socket, for testing the CLN
//! and BOLT12 backends without lightningd (which cannot be installed here). **Not a
//! Lightning node**: nothing is routed or paid; "paying" is [`NodeHandle::settle`].
//!
//! - Methods, with CLN's request/response shapes (`doc/schemas`) and error codes:
//!   `getinfo`, `invoice` (real signed regtest BOLT11 via lightning-invoice, random node
//!   key, random preimage per invoice, code 900 on a duplicate label), `listinvoices`,
//!   `fetchinvoice` (BOLT12 invoices for the node's own offer, real encoding and BIP-340
//!   signature but no blinded paths: see [`mod@bolt12`]), `decode`.
//! - Fault modes ([`Mode`]): slow, garbage of several kinds, JSON-RPC errors, down.
//! - Control: this crate's API, or the binary's HTTP endpoint ([`control`]).

pub mod bolt11;
pub mod bolt12;
pub mod control;
mod keys;
pub mod methods;
mod mode;
mod server;
mod store;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use methods::{RpcFail, INVALID_PARAMS, LABEL_ALREADY_EXISTS, METHOD_NOT_FOUND};
pub use mode::{GarbageKind, Mode};

/// A cheap, clonable handle on a running test node: controls and inspection.
#[derive(Clone)]
pub struct NodeHandle {
    node: Arc<methods::Node>,
    modes: Arc<watch::Sender<Mode>>,
    socket: Arc<PathBuf>,
}

impl NodeHandle {
    /// Sets how the node answers from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        self.modes.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.modes.borrow().clone()
    }

    /// Marks paid the invoice with this BOLT11 / BOLT12 string or hex payment hash and
    /// returns its preimage; `None` if unknown or expired unpaid.
    pub fn settle(&self, invoice_or_hash: &str) -> Option<[u8; 32]> {
        self.node.settle(invoice_or_hash)
    }

    /// The node's BOLT12 offer (`lno1…`, amount any).
    pub fn offer(&self) -> String {
        self.node.offer.clone()
    }

    /// The node id (compressed public key) that signs its invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.node.key.id.serialize()
    }

    /// The socket path.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Number of connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.node
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of invoices issued so far.
    pub fn invoice_count(&self) -> usize {
        self.node.invoice_count()
    }

    /// Serves the HTTP control endpoint ([`control`]) on `listener` in a new task.
    pub fn serve_control(&self, listener: tokio::net::TcpListener) -> JoinHandle<()> {
        tokio::spawn(control::serve(listener, self.clone()))
    }
}

/// A running test node. Dropping it stops accepting and removes the socket file.
pub struct TestNode {
    handle: NodeHandle,
    accept: JoinHandle<()>,
}

impl TestNode {
    /// Binds `socket` (replacing a stale file) and serves on the current tokio runtime.
    pub async fn start(socket: impl Into<PathBuf>) -> io::Result<TestNode> {
        let socket = socket.into();
        let listener = server::bind(&socket)?;
        let node = Arc::new(methods::Node::new());
        let (tx, rx) = watch::channel(Mode::Normal);
        let accept = tokio::spawn(server::accept_loop(
            Arc::clone(&node),
            socket.clone(),
            Some(listener),
            rx,
        ));
        Ok(TestNode {
            handle: NodeHandle {
                node,
                modes: Arc::new(tx),
                socket: Arc::new(socket),
            },
            accept,
        })
    }

    /// A clonable handle on this node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for TestNode {
    type Target = NodeHandle;

    fn deref(&self) -> &NodeHandle {
        &self.handle
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.handle.set_mode(Mode::Down);
        self.accept.abort();
        let _ = std::fs::remove_file(self.handle.socket_path());
    }
}
