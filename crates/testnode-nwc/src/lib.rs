//! A NIP-47 wallet service for the `l402-nwc` tests. **Test-only**: no node, no channels, no
//! payments.
//!
//! It connects to a Nostr relay with a fresh wallet key, publishes its info event (kind 13194:
//! content `make_invoice lookup_invoice`, `encryption` tag per [`WalletEncryption`]),
//! subscribes to the requests addressed to it (kind 23194, `#p` = wallet) and answers those
//! signed by its client key (the `secret` of [`TestWallet::uri`]): `make_invoice` with real
//! signed regtest BOLT11 invoices (random node key, random preimage) and `lookup_invoice` from
//! its store. It reconnects when the relay drops.
//!
//! Tests steer it through [`TestWallet::set_behaviour`] (or [`PeerControl`], for the shared
//! conformance suite): [`Behaviour::Normal`], `Slow` (answers after a delay), `Offline` (closes
//! its relay connection and stays away), `Garbage` (unparsable invoice, wrong payment hash or
//! preimage, non-JSON content), `WrongAmount`, `Error(code)` (a NIP-47 error reply) and
//! `WrongSigner` (responses signed by another key), `Silent` (no reply), `BadSignature`,
//! `WrongRequest` (another `e` tag), `Undecryptable` and `NoPreimage`. [`TestWallet::settle`]
//! marks an invoice paid. The `testnode-nwc` binary exposes the same controls over HTTP ([`control`]).

pub mod control;
mod hex;
pub mod invoices;
pub mod relay;
mod service;

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use l402_backend::conformance::{GarbageKind, Mode, PeerControl};
use l402_backend::{BoxFuture, Invoice};
use nostr::prelude::Keys;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use hex::encode as hex_encode;
pub use invoices::Entry;
use invoices::Invoices;

/// Which encryptions the wallet offers (its info event's `encryption` tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletEncryption {
    /// `nip44_v2` only.
    Nip44,
    /// `nip04` only (the tag says `nip04`).
    Nip04,
    /// `nip44_v2 nip04`.
    Both,
}

impl WalletEncryption {
    /// `nip44`, `nip04` or `both`.
    pub fn parse(text: &str) -> Option<WalletEncryption> {
        match text {
            "nip44" | "nip44_v2" => Some(WalletEncryption::Nip44),
            "nip04" => Some(WalletEncryption::Nip04),
            "both" => Some(WalletEncryption::Both),
            _ => None,
        }
    }
}

/// How the wallet answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Correctly.
    Normal,
    /// Correctly, after this delay.
    Slow(Duration),
    /// Not at all: its relay connection is closed until the behaviour changes.
    Offline,
    /// With garbage of this kind.
    Garbage(GarbageKind),
    /// With valid invoices for another amount (+1000 msat).
    WrongAmount,
    /// With this NIP-47 error code (`RATE_LIMITED`, `NOT_FOUND`, …).
    Error(String),
    /// Correctly, but signed by another key (clients must ignore such responses).
    WrongSigner,
    /// Stays connected and reads requests but never answers ("no reply").
    Silent,
    /// Correctly, by the wallet's key, but with a signature that does not verify (NIP-01
    /// `sig`): clients must ignore it. Reaches the client only through a relay that does not
    /// check signatures ([`relay::TestRelay::start_unchecked`]).
    BadSignature,
    /// Correctly, but `e`-tagged with another event id than the request's (NIP-47: the
    /// response's `e` tag is the request id): clients must ignore it.
    WrongRequest,
    /// With content that decrypts with neither NIP-04 nor NIP-44.
    Undecryptable,
    /// Lookups of paid invoices say settled but carry no preimage.
    NoPreimage,
}

impl From<Mode> for Behaviour {
    fn from(mode: Mode) -> Behaviour {
        match mode {
            Mode::Normal => Behaviour::Normal,
            Mode::Slow(d) => Behaviour::Slow(d),
            Mode::Down => Behaviour::Offline,
            Mode::Garbage(k) => Behaviour::Garbage(k),
            Mode::WrongAmount => Behaviour::WrongAmount,
        }
    }
}

/// What the wallet offers.
#[derive(Debug, Clone)]
pub struct WalletOptions {
    /// Encryptions offered.
    pub encryption: WalletEncryption,
    /// Methods listed in the info event and answered (others get `NOT_IMPLEMENTED`).
    pub methods: Vec<String>,
    /// Whether the info event (kind 13194) is published at each connection (false: a wallet
    /// the client cannot find on the relay).
    pub publish_info: bool,
    /// The wallet and client keys, to keep one identity (one URI) across restarts; `None`:
    /// fresh keys.
    pub keys: Option<(Keys, Keys)>,
}

impl Default for WalletOptions {
    fn default() -> WalletOptions {
        WalletOptions {
            encryption: WalletEncryption::Both,
            methods: vec!["make_invoice".to_owned(), "lookup_invoice".to_owned()],
            publish_info: true,
            keys: None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) connects: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) make_invoice: AtomicU64,
    pub(crate) lookup_invoice: AtomicU64,
    pub(crate) replies: AtomicU64,
    pub(crate) nip04: AtomicU64,
    pub(crate) nip44: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
}

/// A snapshot of the wallet's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Relay connections established (1 + reconnections).
    pub connects: u64,
    /// Valid requests from the client key received.
    pub requests: u64,
    /// `make_invoice` requests.
    pub make_invoice: u64,
    /// `lookup_invoice` requests.
    pub lookup_invoice: u64,
    /// Responses sent.
    pub replies: u64,
    /// Requests encrypted with NIP-04.
    pub nip04: u64,
    /// Requests encrypted with NIP-44 v2.
    pub nip44: u64,
    /// Requests signed by another key than the client's (ignored).
    pub unauthorized: u64,
}

impl Counts {
    /// As JSON (the control endpoint's `GET /counters`).
    pub fn to_json(&self) -> Value {
        json!({
            "connects": self.connects,
            "requests": self.requests,
            "make_invoice": self.make_invoice,
            "lookup_invoice": self.lookup_invoice,
            "replies": self.replies,
            "nip04": self.nip04,
            "nip44": self.nip44,
            "unauthorized": self.unauthorized,
        })
    }
}

pub(crate) struct Inner {
    pub(crate) relay: String,
    pub(crate) wallet_keys: Keys,
    pub(crate) client_keys: Keys,
    pub(crate) options: WalletOptions,
    pub(crate) behaviour: watch::Sender<Behaviour>,
    pub(crate) connected: watch::Sender<bool>,
    pub(crate) counters: Counters,
    invoices: Mutex<Invoices>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    pub(crate) fn invoices(&self) -> MutexGuard<'_, Invoices> {
        lock(&self.invoices)
    }
}

/// Aborts the service task when the last [`TestWallet`] handle is dropped (the task holds
/// its own reference to the state, so it would otherwise run until the runtime ends).
struct TaskGuard(Mutex<Option<JoinHandle<()>>>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(t) = lock(&self.0).take() {
            t.abort();
        }
    }
}

/// A running wallet service (a cheap, cloneable handle). It runs on the runtime it was
/// started on until that runtime shuts down or the last handle is dropped.
#[derive(Clone)]
pub struct TestWallet {
    inner: Arc<Inner>,
    task: Arc<TaskGuard>,
}

/// Longest [`TestWallet::start`] and [`TestWallet::set_behaviour`] wait for the relay.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

impl TestWallet {
    /// Connects to `relay` (`ws://…`) with fresh wallet and client keys, offering NIP-44 v2
    /// and NIP-04, and waits until it is subscribed.
    pub async fn start(relay: &str) -> io::Result<TestWallet> {
        TestWallet::start_with(relay, WalletOptions::default()).await
    }

    /// The same with other options.
    pub async fn start_with(relay: &str, options: WalletOptions) -> io::Result<TestWallet> {
        let wallet = TestWallet::spawn(relay, options)?;
        wallet.wait_connected(true).await?;
        Ok(wallet)
    }

    /// Starts the service without waiting for the relay (it keeps trying).
    pub fn spawn(relay: &str, options: WalletOptions) -> io::Result<TestWallet> {
        let invoices = Invoices::generate().map_err(io::Error::other)?;
        let (wallet_keys, client_keys) = options.keys.clone().unwrap_or_else(|| (Keys::generate(), Keys::generate()));
        let inner = Arc::new(Inner {
            relay: relay.to_owned(),
            wallet_keys,
            client_keys,
            options,
            behaviour: watch::Sender::new(Behaviour::Normal),
            connected: watch::Sender::new(false),
            counters: Counters::default(),
            invoices: Mutex::new(invoices),
        });
        let task = tokio::spawn(service::run(Arc::clone(&inner)));
        Ok(TestWallet { inner, task: Arc::new(TaskGuard(Mutex::new(Some(task)))) })
    }

    async fn wait_connected(&self, wanted: bool) -> io::Result<()> {
        let mut rx = self.inner.connected.subscribe();
        let reached = tokio::time::timeout(CONNECT_WAIT, rx.wait_for(|c| *c == wanted))
            .await
            .is_ok_and(|r| r.is_ok());
        match reached {
            true => Ok(()),
            false => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "wallet {} relay {} within {} s",
                    if wanted { "not connected to" } else { "still connected to" },
                    self.inner.relay,
                    CONNECT_WAIT.as_secs()
                ),
            )),
        }
    }

    /// Whether the wallet is connected and subscribed.
    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Waits until the wallet is connected again (after the relay restarted).
    pub async fn wait_until_connected(&self) -> io::Result<()> {
        self.wait_connected(true).await
    }

    /// The wallet's public key, hex.
    pub fn wallet_pubkey_hex(&self) -> String {
        self.inner.wallet_keys.public_key().to_hex()
    }

    /// The client's public key, hex (the one the wallet answers).
    pub fn client_pubkey_hex(&self) -> String {
        self.inner.client_keys.public_key().to_hex()
    }

    /// The relay the wallet uses.
    pub fn relay(&self) -> &str {
        &self.inner.relay
    }

    /// The connection URI for the client: `nostr+walletconnect://<wallet>?relay=…&secret=…`.
    pub fn uri(&self) -> String {
        self.uri_with_relays(&[self.inner.relay.as_str()])
    }

    /// The connection URI listing other relays (in order), e.g. a dead one before the real one.
    pub fn uri_with_relays(&self, relays: &[&str]) -> String {
        let mut uri = format!("nostr+walletconnect://{}?", self.wallet_pubkey_hex());
        for r in relays {
            uri.push_str("relay=");
            uri.extend(form_urlencoded::byte_serialize(r.as_bytes()));
            uri.push('&');
        }
        uri.push_str("secret=");
        uri.push_str(&self.inner.client_keys.secret_key().to_secret_hex());
        uri
    }

    /// The node id (compressed public key) that signs the invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.inner.invoices().node_id()
    }

    /// The current behaviour.
    pub fn behaviour(&self) -> Behaviour {
        self.inner.behaviour.borrow().clone()
    }

    /// Switches the behaviour. Going [`Behaviour::Offline`] returns once the relay connection
    /// is closed; coming back returns once the wallet is subscribed again.
    pub async fn set_behaviour(&self, behaviour: Behaviour) -> io::Result<()> {
        let offline = behaviour == Behaviour::Offline;
        let was_offline = self.inner.behaviour.send_replace(behaviour) == Behaviour::Offline;
        if offline {
            self.wait_connected(false).await
        } else if was_offline {
            self.wait_connected(true).await
        } else {
            Ok(())
        }
    }

    /// Marks the invoice (BOLT11 string or hex payment hash) paid; returns its preimage.
    pub fn settle(&self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        self.inner.invoices().settle(bolt11_or_hash)
    }

    /// Every invoice issued, oldest first.
    pub fn invoices(&self) -> Vec<Entry> {
        self.inner.invoices().list()
    }

    /// The counters.
    pub fn counts(&self) -> Counts {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            connects: get(&c.connects),
            requests: get(&c.requests),
            make_invoice: get(&c.make_invoice),
            lookup_invoice: get(&c.lookup_invoice),
            replies: get(&c.replies),
            nip04: get(&c.nip04),
            nip44: get(&c.nip44),
            unauthorized: get(&c.unauthorized),
        }
    }

    /// Serves the control endpoint ([`control`]) on 127.0.0.1:`port` (0: a free port) until
    /// the returned task is aborted; returns its address.
    pub async fn serve_control(&self, port: u16) -> io::Result<(std::net::SocketAddr, JoinHandle<()>)> {
        control::serve(self.clone(), port).await
    }

    /// Stops the service and closes its relay connection.
    pub fn shutdown(&self) {
        if let Some(t) = lock(&self.task.0).take() {
            t.abort();
        }
    }
}

/// The conformance suite's view. [`Mode::Slow`] is not supported: a wallet slower than the
/// timeout cannot be told from an offline one, and the backend reports both as
/// `Unavailable`, where the suite's check expects `Timeout` (see the l402-nwc tests instead).
impl PeerControl for TestWallet {
    fn set_mode(&self, mode: Mode) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A failure shows as the next check failing.
            let _ = self.set_behaviour(mode.into()).await;
        })
    }

    fn settle(&self, invoice: Invoice) -> BoxFuture<'_, Result<[u8; 32], String>> {
        let got = TestWallet::settle(self, &invoice.text);
        Box::pin(async move { got })
    }

    fn supports(&self, mode: &Mode) -> bool {
        !matches!(mode, Mode::Slow(_))
    }
}
