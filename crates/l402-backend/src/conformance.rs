//! Shared conformance suite: the behaviour every [`Backend`] must show, whatever node is
//! behind it (style.md, point 3: "a shared conformance suite every backend passes").
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

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use lightning_invoice::Bolt11InvoiceDescriptionRef;

use crate::{check_invoice, check_preimage, parse_bolt11, Backend, BoxFuture, Invoice};
use crate::{BackendError, InvoiceRequest, Settlement};

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
    let checked = check_invoice(
        backend.name(),
        &inv.bolt11,
        &req,
        Some(inv.payment_hash),
        now,
    )
    .map_err(|e| fail(check, e.to_string()))?;
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
            .any(|s| s.payment_hash == inv.payment_hash || s.bolt11 == inv.bolt11)
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
    let parsed = parse_bolt11(&inv.bolt11).map_err(|e| fail(CHECK, e))?;
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
    match backend.lookup_invoice(hash).await {
        Ok(Settlement::Unknown | Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
}

/// A freshly issued, unpaid invoice looks up as `Open`.
pub async fn lookup_issued_is_open(backend: &dyn Backend) -> Outcome {
    const CHECK: &str = "lookup_issued_is_open";
    let inv = create_checked(CHECK, backend, sample_request()).await?;
    match backend.lookup_invoice(inv.payment_hash).await {
        Ok(Settlement::Open) => Ok(()),
        Ok(other) => Err(fail(CHECK, format!("got {other:?}"))),
        Err(e) => Err(backend_failed(CHECK, e)),
    }
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
    pay(inv)
        .await
        .map_err(|e| fail(CHECK, format!("paying failed: {e}")))?;
    match backend.lookup_invoice(hash).await {
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
    zero_amount_is_refused(backend).await?;
    Ok(())
}
