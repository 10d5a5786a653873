//! [`NwcBackend`]: the [`Backend`] that asks a NIP-47 wallet service for invoices.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402_backend::{
    with_timeout, Backend, BackendError, BoxFuture, Capabilities, Invoice, InvoiceRequest, LookupRef,
    Settlement, MAX_INVOICE_AMOUNT_MSAT,
};
use nostr::nips::{nip04, nip44};
use nostr::prelude::{Event, EventBuilder, FinalizeEvent, Keys, Kind, Tag, Timestamp};
use serde_json::Value;
use tokio::time::Instant;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::breaker::{Admit, Breaker, Outcome};
use crate::config::{ConfigError, NwcConfig};
use crate::nip47::{
    invoice_from_reply, lookup_invoice_params, make_invoice_params, parse_reply, request_content,
    settlement_from_reply, Encryption, WalletInfo, KIND_REQUEST,
};
use crate::relay::{Link, NoAnswer, Relay};

/// [`Backend::name`] of the NWC backend.
pub const NAME: &str = "nwc";

/// Time a call may run past its timeout before [`with_timeout`] cuts it: the call's own
/// deadline is the timeout, this only guards against a stuck step.
const BACKSTOP: Duration = Duration::from_millis(250);

/// The wallet's answer is awaited until this long before the call's limit, so that a silent
/// wallet is reported (and counted by the breaker) by this backend, naming the wallet and the
/// relay, rather than cut short by the caller's own timeout of the same length.
const CALL_MARGIN: Duration = Duration::from_millis(50);

fn rejected(cause: impl Into<String>) -> BackendError {
    BackendError::Rejected { backend: NAME, cause: cause.into() }
}

fn invalid(cause: impl Into<String>) -> BackendError {
    BackendError::InvalidReply { backend: NAME, cause: cause.into() }
}

/// A wallet reached through Nostr relays (NIP-47). [`NwcBackend::new`] opens no socket;
/// [`Backend::start`] (or the first call) opens the one relay connection of this backend and
/// keeps it open in a background task on the current tokio runtime, reconnecting with backoff
/// (0.2 s doubling to 5 s, or at once when a call finds it down) and trying the fallback
/// relays in turn. [`Backend::stop`] closes it. A wallet that stops answering opens the
/// [`Breaker`]: calls then fail at once for a few seconds. No error or `Debug` output shows
/// the client secret.
pub struct NwcBackend {
    config: NwcConfig,
    keys: Keys,
    relay: Relay,
    health: Mutex<Health>,
}

/// The breaker, and what of the relay's state it has taken into account.
struct Health {
    breaker: Breaker,
    /// [`Relay::connects`] when last looked at (a new connection's info is checked once).
    connects_seen: u64,
    /// [`Relay::announced`] when last looked at.
    announced_seen: u64,
}

fn lock(m: &Mutex<Health>) -> MutexGuard<'_, Health> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NwcBackend {
    /// A backend for `config`. Opens no socket and needs no runtime (it may be built before
    /// an nginx worker forks); fails only if the key or TLS cannot be set up.
    pub fn new(config: NwcConfig) -> Result<NwcBackend, ConfigError> {
        let keys = config.secret().keys()?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::Relay(format!("cannot set up TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let relay = Relay::new(config.clone(), keys.clone(), Arc::new(tls));
        let health = Health { breaker: Breaker::new(config.breaker), connects_seen: 0, announced_seen: 0 };
        Ok(NwcBackend { config, keys, relay, health: Mutex::new(health) })
    }

    /// The settings this backend was built with.
    pub fn config(&self) -> &NwcConfig {
        &self.config
    }

    /// Our (client) public key, hex: the `p` tag of the wallet's responses.
    pub fn client_pubkey_hex(&self) -> String {
        self.keys.public_key().to_hex()
    }

    /// The wallet's info as read at the last connection (`None` before the first).
    pub fn wallet_info(&self) -> Option<WalletInfo> {
        self.relay.info()
    }

    /// The relay connection's state.
    pub fn link(&self) -> Link {
        self.relay.link()
    }

    /// The relay in use, when connected.
    pub fn connected_relay(&self) -> Option<String> {
        match self.relay.link() {
            Link::Up { relay } => Some(relay),
            _ => None,
        }
    }

    /// Response events ignored so far (bad signature, another signer, not for us, late).
    pub fn ignored_events(&self) -> u64 {
        self.relay.ignored()
    }

    /// Relay connections established so far (1 + reconnections).
    pub fn connections(&self) -> u64 {
        self.relay.connects()
    }

    /// Whether calls go to the wallet without restriction (the breaker is closed).
    pub fn wallet_available(&self) -> bool {
        let mut health = lock(&self.health);
        self.refresh(&mut health);
        health.breaker.is_closed()
    }

    /// Takes the relay's news into account: the wallet announced itself (closes the
    /// breaker); a new connection found no info event (the next call probes).
    fn refresh(&self, health: &mut Health) {
        let announced = self.relay.announced();
        if announced != health.announced_seen {
            health.announced_seen = announced;
            health.breaker.announced();
        }
        let connects = self.relay.connects();
        if connects != health.connects_seen {
            health.connects_seen = connects;
            if self.relay.info().is_some_and(|i| i.methods.is_none()) {
                health.breaker.suspect("no info event (kind 13194) on the relay".to_owned());
            }
        }
    }

    /// Connected (see [`Relay::connected`]: at once when up, a prompt attempt when down),
    /// with the wallet's info.
    async fn ready(&self, deadline: Instant) -> Result<WalletInfo, BackendError> {
        self.relay.connected(deadline).await?;
        Ok(self.relay.info().unwrap_or(WalletInfo::UNKNOWN))
    }

    /// The breaker's answer for a call starting now; `Ok(true)` for the probe.
    fn admit(&self) -> Result<bool, BackendError> {
        let mut health = lock(&self.health);
        self.refresh(&mut health);
        match health.breaker.admit(std::time::Instant::now()) {
            Admit::Pass => Ok(false),
            Admit::Probe => Ok(true),
            Admit::Refuse { left, cause } => {
                let peer = self.relay.peer();
                Err(BackendError::Unavailable {
                    backend: NAME,
                    cause: if left.is_zero() {
                        format!("{peer}: being probed by another call ({cause})")
                    } else {
                        format!("{peer}: marked unavailable for {} ms more ({cause})", left.as_millis())
                    },
                })
            }
        }
    }

    /// Records the end of an admitted call; the error of a silent call says when the breaker
    /// opened.
    fn record(&self, probe: bool, result: Result<Event, NoAnswer>) -> Result<Event, BackendError> {
        let outcome = match &result {
            Ok(_) => Outcome::Answered,
            Err(NoAnswer { silent: Some(reason), .. }) => Outcome::Silent(reason.clone()),
            Err(_) => Outcome::Inconclusive,
        };
        let opened = lock(&self.health).breaker.record(std::time::Instant::now(), probe, outcome);
        result.map_err(|NoAnswer { error, .. }| match (opened, error) {
            (Some(cool_down), BackendError::Unavailable { backend, cause }) => BackendError::Unavailable {
                backend,
                cause: format!("{cause}; marked unavailable for {} ms, then one call probes", cool_down.as_millis()),
            },
            (_, error) => error,
        })
    }


    /// Builds the signed request event: kind 23194, `p` = wallet, `expiration` = now +
    /// timeout, `encryption` when NIP-44 is used; content the encrypted request.
    fn request_event(&self, info: &WalletInfo, plaintext: &str) -> Result<Event, BackendError> {
        let wallet = self.config.wallet();
        let secret = self.keys.secret_key();
        let content = match info.encryption {
            Encryption::Nip44V2 => nip44::encrypt(secret, wallet, plaintext, nip44::Version::V2),
            Encryption::Nip04 => nip04::encrypt(secret, wallet, plaintext),
        }
        .map_err(|e| rejected(format!("cannot encrypt the request: {e}")))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let ttl = self.config.timeout.as_secs() + 1;
        let mut tags = vec![Tag::public_key(*wallet), Tag::expiration(Timestamp::from_secs(now + ttl))];
        if info.encryption == Encryption::Nip44V2 {
            tags.push(Tag::custom("encryption", [Encryption::Nip44V2.tag_value()]));
        }
        EventBuilder::new(Kind::from(KIND_REQUEST), content)
            .tags(tags)
            .finalize(&self.keys)
            .map_err(|e| rejected(format!("cannot sign the request: {e}")))
    }

    /// Decrypts a verified response: NIP-04 content carries `?iv=`, NIP-44 does not.
    fn decrypt(&self, method: &str, response: &Event) -> Result<String, BackendError> {
        let secret = self.keys.secret_key();
        let wallet = self.config.wallet();
        let plain = if response.content.contains("?iv=") {
            nip04::decrypt(secret, wallet, response.content.as_str())
        } else {
            nip44::decrypt(secret, wallet, response.content.as_str())
        };
        plain.map_err(|_| invalid(format!("{method}: cannot decrypt the reply")))
    }

    /// One request/response exchange, by `deadline`.
    async fn exchange(&self, method: &str, params: Value, deadline: Instant) -> Result<String, BackendError> {
        let info = self.ready(deadline).await?;
        if !info.offers(method) {
            return Err(rejected(format!("the wallet does not offer {method}")));
        }
        let event = self.request_event(&info, &request_content(method, params))?;
        let probe = self.admit()?;
        let mut pending = Pending { backend: self, probe, deadline, done: false };
        let result = self.relay.call(&event, deadline, self.config.timeout).await;
        pending.done = true;
        let response = self.record(probe, result)?;
        self.decrypt(method, &response)
    }

    /// The deadline of a call starting now.
    fn deadline(&self) -> Instant {
        let t = self.config.timeout;
        Instant::now() + t.saturating_sub(CALL_MARGIN).max(t / 2)
    }

    async fn create(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        let deadline = self.deadline();
        if req.amount_msat == 0 {
            return Err(rejected("amount must be at least 1 msat"));
        }
        if req.amount_msat > MAX_INVOICE_AMOUNT_MSAT {
            return Err(rejected(format!(
                "amount {} msat cannot be encoded in a BOLT11 invoice",
                req.amount_msat
            )));
        }
        if req.expiry_secs == 0 {
            return Err(rejected("expiry must be at least 1 second"));
        }
        let text = self.exchange("make_invoice", make_invoice_params(&req), deadline).await?;
        invoice_from_reply(&req, parse_reply("make_invoice", &text)?)
    }

    async fn lookup(&self, payment_hash: [u8; 32]) -> Result<Settlement, BackendError> {
        let deadline = self.deadline();
        let text = self.exchange("lookup_invoice", lookup_invoice_params(&payment_hash), deadline).await?;
        settlement_from_reply(&payment_hash, parse_reply("lookup_invoice", &text)?)
    }
}

impl Backend for NwcBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    /// FULL (lookup from the payment hash alone) unless the wallet's info, once read, does not
    /// list `lookup_invoice`: then NONE.
    fn capabilities(&self) -> Capabilities {
        match self.relay.info() {
            Some(info) if !info.offers("lookup_invoice") => Capabilities::NONE,
            _ => Capabilities::FULL,
        }
    }

    /// Starts the connection task (if not running) and waits up to the timeout for the first
    /// connection, or until every relay failed once. An error leaves the task running: it
    /// keeps trying.
    fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            self.relay.ensure_running();
            self.relay.connected(Instant::now() + self.config.timeout).await
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.relay.stop())
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(with_timeout(NAME, self.config.timeout + BACKSTOP, self.create(req)))
    }

    fn lookup_invoice<'a>(&'a self, lookup: &'a LookupRef) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        Box::pin(with_timeout(NAME, self.config.timeout + BACKSTOP, self.lookup(payment_hash)))
    }
}

/// An admitted call in flight. Dropped before it ended (the caller's timeout cut it): counted
/// as silent when its deadline had come, else as telling nothing, so the breaker never waits
/// for a probe that will not report.
struct Pending<'a> {
    backend: &'a NwcBackend,
    probe: bool,
    deadline: Instant,
    done: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let outcome = if Instant::now() + CALL_MARGIN >= self.deadline {
            Outcome::Silent(format!("did not answer within {} ms", self.backend.config.timeout.as_millis()))
        } else {
            Outcome::Inconclusive
        };
        lock(&self.backend.health).breaker.record(std::time::Instant::now(), self.probe, outcome);
    }
}

impl fmt::Debug for NwcBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NwcBackend")
            .field("config", &self.config)
            .field("link", &self.relay.link())
            .field("wallet_available", &self.wallet_available())
            .finish_non_exhaustive()
    }
}
