//! [`LnurlBackend`]: invoices from one LNURL-pay payee (LUD-06 steps 1–6), checked before they
//! are offered, and LUD-21 payment detection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use l402_backend::{
    check_invoice, check_preimage, parse_bolt11, Backend, BackendError, BoxFuture, Capabilities, Invoice,
    InvoiceRequest, LookupRef, Settlement,
};
use lightning_invoice::{Bolt11InvoiceDescriptionRef, Currency};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::document::{self, Callback, PayRequest, Reply};
use crate::payee::{check_scheme, host_port, Payee};
use crate::transport::{Fetch, Transport};

/// [`Backend::name`] of the LNURL backend.
pub const NAME: &str = "lnurl";

/// How long a payRequest document is used before it is fetched again.
pub const DEFAULT_DOCUMENT_TTL: Duration = Duration::from_secs(300);

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The Bitcoin network invoices must be for (BOLT 11 "Human-Readable Part").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Bitcoin,
    Testnet,
    Signet,
    Regtest,
    Simnet,
}

impl Network {
    /// `bitcoin`/`mainnet`, `testnet`, `signet`, `regtest`, `simnet` (any case).
    pub fn parse(s: &str) -> Option<Network> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bitcoin" | "mainnet" => Some(Network::Bitcoin),
            "testnet" | "testnet3" | "testnet4" => Some(Network::Testnet),
            "signet" => Some(Network::Signet),
            "regtest" => Some(Network::Regtest),
            "simnet" => Some(Network::Simnet),
            _ => None,
        }
    }

    fn currency(self) -> Currency {
        match self {
            Network::Bitcoin => Currency::Bitcoin,
            Network::Testnet => Currency::BitcoinTestnet,
            Network::Signet => Currency::Signet,
            Network::Regtest => Currency::Regtest,
            Network::Simnet => Currency::Simnet,
        }
    }
}

/// One payee and how its replies are judged.
#[derive(Debug, Clone)]
pub struct LnurlConfig {
    pub payee: Payee,
    pub network: Network,
    /// How long a payRequest document is reused; refreshed in the background after 4/5 of it.
    pub document_ttl: Duration,
    /// Bounds each invoice and verify call, and a background refresh.
    pub timeout: Duration,
}

struct Cached {
    document: Arc<PayRequest>,
    fetched: Instant,
}

struct Inner {
    config: LnurlConfig,
    transport: Transport,
    cached: Mutex<Option<Cached>>,
    /// One fetch at a time: concurrent challenges wait for it instead of each fetching.
    fetching: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
}

/// An LNURL-pay payee. Cheap to build (no socket until the first call); payees of one worker
/// share one [`Transport`], hence its connections and TLS sessions.
#[derive(Clone)]
pub struct LnurlBackend {
    inner: Arc<Inner>,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl LnurlBackend {
    pub fn new(config: LnurlConfig, transport: Transport) -> LnurlBackend {
        LnurlBackend {
            inner: Arc::new(Inner {
                config,
                transport,
                cached: Mutex::new(None),
                fetching: tokio::sync::Mutex::new(()),
                refreshing: AtomicBool::new(false),
            }),
        }
    }

    /// The payee.
    pub fn payee(&self) -> &Payee {
        &self.inner.config.payee
    }
}

impl Inner {
    fn shown(&self) -> &str {
        self.config.payee.shown()
    }

    fn unavailable(&self, cause: impl std::fmt::Display) -> BackendError {
        BackendError::Unavailable { backend: NAME, cause: format!("payee {}: {cause}", self.shown()) }
    }

    fn invalid(&self, cause: impl std::fmt::Display) -> BackendError {
        BackendError::InvalidReply { backend: NAME, cause: format!("payee {}: {cause}", self.shown()) }
    }

    fn rejected(&self, cause: impl std::fmt::Display) -> BackendError {
        BackendError::Rejected { backend: NAME, cause: format!("payee {}: {cause}", self.shown()) }
    }

    fn fetch_error(&self, what: &str, e: Fetch) -> BackendError {
        match e {
            Fetch::Unavailable(c) => self.unavailable(format!("{what}: {c}")),
            Fetch::Invalid(c) => self.invalid(format!("{what}: {c}")),
            Fetch::Refused(c) => self.rejected(format!("{what}: {c}")),
        }
    }

    /// LUD-06 steps 1–3: fetch and check the payRequest document.
    async fn fetch_document(&self) -> Result<PayRequest, BackendError> {
        let body = self
            .transport
            .get(self.config.payee.url())
            .await
            .map_err(|e| self.fetch_error("payRequest", e))?;
        let doc = match document::pay_request(&body).map_err(|e| self.invalid(format!("payRequest: {e}")))? {
            Reply::Ok(doc) => doc,
            Reply::Error(reason) => return Err(self.rejected(format!("payRequest: the payee says: {reason}"))),
        };
        check_scheme(&doc.callback, self.transport.allows_http())
            .map_err(|e| self.invalid(format!("payRequest: callback URL {e}")))?;
        Ok(doc)
    }

    fn cached(&self) -> Option<(Arc<PayRequest>, Duration)> {
        let guard = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(|c| (Arc::clone(&c.document), c.fetched.elapsed()))
    }

    fn store(&self, doc: PayRequest) -> Arc<PayRequest> {
        let doc = Arc::new(doc);
        let mut guard = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        *guard = Some(Cached { document: Arc::clone(&doc), fetched: Instant::now() });
        doc
    }

    fn forget(&self) {
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The payRequest document: the cached one while it is fresh (refreshed in the background
/// once it is 4/5 of its lifetime old), else fetched now, once for all concurrent callers.
async fn document(inner: &Arc<Inner>) -> Result<Arc<PayRequest>, BackendError> {
    let ttl = inner.config.document_ttl;
    if let Some((doc, age)) = inner.cached() {
        if age < ttl {
            if age >= ttl / 5 * 4 && !inner.refreshing.swap(true, Ordering::AcqRel) {
                refresh_in_background(inner);
            }
            return Ok(doc);
        }
    }
    let _one = inner.fetching.lock().await;
    if let Some((doc, age)) = inner.cached() {
        if age < ttl {
            return Ok(doc);
        }
    }
    let doc = inner.fetch_document().await?;
    Ok(inner.store(doc))
}

fn refresh_in_background(inner: &Arc<Inner>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        inner.refreshing.store(false, Ordering::Release);
        return;
    };
    let inner = Arc::clone(inner);
    handle.spawn(async move {
        // A failed refresh keeps the cached document until it expires; the next call then
        // fetches on its own path and reports the error.
        if let Ok(Ok(doc)) = tokio::time::timeout(inner.config.timeout, inner.fetch_document()).await {
            inner.store(doc);
        }
        inner.refreshing.store(false, Ordering::Release);
    });
}

/// LUD-06 step 5 (and LUD-12's comment): `<callback>[?|&]amount=<msat>[&comment=…]`.
fn callback_url(doc: &PayRequest, amount_msat: u64, memo: &str) -> Url {
    let mut url = doc.callback.clone();
    let mut query = url.query().unwrap_or_default().to_owned();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("amount={amount_msat}"));
    if doc.comment_allowed > 0 && !memo.is_empty() {
        let comment: String = memo.chars().take(doc.comment_allowed).collect();
        query.push_str("&comment=");
        query.extend(utf8_percent_encode(&comment, COMPONENT));
    }
    url.set_query(Some(&query));
    url
}

/// A LUD-21 verify URL is used only on the payee's host or the host that issued the invoice
/// (the callback's), and only if it fits a [`LookupRef`].
fn usable_verify(inner: &Inner, doc: &PayRequest, verify: Option<&str>) -> Option<Url> {
    let url = Url::parse(verify?).ok()?;
    check_scheme(&url, inner.transport.allows_http()).ok()?;
    let host = host_port(&url);
    let allowed = host == inner.config.payee.host() || host == host_port(&doc.callback);
    (allowed && url.as_str().len() <= LookupRef::MAX_EXTRA).then_some(url)
}

/// Bounds a whole call to the payee by `timeout` (a slow or dripping payee is a timeout, as
/// the conformance suite of l402-backend requires of every backend).
async fn bounded<T>(
    inner: &Inner,
    call: impl std::future::Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    let after = inner.config.timeout;
    tokio::time::timeout(after, call).await.unwrap_or(Err(BackendError::Timeout { backend: NAME, after }))
}

async fn create(inner: Arc<Inner>, req: InvoiceRequest) -> Result<Invoice, BackendError> {
    let i = Arc::clone(&inner);
    bounded(&i, create_unbounded(inner, req)).await
}

async fn create_unbounded(inner: Arc<Inner>, req: InvoiceRequest) -> Result<Invoice, BackendError> {
    if req.amount_msat == 0 {
        return Err(inner.rejected("an amount of 0 msat cannot be paid"));
    }
    let doc = document(&inner).await?;
    if req.amount_msat < doc.min_sendable_msat || req.amount_msat > doc.max_sendable_msat {
        return Err(inner.rejected(format!(
            "the price {} msat is outside what the payee accepts ({}..={} msat)",
            req.amount_msat, doc.min_sendable_msat, doc.max_sendable_msat
        )));
    }
    let url = callback_url(&doc, req.amount_msat, &req.memo);
    let reply = match inner.transport.get(&url).await {
        Ok(body) => body,
        Err(e) => {
            // The document may be stale (a moved callback): fetch it again next time.
            inner.forget();
            return Err(inner.fetch_error("callback", e));
        }
    };
    let Callback { pr, verify } = match document::callback(&reply) {
        Ok(Reply::Ok(c)) => c,
        Ok(Reply::Error(reason)) => {
            inner.forget();
            return Err(inner.rejected(format!("callback: the payee says: {reason}")));
        }
        Err(e) => return Err(inner.invalid(format!("callback: {e}"))),
    };
    let mut invoice = check_invoice(NAME, &pr, &req, None, now_unix()).map_err(|e| match e {
        BackendError::InvalidReply { cause, .. } => inner.invalid(format!("callback: {cause}")),
        other => other,
    })?;
    let parsed = parse_bolt11(&pr).map_err(|e| inner.invalid(format!("callback: {e}")))?;
    let want = inner.config.network.currency();
    if parsed.currency() != want {
        return Err(inner.invalid(format!(
            "callback: the invoice is for {:?}, this payee must be paid on {:?}",
            parsed.currency(),
            want
        )));
    }
    // LUD-06: the invoice's description hash commits to the metadata.
    if let Bolt11InvoiceDescriptionRef::Hash(h) = parsed.description() {
        let expected = sha256::Hash::hash(doc.metadata.as_bytes()).to_byte_array();
        if h.0.to_byte_array() != expected {
            return Err(inner.invalid("callback: the invoice's description hash does not match the metadata"));
        }
    }
    if let Some(verify) = usable_verify(&inner, &doc, verify.as_deref()) {
        if let Some(lookup) = LookupRef::with_extra(invoice.payment_hash, verify.as_str().as_bytes()) {
            invoice.lookup = lookup;
        }
    }
    Ok(invoice)
}

async fn lookup(inner: Arc<Inner>, r: LookupRef) -> Result<Settlement, BackendError> {
    let i = Arc::clone(&inner);
    bounded(&i, lookup_unbounded(inner, r)).await
}

async fn lookup_unbounded(inner: Arc<Inner>, lookup: LookupRef) -> Result<Settlement, BackendError> {
    if lookup.is_hash_only() {
        // A payment hash alone does not tell where to ask (LUD-21 gives a URL per invoice).
        return Ok(Settlement::Unknown);
    }
    let Some(url) = std::str::from_utf8(lookup.extra()).ok().and_then(|s| Url::parse(s).ok()) else {
        return Ok(Settlement::Unknown);
    };
    check_scheme(&url, inner.transport.allows_http()).map_err(|e| inner.invalid(format!("verify URL {e}")))?;
    if host_port(&url) != inner.config.payee.host() {
        let callback_host = inner.cached().map(|(d, _)| host_port(&d.callback));
        if callback_host.as_deref() != Some(host_port(&url).as_str()) {
            return Err(inner.rejected("verify URL is not on the payee's host"));
        }
    }
    let body = inner.transport.get(&url).await.map_err(|e| inner.fetch_error("verify", e))?;
    let verify = match document::verify(&body).map_err(|e| inner.invalid(format!("verify: {e}")))? {
        Reply::Ok(v) => v,
        Reply::Error(_) => return Ok(Settlement::Unknown),
    };
    let hash = lookup.payment_hash();
    if let Some(pr) = &verify.pr {
        if let Ok(parsed) = parse_bolt11(pr) {
            if parsed.payment_hash().to_byte_array() != hash {
                return Err(inner.invalid("verify: the reply names another invoice"));
            }
        }
    }
    if !verify.settled {
        return Ok(Settlement::Open);
    }
    // LUD-21 returns the preimage of a settled invoice. Settled is believed only with the
    // preimage of *this* payment hash: whatever URL was asked, no other payment can stand in.
    let Some(preimage) = verify.preimage else {
        return Err(inner.invalid("verify: says settled but gives no preimage (LUD-21)"));
    };
    check_preimage(NAME, &hash, &preimage).map_err(|_| inner.invalid("verify: the preimage does not match the invoice"))?;
    Ok(Settlement::Settled { preimage: Some(preimage) })
}

impl Backend for LnurlBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Looks up invoices whose payee gave a LUD-21 verify URL; never from the hash alone.
    fn capabilities(&self) -> Capabilities {
        Capabilities { lookup: true, detect_without_preimage: false }
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(create(Arc::clone(&self.inner), req))
    }

    fn lookup_invoice<'a>(&'a self, r: &'a LookupRef) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        Box::pin(lookup(Arc::clone(&self.inner), r.clone()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(callback: &str, comment_allowed: usize) -> PayRequest {
        PayRequest {
            callback: Url::parse(callback).unwrap(),
            min_sendable_msat: 1,
            max_sendable_msat: 10,
            metadata: "[]".into(),
            comment_allowed,
        }
    }

    #[test]
    fn callback_url_appends_amount_and_encodes_comment() {
        let d = doc("https://x.example/cb", 0);
        assert_eq!(callback_url(&d, 2000, "hi").as_str(), "https://x.example/cb?amount=2000");
        let d = doc("https://x.example/cb?id=7", 5);
        assert_eq!(
            callback_url(&d, 2000, "a b&c=dé").as_str(),
            "https://x.example/cb?id=7&amount=2000&comment=a%20b%26c"
        );
        let d = doc("https://x.example/cb", 20);
        assert_eq!(callback_url(&d, 1, "é+").as_str(), "https://x.example/cb?amount=1&comment=%C3%A9%2B");
    }

    #[test]
    fn networks() {
        assert_eq!(Network::parse("Mainnet"), Some(Network::Bitcoin));
        assert_eq!(Network::parse("regtest"), Some(Network::Regtest));
        assert_eq!(Network::parse("litecoin"), None);
    }
}
