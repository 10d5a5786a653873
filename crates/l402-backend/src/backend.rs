//! The trait every payment backend implements: create an invoice for an amount with a memo
//! and an expiry, look up whether it settled, say what else it can do, start and stop.

use std::future::Future;
use std::pin::Pin;

use crate::{BackendError, Capabilities, Invoice, InvoiceRequest, LookupRef, Settlement};

/// A boxed, `Send` future: what [`Backend`] methods return so the trait stays object-safe
/// and its futures can run on a multi-threaded tokio runtime.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A Lightning payment backend: creates invoices and reports whether they settled.
///
/// Object-safe (`Box<dyn Backend>` / `Arc<dyn Backend>`), `Send + Sync`. Implementations:
/// - bound every network call with [`crate::with_timeout`];
/// - verify every invoice they return with [`crate::check_invoice`] and every preimage with
///   [`crate::check_preimage`]: a reply that fails a check is [`BackendError::InvalidReply`],
///   never accepted;
/// - never put credentials (macaroons, runes, passwords, secrets, preimages) in errors.
pub trait Backend: Send + Sync + 'static {
    /// Short, stable, lowercase name used in logs and errors ("lnd", "cln", "fake", …).
    fn name(&self) -> &'static str;

    /// What this backend can do besides creating invoices.
    fn capabilities(&self) -> Capabilities;

    /// Prepares the backend in the process that will use it (a worker, after fork), before
    /// its first call: a backend that connects lazily has nothing to do (the default). An
    /// error is logged by the caller; the backend stays in place and its calls report their
    /// own errors.
    fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    /// Releases what [`Backend::start`] or the calls set up, when the process stops using the
    /// backend. Called at most once, bounded in time by the caller. Default: nothing.
    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Creates an invoice for exactly `req.amount_msat`; [`Invoice::kind`] says which kind.
    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>>;

    /// Reports the state of the invoice `lookup` refers to: the [`Invoice::lookup`] this
    /// backend handed out, or a reference made from the payment hash alone. An invoice the
    /// backend never issued (or cannot find from a hash-only reference) is
    /// [`Settlement::Unknown`], not an error.
    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Nothing;

    impl Backend for Nothing {
        fn name(&self) -> &'static str {
            "nothing"
        }
        fn create_invoice(
            &self,
            _req: InvoiceRequest,
        ) -> BoxFuture<'_, Result<Invoice, BackendError>> {
            Box::pin(async {
                Err(BackendError::Unavailable {
                    backend: "nothing",
                    cause: "no node".into(),
                })
            })
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::NONE
        }
        fn lookup_invoice<'a>(
            &'a self,
            _r: &'a LookupRef,
        ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
            Box::pin(async { Ok(Settlement::Unknown) })
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn trait_is_object_safe_and_futures_are_send() {
        let b: Arc<dyn Backend> = Arc::new(Nothing);
        let r = LookupRef::from_payment_hash([0; 32]);
        let fut = b.lookup_invoice(&r);
        assert_send(&fut);
        drop(fut);
        assert_send(&b.start());
        assert_send(&b.stop());
        let b2 = Arc::clone(&b);
        let handle = std::thread::spawn(move || b2.name());
        assert_eq!(handle.join().ok(), Some("nothing"));
    }
}
