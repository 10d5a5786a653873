//! Shared conformance suite: the behaviour every [`Backend`] must show, whatever node is
//! behind it. Every backend crate's tests run it.
//!
//! Each check is an `async fn` taking `&dyn Backend` and returning [`Outcome`]; a backend
//! crate's tests call them (or [`run_all`]) against the real backend wired to a fake or
//! protocol-faithful peer. Checks never panic: they return a [`Failure`] naming the check.
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     let backend = MyBackend::new(/* … */);
//!     l402_backend::conformance::run_all(&backend).await.unwrap();
//! }
//! ```
//!
//! Fault checks ([`run_faults`], [`failover_skips_down_backend`]) also need control over the
//! peer behind the backend (a test server, or the fake itself): a [`PeerControl`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use lightning_invoice::Bolt11InvoiceDescriptionRef;

use crate::{check_invoice, check_preimage, parse_bolt11, Backend, BoxFuture, Invoice};
use crate::{BackendError, Failover, InvoiceKind, InvoiceRequest, LookupRef, Settlement};

/// Allowed difference between the backend's clock and ours when checking expiry, in seconds.
pub const CLOCK_SLACK_SECS: u64 = 300;

/// A failed conformance check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Name of the check (the function name).
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check {} failed: {}",
            self.check, self.detail
        )
    }
}

impl std::error::Error for Failure {}

/// Result of one check.
pub type Outcome = Result<(), Failure>;

/// Pays an invoice by whatever means the backend's test set-up has (a fake peer's hook,
/// `l402_fake::FakeBackend::pay_and_record`, …). Used by [`settles_after_payment`].
pub type PayFn<'a> = &'a (dyn Fn(Invoice) -> BoxFuture<'static, Result<(), String>> + Sync);

fn fail(check: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        check,
        detail: detail.into(),
    }
}

fn backend_failed(check: &'static str, e: BackendError) -> Failure {
    fail(check, format!("backend error: {e}"))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The request most checks use: 21 sat, 10 minutes.
pub fn sample_request() -> InvoiceRequest {
    InvoiceRequest {
        amount_msat: 21_000,
        memo: "l402 conformance".to_owned(),
        expiry_secs: 600,
    }
}

/// The parts of an [`Invoice`] every backend must get right whatever its kind: the kind agrees
/// with the text's prefix, and the lookup reference names the payment hash and is bounded.
fn check_shape(check: &'static str, inv: &Invoice) -> Outcome {
    if InvoiceKind::of_text(&inv.text) != Some(inv.kind) {
        return Err(fail(check, format!("invoice says it is {:?}, its text does not", inv.kind)));
    }
    if inv.lookup.payment_hash() != inv.payment_hash {
        return Err(fail(check, "the lookup reference names another payment hash"));
    }
    if inv.lookup.extra().len() > LookupRef::MAX_EXTRA {
        return Err(fail(check, "the lookup reference is longer than LookupRef::MAX_EXTRA"));
    }
    Ok(())
}

/// Creates an invoice and verifies the reply against the request (parses, signature,
/// amount, hash, expiry) and that the returned [`Invoice`] fields agree with the BOLT11.
async fn create_checked(
    check: &'static str,
    backend: &dyn Backend,
    req: InvoiceRequest,
) -> Result<Invoice, Failure> {
    let now = now_unix();
    let inv = backend
        .create_invoice(req.clone())
        .await
        .map_err(|e| backend_failed(check, e))?;
    check_shape(check, &inv)?;
    if inv.kind != InvoiceKind::Bolt11 {
        return Err(fail(check, format!("expected a BOLT11 invoice, got {:?}", inv.kind)));
    }
    let mut checked = check_invoice(
        backend.name(),
        &inv.text,
        &req,
        Some(inv.payment_hash),
        now,
    )
    .map_err(|e| fail(check, e.to_string()))?;
    // The reference is the backend's own: only its hash is checked (above).
    checked.lookup = inv.lookup.clone();
    if checked != inv {
        return Err(fail(
            check,
            format!(
                "returned fields disagree with the BOLT11: amount {} vs {}, expires_at {} vs {}",
                inv.amount_msat, checked.amount_msat, inv.expires_at_unix, checked.expires_at_unix
            ),
        ));
    }
    let wanted = now + u64::from(req.expiry_secs);
    if inv.expires_at_unix.abs_diff(wanted) > CLOCK_SLACK_SECS {
        return Err(fail(
            check,
            format!(
                "expires at {}, expected about {wanted} (now + {} s)",
                inv.expires_at_unix, req.expiry_secs
            ),
        ));
    }
    Ok(inv)
}

/// [`Backend::name`] is non-empty lowercase ASCII (it appears in logs and metrics).
pub async fn name_is_valid(backend: &dyn Backend) -> Outcome {
    let name = backend.name();
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(fail("name_is_valid", format!("bad backend name {name:?}")))
    }
}

/// A created invoice passes [`check_invoice`] and its fields match the BOLT11 and request.
pub async fn create_returns_valid_invoice(backend: &dyn Backend) -> Outcome {
    create_checked("create_returns_valid_invoice", backend, sample_request())
        .await
        .map(|_| ())
}

/// Invoices carry exactly the requested amount, including amounts that are not whole
/// satoshis (BOLT11 amounts are pico-BTC, so any msat amount is representable).
pub async fn amount_matches(backend: &dyn Backend) -> Outcome {
    for amount_msat in [1_000, 1_001, 123_456, 5_000_000] {
        let req = InvoiceRequest {
            amount_msat,
            ..sample_request()
        };
        create_checked("amount_matches", backend, req).await?;
    }
    Ok(())
}

/// Identical requests give distinct invoices and payment hashes (a payment hash is the
/// identity of an L402 token: reuse would let one payment unlock two tokens).
pub async fn distinct_payment_hashes(backend: &dyn Backend) -> Outcome {
    const N: usize = 5;
    let mut seen: Vec<Invoice> = Vec::with_capacity(N);
    for _ in 0..N {
        let inv = create_checked("distinct_payment_hashes", backend, sample_request()).await?;
        if seen
            .iter()
            .any(|s| s.payment_hash == inv.payment_hash || s.text == inv.text)
        {
            return Err(fail(
                "distinct_payment_hashes",
                "two invoices share a payment hash or BOLT11",
            ));
        }
        seen.push(inv);
    }
    Ok(())
}

/// The invoice's description is the request's memo (BOLT11 `d` field).
///
/// Not part of [`run_all`]: a backend whose payee chooses the description (LNURL-pay,
/// which commits to metadata with `h`) cannot pass it.
pub async fn memo_is_carried(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "memo_is_carried";
    let req = InvoiceRequest {
        memo: "l402 conformance: memo ✓".to_owned(),
        ..sample_request()
    };
    let inv = create_checked(CHECK, backend, req.clone()).await?;
    let parsed = parse_bolt11(&inv.text).map_err(|e| fail(CHECK, e))?;
    match parsed.description() {
        Bolt11InvoiceDescriptionRef::Direct(d) if d.as_inner().0 == req.memo => Ok(()),
        Bolt11InvoiceDescriptionRef::Direct(d) => {
            Err(fail(CHECK, format!("description is {:?}", d.as_inner().0)))
        }
        Bolt11InvoiceDescriptionRef::Hash(_) => Err(fail(CHECK, "invoice has a description hash")),
    }
}

/// Looking up a payment hash the backend never issued gives `Unknown` (or `Open`, for
/// backends that cannot tell), never an error and never `Settled`.
pub async fn lookup_unknown_is_unknown_or_open(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "lookup_unknown_is_unknown_or_open";
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut seed = b"l402 conformance: never issued ".to_vec();
    seed.extend_from_slice(&nanos.to_le_bytes());
    let hash = sha256::Hash::hash(&seed).to_byte_array();
    match backend.lookup_invoice(&hash.into()).await {
        Ok(Settlement::Unknown | Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// A freshly issued, unpaid invoice looks up as `Open`.
pub async fn lookup_issued_is_open(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "lookup_issued_is_open";
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    match backend.lookup_invoice(&inv.lookup).await {
        Ok(Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// A backend that can detect a payment without a preimage can also look invoices up, and
/// one that cannot look up reports nothing but `Unknown` (or `Open`).
pub async fn capabilities_are_consistent(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "capabilities_are_consistent";
    let caps = backend.capabilities();
    if caps.detect_without_preimage && !caps.lookup {
        return Err(fail(CHECK, "detects without a preimage but cannot look up"));
    }
    Ok(())
}

/// With [`crate::Capabilities::detect_without_preimage`], a reference made from the payment
/// hash alone finds a fresh invoice as well as the reference the backend handed out (it is
/// what payment detection has: a macaroon carries only the hash).
pub async fn lookup_by_hash_alone(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "lookup_by_hash_alone";
    if !backend.capabilities().detect_without_preimage {
        return Ok(());
    }
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    match backend.lookup_invoice(&LookupRef::from_payment_hash(inv.payment_hash)).await {
        Ok(Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// [`Backend::start`] succeeds against a working peer, the backend then issues and looks up
/// invoices, and [`Backend::stop`] returns. Not part of [`run_all`]: it stops the backend.
pub async fn starts_and_stops(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "starts_and_stops";
    backend.start().await.map_err(|e| backend_failed(CHECK, e))?;
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    match backend.lookup_invoice(&inv.lookup).await {
        Ok(Settlement::Open) => {}
        Ok(other) => return Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => return Err(backend_failed(CHECK, e)),
    }
    backend.stop().await;
    Ok(())
}

/// An amount of zero is refused with an error, never turned into an amount-less invoice.
pub async fn zero_amount_is_refused(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "zero_amount_is_refused";
    let req = InvoiceRequest {
        amount_msat: 0,
        ..sample_request()
    };
    match backend.create_invoice(req).await {
        Err(_) => Ok(()),
        Ok(_) => Err(fail(CHECK, "an invoice for 0 msat was issued")),
    }
}

/// After `pay` pays a fresh invoice, lookup reports `Settled`, and a reported preimage
/// hashes to the payment hash (checked with [`check_preimage`]).
///
/// Not part of [`run_all`]: paying needs the backend's own test set-up.
pub async fn settles_after_payment(backend: &dyn Backend, pay: PayFn<'_>) -> Outcome {
    const CHECK: &str = "settles_after_payment";
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    let hash = inv.payment_hash;
    let lookup = inv.lookup.clone();
    pay(inv)
        .await
        .map_err(|e| fail(CHECK, format!("paying failed: {e}")))?;
    match backend.lookup_invoice(&lookup).await {
        Ok(Settlement::Settled { preimage: None }) => Ok(()),
        Ok(Settlement::Settled {
            preimage: Some(preimage),
        }) => {
            check_preimage(backend.name(), &hash, &preimage).map_err(|e| fail(CHECK, e.to_string()))
        }
        Ok(other) => Err(fail(CHECK, format!("got {other:?} after payment"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// Runs every check that needs nothing but the backend, stopping at the first failure.
pub async fn run_all(backend: &dyn Backend) -> Outcome {
    name_is_valid(backend).await?;
    create_returns_valid_invoice(backend).await?;
    amount_matches(backend).await?;
    distinct_payment_hashes(backend).await?;
    lookup_unknown_is_unknown_or_open(backend).await?;
    lookup_issued_is_open(backend).await?;
    capabilities_are_consistent(backend).await?;
    lookup_by_hash_alone(backend).await?;
    zero_amount_is_refused(backend).await?;
    Ok(())
}

/// How a [`PeerControl`]'s garbage mode corrupts replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarbageKind {
    /// Well-formed reply whose invoice is not a valid BOLT11 string.
    Unparsable,
    /// Valid invoice, but the payment hash reported next to it is another one.
    WrongHash,
    /// A body that is not what the protocol encodes at all (not JSON, for HTTP APIs).
    NotJson,
}

impl GarbageKind {
    /// Every kind, in the order [`garbage_is_invalid_reply`] tries them.
    pub const ALL: [GarbageKind; 3] = [
        GarbageKind::Unparsable,
        GarbageKind::WrongHash,
        GarbageKind::NotJson,
    ];
}

/// How the peer behind a backend behaves, set through [`PeerControl::set_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers correctly.
    Normal,
    /// Answers correctly after this delay.
    Slow(Duration),
    /// Refuses connections (or, for a peer without a network, reports itself unreachable).
    Down,
    /// Answers with garbage of this kind.
    Garbage(GarbageKind),
    /// Issues valid, signed invoices for another amount than requested.
    WrongAmount,
}

/// Control over the peer a backend under test talks to.
pub trait PeerControl: Send + Sync {
    /// Switches the peer's behaviour; applies to every later request.
    fn set_mode(&self, mode: Mode) -> BoxFuture<'_, ()>;

    /// Marks the invoice paid at the peer and returns its preimage.
    fn settle(&self, invoice: Invoice) -> BoxFuture<'_, Result<[u8; 32], String>>;

    /// Whether the peer can simulate `mode`; checks needing a mode it cannot are skipped.
    fn supports(&self, mode: &Mode) -> bool {
        let _ = mode;
        true
    }
}

/// Puts the peer back to [`Mode::Normal`] whatever `check` returned.
async fn with_mode(
    peer: &dyn PeerControl,
    mode: Mode,
    check: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    peer.set_mode(mode).await;
    let outcome = check.await;
    peer.set_mode(Mode::Normal).await;
    outcome
}

fn expect_kind<T: fmt::Debug>(
    check: &'static str,
    what: &str,
    got: Result<T, BackendError>,
    kind: &'static str,
) -> Outcome {
    match got {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(fail(
            check,
            format!("{what}: expected a {kind} error, got: {e}"),
        )),
        Ok(v) => Err(fail(
            check,
            format!("{what}: expected a {kind} error, got {v:?}"),
        )),
    }
}

/// Longest a call may take past the configured timeout before the check fails.
fn timeout_slack(timeout: Duration) -> Duration {
    (timeout / 2).max(Duration::from_millis(500))
}

/// A backend configured with `timeout` returns [`BackendError::Timeout`] against a peer that
/// answers much later, and does so within the limit (plus a little scheduling slack).
pub async fn times_out_against_slow_peer(
    backend: &dyn Backend,
    peer: &dyn PeerControl,
    timeout: Duration,
) -> Outcome {
    const CHECK: &str = "times_out_against_slow_peer";
    let mode = Mode::Slow(timeout * 4 + Duration::from_millis(500));
    if !peer.supports(&mode) {
        return Ok(());
    }
    with_mode(peer, mode, async {
        let start = Instant::now();
        let got = backend.create_invoice(sample_request()).await;
        let took = start.elapsed();
        expect_kind(CHECK, "create_invoice", got, "timeout")?;
        if took > timeout + timeout_slack(timeout) {
            return Err(fail(
                CHECK,
                format!(
                    "took {} ms, timeout is {} ms",
                    took.as_millis(),
                    timeout.as_millis()
                ),
            ));
        }
        Ok(())
    })
    .await
}

/// A peer that is down gives [`BackendError::Unavailable`] for both calls.
///
/// A backend that looks invoices up only by the reference it handed out (`lookup` without
/// `detect_without_preimage`) answers a bare payment hash with `Unknown` without asking its
/// peer ([`lookup_unknown_is_unknown_or_open`]): it is asked about an invoice it issued
/// before the peer went down instead.
pub async fn down_is_unavailable(backend: &dyn Backend, peer: &dyn PeerControl) -> Outcome {
    const CHECK: &str = "down_is_unavailable";
    if !peer.supports(&Mode::Down) {
        return Ok(());
    }
    let caps = backend.capabilities();
    let lookup = if caps.lookup && !caps.detect_without_preimage {
        create_checked(CHECK, backend, sample_request()).await?.lookup
    } else {
        LookupRef::from([7; 32])
    };
    with_mode(peer, Mode::Down, async {
        expect_kind(
            CHECK,
            "create_invoice",
            backend.create_invoice(sample_request()).await,
            "unavailable",
        )?;
        expect_kind(
            CHECK,
            "lookup_invoice",
            backend.lookup_invoice(&lookup).await,
            "unavailable",
        )
    })
    .await
}

/// After the peer was down and came back, the same backend value works again (no
/// connection or state stuck from the failure).
pub async fn recovers_after_down(backend: &dyn Backend, peer: &dyn PeerControl) -> Outcome {
    const CHECK: &str = "recovers_after_down";
    if !peer.supports(&Mode::Down) {
        return Ok(());
    }
    // A working connection first, so a pooled connection exists when the peer goes down.
    let before = create_checked(CHECK, backend, sample_request()).await?;
    with_mode(peer, Mode::Down, async {
        expect_kind(
            CHECK,
            "create_invoice while down",
            backend.create_invoice(sample_request()).await,
            "unavailable",
        )
    })
    .await?;
    create_checked(CHECK, backend, sample_request()).await?;
    match backend.lookup_invoice(&before.lookup).await {
        Ok(Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("lookup after recovery: got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// Every kind of garbage reply to `create_invoice` is [`BackendError::InvalidReply`], and so
/// is a non-protocol reply to `lookup_invoice`.
pub async fn garbage_is_invalid_reply(backend: &dyn Backend, peer: &dyn PeerControl) -> Outcome {
    const CHECK: &str = "garbage_is_invalid_reply";
    let issued = create_checked(CHECK, backend, sample_request()).await?;
    for kind in GarbageKind::ALL {
        let mode = Mode::Garbage(kind);
        if !peer.supports(&mode) {
            continue;
        }
        with_mode(peer, mode, async {
            let what = format!("create_invoice with {kind:?} garbage");
            expect_kind(
                CHECK,
                &what,
                backend.create_invoice(sample_request()).await,
                "invalid_reply",
            )?;
            if kind == GarbageKind::NotJson {
                let what = format!("lookup_invoice with {kind:?} garbage");
                expect_kind(
                    CHECK,
                    &what,
                    backend.lookup_invoice(&issued.lookup).await,
                    "invalid_reply",
                )?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(())
}

/// A signed invoice for another amount than requested is [`BackendError::InvalidReply`].
pub async fn wrong_amount_is_invalid_reply(
    backend: &dyn Backend,
    peer: &dyn PeerControl,
) -> Outcome {
    const CHECK: &str = "wrong_amount_is_invalid_reply";
    if !peer.supports(&Mode::WrongAmount) {
        return Ok(());
    }
    with_mode(peer, Mode::WrongAmount, async {
        expect_kind(
            CHECK,
            "create_invoice",
            backend.create_invoice(sample_request()).await,
            "invalid_reply",
        )
    })
    .await
}

/// After the peer settles an invoice, lookup reports `Settled`; a reported preimage is the one
/// the peer revealed and hashes to the payment hash.
pub async fn settled_lookup(backend: &dyn Backend, peer: &dyn PeerControl) -> Outcome {
    const CHECK: &str = "settled_lookup";
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    let hash = inv.payment_hash;
    let lookup = inv.lookup.clone();
    let revealed = peer
        .settle(inv)
        .await
        .map_err(|e| fail(CHECK, format!("settling at the peer failed: {e}")))?;
    match backend.lookup_invoice(&lookup).await {
        Ok(Settlement::Settled { preimage: None }) => Ok(()),
        Ok(Settlement::Settled { preimage: Some(p) }) if p == revealed => {
            check_preimage(backend.name(), &hash, &p).map_err(|e| fail(CHECK, e.to_string()))
        }
        Ok(Settlement::Settled { preimage: Some(_) }) => Err(fail(
            CHECK,
            "reported preimage differs from the one the peer revealed",
        )),
        Ok(other) => Err(fail(CHECK, format!("got {other:?} after settlement"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// Runs every fault check against a backend configured with `timeout`, stopping at the first
/// failure. The peer is left in [`Mode::Normal`].
pub async fn run_faults(
    backend: &dyn Backend,
    peer: &dyn PeerControl,
    timeout: Duration,
) -> Outcome {
    times_out_against_slow_peer(backend, peer, timeout).await?;
    down_is_unavailable(backend, peer).await?;
    recovers_after_down(backend, peer).await?;
    garbage_is_invalid_reply(backend, peer).await?;
    wrong_amount_is_invalid_reply(backend, peer).await?;
    settled_lookup(backend, peer).await?;
    Ok(())
}

/// [`Failover`] over `[primary, secondary]`: while `primary`'s peer is down, invoices come
/// from `secondary` (and the failure is reported to the hook); lookups reach the issuer;
/// once the peer is back, `primary` issues again. `secondary` must report hashes it did not
/// issue as `Unknown`.
pub async fn failover_skips_down_backend(
    primary: Arc<dyn Backend>,
    peer: &dyn PeerControl,
    secondary: Arc<dyn Backend>,
) -> Outcome {
    const CHECK: &str = "failover_skips_down_backend";
    if !peer.supports(&Mode::Down) {
        return Ok(());
    }
    let primary_name = primary.name();
    let seen: Arc<Mutex<Vec<BackendError>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let failover = Failover::new(vec![primary, Arc::clone(&secondary)]).on_failure(move |e| {
        if let Ok(mut v) = sink.lock() {
            v.push(e.clone());
        }
    });
    let reported = |seen: &Arc<Mutex<Vec<BackendError>>>| -> Vec<(&'static str, &'static str)> {
        seen.lock()
            .map(|v| v.iter().map(|e| (e.backend(), e.kind())).collect())
            .unwrap_or_default()
    };

    // `with_mode` returns an Outcome: the invoice comes out through a slot.
    let slot: Mutex<Option<Invoice>> = Mutex::new(None);
    with_mode(peer, Mode::Down, async {
        let inv = create_checked(CHECK, &failover, sample_request()).await?;
        if let Ok(mut s) = slot.lock() {
            *s = Some(inv);
        }
        Ok(())
    })
    .await?;
    let inv = slot
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .ok_or_else(|| fail(CHECK, "no invoice while the primary was down"))?;
    if reported(&seen) != [(primary_name, "unavailable")] {
        return Err(fail(
            CHECK,
            format!(
                "hook saw {:?}, expected one unavailable error from {primary_name}",
                reported(&seen)
            ),
        ));
    }
    match secondary.lookup_invoice(&inv.lookup).await {
        Ok(Settlement::Open) => {}
        other => {
            return Err(fail(
                CHECK,
                format!("the secondary does not know the invoice: {other:?}"),
            ))
        }
    }
    match failover.lookup_invoice(&inv.payment_hash.into()).await {
        Ok(Settlement::Open) => {}
        other => return Err(fail(CHECK, format!("failover lookup: {other:?}"))),
    }

    // Primary back: it issues again, without a new failure.
    let again = create_checked(CHECK, &failover, sample_request()).await?;
    if reported(&seen).len() != 1 {
        return Err(fail(
            CHECK,
            format!("hook saw {:?} after recovery", reported(&seen)),
        ));
    }
    match secondary.lookup_invoice(&again.payment_hash.into()).await {
        Ok(Settlement::Unknown) => {}
        other => {
            return Err(fail(
                CHECK,
                format!("after recovery the secondary issued the invoice: {other:?}"),
            ))
        }
    }
    match failover.lookup_invoice(&again.lookup).await {
        Ok(Settlement::Open) => Ok(()),
        other => Err(fail(
            CHECK,
            format!("failover lookup after recovery: {other:?}"),
        )),
    }
}
