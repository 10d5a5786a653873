//! Request and reply types shared by every backend (backends.md, "Common shape").

use std::fmt;

/// What the module asks a backend for: one BOLT11 invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRequest {
    /// Amount in millisatoshis (BOLT11 `amount` field, encoded by the node in pico-BTC).
    pub amount_msat: u64,
    /// Free-text description (BOLT11 `d` field, at most 639 bytes).
    pub memo: String,
    /// Seconds after the invoice timestamp at which it expires (BOLT11 `x` field).
    pub expiry_secs: u32,
}

/// An invoice a backend issued, after [`crate::check_invoice`] verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The BOLT11 payment request (`lnbc…`, `lntb…`, `lnbcrt…`).
    pub bolt11: String,
    /// SHA-256 of the preimage the payer receives on settlement (BOLT11 `p` field).
    pub payment_hash: [u8; 32],
    /// Amount in millisatoshis, equal to the requested amount.
    pub amount_msat: u64,
    /// Unix time (seconds) at which the invoice expires: timestamp + expiry.
    pub expires_at_unix: u64,
}

/// State of an invoice as the backend reports it.
///
/// `Debug` never prints the preimage: a preimage is a credential (style.md, point 6).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Issued, not (yet) paid.
    Open,
    /// Paid. Backends that know the preimage return it; [`crate::check_preimage`] verifies it.
    Settled {
        /// The payment preimage, if the backend reports it.
        preimage: Option<[u8; 32]>,
    },
    /// Expired unpaid.
    Expired,
    /// Canceled by the node.
    Canceled,
    /// The backend does not know this payment hash (or cannot look invoices up).
    Unknown,
}

impl Settlement {
    /// True for [`Settlement::Settled`].
    pub fn is_settled(&self) -> bool {
        matches!(self, Settlement::Settled { .. })
    }
}

impl fmt::Debug for Settlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Settlement::Open => f.write_str("Open"),
            Settlement::Settled { preimage: Some(_) } => {
                f.write_str("Settled { preimage: Some(<redacted>) }")
            }
            Settlement::Settled { preimage: None } => f.write_str("Settled { preimage: None }"),
            Settlement::Expired => f.write_str("Expired"),
            Settlement::Canceled => f.write_str("Canceled"),
            Settlement::Unknown => f.write_str("Unknown"),
        }
    }
}

/// The largest amount a BOLT11 invoice can carry: the amount is encoded in pico-bitcoin
/// (msat × 10) in 64 bits. Below the 21 million BTC supply (2.1 × 10¹⁸ msat), so it binds.
pub const MAX_INVOICE_AMOUNT_MSAT: u64 = u64::MAX / 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_preimage() {
        let s = Settlement::Settled {
            preimage: Some([0xab; 32]),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert!(shown.contains("redacted"));
        assert!(s.is_settled());
        assert!(!Settlement::Open.is_settled());
    }
}
