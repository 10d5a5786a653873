//! [`Started`]: runs a backend's [`Backend::start`] once, before its first call, on the runtime
//! that makes the calls; and its [`Backend::stop`] only if it started.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::{Backend, BackendError, BoxFuture, Capabilities, Invoice, InvoiceRequest, LookupRef, Settlement};

/// A backend whose `start` runs before its first call. A start that fails is the error of
/// that call and is tried again on the next one (a node that was down at start comes back).
pub struct Started {
    inner: Arc<dyn Backend>,
    started: OnceCell<()>,
}

impl Started {
    pub fn new(inner: Arc<dyn Backend>) -> Started {
        Started { inner, started: OnceCell::new() }
    }

    /// True once `start` succeeded.
    pub fn is_started(&self) -> bool {
        self.started.initialized()
    }

    async fn ensure_started(&self) -> Result<(), BackendError> {
        self.started.get_or_try_init(|| self.inner.start()).await.map(|_| ())
    }
}

impl Backend for Started {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(self.ensure_started())
    }

    /// Stops the inner backend if it started.
    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.is_started() {
                self.inner.stop().await;
            }
        })
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(async move {
            self.ensure_started().await?;
            self.inner.create_invoice(req).await
        })
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        Box::pin(async move {
            self.ensure_started().await?;
            self.inner.lookup_invoice(lookup).await
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fails to start `fail_starts` times, then starts.
    struct Counting {
        starts: AtomicUsize,
        stops: AtomicUsize,
        fail_starts: usize,
    }

    impl Backend for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::NONE
        }
        fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
            let n = self.starts.fetch_add(1, Ordering::SeqCst);
            let fail = n < self.fail_starts;
            Box::pin(async move {
                if fail {
                    Err(BackendError::Unavailable { backend: "counting", cause: "not yet".into() })
                } else {
                    Ok(())
                }
            })
        }
        fn stop(&self) -> BoxFuture<'_, ()> {
            self.stops.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {})
        }
        fn create_invoice(&self, _: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
            Box::pin(async { Err(BackendError::Rejected { backend: "counting", cause: "no".into() }) })
        }
        fn lookup_invoice<'a>(&'a self, _: &'a LookupRef) -> BoxFuture<'a, Result<Settlement, BackendError>> {
            Box::pin(async { Ok(Settlement::Unknown) })
        }
    }

    fn counting(fail_starts: usize) -> Arc<Counting> {
        Arc::new(Counting { starts: AtomicUsize::new(0), stops: AtomicUsize::new(0), fail_starts })
    }

    #[tokio::test]
    async fn starts_once_before_the_first_call_and_retries_a_failed_start() {
        let inner = counting(1);
        let s = Started::new(Arc::clone(&inner) as Arc<dyn Backend>);
        let r = LookupRef::from_payment_hash([0; 32]);
        assert_eq!(s.lookup_invoice(&r).await.unwrap_err().kind(), "unavailable");
        assert!(!s.is_started());
        assert_eq!(s.lookup_invoice(&r).await.unwrap(), Settlement::Unknown);
        assert_eq!(s.create_invoice(InvoiceRequest { amount_msat: 1, memo: String::new(), expiry_secs: 60 }).await.unwrap_err().kind(), "rejected");
        assert_eq!(inner.starts.load(Ordering::SeqCst), 2);
        s.stop().await;
        assert_eq!(inner.stops.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn never_started_is_not_stopped() {
        let inner = counting(0);
        let s = Started::new(Arc::clone(&inner) as Arc<dyn Backend>);
        s.stop().await;
        assert_eq!(inner.stops.load(Ordering::SeqCst), 0);
        assert_eq!(s.name(), "counting");
    }
}
