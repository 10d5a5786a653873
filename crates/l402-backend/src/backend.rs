//! The trait every payment backend implements (backends.md, "Common shape").

use std::future::Future;
use std::pin::Pin;

use crate::{BackendError, Invoice, InvoiceRequest, Settlement};

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

    /// Creates a BOLT11 invoice for exactly `req.amount_msat`.
    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>>;

    /// Reports the state of the invoice with this payment hash; a hash the backend never
    /// issued is [`Settlement::Unknown`], not an error.
    fn lookup_invoice(
        &self,
        payment_hash: [u8; 32],
    ) -> BoxFuture<'_, Result<Settlement, BackendError>>;
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
        fn lookup_invoice(&self, _h: [u8; 32]) -> BoxFuture<'_, Result<Settlement, BackendError>> {
            Box::pin(async { Ok(Settlement::Unknown) })
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn trait_is_object_safe_and_futures_are_send() {
        let b: Arc<dyn Backend> = Arc::new(Nothing);
        let fut = b.lookup_invoice([0; 32]);
        assert_send(&fut);
        let b2 = Arc::clone(&b);
        let handle = std::thread::spawn(move || b2.name());
        assert_eq!(handle.join().ok(), Some("nothing"));
    }
}
