//! [`FakeBackend`]: the [`Backend`] implementation behind `l402_backend fake` (name "fake").

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::{Secp256k1, SignOnly};
use l402_backend::{
    Backend, BackendError, BoxFuture, Capabilities, Invoice, InvoiceKind, InvoiceRequest, LookupRef,
    Settlement,
};
use lightning_invoice::{CreationError, Currency};

use crate::invoice::issue;
use crate::pay::pay_at;
use crate::store::Store;
use crate::{FakeSecret, PayError};

/// [`Backend::name`] of the fake backend.
pub const NAME: &str = "fake";

/// Largest amount accepted: 21 million BTC in millisatoshis.
pub const MAX_AMOUNT_MSAT: u64 = 21_000_000 * 100_000_000 * 1_000;

/// Which network the fake invoices claim (BOLT11 human-readable prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeNetwork {
    /// `lnbcrt…` invoices.
    #[default]
    Regtest,
    /// `lntb…` invoices.
    Testnet,
}

impl FakeNetwork {
    /// The BOLT11 prefix of this network's invoices.
    pub fn prefix(self) -> &'static str {
        match self {
            FakeNetwork::Regtest => "lnbcrt",
            FakeNetwork::Testnet => "lntb",
        }
    }

    fn currency(self) -> Currency {
        match self {
            FakeNetwork::Regtest => Currency::Regtest,
            FakeNetwork::Testnet => Currency::BitcoinTestnet,
        }
    }
}

impl FromStr for FakeNetwork {
    type Err = String;

    /// Parses `regtest` or `testnet` (as written in the nginx configuration).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "regtest" => Ok(FakeNetwork::Regtest),
            "testnet" => Ok(FakeNetwork::Testnet),
            other => Err(format!(
                "unknown fake network \"{other}\", expected \"regtest\" or \"testnet\""
            )),
        }
    }
}

/// Settings of the fake backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeConfig {
    /// Time `create_invoice` waits before answering, to simulate a slow node (tokio sleep:
    /// no thread is blocked).
    pub delay: Duration,
    /// Network of the issued invoices.
    pub network: FakeNetwork,
    /// How many issued invoices `lookup_invoice` remembers; the oldest are forgotten first.
    pub store_capacity: usize,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            delay: Duration::ZERO,
            network: FakeNetwork::Regtest,
            store_capacity: 10_000,
        }
    }
}

/// A payment backend without a node: real signed invoices, payment by [`crate::pay`].
pub struct FakeBackend {
    secret: FakeSecret,
    config: FakeConfig,
    secp: Secp256k1<SignOnly>,
    store: Mutex<Store>,
    /// Simulated peer mode (test-only, see `faults.rs`).
    #[cfg(feature = "faults")]
    pub(crate) fault: Mutex<l402_backend::conformance::Mode>,
}

impl FakeBackend {
    /// A fake backend signing with `secret`'s node key.
    pub fn new(secret: FakeSecret, config: FakeConfig) -> FakeBackend {
        let store = Mutex::new(Store::new(config.store_capacity));
        FakeBackend {
            secret,
            config,
            secp: Secp256k1::signing_only(),
            store,
            #[cfg(feature = "faults")]
            fault: Mutex::new(l402_backend::conformance::Mode::Normal),
        }
    }

    /// The node id (compressed public key) that signs this backend's invoices.
    pub fn node_id(&self) -> [u8; 33] {
        self.secret.node_id()
    }

    /// The settings this backend was built with.
    pub fn config(&self) -> &FakeConfig {
        &self.config
    }

    /// Marks an issued invoice paid: `lookup_invoice` then reports it `Settled` with its
    /// preimage. Returns false if this backend does not (or no longer) remember the hash.
    pub fn mark_paid(&self, payment_hash: [u8; 32]) -> bool {
        self.store().mark_paid(&payment_hash)
    }

    /// [`crate::pay`]s the invoice and records the payment, so `lookup_invoice` reports it
    /// `Settled` even if another worker issued it.
    pub fn pay_and_record(&self, bolt11: &str) -> Result<[u8; 32], PayError> {
        let paid = pay_at(&self.secret, bolt11, now_unix())?;
        self.store()
            .record_paid(paid.payment_hash, paid.preimage, paid.expires_at_unix);
        Ok(paid.preimage)
    }

    /// How many invoices are remembered (at most `config.store_capacity`).
    pub fn stored_invoices(&self) -> usize {
        self.store().len()
    }

    /// The store, even if a thread panicked while holding it (its data stays consistent:
    /// every mutation is a single map/queue operation).
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rejected(cause: impl Into<String>) -> BackendError {
        BackendError::Rejected {
            backend: NAME,
            cause: cause.into(),
        }
    }

    /// Validates the request, issues and self-checks the invoice, and remembers it.
    pub(crate) fn create(&self, req: &InvoiceRequest) -> Result<Invoice, BackendError> {
        if req.amount_msat == 0 {
            return Err(Self::rejected("amount must be at least 1 msat"));
        }
        if req.amount_msat > MAX_AMOUNT_MSAT {
            return Err(Self::rejected(format!(
                "amount {} msat is more than 21 million BTC",
                req.amount_msat
            )));
        }
        if req.expiry_secs == 0 {
            return Err(Self::rejected("expiry must be at least 1 second"));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| {
            BackendError::Unavailable {
                backend: NAME,
                cause: "system clock is before 1970".to_owned(),
            }
        })?;
        let mut payment_secret = [0u8; 32];
        getrandom::fill(&mut payment_secret).map_err(|e| BackendError::Unavailable {
            backend: NAME,
            cause: format!("OS random generator failed: {e}"),
        })?;
        let issued = issue(
            &self.secp,
            &self.secret,
            self.config.network.currency(),
            payment_secret,
            req,
            now,
        )
        .map_err(|e| match e {
            CreationError::DescriptionTooLong => {
                Self::rejected("memo is longer than 639 bytes (BOLT11 `d` field)")
            }
            CreationError::InvalidAmount => Self::rejected(format!(
                "amount {} msat cannot be encoded in a BOLT11 invoice",
                req.amount_msat
            )),
            other => Self::rejected(format!("cannot build invoice: {other}")),
        })?;
        // `build_signed` already checked the signature of what it built: parsing our own output
        // again (an ECDSA key recovery) would double the cost of every challenge. The
        // conformance suite parses these invoices with `check_invoice` instead.
        let payment_hash = crate::derive::payment_hash(&issued.preimage);
        let invoice = Invoice {
            kind: InvoiceKind::Bolt11,
            text: issued.invoice.to_string(),
            payment_hash,
            lookup: LookupRef::from_payment_hash(payment_hash),
            amount_msat: req.amount_msat,
            expires_at_unix: issued
                .invoice
                .expires_at()
                .map_or(u64::MAX, |at| at.as_secs()),
        };
        self.store()
            .insert(payment_hash, issued.preimage, invoice.expires_at_unix);
        Ok(invoice)
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Backend for FakeBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(async move {
            if !self.config.delay.is_zero() {
                tokio::time::sleep(self.config.delay).await;
            }
            #[cfg(feature = "faults")]
            if let Some(reply) = self.faulty_create(&req).await {
                return reply;
            }
            self.create(&req)
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        #[cfg(feature = "faults")]
        return Box::pin(async move {
            if let Some(reply) = self.faulty_lookup().await {
                return reply;
            }
            Ok(self.store().lookup(&payment_hash, now_unix()))
        });
        #[cfg(not(feature = "faults"))]
        {
            let state = self.store().lookup(&payment_hash, now_unix());
            Box::pin(async move { Ok(state) })
        }
    }
}

impl std::fmt::Debug for FakeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBackend")
            .field("secret", &self.secret)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn survives_a_poisoned_store() {
        let backend = std::sync::Arc::new(FakeBackend::new(
            FakeSecret::from_bytes([1; 32], [2; 32]).unwrap(),
            FakeConfig::default(),
        ));
        let b = std::sync::Arc::clone(&backend);
        let crashed = std::thread::spawn(move || {
            let _guard = b.store.lock().unwrap();
            panic!("poison the store");
        })
        .join();
        assert!(crashed.is_err());
        assert!(backend.store.is_poisoned());
        let inv = backend.create_invoice(InvoiceRequest {
            amount_msat: 1_000,
            memo: String::new(),
            expiry_secs: 60,
        });
        let inv = inv.await.unwrap();
        assert!(backend.mark_paid(inv.payment_hash));
        assert!(backend
            .lookup_invoice(&inv.lookup)
            .await
            .unwrap()
            .is_settled());
    }
}
