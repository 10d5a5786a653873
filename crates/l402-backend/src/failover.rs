//! [`Failover`]: several backends behind one, tried in order.
//!
//! `create_invoice` asks each backend in turn and returns the first invoice; any error
//! (unavailable, timeout, invalid reply, rejected) moves on to the next backend, and when every
//! backend failed the last error is returned. `lookup_invoice` asks the backend that issued the
//! invoice, remembered in a bounded map; for a hash it does not remember (forgotten, or issued
//! by another worker) it asks each backend in order until one knows it.
//!
//! This crate has no logger: every error a backend returned, including the ones failover
//! recovered from, is passed to the [`Failover::on_failure`] hook, which the caller (the nginx
//! adapter) turns into a log line.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Backend, BackendError, BoxFuture, Invoice, InvoiceRequest, Settlement};

/// [`Backend::name`] of [`Failover`].
pub const NAME: &str = "failover";

/// How many payment hash → backend entries [`Failover::new`] remembers.
pub const DEFAULT_MEMORY: usize = 100_000;

/// Called with every error a backend returned inside a [`Failover`].
pub type FailureHook = Arc<dyn Fn(&BackendError) + Send + Sync>;

/// Remembers which backend issued which payment hash; forgets the oldest entry first.
struct Issuers {
    capacity: usize,
    by_hash: HashMap<[u8; 32], usize>,
    order: VecDeque<[u8; 32]>,
}

impl Issuers {
    fn new(capacity: usize) -> Issuers {
        Issuers {
            capacity,
            by_hash: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn insert(&mut self, hash: [u8; 32], index: usize) {
        if self.capacity == 0 {
            return;
        }
        if self.by_hash.insert(hash, index).is_some() {
            // Already queued: the entry is updated in place, its age is unchanged.
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.by_hash.remove(&old);
            }
        }
    }

    fn get(&self, hash: &[u8; 32]) -> Option<usize> {
        self.by_hash.get(hash).copied()
    }

    fn len(&self) -> usize {
        self.by_hash.len()
    }
}

/// Backends tried in order (name `"failover"`). See the module documentation.
pub struct Failover {
    backends: Vec<Arc<dyn Backend>>,
    on_failure: Option<FailureHook>,
    issuers: Mutex<Issuers>,
}

impl Failover {
    /// Failover over `backends`, in the order given, remembering the issuer of the last
    /// [`DEFAULT_MEMORY`] invoices. With no backend every call is
    /// [`BackendError::Unavailable`].
    pub fn new(backends: Vec<Arc<dyn Backend>>) -> Failover {
        Failover::with_memory(backends, DEFAULT_MEMORY)
    }

    /// Like [`Failover::new`], remembering the issuer of the last `memory` invoices.
    pub fn with_memory(backends: Vec<Arc<dyn Backend>>, memory: usize) -> Failover {
        Failover {
            backends,
            on_failure: None,
            issuers: Mutex::new(Issuers::new(memory)),
        }
    }

    /// Sets the hook called with every backend error (recovered from or not). The hook runs
    /// on the calling task and must not block; errors never contain credentials.
    pub fn on_failure(mut self, hook: impl Fn(&BackendError) + Send + Sync + 'static) -> Failover {
        self.on_failure = Some(Arc::new(hook));
        self
    }

    /// The backends, in the order they are tried.
    pub fn backends(&self) -> &[Arc<dyn Backend>] {
        &self.backends
    }

    /// How many payment hashes have a remembered issuer.
    pub fn remembered(&self) -> usize {
        self.issuers().len()
    }

    /// The map, even if a thread panicked while holding it (each mutation leaves it usable).
    fn issuers(&self) -> MutexGuard<'_, Issuers> {
        self.issuers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self, e: &BackendError) {
        if let Some(hook) = &self.on_failure {
            hook(e);
        }
    }

    fn no_backend() -> BackendError {
        BackendError::Unavailable {
            backend: NAME,
            cause: "no backend configured".to_owned(),
        }
    }

    async fn create(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        let mut last = None;
        for (index, backend) in self.backends.iter().enumerate() {
            match backend.create_invoice(req.clone()).await {
                Ok(invoice) => {
                    self.issuers().insert(invoice.payment_hash, index);
                    return Ok(invoice);
                }
                Err(e) => {
                    self.report(&e);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(Failover::no_backend))
    }

    async fn lookup(&self, hash: [u8; 32]) -> Result<Settlement, BackendError> {
        let remembered = self.issuers().get(&hash);
        if let Some(backend) = remembered.and_then(|i| self.backends.get(i)) {
            // Only the issuer can know this invoice: its answer (or error) is final.
            let got = backend.lookup_invoice(hash).await;
            if let Err(e) = &got {
                self.report(e);
            }
            return got;
        }
        if self.backends.is_empty() {
            return Err(Failover::no_backend());
        }
        let mut first_error = None;
        for (index, backend) in self.backends.iter().enumerate() {
            match backend.lookup_invoice(hash).await {
                Ok(Settlement::Unknown) => {}
                Ok(state) => {
                    self.issuers().insert(hash, index);
                    return Ok(state);
                }
                Err(e) => {
                    self.report(&e);
                    first_error.get_or_insert(e);
                }
            }
        }
        // A backend that failed might have issued it: not knowing is not "unknown".
        match first_error {
            Some(e) => Err(e),
            None => Ok(Settlement::Unknown),
        }
    }
}

impl Backend for Failover {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(self.create(req))
    }

    fn lookup_invoice(
        &self,
        payment_hash: [u8; 32],
    ) -> BoxFuture<'_, Result<Settlement, BackendError>> {
        Box::pin(self.lookup(payment_hash))
    }
}

impl fmt::Debug for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.backends.iter().map(|b| b.name()).collect();
        f.debug_struct("Failover")
            .field("backends", &names)
            .field("on_failure", &self.on_failure.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scripted backend: fails with `error` or issues invoices whose hash starts with `tag`.
    struct Scripted {
        name: &'static str,
        tag: u8,
        error: Mutex<Option<BackendError>>,
        issued: Mutex<Vec<[u8; 32]>>,
        lookups: AtomicUsize,
    }

    impl Scripted {
        fn new(name: &'static str, tag: u8) -> Arc<Scripted> {
            Arc::new(Scripted {
                name,
                tag,
                error: Mutex::new(None),
                issued: Mutex::new(Vec::new()),
                lookups: AtomicUsize::new(0),
            })
        }

        fn fail_with(&self, e: Option<BackendError>) {
            *self.error.lock().unwrap() = e;
        }
    }

    impl Backend for Scripted {
        fn name(&self) -> &'static str {
            self.name
        }

        fn create_invoice(
            &self,
            req: InvoiceRequest,
        ) -> BoxFuture<'_, Result<Invoice, BackendError>> {
            Box::pin(async move {
                if let Some(e) = self.error.lock().unwrap().clone() {
                    return Err(e);
                }
                let mut issued = self.issued.lock().unwrap();
                let mut hash = [0u8; 32];
                hash[0] = self.tag;
                hash[1] = u8::try_from(issued.len()).unwrap();
                issued.push(hash);
                Ok(Invoice {
                    bolt11: format!("lnbcrt-{}", self.name),
                    payment_hash: hash,
                    amount_msat: req.amount_msat,
                    expires_at_unix: 0,
                })
            })
        }

        fn lookup_invoice(
            &self,
            hash: [u8; 32],
        ) -> BoxFuture<'_, Result<Settlement, BackendError>> {
            Box::pin(async move {
                self.lookups.fetch_add(1, Ordering::SeqCst);
                if let Some(e) = self.error.lock().unwrap().clone() {
                    return Err(e);
                }
                if self.issued.lock().unwrap().contains(&hash) {
                    Ok(Settlement::Open)
                } else {
                    Ok(Settlement::Unknown)
                }
            })
        }
    }

    fn req() -> InvoiceRequest {
        InvoiceRequest {
            amount_msat: 1_000,
            memo: String::new(),
            expiry_secs: 60,
        }
    }

    fn down(name: &'static str) -> BackendError {
        BackendError::Unavailable {
            backend: name,
            cause: "connection refused".into(),
        }
    }

    fn failover(
        list: &[&Arc<Scripted>],
        memory: usize,
    ) -> (Failover, Arc<Mutex<Vec<BackendError>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let backends = list
            .iter()
            .map(|b| Arc::clone(*b) as Arc<dyn Backend>)
            .collect();
        let f = Failover::with_memory(backends, memory)
            .on_failure(move |e| sink.lock().unwrap().push(e.clone()));
        (f, seen)
    }

    #[tokio::test]
    async fn first_healthy_backend_issues() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        let (f, seen) = failover(&[&a, &b], 10);
        assert_eq!(f.name(), "failover");
        let inv = f.create_invoice(req()).await.unwrap();
        assert_eq!(inv.payment_hash[0], 1);
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn every_error_kind_moves_to_the_next_backend() {
        let errors = [
            down("a"),
            BackendError::Timeout {
                backend: "a",
                after: std::time::Duration::from_secs(1),
            },
            BackendError::InvalidReply {
                backend: "a",
                cause: "garbage".into(),
            },
            BackendError::Rejected {
                backend: "a",
                cause: "no".into(),
            },
        ];
        for e in errors {
            let a = Scripted::new("a", 1);
            let b = Scripted::new("b", 2);
            a.fail_with(Some(e.clone()));
            let (f, seen) = failover(&[&a, &b], 10);
            let inv = f.create_invoice(req()).await.unwrap();
            assert_eq!(inv.payment_hash[0], 2, "{e}");
            assert_eq!(*seen.lock().unwrap(), vec![e]);
        }
    }

    #[tokio::test]
    async fn all_failing_returns_the_last_error_and_reports_each() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        a.fail_with(Some(down("a")));
        b.fail_with(Some(BackendError::Rejected {
            backend: "b",
            cause: "amount too large".into(),
        }));
        let (f, seen) = failover(&[&a, &b], 10);
        let err = f.create_invoice(req()).await.unwrap_err();
        assert_eq!(err.backend(), "b");
        assert_eq!(err.kind(), "rejected");
        let kinds: Vec<_> = seen.lock().unwrap().iter().map(|e| e.kind()).collect();
        assert_eq!(kinds, ["unavailable", "rejected"]);
    }

    #[tokio::test]
    async fn no_backend_is_unavailable() {
        let f = Failover::new(Vec::new());
        let err = f.create_invoice(req()).await.unwrap_err();
        assert_eq!((err.backend(), err.kind()), ("failover", "unavailable"));
        assert!(f.lookup_invoice([0; 32]).await.is_err());
    }

    #[tokio::test]
    async fn lookup_asks_the_issuer_only() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        a.fail_with(Some(down("a")));
        let (f, _seen) = failover(&[&a, &b], 10);
        let inv = f.create_invoice(req()).await.unwrap();
        a.fail_with(None);
        let before = a.lookups.load(Ordering::SeqCst);
        assert_eq!(
            f.lookup_invoice(inv.payment_hash).await.unwrap(),
            Settlement::Open
        );
        assert_eq!(a.lookups.load(Ordering::SeqCst), before, "a was asked");
        assert_eq!(b.lookups.load(Ordering::SeqCst), 1);

        // The issuer's error is final: another backend cannot know its invoice.
        b.fail_with(Some(down("b")));
        let err = f.lookup_invoice(inv.payment_hash).await.unwrap_err();
        assert_eq!(err.backend(), "b");
        assert_eq!(a.lookups.load(Ordering::SeqCst), before);
    }

    #[tokio::test]
    async fn forgotten_hash_is_found_by_asking_each_in_order() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        // Issued by b directly (as if by another worker's Failover).
        let inv = b.create_invoice(req()).await.unwrap();
        let (f, _seen) = failover(&[&a, &b], 10);
        assert_eq!(f.remembered(), 0);
        assert_eq!(
            f.lookup_invoice(inv.payment_hash).await.unwrap(),
            Settlement::Open
        );
        assert_eq!(a.lookups.load(Ordering::SeqCst), 1);
        assert_eq!(b.lookups.load(Ordering::SeqCst), 1);
        // Now remembered: a is not asked again.
        assert_eq!(f.remembered(), 1);
        f.lookup_invoice(inv.payment_hash).await.unwrap();
        assert_eq!(a.lookups.load(Ordering::SeqCst), 1);

        // Known to nobody.
        assert_eq!(
            f.lookup_invoice([9; 32]).await.unwrap(),
            Settlement::Unknown
        );
    }

    #[tokio::test]
    async fn unknown_everywhere_but_one_failed_is_that_error() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        a.fail_with(Some(down("a")));
        let (f, seen) = failover(&[&a, &b], 10);
        let err = f.lookup_invoice([9; 32]).await.unwrap_err();
        assert_eq!(err.backend(), "a");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn memory_is_bounded_oldest_first() {
        let a = Scripted::new("a", 1);
        let (f, _seen) = failover(&[&a], 3);
        let mut hashes = Vec::new();
        for _ in 0..5 {
            hashes.push(f.create_invoice(req()).await.unwrap().payment_hash);
        }
        assert_eq!(f.remembered(), 3);
        let issuers = f.issuers();
        assert_eq!(issuers.get(&hashes[0]), None);
        assert_eq!(issuers.get(&hashes[1]), None);
        assert_eq!(issuers.get(&hashes[4]), Some(0));
        assert_eq!(issuers.order.len(), 3);
    }

    #[test]
    fn zero_memory_remembers_nothing() {
        let mut m = Issuers::new(0);
        m.insert([1; 32], 0);
        assert_eq!(m.len(), 0);
        let mut m = Issuers::new(2);
        m.insert([1; 32], 0);
        m.insert([1; 32], 1);
        assert_eq!((m.len(), m.order.len(), m.get(&[1; 32])), (1, 1, Some(1)));
    }

    #[test]
    fn debug_names_backends() {
        let a = Scripted::new("a", 1);
        let (f, _) = failover(&[&a], 1);
        let shown = format!("{f:?}");
        assert!(shown.contains("[\"a\"]"), "{shown}");
    }
}
