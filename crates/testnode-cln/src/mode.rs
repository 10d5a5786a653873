//! Fault modes of the test node, set from tests ([`crate::NodeHandle::set_mode`]) or the
//! control endpoint.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How the node answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Faithful replies.
    #[default]
    Normal,
    /// Faithful replies, each after this delay.
    Slow(Duration),
    /// A faulty reply of this kind.
    Garbage(GarbageKind),
    /// Every call fails with this JSON-RPC error object.
    Error {
        /// The error code (CLN's codes are in `common/jsonrpc_errors.h`).
        code: i64,
        /// The error message.
        message: String,
    },
    /// The socket file is removed and nothing listens; open connections are closed at
    /// their next request.
    Down,
}

/// Kinds of faulty replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarbageKind {
    /// `invoice` returns a `bolt11` that does not parse; `fetchinvoice` an `lni1` string
    /// that does not decode; `decode` says `valid: false`; `listinvoices` an unknown status.
    UnparsableInvoice,
    /// `invoice` reports another `payment_hash` than the BOLT11's; `decode` another
    /// `invoice_payment_hash`; `listinvoices` a preimage of another hash for paid invoices.
    WrongPaymentHash,
    /// `invoice` and `fetchinvoice` issue invoices for one msat more than asked;
    /// `listinvoices` reports paid invoices as underpaid.
    WrongAmount,
    /// Every reply is bytes that are not JSON.
    NotJson,
    /// Every reply is valid JSON of more than 2 MiB.
    HugeReply,
    /// `invoice` returns a BOLT11 signed by another key; `fetchinvoice` an `lni1` whose
    /// signature is by another key than its `invoice_node_id`.
    ForeignSignature,
    /// `fetchinvoice` returns a valid `lni1` with a BOLT12 continuation `+\r\n\r\n` in it
    /// (a decoder skips whitespace after `+`), to inject into response headers. Not in
    /// [`GarbageKind::ALL`]: the backend rightly decodes it; the nginx adapter must only ever
    /// send the normalised text.
    HeaderInjection,
}

impl GarbageKind {
    /// Every kind, for tests that try them all.
    pub const ALL: [GarbageKind; 6] = [
        GarbageKind::UnparsableInvoice,
        GarbageKind::WrongPaymentHash,
        GarbageKind::WrongAmount,
        GarbageKind::NotJson,
        GarbageKind::HugeReply,
        GarbageKind::ForeignSignature,
    ];

    /// The name used by the control endpoint (`POST /mode/garbage/<name>`).
    pub fn name(self) -> &'static str {
        match self {
            GarbageKind::UnparsableInvoice => "unparsable-invoice",
            GarbageKind::WrongPaymentHash => "wrong-payment-hash",
            GarbageKind::WrongAmount => "wrong-amount",
            GarbageKind::NotJson => "not-json",
            GarbageKind::HugeReply => "huge-reply",
            GarbageKind::ForeignSignature => "foreign-signature",
            GarbageKind::HeaderInjection => "header-injection",
        }
    }
}

impl fmt::Display for GarbageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GarbageKind {
    type Err = String;

    /// Parses a [`GarbageKind::name`]; `unparsable-bolt11` is accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "unparsable-bolt11" {
            return Ok(GarbageKind::UnparsableInvoice);
        }
        if s == GarbageKind::HeaderInjection.name() {
            return Ok(GarbageKind::HeaderInjection);
        }
        GarbageKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = GarbageKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown garbage kind {s:?}, expected one of {}",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in GarbageKind::ALL {
            assert_eq!(k.name().parse::<GarbageKind>(), Ok(k));
        }
        assert!("nope".parse::<GarbageKind>().is_err());
    }
}
