//! The node's invoices: issued with lightning-invoice's `InvoiceBuilder` (regtest, signed by
//! the node key, random preimage and payment secret) and kept for `getreceivedinfo`.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, SignOnly};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};

use crate::hex;

/// `min_final_cltv_expiry_delta` written into the invoices (BOLT11 `c` field).
const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 30;

/// Eclair's default invoice expiry when `expireIn` is absent, in seconds.
pub const DEFAULT_EXPIRY_SECS: u64 = 3600;

/// One issued invoice.
#[derive(Clone)]
pub struct Entry {
    pub bolt11: String,
    pub payment_hash: [u8; 32],
    pub preimage: [u8; 32],
    pub amount_msat: u64,
    pub description: String,
    pub created_at: u64,
    pub expiry_secs: u64,
    /// Unix time it was paid, when it was.
    pub received_at: Option<u64>,
}

impl Entry {
    pub fn expired(&self, now: u64) -> bool {
        self.received_at.is_none() && now >= self.created_at.saturating_add(self.expiry_secs)
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("OS random generator failed: {e}"))?;
    Ok(b)
}

/// Node key and issued invoices.
pub struct Invoices {
    secp: Secp256k1<SignOnly>,
    key: SecretKey,
    by_hash: HashMap<[u8; 32], Entry>,
}

impl Invoices {
    /// A fresh random node key and no invoice.
    pub fn generate() -> Result<Invoices, String> {
        let key = loop {
            if let Ok(k) = SecretKey::from_slice(&random32()?) {
                break k;
            }
        };
        Ok(Invoices {
            secp: Secp256k1::signing_only(),
            key,
            by_hash: HashMap::new(),
        })
    }

    pub fn node_id(&self) -> [u8; 33] {
        PublicKey::from_secret_key(&self.secp, &self.key).serialize()
    }

    /// Issues and remembers a signed regtest invoice. `amount_msat` is the amount written into
    /// the invoice (the control modes may make it differ from the request).
    pub fn issue(
        &mut self,
        amount_msat: u64,
        description: &str,
        expiry_secs: u64,
    ) -> Result<Entry, String> {
        let preimage = random32()?;
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "clock before 1970".to_owned())?;
        let invoice = InvoiceBuilder::new(Currency::Regtest)
            .description(description.to_owned())
            .payment_hash(sha256::Hash::from_byte_array(payment_hash))
            .payment_secret(PaymentSecret(random32()?))
            .duration_since_epoch(now)
            .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA)
            .amount_milli_satoshis(amount_msat)
            .expiry_time(Duration::from_secs(expiry_secs))
            .build_signed(|m| self.secp.sign_ecdsa_recoverable(m, &self.key))
            .map_err(|e| format!("cannot build invoice: {e}"))?;
        let entry = Entry {
            bolt11: invoice.to_string(),
            payment_hash,
            preimage,
            amount_msat,
            description: description.to_owned(),
            created_at: now.as_secs(),
            expiry_secs,
            received_at: None,
        };
        self.by_hash.insert(payment_hash, entry.clone());
        Ok(entry)
    }

    pub fn get(&self, hash: &[u8; 32]) -> Option<&Entry> {
        self.by_hash.get(hash)
    }

    /// Marks the invoice named by a BOLT11 string or a hex payment hash as received and
    /// returns its preimage.
    pub fn settle(&mut self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        let text = bolt11_or_hash.trim();
        let hash = match hex::decode32(text) {
            Some(h) => h,
            None => Bolt11Invoice::from_str(text)
                .map_err(|e| format!("neither a payment hash nor a BOLT11 invoice: {e}"))?
                .payment_hash()
                .to_byte_array(),
        };
        let entry = self
            .by_hash
            .get_mut(&hash)
            .ok_or_else(|| "no invoice with this payment hash".to_owned())?;
        entry.received_at.get_or_insert(now_unix());
        Ok(entry.preimage)
    }
}
