//! The payee's invoices: signed with a random node key by lightning-invoice's `InvoiceBuilder`
//! (regtest unless a fault says otherwise), a random preimage and payment secret each, the
//! description hash of the user's metadata (LUD-06), kept per user for verify and the control
//! endpoint.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, SignOnly};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};

use crate::hex;

/// `min_final_cltv_expiry_delta` written into the invoices (BOLT11 `c` field).
const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 30;

/// Expiry of a normal invoice (BOLT11 `x` field), in seconds.
pub const INVOICE_EXPIRY_SECS: u64 = 3600;

/// One issued invoice, as the control endpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvoice {
    /// The user (Lightning Address local part) it was issued for.
    pub user: String,
    /// The BOLT11 text served as `pr`.
    pub bolt11: String,
    pub payment_hash: [u8; 32],
    pub preimage: [u8; 32],
    /// The amount written into the invoice.
    pub amount_msat: u64,
    /// The `amount` the callback was called with (differs under `Mode::WrongAmount`).
    pub requested_msat: u64,
    /// The `comment` query parameter, URL-decoded, when there was one (LUD-12).
    pub comment: Option<String>,
    pub settled: bool,
}

/// What to write into one invoice.
pub(crate) struct Order<'a> {
    pub(crate) user: &'a str,
    pub(crate) amount_msat: u64,
    pub(crate) requested_msat: u64,
    pub(crate) comment: Option<String>,
    pub(crate) description_hash: [u8; 32],
    pub(crate) currency: Currency,
    /// Seconds to back-date the timestamp by.
    pub(crate) age_secs: u64,
    pub(crate) expiry_secs: u64,
}

pub(crate) fn random32() -> Result<[u8; 32], String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| format!("OS random generator failed: {e}"))?;
    Ok(b)
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha256::Hash::hash(bytes).to_byte_array()
}

/// Node key and issued invoices (in issue order).
pub(crate) struct Invoices {
    secp: Secp256k1<SignOnly>,
    key: SecretKey,
    issued: Vec<IssuedInvoice>,
}

impl Invoices {
    /// A fresh random node key and no invoice.
    pub(crate) fn generate() -> Result<Invoices, String> {
        let key = loop {
            if let Ok(k) = SecretKey::from_slice(&random32()?) {
                break k;
            }
        };
        Ok(Invoices {
            secp: Secp256k1::signing_only(),
            key,
            issued: Vec::new(),
        })
    }

    pub(crate) fn node_id(&self) -> [u8; 33] {
        PublicKey::from_secret_key(&self.secp, &self.key).serialize()
    }

    /// Issues, signs and remembers an invoice.
    pub(crate) fn issue(&mut self, order: Order<'_>) -> Result<IssuedInvoice, String> {
        let preimage = random32()?;
        let payment_hash = sha256(&preimage);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "clock before 1970".to_owned())?;
        let timestamp = now.saturating_sub(Duration::from_secs(order.age_secs));
        let invoice = InvoiceBuilder::new(order.currency)
            .description_hash(sha256::Hash::from_byte_array(order.description_hash))
            .payment_hash(sha256::Hash::from_byte_array(payment_hash))
            .payment_secret(PaymentSecret(random32()?))
            .duration_since_epoch(timestamp)
            .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA)
            .amount_milli_satoshis(order.amount_msat)
            .expiry_time(Duration::from_secs(order.expiry_secs))
            .build_signed(|m| self.secp.sign_ecdsa_recoverable(m, &self.key))
            .map_err(|e| format!("cannot build invoice: {e}"))?;
        let issued = IssuedInvoice {
            user: order.user.to_owned(),
            bolt11: invoice.to_string(),
            payment_hash,
            preimage,
            amount_msat: order.amount_msat,
            requested_msat: order.requested_msat,
            comment: order.comment,
            settled: false,
        };
        self.issued.push(issued.clone());
        Ok(issued)
    }

    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<&IssuedInvoice> {
        self.issued.iter().find(|i| &i.payment_hash == hash)
    }

    /// The invoices issued for `user` (all when None), oldest first.
    pub(crate) fn list(&self, user: Option<&str>) -> Vec<IssuedInvoice> {
        self.issued
            .iter()
            .filter(|i| user.is_none_or(|u| i.user == u))
            .cloned()
            .collect()
    }

    /// Marks the invoice named by a BOLT11 string or a hex payment hash as paid and returns
    /// its preimage.
    pub(crate) fn settle(&mut self, bolt11_or_hash: &str) -> Result<[u8; 32], String> {
        let text = bolt11_or_hash.trim();
        let hash = match hex::decode32(text) {
            Some(h) => h,
            None => Bolt11Invoice::from_str(text)
                .map_err(|e| format!("neither a payment hash nor a BOLT11 invoice: {e}"))?
                .payment_hash()
                .to_byte_array(),
        };
        let entry = self
            .issued
            .iter_mut()
            .find(|i| i.payment_hash == hash)
            .ok_or_else(|| "no invoice with this payment hash".to_owned())?;
        entry.settled = true;
        Ok(entry.preimage)
    }
}
