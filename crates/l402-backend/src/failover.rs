//! [`Failover`]: several backends behind one, tried in order.
//!
//! `create_invoice` asks each backend in turn and returns the first invoice; any error
//! (unavailable, timeout, invalid reply, rejected) moves on to the next backend, and when every
//! backend failed the last error is returned. `lookup_invoice` asks the backend that issued the
//! invoice, remembered in a bounded map with the [`LookupRef`] it handed out (so a reference
//! made from the payment hash alone reaches the issuer as the full reference); for a hash it
//! does not remember (forgotten, or issued by another worker) it asks each backend in order
//! until one knows it. `start` and `stop` reach every backend; the capabilities are what any
//! of them can do.
//!
//! This crate has no logger: every error a backend returned, including the ones failover
//! recovered from, is passed to the [`Failover::on_failure`] hook, which the caller (the nginx
//! adapter) turns into a log line.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{
    Backend, BackendError, BoxFuture, Capabilities, Invoice, InvoiceRequest, LookupRef, Settlement,
};

/// [`Backend::name`] of [`Failover`].
pub const NAME: &str = "failover";

/// How many payment hash → backend entries [`Failover::new`] remembers.
pub const DEFAULT_MEMORY: usize = 100_000;

/// Called with every error a backend returned inside a [`Failover`].
pub type FailureHook = Arc<dyn Fn(&BackendError) + Send + Sync>;

/// The backend that issued an invoice, and the reference it handed out when that is more than
/// the payment hash.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Issuer {
    index: usize,
    lookup: Option<LookupRef>,
}

/// Remembers which backend issued which payment hash; forgets the oldest entry first.
struct Issuers {
    capacity: usize,
    by_hash: HashMap<[u8; 32], Issuer>,
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

    fn insert(&mut self, hash: [u8; 32], issuer: Issuer) {
        if self.capacity == 0 {
            return;
        }
        if self.by_hash.insert(hash, issuer).is_some() {
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

    fn get(&self, hash: &[u8; 32]) -> Option<Issuer> {
        self.by_hash.get(hash).cloned()
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
                    let lookup = (!invoice.lookup.is_hash_only()).then(|| invoice.lookup.clone());
                    self.issuers().insert(invoice.payment_hash, Issuer { index, lookup });
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

    async fn lookup(&self, lookup: &LookupRef) -> Result<Settlement, BackendError> {
        let hash = lookup.payment_hash();
        let remembered = self.issuers().get(&hash);
        if let Some((issuer, backend)) =
            remembered.and_then(|i| self.backends.get(i.index).map(|b| (i, b)))
        {
            // Only the issuer can know this invoice: its answer (or error) is final. A
            // hash-only reference becomes the one the issuer handed out.
            let full = match (&issuer.lookup, lookup.is_hash_only()) {
                (Some(full), true) => full,
                _ => lookup,
            };
            let got = backend.lookup_invoice(full).await;
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
            match backend.lookup_invoice(lookup).await {
                Ok(Settlement::Unknown) => {}
                Ok(state) => {
                    let remembered = (!lookup.is_hash_only()).then(|| lookup.clone());
                    self.issuers().insert(hash, Issuer { index, lookup: remembered });
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

    /// What any of the backends can do (a lookup goes to the issuer).
    fn capabilities(&self) -> Capabilities {
        self.backends.iter().map(|b| b.capabilities()).fold(Capabilities::NONE, |a, c| {
            Capabilities {
                lookup: a.lookup || c.lookup,
                detect_without_preimage: a.detect_without_preimage || c.detect_without_preimage,
            }
        })
    }

    /// Starts every backend; a backend that fails to start is reported to the hook and stays
    /// in the list (its calls fail and the next one is tried). Returns the first error.
    fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            let mut first = None;
            for backend in &self.backends {
                if let Err(e) = backend.start().await {
                    self.report(&e);
                    first.get_or_insert(e);
                }
            }
            first.map_or(Ok(()), Err)
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for backend in &self.backends {
                backend.stop().await;
            }
        })
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(self.create(req))
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        Box::pin(self.lookup(lookup))
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
        /// Hand out references with these extra bytes.
        extra: Vec<u8>,
        /// The last reference `lookup_invoice` received.
        seen: Mutex<Option<LookupRef>>,
        started: AtomicUsize,
        stopped: AtomicUsize,
    }

    impl Scripted {
        fn new(name: &'static str, tag: u8) -> Arc<Scripted> {
            Arc::new(Scripted {
                name,
                tag,
                error: Mutex::new(None),
                issued: Mutex::new(Vec::new()),
                lookups: AtomicUsize::new(0),
                extra: Vec::new(),
                seen: Mutex::new(None),
                started: AtomicUsize::new(0),
                stopped: AtomicUsize::new(0),
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
                    kind: crate::InvoiceKind::Bolt11,
                    text: format!("lnbcrt-{}", self.name),
                    payment_hash: hash,
                    amount_msat: req.amount_msat,
                    expires_at_unix: 0,
                    lookup: LookupRef::with_extra(hash, &self.extra).unwrap(),
                })
            })
        }

        fn capabilities(&self) -> Capabilities {
            if self.extra.is_empty() {
                Capabilities::FULL
            } else {
                Capabilities { lookup: true, detect_without_preimage: false }
            }
        }

        fn start(&self) -> BoxFuture<'_, Result<(), BackendError>> {
            self.started.fetch_add(1, Ordering::SeqCst);
            let e = self.error.lock().unwrap().clone();
            Box::pin(async move { e.map_or(Ok(()), Err) })
        }

        fn stop(&self) -> BoxFuture<'_, ()> {
            self.stopped.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {})
        }

        fn lookup_invoice<'a>(
            &'a self,
            lookup: &'a LookupRef,
        ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
            let hash = lookup.payment_hash();
            *self.seen.lock().unwrap() = Some(lookup.clone());
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
        assert!(f.lookup_invoice(&[0; 32].into()).await.is_err());
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
            f.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
            Settlement::Open
        );
        assert_eq!(a.lookups.load(Ordering::SeqCst), before, "a was asked");
        assert_eq!(b.lookups.load(Ordering::SeqCst), 1);

        // The issuer's error is final: another backend cannot know its invoice.
        b.fail_with(Some(down("b")));
        let err = f.lookup_invoice(&inv.payment_hash.into()).await.unwrap_err();
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
            f.lookup_invoice(&inv.payment_hash.into()).await.unwrap(),
            Settlement::Open
        );
        assert_eq!(a.lookups.load(Ordering::SeqCst), 1);
        assert_eq!(b.lookups.load(Ordering::SeqCst), 1);
        // Now remembered: a is not asked again.
        assert_eq!(f.remembered(), 1);
        f.lookup_invoice(&inv.payment_hash.into()).await.unwrap();
        assert_eq!(a.lookups.load(Ordering::SeqCst), 1);

        // Known to nobody.
        assert_eq!(
            f.lookup_invoice(&[9; 32].into()).await.unwrap(),
            Settlement::Unknown
        );
    }

    #[tokio::test]
    async fn unknown_everywhere_but_one_failed_is_that_error() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        a.fail_with(Some(down("a")));
        let (f, seen) = failover(&[&a, &b], 10);
        let err = f.lookup_invoice(&[9; 32].into()).await.unwrap_err();
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
        assert_eq!(issuers.get(&hashes[4]).map(|i| i.index), Some(0));
        assert_eq!(issuers.order.len(), 3);
    }

    #[test]
    fn zero_memory_remembers_nothing() {
        let at = |index| Issuer { index, lookup: None };
        let mut m = Issuers::new(0);
        m.insert([1; 32], at(0));
        assert_eq!(m.len(), 0);
        let mut m = Issuers::new(2);
        m.insert([1; 32], at(0));
        m.insert([1; 32], at(1));
        assert_eq!((m.len(), m.order.len(), m.get(&[1; 32])), (1, 1, Some(at(1))));
    }

    #[test]
    fn debug_names_backends() {
        let a = Scripted::new("a", 1);
        let (f, _) = failover(&[&a], 1);
        let shown = format!("{f:?}");
        assert!(shown.contains("[\"a\"]"), "{shown}");
    }

    fn with_extra(name: &'static str, tag: u8, extra: &[u8]) -> Arc<Scripted> {
        let mut s = Arc::try_unwrap(Scripted::new(name, tag)).ok().unwrap();
        s.extra = extra.to_vec();
        Arc::new(s)
    }

    #[tokio::test]
    async fn a_hash_only_lookup_reaches_the_issuer_with_its_full_reference() {
        let a = Scripted::new("a", 1);
        let b = with_extra("b", 2, b"verify-url");
        a.fail_with(Some(down("a")));
        let (f, _seen) = failover(&[&a, &b], 10);
        let inv = f.create_invoice(req()).await.unwrap();
        assert_eq!(inv.lookup.extra(), b"verify-url");
        a.fail_with(None);
        let hash_only = LookupRef::from_payment_hash(inv.payment_hash);
        assert_eq!(f.lookup_invoice(&hash_only).await.unwrap(), Settlement::Open);
        assert_eq!(b.seen.lock().unwrap().as_ref(), Some(&inv.lookup));
        assert_eq!(a.lookups.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn capabilities_are_what_any_backend_can_do() {
        let a = with_extra("a", 1, b"x");
        let (f, _) = failover(&[&a], 10);
        assert_eq!(f.capabilities(), Capabilities { lookup: true, detect_without_preimage: false });
        let b = Scripted::new("b", 2);
        let (f, _) = failover(&[&a, &b], 10);
        assert_eq!(f.capabilities(), Capabilities::FULL);
        assert_eq!(Failover::new(Vec::new()).capabilities(), Capabilities::NONE);
    }

    #[tokio::test]
    async fn start_and_stop_reach_every_backend() {
        let a = Scripted::new("a", 1);
        let b = Scripted::new("b", 2);
        a.fail_with(Some(down("a")));
        let (f, seen) = failover(&[&a, &b], 10);
        assert_eq!(f.start().await.unwrap_err().backend(), "a");
        f.stop().await;
        for s in [&a, &b] {
            assert_eq!(s.started.load(Ordering::SeqCst), 1);
            assert_eq!(s.stopped.load(Ordering::SeqCst), 1);
        }
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}
