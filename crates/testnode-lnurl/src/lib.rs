//! A protocol-faithful LNURL-pay / Lightning Address test server (LUD-06, LUD-16, LUD-21,
//! LUD-12 comments) for the `l402-lnurl` tests. **Test-only**: no node, no payments.
//!
//! It serves the payRequest document, the callback issuing real signed regtest BOLT11 invoices
//! (random node key, random preimage per invoice, description hash = SHA-256 of the metadata
//! as served) and the LUD-21 verify URL ([`mod@lnurl`]), over plain HTTP or over HTTPS with a
//! throwaway CA generated at start ([`TestNode::start_tls`], [`TestNode::ca_pem`]). HTTP/1.1
//! with keep-alive, on 127.0.0.1 only.
//!
//! Tests steer it through [`TestNode`] (or [`PeerControl`], for the shared conformance suite):
//! the conformance [`Mode`]s (global) and the LNURL [`Fault`]s (global or per user), the
//! payRequest limits ([`PayParams`]), [`TestNode::settle`]; they read [`Counters`] and the
//! issued invoices ([`IssuedInvoice`]). The `testnode-lnurl` binary exposes the same controls
//! on a second port ([`control`]).
//!
//! The conformance modes map to LNURL as follows: [`Mode::Slow`] delays every reply;
//! [`Mode::Down`] closes the listener and every open connection (connections are refused);
//! [`GarbageKind::Unparsable`]: the callback's `pr` is not a valid invoice;
//! [`GarbageKind::WrongHash`]: the callback's `verify` URL names another (unknown) payment
//! hash, and verify reports a preimage that does not hash to the invoice's payment hash;
//! [`GarbageKind::NotJson`]: every LNURL endpoint answers HTML; [`Mode::WrongAmount`]: the
//! invoice is for 1000 msat more than requested.

mod body;
pub mod control;
mod fault;
mod hex;
mod invoices;
pub mod lnurl;
mod tls;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
pub use l402_backend::conformance::{GarbageKind, Mode, PeerControl};
use l402_backend::{BoxFuture, Invoice};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

pub use crate::body::DRIP_INTERVAL;
use crate::fault::Endpoint;
pub use crate::fault::{Fault, Target, HUGE_BODY_PADDING};
pub use crate::hex::encode as hex_encode;
use crate::invoices::Invoices;
pub use crate::invoices::{IssuedInvoice, INVOICE_EXPIRY_SECS};
use crate::tls::Tls;

/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The payRequest limits (LUD-06 `minSendable`, `maxSendable`; LUD-12 `commentAllowed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayParams {
    pub min_sendable: u64,
    pub max_sendable: u64,
    pub comment_allowed: u64,
}

impl Default for PayParams {
    /// 1 sat to 1 000 000 sat, comments up to 255 characters.
    fn default() -> PayParams {
        PayParams {
            min_sendable: 1_000,
            max_sendable: 1_000_000_000,
            comment_allowed: 255,
        }
    }
}

/// What the server has seen since start or the last [`TestNode::reset_counters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// TCP connections accepted on the LNURL port.
    pub connections: u64,
    /// TLS handshakes completed (0 over plain HTTP).
    pub tls_handshakes: u64,
    /// payRequest documents requested (either path, redirected ones included).
    pub pay_request: u64,
    /// Callback requests.
    pub callback: u64,
    /// LUD-21 verify requests.
    pub verify: u64,
}

#[derive(Default)]
struct AtomicCounters {
    connections: AtomicU64,
    tls_handshakes: AtomicU64,
    pay_request: AtomicU64,
    callback: AtomicU64,
    verify: AtomicU64,
}

impl AtomicCounters {
    fn all(&self) -> [&AtomicU64; 5] {
        [
            &self.connections,
            &self.tls_handshakes,
            &self.pay_request,
            &self.callback,
            &self.verify,
        ]
    }
}

/// The global fault and the per-user ones (which win).
#[derive(Default)]
struct Faults {
    global: Fault,
    per_user: HashMap<String, Fault>,
}

/// State shared by the LNURL server, the control server and [`TestNode`].
pub(crate) struct Inner {
    addr: SocketAddr,
    tls: Option<Tls>,
    invoices: Mutex<Invoices>,
    mode: Mutex<Mode>,
    faults: Mutex<Faults>,
    params: Mutex<PayParams>,
    counters: AtomicCounters,
    net: Mutex<Net>,
}

/// The listener's tasks, so that [`Mode::Down`] can close everything.
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

    pub(crate) fn params(&self) -> PayParams {
        *lock(&self.params)
    }

    pub(crate) fn fault_for(&self, user: &str) -> Fault {
        let faults = lock(&self.faults);
        faults.per_user.get(user).copied().unwrap_or(faults.global)
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn authority(&self) -> String {
        self.addr.to_string()
    }

    pub(crate) fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// The base URL of the "other host" faults: same scheme and port on 127.0.0.2.
    pub(crate) fn other_base_url(&self) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            lnurl::OTHER_HOST,
            self.addr.port()
        )
    }

    pub(crate) fn count(&self, endpoint: Endpoint) {
        let c = match endpoint {
            Endpoint::PayRequest => &self.counters.pay_request,
            Endpoint::Callback => &self.counters.callback,
            Endpoint::Verify => &self.counters.verify,
        };
        c.fetch_add(1, Ordering::Relaxed);
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

/// Serves HTTP/1.1 (keep-alive) on one connection.
async fn serve_http<S>(inner: Arc<Inner>, io: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| lnurl::handle(Arc::clone(&inner), req));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Accepts connections until aborted; each connection is its own task, registered so that
/// [`Mode::Down`] can close it.
fn spawn_accept_loop(inner: &Arc<Inner>, listener: TcpListener) {
    let task_inner = Arc::clone(inner);
    let accept = tokio::spawn(async move {
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                continue;
            };
            task_inner
                .counters
                .connections
                .fetch_add(1, Ordering::Relaxed);
            let conn_inner = Arc::clone(&task_inner);
            let conn = tokio::spawn(async move {
                let Some(tls) = conn_inner.tls.clone() else {
                    return serve_http(conn_inner, stream).await;
                };
                let handshake =
                    tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream));
                if let Ok(Ok(stream)) = handshake.await {
                    conn_inner
                        .counters
                        .tls_handshakes
                        .fetch_add(1, Ordering::Relaxed);
                    serve_http(conn_inner, stream).await;
                }
            });
            let mut net = lock(&task_inner.net);
            net.connections.retain(|c| !c.is_finished());
            net.connections.push(conn);
        }
    });
    lock(&inner.net).accept = Some(accept);
}

/// The LUD-01 `lnurl1…` string of `url` (bech32, HRP `lnurl`, lowercase).
pub fn encode_lnurl(url: &str) -> String {
    let hrp = bech32::Hrp::parse_unchecked("lnurl");
    // Only fails past bech32's 1023-character limit, which no URL of this server reaches.
    bech32::encode_lower::<bech32::Bech32>(hrp, url.as_bytes()).unwrap_or_default()
}

/// A running LNURL server (a cheap, cloneable handle). It runs on the runtime it was started
/// on until that runtime shuts down or [`TestNode::shutdown`] is called.
#[derive(Clone)]
pub struct TestNode {
    inner: Arc<Inner>,
}

impl TestNode {
    /// Starts a plain-HTTP server on 127.0.0.1 on a free port. Needs a tokio runtime.
    pub async fn start() -> io::Result<TestNode> {
        TestNode::start_on(0, false).await
    }

    /// Starts an HTTPS server (fresh throwaway CA, see [`TestNode::ca_pem`]) on a free port.
    pub async fn start_tls() -> io::Result<TestNode> {
        TestNode::start_on(0, true).await
    }

    /// Starts on 127.0.0.1:`port` (0: a free port), over HTTPS when `tls`.
    pub async fn start_on(port: u16, tls: bool) -> io::Result<TestNode> {
        let invoices = Invoices::generate().map_err(io::Error::other)?;
        let tls = if tls {
            Some(Tls::generate().map_err(io::Error::other)?)
        } else {
            None
        };
        let listener = bind(port)?;
        let inner = Arc::new(Inner {
            addr: listener.local_addr()?,
            tls,
            invoices: Mutex::new(invoices),
            mode: Mutex::new(Mode::Normal),
            faults: Mutex::new(Faults::default()),
            params: Mutex::new(PayParams::default()),
            counters: AtomicCounters::default(),
            net: Mutex::new(Net::default()),
        });
        spawn_accept_loop(&inner, listener);
        Ok(TestNode { inner })
    }

    /// The listening address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `https://127.0.0.1:port` or `http://127.0.0.1:port`, the base of every URL it serves.
    pub fn base_url(&self) -> String {
        self.inner.base_url()
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.inner.tls.is_some()
    }

    /// The PEM of the throwaway CA that signed the server certificate (HTTPS only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.inner.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// Writes [`TestNode::ca_pem`] to `dir/ca.pem` (creating `dir`); returns the file's path.
    pub fn write_ca_pem(&self, dir: &Path) -> io::Result<PathBuf> {
        let pem = self
            .ca_pem()
            .ok_or_else(|| io::Error::other("the server does not serve HTTPS"))?;
        std::fs::create_dir_all(dir)?;
        let path = dir.join("ca.pem");
        std::fs::write(&path, pem)?;
        Ok(path)
    }

    /// The Lightning Address of `user`: `<user>@127.0.0.1:<port>`.
    pub fn lightning_address(&self, user: &str) -> String {
        format!("{user}@{}", self.inner.authority())
    }

    /// The LUD-16 URL of `user`: `<base>/.well-known/lnurlp/<user>`.
    pub fn well_known_url(&self, user: &str) -> String {
        format!("{}/.well-known/lnurlp/{user}", self.base_url())
    }

    /// The plain LNURL-pay URL of `user` (LUD-06; what an `lnurl1…` string encodes):
    /// `<base>/lnurlp/<user>`.
    pub fn lnurlp_url(&self, user: &str) -> String {
        format!("{}/lnurlp/{user}", self.base_url())
    }

    /// The LUD-01 bech32 form of [`TestNode::lnurlp_url`]: `lnurl1…` (lowercase; the HRP is
    /// `lnurl`, the data the URL's UTF-8 bytes).
    pub fn lnurl_bech32(&self, user: &str) -> String {
        encode_lnurl(&self.lnurlp_url(user))
    }

    /// The metadata string served for `user` (its SHA-256 is the invoices' description hash).
    pub fn metadata(&self, user: &str) -> String {
        lnurl::metadata(user, &self.inner.authority())
    }

    /// The node id (compressed public key) that signs the invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.inner.invoices().node_id()
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.inner.mode()
    }

    /// Switches the mode (for every user). Entering [`Mode::Down`] closes the listener and
    /// every open connection; leaving it binds the same port again (retrying for up to a
    /// second).
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
                    match bind(self.inner.addr.port()) {
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

    /// The global fault.
    pub fn fault(&self) -> Fault {
        lock(&self.inner.faults).global
    }

    /// Sets the global fault (users with their own fault keep it).
    pub fn set_fault(&self, fault: Fault) {
        lock(&self.inner.faults).global = fault;
    }

    /// The fault that applies to `user` (its own, else the global one).
    pub fn fault_for(&self, user: &str) -> Fault {
        self.inner.fault_for(user)
    }

    /// Gives `user` its own fault (`Some(Fault::None)`: behaves even under a global fault), or
    /// removes it (`None`: the global fault applies).
    pub fn set_user_fault(&self, user: &str, fault: Option<Fault>) {
        let mut faults = lock(&self.inner.faults);
        match fault {
            Some(f) => faults.per_user.insert(user.to_owned(), f),
            None => faults.per_user.remove(user),
        };
    }

    /// The per-user faults, sorted by user.
    pub fn user_faults(&self) -> Vec<(String, Fault)> {
        let mut all: Vec<(String, Fault)> = lock(&self.inner.faults)
            .per_user
            .iter()
            .map(|(u, f)| (u.clone(), *f))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Clears the global fault and every per-user one.
    pub fn clear_faults(&self) {
        *lock(&self.inner.faults) = Faults::default();
    }

    /// The payRequest limits.
    pub fn params(&self) -> PayParams {
        self.inner.params()
    }

    /// Sets the payRequest limits (for every user; no check that min <= max, so a test can
    /// serve an inconsistent range).
    pub fn set_params(&self, params: PayParams) {
        *lock(&self.inner.params) = params;
    }

    /// Marks the invoice (BOLT11 string or hex payment hash) paid; returns its preimage.
    pub fn settle(&self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        self.inner.invoices().settle(bolt11_or_hash)
    }

    /// The invoices issued for `user` (every user when None), oldest first.
    pub fn invoices(&self, user: Option<&str>) -> Vec<IssuedInvoice> {
        self.inner.invoices().list(user)
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        let c = &self.inner.counters;
        Counters {
            connections: c.connections.load(Ordering::Relaxed),
            tls_handshakes: c.tls_handshakes.load(Ordering::Relaxed),
            pay_request: c.pay_request.load(Ordering::Relaxed),
            callback: c.callback.load(Ordering::Relaxed),
            verify: c.verify.load(Ordering::Relaxed),
        }
    }

    /// Sets every counter to 0.
    pub fn reset_counters(&self) {
        for c in self.inner.counters.all() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Back to the start state except for the invoices and the key: [`Mode::Normal`] (rebinding
    /// after Down), no fault, default [`PayParams`], counters 0.
    pub async fn reset(&self) -> io::Result<()> {
        self.clear_faults();
        self.set_params(PayParams::default());
        let rebound = self.set_mode(Mode::Normal).await;
        self.reset_counters();
        rebound
    }

    /// Serves the control endpoint ([`control`]) on 127.0.0.1:`port` (0: a free port) until
    /// the returned task is aborted; returns its address.
    pub async fn serve_control(&self, port: u16) -> io::Result<(SocketAddr, JoinHandle<()>)> {
        control::serve(self.clone(), port).await
    }

    /// Stops the server and closes its connections (like [`Mode::Down`], for good unless the
    /// mode is set again).
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
        // By payment hash first: under a garbage mode the text may not be an invoice.
        let got = TestNode::settle(self, &hex::encode(&invoice.payment_hash))
            .or_else(|_| TestNode::settle(self, &invoice.text));
        Box::pin(async move { got })
    }
}
