//! The relay client: one WebSocket connection to one relay at a time (NIP-01), kept open by a
//! background task that reconnects with backoff and tries the fallback relays in turn.
//!
//! At each connection, before any request is accepted, the task fetches the wallet's info
//! event (kind 13194; the subscription stays open, so a wallet that publishes it again, as it
//! does when it comes back, is noticed) and opens one long-lived subscription for the
//! responses addressed to us (kind 23195, `#p` = our key), waiting for its `EOSE`. Calls then
//! publish a request (`["EVENT", …]`), wait for the relay's `OK` and for the response whose
//! `e` tag names the request. A response is delivered only if it is a kind 23195 event by the
//! wallet, `p`-tagged to us, with a valid id and signature; anything else is counted as ignored.
//!
//! Reconnecting: after a failure the task waits (backoff from [`MIN_BACKOFF`] doubling to
//! [`MAX_BACKOFF`]) and tries the next relay. A call that finds the connection down does not
//! wait for the backoff: it wakes the task for an attempt now and waits for it, at most
//! [`RECONNECT_WAIT`] (and its own deadline); when every relay failed less than [`RETRY_GAP`]
//! ago it fails at once instead, so a relay that is down costs calls no time.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use l402_backend::BackendError;
use nostr::prelude::{Event, EventId, Keys, Kind};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::config::{NwcConfig, RelayUrl};
use crate::nip47::{excerpt, WalletInfo, KIND_INFO, KIND_RESPONSE};
use crate::NAME;

/// Largest WebSocket message (and frame) read from a relay, in bytes. A NIP-47 reply with an
/// invoice is a few KiB.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// First reconnect delay; doubles after every failed attempt up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest reconnect delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest time a call waits for the reconnection it asked for.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(1);
/// After every relay failed, calls fail at once for this long rather than ask for an attempt.
pub const RETRY_GAP: Duration = Duration::from_millis(250);

/// Shortest time allowed for connecting to a relay (TCP, TLS, WebSocket, info, subscription),
/// whatever the call timeout.
const MIN_CONNECT_TIME: Duration = Duration::from_secs(2);
/// Ping period; a relay silent for three periods is considered gone.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Requests queued for sending at most.
const QUEUE: usize = 64;
/// Accepted skew between the wallet's clock and ours for responses (subscription `since`).
const RESPONSE_SINCE_SLACK_SECS: u64 = 600;

const SUB_INFO: &str = "nwc-info";
const SUB_RESPONSES: &str = "nwc-resp";

/// State of the relay connection, for calls and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not started.
    Idle,
    /// Trying `relay`, never connected since the start.
    Connecting {
        /// The relay being tried.
        relay: String,
    },
    /// Connected and subscribed.
    Up {
        /// The relay in use.
        relay: String,
    },
    /// The last attempt (or the connection) to `relay` failed; reconnecting.
    Down {
        /// The relay that failed last.
        relay: String,
        /// Why.
        cause: String,
    },
    /// Stopped by [`Relay::stop`].
    Stopped,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Ws = WebSocketStream<Box<dyn Io>>;

/// What a pending call waits for.
struct Waiter {
    ok: Option<oneshot::Sender<(bool, String)>>,
    reply: Option<oneshot::Sender<Event>>,
}

/// The current connection: where to send frames and who waits for what. Cleared (dropping
/// every waiter's sender) when the connection ends.
#[derive(Default)]
struct Conn {
    out: Option<mpsc::Sender<String>>,
    waiters: HashMap<EventId, Waiter>,
}

struct Shared {
    config: NwcConfig,
    keys: Keys,
    tls: Arc<ClientConfig>,
    link: watch::Sender<Link>,
    stop: watch::Sender<bool>,
    conn: Mutex<Conn>,
    /// The wallet's info and its event's `created_at` (0: none found).
    info: Mutex<Option<(WalletInfo, u64)>>,
    ignored: AtomicU64,
    connects: AtomicU64,
    /// Info events the wallet published while we were connected.
    announced: AtomicU64,
    /// Wakes the task out of its backoff: a call wants a connection now.
    kick: Notify,
    /// When the last round through every relay ended with all of them failing (reset by a
    /// connection).
    round_failed_at: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(cause: impl Into<String>) -> BackendError {
    BackendError::Unavailable { backend: NAME, cause: cause.into() }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The connection manager of one backend.
pub struct Relay {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Relay {
    /// Prepares the client; opens nothing.
    pub fn new(config: NwcConfig, keys: Keys, tls: Arc<ClientConfig>) -> Relay {
        Relay {
            shared: Arc::new(Shared {
                config,
                keys,
                tls,
                link: watch::Sender::new(Link::Idle),
                stop: watch::Sender::new(false),
                conn: Mutex::new(Conn::default()),
                info: Mutex::new(None),
                ignored: AtomicU64::new(0),
                connects: AtomicU64::new(0),
                announced: AtomicU64::new(0),
                kick: Notify::new(),
                round_failed_at: Mutex::new(None),
            }),
            task: Mutex::new(None),
        }
    }

    /// Spawns the connection task on the current tokio runtime unless it runs already.
    pub fn ensure_running(&self) {
        let mut task = lock(&self.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.shared.stop.send_replace(false);
        let first = self.shared.config.relays().first().map(RelayUrl::shown).unwrap_or_default();
        self.shared.link.send_replace(Link::Connecting { relay: first });
        *task = Some(tokio::spawn(run(Arc::clone(&self.shared))));
    }

    /// Returns once connected, or fails, naming the relay and the cause:
    /// - connected: at once;
    /// - not started, or never connected yet: starts the task if needed and waits for the
    ///   first connection until `deadline`, or until every relay failed once;
    /// - down (or never connected), and every relay failed less than [`RETRY_GAP`] ago: at once;
    /// - down otherwise: asks the task for an attempt now (skipping its backoff) and waits
    ///   for it, at most [`RECONNECT_WAIT`] and until `deadline`;
    /// - stopped: at once.
    pub async fn connected(&self, deadline: Instant) -> Result<(), BackendError> {
        let mut rx = self.shared.link.subscribe();
        let first = match &*rx.borrow_and_update() {
            Link::Up { .. } => return Ok(()),
            Link::Stopped => return Err(self.down_error()),
            Link::Idle => None,
            Link::Connecting { .. } => Some(true),
            Link::Down { .. } => Some(false),
        };
        let limit = match first {
            None => {
                self.ensure_running();
                deadline
            }
            Some(first) => {
                let recent = lock(&self.shared.round_failed_at).is_some_and(|at| at.elapsed() < RETRY_GAP);
                if recent {
                    return Err(self.down_error());
                }
                self.shared.kick.notify_one();
                if first { deadline } else { deadline.min(Instant::now() + RECONNECT_WAIT) }
            }
        };
        let mut failures = 0;
        loop {
            if !matches!(timeout_at(limit, rx.changed()).await, Ok(Ok(()))) {
                return Err(self.down_error());
            }
            match &*rx.borrow_and_update() {
                Link::Up { .. } => return Ok(()),
                Link::Stopped => return Err(self.down_error()),
                Link::Down { .. } => {
                    failures += 1;
                    if failures >= self.shared.config.relays().len() {
                        return Err(self.down_error());
                    }
                }
                Link::Idle | Link::Connecting { .. } => {}
            }
        }
    }

    /// Closes the connection and ends the task.
    pub async fn stop(&self) {
        self.shared.stop.send_replace(true);
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.shared.link.send_replace(Link::Stopped);
    }

    /// The connection state.
    pub fn link(&self) -> Link {
        self.shared.link.borrow().clone()
    }

    /// The wallet's info as read at the last connection (or published since).
    pub fn info(&self) -> Option<WalletInfo> {
        lock(&self.shared.info).as_ref().map(|(info, _)| info.clone())
    }

    /// Info events the wallet published while connected (it announced itself).
    pub fn announced(&self) -> u64 {
        self.shared.announced.load(Ordering::Relaxed)
    }

    /// Events received on the response subscription that were not delivered (bad signature,
    /// another author, not addressed to us, no pending request).
    pub fn ignored(&self) -> u64 {
        self.shared.ignored.load(Ordering::Relaxed)
    }

    /// Connections established so far.
    pub fn connects(&self) -> u64 {
        self.shared.connects.load(Ordering::Relaxed)
    }

    /// The error of a call made while not connected.
    pub fn down_error(&self) -> BackendError {
        let wallet = self.shared.config.wallet_hex();
        match self.link() {
            Link::Idle => unavailable("not started"),
            Link::Stopped => unavailable("stopped"),
            Link::Connecting { relay } => unavailable(format!("wallet {wallet} via relay {relay}: still connecting")),
            Link::Up { relay } => unavailable(format!("wallet {wallet} via relay {relay}: connection lost")),
            Link::Down { relay, cause } => unavailable(format!("wallet {wallet} via relay {relay}: {cause}")),
        }
    }

    /// `wallet <public key> via relay <relay in use or last tried>`, for messages.
    pub fn peer(&self) -> String {
        let relay = match self.link() {
            Link::Up { relay } | Link::Down { relay, .. } | Link::Connecting { relay } => relay,
            Link::Idle | Link::Stopped => self.shared.config.relays().first().map(RelayUrl::shown).unwrap_or_default(),
        };
        format!("wallet {} via relay {relay}", self.shared.config.wallet_hex())
    }

    /// Publishes `event` and returns the wallet's verified response to it, or why not, by
    /// `deadline` (`timeout_len` is the limit named in messages):
    /// - not connected: `Unavailable` at once;
    /// - the relay refuses the event (`OK false`): by its machine-readable prefix (NIP-01),
    ///   `rate-limited:`/`error:` are `Unavailable`, others (`invalid:`, `blocked:`,
    ///   `restricted:`, `auth-required:`, `pow:`, `duplicate:`) `Rejected`;
    /// - the connection ends: `Unavailable`;
    /// - no acknowledgement and no response, or acknowledged but the wallet is silent
    ///   (offline, or slower than the timeout): `Unavailable`, [`NoAnswer::silent`] set.
    ///
    /// Every error names the wallet and the relay.
    pub async fn call(&self, event: &Event, deadline: Instant, timeout_len: Duration) -> Result<Event, NoAnswer> {
        let (out, mut ok_rx, reply_rx, relay) = {
            let mut conn = lock(&self.shared.conn);
            let Some(out) = conn.out.clone() else {
                drop(conn);
                return Err(NoAnswer::other(self.down_error()));
            };
            let (ok_tx, ok_rx) = oneshot::channel();
            let (reply_tx, reply_rx) = oneshot::channel();
            conn.waiters.insert(event.id, Waiter { ok: Some(ok_tx), reply: Some(reply_tx) });
            let relay = match self.link() {
                Link::Up { relay } => relay,
                _ => String::from("?"),
            };
            (out, ok_rx, reply_rx, relay)
        };
        let _forget = Forget { shared: &self.shared, id: event.id };
        let peer = format!("wallet {} via relay {relay}", self.shared.config.wallet_hex());
        let lost = |when: &str| NoAnswer::other(unavailable(format!("{peer}: connection lost{when}")));
        let silent = |reason: String| NoAnswer { error: unavailable(format!("{peer}: {reason}")), silent: Some(reason) };
        let ms = timeout_len.as_millis();
        let frame = serde_json::to_string(&json!(["EVENT", event])).map_err(|e| {
            NoAnswer::other(BackendError::Rejected { backend: NAME, cause: format!("cannot encode the request: {e}") })
        })?;
        match timeout_at(deadline, out.send(frame)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(lost("")),
            Err(_) => return Err(silent(format!("the relay did not take the request within {ms} ms"))),
        }
        let mut reply_rx = reply_rx;
        let mut acknowledged = false;
        loop {
            tokio::select! {
                ok = &mut ok_rx, if !acknowledged => match ok {
                    Ok((true, _)) => acknowledged = true,
                    Ok((false, message)) => return Err(NoAnswer::other(refused(&relay, &message))),
                    Err(_) => return Err(lost("")),
                },
                reply = &mut reply_rx => return match reply {
                    Ok(ev) => Ok(ev),
                    Err(_) => Err(lost(" before the wallet answered")),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(silent(if acknowledged {
                        format!("did not answer within {ms} ms (offline?)")
                    } else {
                        format!("the relay did not acknowledge the request within {ms} ms")
                    }));
                }
            }
        }
    }
}

/// Why a call got no response.
#[derive(Debug)]
pub struct NoAnswer {
    /// The error of the call.
    pub error: BackendError,
    /// Nobody answered by the deadline (as opposed to a refusal or a lost connection): what
    /// stayed silent, without the peer's names.
    pub silent: Option<String>,
}

impl NoAnswer {
    fn other(error: BackendError) -> NoAnswer {
        NoAnswer { error, silent: None }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}

/// Removes a call's waiter when the call ends, whatever the outcome.
struct Forget<'a> {
    shared: &'a Shared,
    id: EventId,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        lock(&self.shared.conn).waiters.remove(&self.id);
    }
}

/// `OK false` with the relay's message (NIP-01 machine-readable prefixes).
fn refused(relay: &str, message: &str) -> BackendError {
    let cause = format!("relay {relay} refused the request: {}", excerpt(message, 160));
    let prefix = message.split(':').next().unwrap_or("");
    match prefix {
        "rate-limited" | "error" => unavailable(cause),
        _ => BackendError::Rejected { backend: NAME, cause },
    }
}

/// The connection task: connect, serve, and on any failure wait and try the next relay.
async fn run(shared: Arc<Shared>) {
    let relays: Vec<RelayUrl> = shared.config.relays().to_vec();
    let mut stop = shared.stop.subscribe();
    let mut index = 0;
    let mut backoff = MIN_BACKOFF;
    let mut failures_in_row = 0usize;
    let connect_time = shared.config.timeout.max(MIN_CONNECT_TIME);
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(relay) = relays.get(index) else { return };
        let name = relay.shown();
        let attempt = tokio::select! {
            r = timeout(connect_time, connect(&shared, relay)) => r,
            _ = stop.changed() => return,
        };
        let failed = match attempt {
            Ok(Ok((ws, info))) => {
                backoff = MIN_BACKOFF;
                failures_in_row = 0;
                *lock(&shared.round_failed_at) = None;
                let newer = info.1 > 0 && lock(&shared.info).as_ref().is_some_and(|(_, seen)| *seen < info.1);
                *lock(&shared.info) = Some(info);
                if newer {
                    // Published again while we were away: the wallet came back.
                    shared.announced.fetch_add(1, Ordering::Relaxed);
                }
                let (tx, rx) = mpsc::channel(QUEUE);
                lock(&shared.conn).out = Some(tx);
                shared.connects.fetch_add(1, Ordering::Relaxed);
                shared.link.send_replace(Link::Up { relay: name.clone() });
                let cause = serve(&shared, ws, rx, &mut stop).await;
                let mut conn = lock(&shared.conn);
                conn.out = None;
                conn.waiters.clear();
                drop(conn);
                if *stop.borrow() {
                    return;
                }
                shared.link.send_replace(Link::Down { relay: name, cause });
                index = 0;
                false
            }
            Ok(Err(cause)) => {
                fail_attempt(&shared, &mut failures_in_row, relays.len(), name, cause);
                true
            }
            Err(_) => {
                let cause = format!("connecting took longer than {} ms", connect_time.as_millis());
                fail_attempt(&shared, &mut failures_in_row, relays.len(), name, cause);
                true
            }
        };
        if failed {
            index = (index + 1) % relays.len();
        }
        // The backoff, or sooner when a call asks (but a relay just refused is not asked again
        // within RETRY_GAP).
        let asked = tokio::select! {
            () = sleep(backoff) => false,
            () = shared.kick.notified() => true,
            _ = stop.changed() => return,
        };
        if asked {
            let round = *lock(&shared.round_failed_at);
            if let Some(at) = round {
                tokio::select! {
                    () = tokio::time::sleep_until(at + RETRY_GAP) => {}
                    _ = stop.changed() => return,
                }
            }
        } else if failed {
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Records a failed attempt: the round's end when every relay has now failed in a row (before
/// the link changes, so that a call woken by the change sees it), then the link.
fn fail_attempt(shared: &Shared, failures_in_row: &mut usize, relays: usize, relay: String, cause: String) {
    *failures_in_row += 1;
    if *failures_in_row % relays.max(1) == 0 {
        *lock(&shared.round_failed_at) = Some(Instant::now());
    }
    shared.link.send_replace(Link::Down { relay, cause });
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

fn io_text(e: &io::Error) -> String {
    e.to_string()
}

/// An info event (kind 13194) by the wallet with a valid id and signature.
fn is_wallet_info(shared: &Shared, ev: &Event) -> bool {
    ev.kind == Kind::from(KIND_INFO) && ev.pubkey == *shared.config.wallet() && ev.verify().is_ok()
}

/// What an info event says: methods in its content, schemes in its `encryption` tag (NIP-47).
fn info_of(ev: &Event) -> WalletInfo {
    let tag = ev.tags.iter().find(|t| t.kind() == "encryption").and_then(|t| t.content());
    WalletInfo::from_event_parts(&ev.content, tag)
}

/// Opens the WebSocket, reads the wallet's info and subscribes to the responses.
async fn connect(shared: &Shared, relay: &RelayUrl) -> Result<(Ws, (WalletInfo, u64)), String> {
    let tcp = TcpStream::connect((relay.host(), relay.port()))
        .await
        .map_err(|e| format!("connect failed: {}", io_text(&e)))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if relay.is_tls() {
        let name = ServerName::try_from(relay.host().to_owned())
            .map_err(|_| "the host is not a valid TLS server name".to_owned())?;
        let tls = TlsConnector::from(Arc::clone(&shared.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS failed: {}", io_text(&e)))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let (mut ws, _response) = tokio_tungstenite::client_async_with_config(relay.as_str(), stream, Some(ws_config()))
        .await
        .map_err(|e| format!("WebSocket handshake failed: {e}"))?;

    let wallet = shared.config.wallet().to_hex();
    let info_filter = json!({ "kinds": [KIND_INFO], "authors": [wallet], "limit": 1 });
    send(&mut ws, json!(["REQ", SUB_INFO, info_filter]).to_string()).await?;
    let mut newest: Option<Event> = None;
    read_until_eose(&mut ws, SUB_INFO, |ev| {
        let good = is_wallet_info(shared, &ev);
        if good && newest.as_ref().is_none_or(|n| n.created_at < ev.created_at) {
            newest = Some(ev);
        }
    })
    .await?;
    // The info subscription stays open: a later info event means the wallet is (back) online.
    let info = match &newest {
        Some(ev) => (info_of(ev), ev.created_at.as_secs()),
        None => (WalletInfo::UNKNOWN, 0),
    };

    let since = now_unix().saturating_sub(RESPONSE_SINCE_SLACK_SECS);
    // No `authors`: the author is checked here (the relay is not trusted to filter), and
    // responses signed by another key are counted as ignored.
    let filter = json!({
        "kinds": [KIND_RESPONSE],
        "#p": [shared.keys.public_key().to_hex()],
        "since": since,
    });
    send(&mut ws, json!(["REQ", SUB_RESPONSES, filter]).to_string()).await?;
    // Responses stored before EOSE are stale (no request is pending yet): ignored.
    read_until_eose(&mut ws, SUB_RESPONSES, |_| {}).await?;
    Ok((ws, info))
}

async fn send(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text)).await.map_err(|e| format!("send failed: {e}"))
}

/// Reads frames until `EOSE` for `sub`, passing that subscription's events to `on_event`.
/// `CLOSED` for `sub` or the end of the connection is an error.
async fn read_until_eose(ws: &mut Ws, sub: &str, mut on_event: impl FnMut(Event)) -> Result<(), String> {
    loop {
        let text = match ws.next().await {
            None => return Err("the relay closed the connection".to_owned()),
            Some(Err(e)) => return Err(format!("read failed: {e}")),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) => return Err("the relay closed the connection".to_owned()),
            Some(Ok(_)) => continue,
        };
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text) else { continue };
        match (items.first().and_then(Value::as_str), items.get(1).and_then(Value::as_str)) {
            (Some("EOSE"), Some(s)) if s == sub => return Ok(()),
            (Some("CLOSED"), Some(s)) if s == sub => {
                let why = items.get(2).and_then(Value::as_str).unwrap_or("");
                return Err(format!("the relay closed subscription {sub}: {}", excerpt(why, 160)));
            }
            (Some("EVENT"), Some(s)) if s == sub => {
                if let Some(ev) = items.get(2).and_then(|v| serde_json::from_value::<Event>(v.clone()).ok()) {
                    on_event(ev);
                }
            }
            _ => {}
        }
    }
}

/// Serves a connection until it ends or the task is stopped; returns why it ended.
async fn serve(shared: &Shared, mut ws: Ws, mut rx: mpsc::Receiver<String>, stop: &mut watch::Receiver<bool>) -> String {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_seen = Instant::now();
    loop {
        tokio::select! {
            frame = ws.next() => {
                last_seen = Instant::now();
                match frame {
                    None => return "the relay closed the connection".to_owned(),
                    Some(Err(e)) => return format!("read failed: {e}"),
                    Some(Ok(Message::Text(t))) => {
                        if let Some(cause) = dispatch(shared, &t) {
                            let _ = ws.close(None).await;
                            return cause;
                        }
                    }
                    Some(Ok(Message::Close(_))) => return "the relay closed the connection".to_owned(),
                    Some(Ok(_)) => {}
                }
            }
            out = rx.recv() => {
                let Some(text) = out else { return "request queue closed".to_owned() };
                if let Err(e) = ws.send(Message::text(text)).await {
                    return format!("send failed: {e}");
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() > PING_EVERY * 3 {
                    return "the relay stopped answering pings".to_owned();
                }
                if let Err(e) = ws.send(Message::Ping(Vec::new().into())).await {
                    return format!("send failed: {e}");
                }
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    let _ = ws.close(None).await;
                    return "stopped".to_owned();
                }
            }
        }
    }
}

/// Handles one relay message; returns a cause when the connection must be dropped.
fn dispatch(shared: &Shared, text: &str) -> Option<String> {
    let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(text) else { return None };
    match items.first().and_then(Value::as_str) {
        Some("OK") => {
            let id = items.get(1).and_then(Value::as_str).and_then(|s| EventId::from_hex(s).ok())?;
            let accepted = items.get(2).and_then(Value::as_bool).unwrap_or(false);
            let message = items.get(3).and_then(Value::as_str).unwrap_or("").to_owned();
            let sender = lock(&shared.conn).waiters.get_mut(&id).and_then(|w| w.ok.take());
            if let Some(sender) = sender {
                let _ = sender.send((accepted, message));
            }
            None
        }
        Some("EVENT") if items.get(1).and_then(Value::as_str) == Some(SUB_RESPONSES) => {
            let event = items.get_mut(2).map(Value::take);
            if !deliver(shared, event) {
                shared.ignored.fetch_add(1, Ordering::Relaxed);
            }
            None
        }
        Some("EVENT") if items.get(1).and_then(Value::as_str) == Some(SUB_INFO) => {
            let event = items.get_mut(2).map(Value::take).and_then(|v| serde_json::from_value::<Event>(v).ok());
            if let Some(ev) = event.filter(|ev| is_wallet_info(shared, ev)) {
                let at = ev.created_at.as_secs();
                let mut info = lock(&shared.info);
                if info.as_ref().is_none_or(|(_, seen)| *seen <= at) {
                    *info = Some((info_of(&ev), at));
                    drop(info);
                    shared.announced.fetch_add(1, Ordering::Relaxed);
                }
            }
            None
        }
        Some("CLOSED") if items.get(1).and_then(Value::as_str) == Some(SUB_RESPONSES) => {
            let why = items.get(2).and_then(Value::as_str).unwrap_or("");
            Some(format!("the relay closed the response subscription: {}", excerpt(why, 100)))
        }
        _ => None,
    }
}

/// Delivers a response event to the call waiting for it, after checking it: kind 23195, by
/// the wallet, `p`-tagged to us, `e`-tagged with a pending request, valid id and signature.
fn deliver(shared: &Shared, event: Option<Value>) -> bool {
    let Some(Ok(ev)) = event.map(serde_json::from_value::<Event>) else { return false };
    if ev.kind != Kind::from(KIND_RESPONSE) || ev.pubkey != *shared.config.wallet() {
        return false;
    }
    let ours = shared.keys.public_key();
    if !ev.tags.public_keys().any(|p| p == ours) {
        return false;
    }
    let Some(request) = ev.tags.event_ids().next() else { return false };
    if ev.verify().is_err() {
        return false;
    }
    let sender = lock(&shared.conn).waiters.get_mut(&request).and_then(|w| w.reply.take());
    match sender {
        Some(sender) => sender.send(ev).is_ok(),
        None => false,
    }
}
