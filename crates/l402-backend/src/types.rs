//! Request and reply types shared by every backend.

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

/// Which kind of payment request an [`Invoice`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceKind {
    /// A BOLT11 invoice (`lnbc…`, `lntb…`, `lntbs…`, `lnbcrt…`, `lnsb…`; BOLT 11,
    /// "Human-Readable Part").
    Bolt11,
    /// A BOLT12 invoice (`lni1…`; BOLT 12, "Invoices"): only BOLT12-capable wallets can pay it.
    Bolt12,
}

impl InvoiceKind {
    /// The kind of a payment request text, from its prefix (case-insensitive; a `lightning:`
    /// URI prefix is ignored); `None` for anything else. Does not validate the rest.
    pub fn of_text(text: &str) -> Option<InvoiceKind> {
        let s = text.trim();
        let head = s.as_bytes()[..s.len().min(16)].to_ascii_lowercase();
        let head = head.strip_prefix(b"lightning:").unwrap_or(&head);
        if head.starts_with(b"lni1") {
            Some(InvoiceKind::Bolt12)
        } else if [&b"lnbcrt"[..], b"lntbs", b"lntb", b"lnbc", b"lnsb"].iter().any(|p| head.starts_with(p)) {
            Some(InvoiceKind::Bolt11)
        } else {
            None
        }
    }

    /// `"bolt11"` or `"bolt12"`.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceKind::Bolt11 => "bolt11",
            InvoiceKind::Bolt12 => "bolt12",
        }
    }
}

/// What a backend needs to find an invoice it issued again: handed out with the
/// [`Invoice`] ([`Invoice::lookup`]) and given back to [`crate::Backend::lookup_invoice`].
///
/// Opaque to everyone but the backend that made it. It always names the payment hash (the
/// identity of an L402 token); a backend that cannot find an invoice from its hash alone
/// (LNURL's LUD-21 `verify` URL, an NWC request) adds up to [`LookupRef::MAX_EXTRA`] bytes of
/// its own. A reference made from the hash alone ([`LookupRef::from_payment_hash`]) is what a
/// caller has when it knows only the token (payment detection from a macaroon).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LookupRef {
    payment_hash: [u8; 32],
    extra: Box<[u8]>,
}

impl LookupRef {
    /// Most bytes a backend may add to the payment hash.
    pub const MAX_EXTRA: usize = 512;

    /// A reference that is the payment hash alone.
    pub fn from_payment_hash(payment_hash: [u8; 32]) -> LookupRef {
        LookupRef { payment_hash, extra: Box::default() }
    }

    /// A reference with the backend's own bytes; `None` if they are longer than
    /// [`LookupRef::MAX_EXTRA`].
    pub fn with_extra(payment_hash: [u8; 32], extra: &[u8]) -> Option<LookupRef> {
        (extra.len() <= LookupRef::MAX_EXTRA).then(|| LookupRef { payment_hash, extra: extra.into() })
    }

    /// The payment hash of the invoice.
    pub fn payment_hash(&self) -> [u8; 32] {
        self.payment_hash
    }

    /// The backend's own bytes (empty for a reference made from the hash alone).
    pub fn extra(&self) -> &[u8] {
        &self.extra
    }

    /// True when the reference is the payment hash alone.
    pub fn is_hash_only(&self) -> bool {
        self.extra.is_empty()
    }
}

impl From<[u8; 32]> for LookupRef {
    fn from(payment_hash: [u8; 32]) -> LookupRef {
        LookupRef::from_payment_hash(payment_hash)
    }
}

/// Shows the hash and the length of the extra bytes, never the bytes (they may be a URL
/// with a secret in it).
impl fmt::Debug for LookupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash: String = self.payment_hash.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("LookupRef")
            .field("payment_hash", &hash)
            .field("extra_len", &self.extra.len())
            .finish()
    }
}

/// An invoice a backend issued, after the backend verified it ([`crate::check_invoice`] for
/// BOLT11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// What kind of payment request [`Invoice::text`] is.
    pub kind: InvoiceKind,
    /// The payment request as the node returned it: a BOLT11 invoice (`lnbc…`) or a BOLT12
    /// invoice (`lni1…`). Only its normalised form reaches a header
    /// ([`crate::normalize_invoice_text`]).
    pub text: String,
    /// SHA-256 of the preimage the payer receives on settlement (BOLT 11 `p` field, BOLT 12
    /// `invoice_payment_hash`).
    pub payment_hash: [u8; 32],
    /// Amount in millisatoshis, equal to the requested amount.
    pub amount_msat: u64,
    /// Unix time (seconds) at which the invoice expires: timestamp + expiry.
    pub expires_at_unix: u64,
    /// How to look this invoice up again; names [`Invoice::payment_hash`].
    pub lookup: LookupRef,
}

/// What a backend can do beyond creating invoices, for the configuration and the callers to
/// decide what to ask of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// [`crate::Backend::lookup_invoice`] can report that an invoice it issued settled (with
    /// the [`LookupRef`] it handed out).
    pub lookup: bool,
    /// It can do so from the payment hash alone ([`LookupRef::from_payment_hash`]): what
    /// payment detection without a preimage has, since a macaroon carries only the hash.
    pub detect_without_preimage: bool,
}

impl Capabilities {
    /// Looks invoices up, from the payment hash alone (LND, CLN, Eclair, the fake).
    pub const FULL: Capabilities = Capabilities { lookup: true, detect_without_preimage: true };
    /// Creates invoices only.
    pub const NONE: Capabilities = Capabilities { lookup: false, detect_without_preimage: false };
}

/// State of an invoice as the backend reports it.
///
/// `Debug` never prints the preimage: a preimage is a credential.
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
#[allow(clippy::unwrap_used)]
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

    #[test]
    fn kinds() {
        assert_eq!(InvoiceKind::of_text("lnbcrt10n1p…"), Some(InvoiceKind::Bolt11));
        assert_eq!(InvoiceKind::of_text("LNBC1…"), Some(InvoiceKind::Bolt11));
        assert_eq!(InvoiceKind::of_text("lightning:lntb1…"), Some(InvoiceKind::Bolt11));
        assert_eq!(InvoiceKind::of_text("lni1qqq"), Some(InvoiceKind::Bolt12));
        assert_eq!(InvoiceKind::of_text("LNI1QQQ"), Some(InvoiceKind::Bolt12));
        assert_eq!(InvoiceKind::of_text("lno1qqq"), None);
        assert_eq!(InvoiceKind::of_text(""), None);
        assert_eq!(InvoiceKind::of_text("☃☃☃☃☃☃"), None);
    }

    #[test]
    fn lookup_ref_is_bounded_and_redacted() {
        let r = LookupRef::with_extra([1; 32], b"https://x/verify/secret").unwrap();
        assert_eq!(r.payment_hash(), [1; 32]);
        assert!(!r.is_hash_only());
        let shown = format!("{r:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(LookupRef::with_extra([1; 32], &[0; LookupRef::MAX_EXTRA]).is_some());
        assert!(LookupRef::with_extra([1; 32], &[0; LookupRef::MAX_EXTRA + 1]).is_none());
        assert_eq!(LookupRef::from([2; 32]), LookupRef::from_payment_hash([2; 32]));
        assert!(LookupRef::from([2; 32]).is_hash_only());
    }
}
