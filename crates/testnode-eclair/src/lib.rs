//! A protocol-faithful Eclair API test server for the `l402-eclair` tests (Eclair itself cannot
//! be installed here); it follows Eclair's API docs (`/createinvoice`, `/getreceivedinfo`). **Test-only**: no node, no channels, no payments.
//!
//! It speaks Eclair's HTTP API as the L402 backend uses it ([`mod@api`]): `POST /createinvoice`
//! and `POST /getreceivedinfo` with form-encoded parameters, HTTP Basic auth (empty user, the
//! API password; anything else is 401), Eclair's JSON reply shapes, and real signed regtest
//! BOLT11 invoices (random node key, random preimage per invoice).
//!
//! Tests steer it through [`TestNode`] (or [`PeerControl`], for the shared conformance suite):
//! [`Mode::Normal`], [`Mode::Slow`] (answers after a delay), [`Mode::Down`] (listener and
//! every open connection closed: connections are refused), [`Mode::Garbage`] (unparsable
//! invoice, wrong payment hash or wrong preimage, non-JSON body), [`Mode::WrongAmount`], and
//! [`TestNode::settle`] marks an invoice received. The `testnode-eclair` binary exposes the same
//! controls on a second port ([`control`]). Listens on 127.0.0.1 only.

pub mod api;
pub mod control;
mod hex;
mod invoices;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
pub use l402_backend::conformance::{GarbageKind, Mode, PeerControl};
use l402_backend::{BoxFuture, Invoice};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

use crate::invoices::Invoices;

pub use hex::encode as hex_encode;

/// State shared by the API server, the control server and [`TestNode`].
pub(crate) struct Inner {
    pub(crate) password: String,
    invoices: Mutex<Invoices>,
    mode: Mutex<Mode>,
    net: Mutex<Net>,
}

/// The API listener's tasks, so that [`Mode::Down`] can close everything.
#[derive(Default)]
struct Net {
    accept: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

impl Net {
    /// Aborts the listener and every connection; the returned tasks end once their sockets
    /// are closed.
    fn close_all(&mut self) -> Vec<JoinHandle<()>> {
        let tasks: Vec<JoinHandle<()>> = self
            .accept
            .take()
            .into_iter()
            .chain(self.connections.drain(..))
            .collect();
        for t in &tasks {
            t.abort();
        }
        tasks
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn mode(&self) -> Mode {
        *lock(&self.mode)
    }

    pub(crate) fn invoices(&self) -> MutexGuard<'_, Invoices> {
        lock(&self.invoices)
    }
}

/// Binds 127.0.0.1:`port` (0: any free port) with SO_REUSEADDR, so the port can be bound again
/// right after [`Mode::Down`].
fn bind(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(128)
}

/// Accepts API connections until aborted; each connection is its own task, registered so
/// that [`Mode::Down`] can close it.
fn spawn_accept_loop(inner: &Arc<Inner>, listener: TcpListener) {
    let task_inner = Arc::clone(inner);
    let accept = tokio::spawn(async move {
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                continue;
            };
            let conn_inner = Arc::clone(&task_inner);
            let conn = tokio::spawn(async move {
                let service = service_fn(move |req| api::handle(Arc::clone(&conn_inner), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            let mut net = lock(&task_inner.net);
            net.connections.retain(|c| !c.is_finished());
            net.connections.push(conn);
        }
    });
    lock(&inner.net).accept = Some(accept);
}

/// A running test node (a cheap, cloneable handle). The server runs on the runtime it was
/// started on until that runtime shuts down or [`TestNode::shutdown`] is called.
#[derive(Clone)]
pub struct TestNode {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl TestNode {
    /// Starts the API server on 127.0.0.1 on a free port. Needs a tokio runtime.
    pub async fn start(password: &str) -> io::Result<TestNode> {
        TestNode::start_on(0, password).await
    }

    /// Starts the API server on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(port: u16, password: &str) -> io::Result<TestNode> {
        let invoices = Invoices::generate().map_err(io::Error::other)?;
        let inner = Arc::new(Inner {
            password: password.to_owned(),
            invoices: Mutex::new(invoices),
            mode: Mutex::new(Mode::Normal),
            net: Mutex::new(Net::default()),
        });
        let listener = bind(port)?;
        let addr = listener.local_addr()?;
        spawn_accept_loop(&inner, listener);
        Ok(TestNode { inner, addr })
    }

    /// The API address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port`, as an Eclair address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The node id (compressed public key) that signs the invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.inner.invoices().node_id()
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.inner.mode()
    }

    /// Switches the mode. Entering [`Mode::Down`] closes the listener and every open connection;
    /// leaving it binds the same port again (retrying for up to a second).
    pub async fn set_mode(&self, mode: Mode) -> io::Result<()> {
        let was_down = {
            let mut current = lock(&self.inner.mode);
            let was = *current == Mode::Down;
            *current = mode;
            was
        };
        match (was_down, mode == Mode::Down) {
            (false, true) => {
                // Wait until the sockets are really closed: after this returns, connecting
                // is refused.
                let tasks = lock(&self.inner.net).close_all();
                for t in tasks {
                    let _ = t.await;
                }
            }
            (true, false) => {
                let mut last = None;
                for _ in 0..50 {
                    match bind(self.addr.port()) {
                        Ok(listener) => {
                            spawn_accept_loop(&self.inner, listener);
                            return Ok(());
                        }
                        Err(e) => last = Some(e),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if let Some(e) = last {
                    return Err(e);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Marks the invoice (BOLT11 string or hex payment hash) received; returns its preimage.
    pub fn settle(&self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        self.inner.invoices().settle(bolt11_or_hash)
    }

    /// Serves the control endpoint ([`control`]) on 127.0.0.1:`port` (0: a free port) until
    /// the returned task is aborted; returns its address.
    pub async fn serve_control(
        &self,
        port: u16,
    ) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        control::serve(self.clone(), port).await
    }

    /// Stops the API server and closes its connections (like [`Mode::Down`], for good unless
    /// the mode is set again).
    pub fn shutdown(&self) {
        *lock(&self.inner.mode) = Mode::Down;
        // Aborted tasks close their sockets as soon as the runtime drops them.
        drop(lock(&self.inner.net).close_all());
    }
}

impl PeerControl for TestNode {
    fn set_mode(&self, mode: Mode) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A failed rebind shows as the next check failing (connection refused).
            let _ = TestNode::set_mode(self, mode).await;
        })
    }

    fn settle(&self, invoice: Invoice) -> BoxFuture<'_, Result<[u8; 32], String>> {
        let got = TestNode::settle(self, &invoice.text);
        Box::pin(async move { got })
    }
}
