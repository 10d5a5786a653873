//! The wallet's invoices: issued with lightning-invoice's `InvoiceBuilder` (regtest, signed by
//! a random node key, random preimage and payment secret) and kept for `lookup_invoice`.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, SignOnly};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};
use serde_json::{json, Value};

use crate::hex;

/// `min_final_cltv_expiry_delta` written into the invoices (BOLT11 `c` field).
const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 30;

/// Expiry when `make_invoice` gives none, in seconds.
pub const DEFAULT_EXPIRY_SECS: u64 = 3600;

/// One issued invoice.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The BOLT11 text.
    pub bolt11: String,
    /// SHA-256 of the preimage.
    pub payment_hash: [u8; 32],
    /// The preimage (revealed by `lookup_invoice` once settled).
    pub preimage: [u8; 32],
    /// Amount written into the invoice.
    pub amount_msat: u64,
    /// BOLT11 description.
    pub description: String,
    /// Unix time of creation.
    pub created_at: u64,
    /// Seconds until expiry.
    pub expiry_secs: u64,
    /// Unix time it was paid, when it was.
    pub settled_at: Option<u64>,
}

impl Entry {
    /// Unix time of expiry.
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(self.expiry_secs)
    }

    /// `pending`, `settled` or `expired` (NIP-47 transaction states).
    pub fn state(&self, now: u64) -> &'static str {
        match self.settled_at {
            Some(_) => "settled",
            None if now >= self.expires_at() => "expired",
            None => "pending",
        }
    }

    /// The NIP-47 transaction object (`make_invoice` and `lookup_invoice` results).
    pub fn to_json(&self, now: u64) -> Value {
        let mut v = json!({
            "type": "incoming",
            "state": self.state(now),
            "invoice": self.bolt11,
            "description": self.description,
            "payment_hash": hex::encode(&self.payment_hash),
            "amount": self.amount_msat,
            "fees_paid": 0,
            "created_at": self.created_at,
            "expires_at": self.expires_at(),
            "settled_at": self.settled_at,
        });
        if self.settled_at.is_some() {
            v["preimage"] = Value::String(hex::encode(&self.preimage));
        }
        v
    }
}

/// Unix time now.
pub fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// 32 random bytes from the OS.
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
    order: Vec<[u8; 32]>,
}

impl Invoices {
    /// A fresh random node key and no invoice.
    pub fn generate() -> Result<Invoices, String> {
        let key = loop {
            if let Ok(k) = SecretKey::from_slice(&random32()?) {
                break k;
            }
        };
        Ok(Invoices { secp: Secp256k1::signing_only(), key, by_hash: HashMap::new(), order: Vec::new() })
    }

    /// The node id (compressed public key) that signs the invoices.
    pub fn node_id(&self) -> [u8; 33] {
        PublicKey::from_secret_key(&self.secp, &self.key).serialize()
    }

    /// Issues and remembers a signed regtest invoice for `amount_msat`.
    pub fn issue(&mut self, amount_msat: u64, description: &str, expiry_secs: u64) -> Result<Entry, String> {
        let preimage = random32()?;
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| "clock before 1970".to_owned())?;
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
            settled_at: None,
        };
        self.by_hash.insert(payment_hash, entry.clone());
        self.order.push(payment_hash);
        Ok(entry)
    }

    /// The invoice with this payment hash.
    pub fn get(&self, hash: &[u8; 32]) -> Option<&Entry> {
        self.by_hash.get(hash)
    }

    /// Every invoice, oldest first.
    pub fn list(&self) -> Vec<Entry> {
        self.order.iter().filter_map(|h| self.by_hash.get(h).cloned()).collect()
    }

    /// Marks the invoice named by a BOLT11 string or a hex payment hash as paid and returns
    /// its preimage.
    pub fn settle(&mut self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        let text = bolt11_or_hash.trim();
        let hash = match hex::decode32(text) {
            Some(h) => h,
            None => Bolt11Invoice::from_str(text)
                .map_err(|e| format!("neither a payment hash nor a BOLT11 invoice: {e}"))?
                .payment_hash()
                .to_byte_array(),
        };
        let entry = self.by_hash.get_mut(&hash).ok_or_else(|| "no invoice with this payment hash".to_owned())?;
        entry.settled_at.get_or_insert(now_unix());
        Ok(entry.preimage)
    }
}
