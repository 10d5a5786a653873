//! The test node's invoices: real BOLT11 invoices signed by a random regtest node key, each
//! with a random preimage, kept in memory like LND's invoice database (`channeldb`).

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use lightning_invoice::{Bolt11Invoice, Currency, InvoiceBuilder, PaymentSecret};

/// LND's default invoice expiry, used when `Invoice.expiry` is 0 (lightning.proto:
/// "Default is 86400 (24 hours)").
pub const DEFAULT_EXPIRY_SECS: u64 = 86_400;
/// LND's default final CLTV delta, used when `Invoice.cltv_expiry` is 0.
pub const DEFAULT_CLTV_EXPIRY: u64 = 80;
/// LND's limit on `Invoice.memo` (`channeldb.MaxMemoSize`).
pub const MAX_MEMO_LEN: usize = 1024;

/// `Invoice.state` of lightning.proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// OPEN = 0.
    Open,
    /// SETTLED = 1.
    Settled,
    /// CANCELED = 2.
    Canceled,
}

/// One invoice as the node stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The BOLT11 string.
    pub payment_request: String,
    /// Payment hash, SHA-256 of `preimage`.
    pub hash: [u8; 32],
    /// The preimage that settles it.
    pub preimage: [u8; 32],
    /// Payment secret (BOLT11 `s`, LND's `payment_addr`).
    pub payment_addr: [u8; 32],
    /// Amount in msat; 0 for an amount-less invoice.
    pub value_msat: u64,
    /// Memo (BOLT11 `d`).
    pub memo: String,
    /// Description hash (BOLT11 `h`), empty when the memo is used.
    pub description_hash: Vec<u8>,
    /// Expiry in seconds.
    pub expiry: u64,
    /// Final CLTV delta.
    pub cltv_expiry: u64,
    /// Creation time, Unix seconds.
    pub creation_date: u64,
    /// Settle time, Unix seconds (0 until settled).
    pub settle_date: u64,
    /// LND's `add_index` (1, 2, …).
    pub add_index: u64,
    /// LND's `settle_index` (0 until settled).
    pub settle_index: u64,
    /// Amount paid, msat (0 until settled).
    pub amt_paid_msat: u64,
    /// Current state.
    pub state: State,
}

impl Stored {
    /// The state LND would report at `now`: its expiry watcher cancels open invoices once
    /// they expire.
    pub fn state_at(&self, now: u64) -> State {
        if self.state == State::Open && now >= self.creation_date.saturating_add(self.expiry) {
            State::Canceled
        } else {
            self.state
        }
    }
}

/// What `AddInvoice` asks for, after the RPC layer's checks.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    /// Amount in msat, 0 = any amount.
    pub value_msat: u64,
    /// Memo.
    pub memo: String,
    /// 32-byte description hash, replaces the memo in the invoice when set.
    pub description_hash: Option<[u8; 32]>,
    /// Expiry in seconds (already defaulted).
    pub expiry: u64,
    /// Final CLTV delta (already defaulted).
    pub cltv_expiry: u64,
}

/// The node key and its invoices.
pub struct Store {
    secp: Secp256k1<All>,
    node_key: SecretKey,
    invoices: HashMap<[u8; 32], Stored>,
    next_add_index: u64,
    next_settle_index: u64,
}

/// 32 random bytes from the OS.
pub fn random32() -> Result<[u8; 32], String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Now as Unix seconds.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Store {
    /// A store with a fresh random node key.
    pub fn new() -> Result<Store, String> {
        let node_key = loop {
            if let Ok(key) = SecretKey::from_slice(&random32()?) {
                break key;
            }
        };
        Ok(Store {
            secp: Secp256k1::new(),
            node_key,
            invoices: HashMap::new(),
            next_add_index: 1,
            next_settle_index: 1,
        })
    }

    /// The node's public key (the payee of its invoices).
    pub fn node_id(&self) -> PublicKey {
        PublicKey::from_secret_key(&self.secp, &self.node_key)
    }

    /// Signs a regtest invoice for `new`; `invoice_msat` is the amount written into the
    /// BOLT11 (normally `new.value_msat`; the wrong-amount mode passes another one).
    /// Stores it under its payment hash and returns it.
    pub fn add(&mut self, new: &NewInvoice, invoice_msat: u64) -> Result<Stored, String> {
        let preimage = random32()?;
        let payment_addr = random32()?;
        let hash = sha256::Hash::hash(&preimage).to_byte_array();
        let now = now_unix();
        let builder = InvoiceBuilder::new(Currency::Regtest);
        let builder = match new.description_hash {
            Some(h) => builder.description_hash(sha256::Hash::from_byte_array(h)),
            None => builder.description(new.memo.clone()),
        };
        let builder = builder
            .payment_hash(sha256::Hash::from_byte_array(hash))
            .payment_secret(PaymentSecret(payment_addr))
            .duration_since_epoch(Duration::from_secs(now))
            .min_final_cltv_expiry_delta(new.cltv_expiry)
            .expiry_time(Duration::from_secs(new.expiry));
        let builder = if invoice_msat > 0 {
            builder.amount_milli_satoshis(invoice_msat)
        } else {
            builder
        };
        let invoice = builder
            .build_signed(|m| self.secp.sign_ecdsa_recoverable(m, &self.node_key))
            .map_err(|e| format!("unable to create invoice: {e}"))?;
        let stored = Stored {
            payment_request: invoice.to_string(),
            hash,
            preimage,
            payment_addr,
            value_msat: new.value_msat,
            memo: new.memo.clone(),
            description_hash: new.description_hash.map(|h| h.to_vec()).unwrap_or_default(),
            expiry: new.expiry,
            cltv_expiry: new.cltv_expiry,
            creation_date: now,
            settle_date: 0,
            add_index: self.next_add_index,
            settle_index: 0,
            amt_paid_msat: 0,
            state: State::Open,
        };
        self.next_add_index += 1;
        self.invoices.insert(hash, stored.clone());
        Ok(stored)
    }

    /// The invoice with this payment hash.
    pub fn get(&self, hash: &[u8; 32]) -> Option<&Stored> {
        self.invoices.get(hash)
    }

    /// Number of invoices issued.
    pub fn count(&self) -> usize {
        self.invoices.len()
    }

    /// Marks the invoice paid in full and returns its preimage (as paying it would reveal
    /// it). Settling a settled invoice returns the preimage again; a canceled or expired
    /// one cannot be settled.
    pub fn settle(&mut self, hash: &[u8; 32]) -> Result<[u8; 32], String> {
        let now = now_unix();
        let next_settle_index = self.next_settle_index;
        let inv = self
            .invoices
            .get_mut(hash)
            .ok_or_else(|| "unable to locate invoice".to_owned())?;
        match inv.state_at(now) {
            State::Settled => return Ok(inv.preimage),
            State::Canceled => return Err("invoice is canceled".to_owned()),
            State::Open => {}
        }
        inv.state = State::Settled;
        inv.settle_date = now;
        inv.settle_index = next_settle_index;
        inv.amt_paid_msat = inv.value_msat;
        self.next_settle_index += 1;
        Ok(inv.preimage)
    }

    /// Cancels an open invoice (LND's `invoicesrpc.CancelInvoice`).
    pub fn cancel(&mut self, hash: &[u8; 32]) -> Result<(), String> {
        let inv = self
            .invoices
            .get_mut(hash)
            .ok_or_else(|| "unable to locate invoice".to_owned())?;
        if inv.state == State::Settled {
            return Err("invoice already settled".to_owned());
        }
        inv.state = State::Canceled;
        Ok(())
    }
}

/// The payment hash named by `invoice_or_hash`: 64 hex digits, or a BOLT11 string.
pub fn hash_of(invoice_or_hash: &str) -> Result<[u8; 32], String> {
    let text = invoice_or_hash.trim();
    if text.len() == 64 {
        if let Ok(bytes) = hex::decode(text) {
            if let Ok(hash) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(hash);
            }
        }
    }
    let invoice = Bolt11Invoice::from_str(text)
        .map_err(|e| format!("neither a payment hash nor a BOLT11 invoice: {e}"))?;
    Ok(invoice.payment_hash().to_byte_array())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn new(value_msat: u64) -> NewInvoice {
        NewInvoice {
            value_msat,
            memo: "m".into(),
            description_hash: None,
            expiry: 600,
            cltv_expiry: DEFAULT_CLTV_EXPIRY,
        }
    }

    #[test]
    fn add_settle_lookup() {
        let mut store = Store::new().unwrap();
        let inv = store.add(&new(21_000), 21_000).unwrap();
        let parsed = Bolt11Invoice::from_str(&inv.payment_request).unwrap();
        assert_eq!(parsed.amount_milli_satoshis(), Some(21_000));
        assert_eq!(parsed.payment_hash().to_byte_array(), inv.hash);
        assert_eq!(parsed.get_payee_pub_key(), store.node_id());
        assert_eq!(hash_of(&inv.payment_request).unwrap(), inv.hash);
        assert_eq!(hash_of(&hex::encode(inv.hash)).unwrap(), inv.hash);
        assert_eq!(store.get(&inv.hash).unwrap().state, State::Open);
        let pre = store.settle(&inv.hash).unwrap();
        assert_eq!(sha256::Hash::hash(&pre).to_byte_array(), inv.hash);
        let got = store.get(&inv.hash).unwrap();
        assert_eq!(
            (got.state, got.settle_index, got.amt_paid_msat),
            (State::Settled, 1, 21_000)
        );
        assert_eq!(store.settle(&inv.hash).unwrap(), pre);
        assert!(store.cancel(&inv.hash).is_err());
        assert!(store.settle(&[0; 32]).is_err());
        assert!(hash_of("nonsense").is_err());
    }

    #[test]
    fn expired_reads_as_canceled() {
        let mut store = Store::new().unwrap();
        let inv = store.add(&new(1_000), 1_000).unwrap();
        assert_eq!(inv.state_at(inv.creation_date + 599), State::Open);
        assert_eq!(inv.state_at(inv.creation_date + 600), State::Canceled);
    }
}
