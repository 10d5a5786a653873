//! The shared backend conformance suite (l402_backend::conformance) against the fake.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use l402_backend::conformance::{self, PayFn};
use l402_backend::{
    Backend, BackendError, BoxFuture, Capabilities, Invoice, InvoiceKind, InvoiceRequest, LookupRef,
    Settlement,
};
use l402_fake::{FakeBackend, FakeConfig, FakeSecret};

fn fake() -> Arc<FakeBackend> {
    Arc::new(FakeBackend::new(
        FakeSecret::generate().unwrap(),
        FakeConfig::default(),
    ))
}

#[tokio::test]
async fn fake_passes_run_all() {
    let backend = fake();
    conformance::run_all(backend.as_ref()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_passes_run_all_as_dyn_backend_on_multithread_runtime() {
    let backend: Arc<dyn Backend> = fake();
    let task = tokio::spawn(async move { conformance::run_all(backend.as_ref()).await });
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn fake_starts_and_stops() {
    conformance::starts_and_stops(fake().as_ref()).await.unwrap();
}

#[tokio::test]
async fn fake_carries_memo() {
    conformance::memo_is_carried(fake().as_ref()).await.unwrap();
}

#[tokio::test]
async fn fake_settles_after_pay_and_record() {
    let backend = fake();
    let payer = Arc::clone(&backend);
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let payer = Arc::clone(&payer);
        Box::pin(async move {
            payer
                .pay_and_record(&inv.text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    };
    let pay: PayFn<'_> = &pay;
    conformance::settles_after_payment(backend.as_ref(), pay)
        .await
        .unwrap();
}

/// A backend that lies in a chosen way, to show the suite catches it.
struct Liar {
    inner: Arc<FakeBackend>,
    lie: Lie,
    first: std::sync::Mutex<Option<Invoice>>,
}

impl Liar {
    fn new(lie: Lie) -> Liar {
        Liar {
            inner: fake(),
            lie,
            first: std::sync::Mutex::new(None),
        }
    }
}

#[derive(Clone, Copy)]
enum Lie {
    AmountPlusOne,
    SameInvoiceTwice,
    SettledForUnknown,
    WrongPreimage,
    UppercaseName,
    ExpiresAtOff,
    /// Says its BOLT11 invoices are BOLT12.
    WrongKind,
    /// Hands out a lookup reference naming another payment hash.
    ForeignLookupRef,
    /// Claims to detect payments without a preimage but not to look invoices up.
    DetectWithoutLookup,
    /// Claims to find invoices from the hash alone, but only finds them by its own reference.
    NeedsItsReference,
}

impl Backend for Liar {
    fn name(&self) -> &'static str {
        match self.lie {
            Lie::UppercaseName => "Fake",
            _ => "liar",
        }
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(async move {
            match self.lie {
                Lie::AmountPlusOne => {
                    let asked = req.amount_msat;
                    let mut inv = self
                        .inner
                        .create_invoice(InvoiceRequest {
                            amount_msat: asked + 1,
                            ..req
                        })
                        .await?;
                    inv.amount_msat = asked;
                    Ok(inv)
                }
                Lie::SameInvoiceTwice => {
                    // Answers every request for the first invoice's amount with that invoice.
                    let cached = self.first.lock().unwrap().clone();
                    if let Some(first) = cached {
                        if first.amount_msat == req.amount_msat {
                            return Ok(first);
                        }
                    }
                    let inv = self.inner.create_invoice(req).await?;
                    self.first
                        .lock()
                        .unwrap()
                        .get_or_insert_with(|| inv.clone());
                    Ok(inv)
                }
                Lie::ExpiresAtOff => {
                    let mut inv = self.inner.create_invoice(req).await?;
                    inv.expires_at_unix += 1;
                    Ok(inv)
                }
                Lie::WrongKind => {
                    let mut inv = self.inner.create_invoice(req).await?;
                    inv.kind = InvoiceKind::Bolt12;
                    Ok(inv)
                }
                Lie::ForeignLookupRef => {
                    let mut inv = self.inner.create_invoice(req).await?;
                    inv.lookup = LookupRef::from_payment_hash([9; 32]);
                    Ok(inv)
                }
                Lie::NeedsItsReference => {
                    let mut inv = self.inner.create_invoice(req).await?;
                    inv.lookup = LookupRef::with_extra(inv.payment_hash, b"mine").unwrap();
                    Ok(inv)
                }
                _ => self.inner.create_invoice(req).await,
            }
        })
    }

    fn capabilities(&self) -> Capabilities {
        match self.lie {
            Lie::DetectWithoutLookup => Capabilities { lookup: false, detect_without_preimage: true },
            _ => Capabilities::FULL,
        }
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        Box::pin(async move {
            if matches!(self.lie, Lie::NeedsItsReference) && lookup.is_hash_only() {
                return Ok(Settlement::Unknown);
            }
            match (self.lie, self.inner.lookup_invoice(lookup).await?) {
                (Lie::SettledForUnknown, Settlement::Unknown) => {
                    Ok(Settlement::Settled { preimage: None })
                }
                (Lie::WrongPreimage, Settlement::Settled { .. }) => Ok(Settlement::Settled {
                    preimage: Some([0; 32]),
                }),
                (_, state) => Ok(state),
            }
        })
    }
}

#[tokio::test]
async fn suite_catches_lying_backends() {
    let cases = [
        (Lie::AmountPlusOne, "create_returns_valid_invoice"),
        (Lie::SameInvoiceTwice, "distinct_payment_hashes"),
        (Lie::SettledForUnknown, "lookup_unknown_is_unknown_or_open"),
        (Lie::UppercaseName, "name_is_valid"),
        (Lie::ExpiresAtOff, "create_returns_valid_invoice"),
        (Lie::WrongKind, "create_returns_valid_invoice"),
        (Lie::ForeignLookupRef, "create_returns_valid_invoice"),
        (Lie::DetectWithoutLookup, "capabilities_are_consistent"),
        (Lie::NeedsItsReference, "lookup_by_hash_alone"),
    ];
    for (lie, check) in cases {
        let liar = Liar::new(lie);
        let failure = conformance::run_all(&liar).await.unwrap_err();
        assert_eq!(failure.check, check, "{failure}");
    }

    let liar = Arc::new(Liar::new(Lie::WrongPreimage));
    let inner = Arc::clone(&liar.inner);
    let pay = move |inv: Invoice| -> BoxFuture<'static, Result<(), String>> {
        let inner = Arc::clone(&inner);
        Box::pin(async move {
            inner
                .pay_and_record(&inv.text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    };
    let failure = conformance::settles_after_payment(liar.as_ref(), &pay)
        .await
        .unwrap_err();
    assert!(failure.detail.contains("preimage"), "{failure}");
}

mod faults {
    use super::*;
    use l402_backend::conformance::{GarbageKind, Mode, PeerControl};
    use std::time::Duration;

    #[tokio::test]
    async fn fake_passes_run_faults() {
        let backend = fake();
        conformance::run_faults(
            backend.as_ref(),
            backend.as_ref(),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
        assert_eq!(backend.fault_mode(), Mode::Normal);
    }

    #[tokio::test]
    async fn fake_passes_failover_check() {
        let primary = fake();
        let secondary: Arc<dyn Backend> = fake();
        conformance::failover_skips_down_backend(
            Arc::clone(&primary) as Arc<dyn Backend>,
            primary.as_ref(),
            secondary,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn fake_fault_modes_classify_like_a_real_peer() {
        let backend = fake();
        let req = conformance::sample_request();
        let cases = [
            (Mode::Down, "unavailable"),
            (Mode::Garbage(GarbageKind::Unparsable), "invalid_reply"),
            (Mode::Garbage(GarbageKind::WrongHash), "invalid_reply"),
            (Mode::Garbage(GarbageKind::NotJson), "invalid_reply"),
            (Mode::WrongAmount, "invalid_reply"),
        ];
        for (mode, kind) in cases {
            backend.set_mode(mode).await;
            let err = backend.create_invoice(req.clone()).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{mode:?}: {err}");
            assert_eq!(err.backend(), "fake");
        }
        backend.set_mode(Mode::Normal).await;
        backend.create_invoice(req).await.unwrap();
        assert!(!backend.supports(&Mode::Slow(Duration::from_millis(1))));
    }

    /// The suite's fault checks catch a backend that ignores its peer's faults.
    #[tokio::test]
    async fn run_faults_catches_a_backend_that_hides_faults() {
        struct Hider(Arc<FakeBackend>);
        impl Backend for Hider {
            fn name(&self) -> &'static str {
                "hider"
            }
            fn create_invoice(
                &self,
                req: InvoiceRequest,
            ) -> BoxFuture<'_, Result<Invoice, BackendError>> {
                Box::pin(async move {
                    match self.0.create_invoice(req.clone()).await {
                        // "Recovers" from a wrong amount by passing the error off as a refusal.
                        Err(BackendError::InvalidReply { .. }) => Err(BackendError::Rejected {
                            backend: "hider",
                            cause: "hidden".into(),
                        }),
                        other => other,
                    }
                })
            }
            fn capabilities(&self) -> Capabilities {
                self.0.capabilities()
            }
            fn lookup_invoice<'a>(
                &'a self,
                lookup: &'a LookupRef,
            ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
                self.0.lookup_invoice(lookup)
            }
        }
        let inner = fake();
        let hider = Hider(Arc::clone(&inner));
        let failure = conformance::run_faults(&hider, inner.as_ref(), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(failure.check, "garbage_is_invalid_reply", "{failure}");
        assert_eq!(
            inner.fault_mode(),
            Mode::Normal,
            "peer left in a fault mode"
        );
    }
}
