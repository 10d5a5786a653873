//! Why a credential was refused or a request not served: one enum with a stable text, sent in
//! `X-L402-Reason`, logged, and exposed as `$l402_reason`.

use l402_core::{CredentialError, Rejection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The header is not a credential (l402_core's parse errors).
    Credential(CredentialError),
    /// The credential does not verify (signature, preimage, caveats, service, expiry).
    Rejected(Rejection),
    /// A token whose uses are all claimed.
    UsedUp,
    /// A token bought for less than this request costs.
    Underpaid,
    /// A token minted without terms (by an older build, or not by this server).
    NoTerms,
    /// A macaroon's invoice expired, was canceled or is unknown to the backend.
    InvoiceGone,
    /// A macaroon presented alone whose invoice is not paid yet.
    PaymentPending,
    /// Too many invoice requests from this client.
    RateLimited,
}

impl Reason {
    /// The stable text: a short lowercase phrase, never input.
    pub fn text(&self) -> &'static str {
        match self {
            Reason::Credential(e) => e.reason(),
            Reason::Rejected(r) => r.reason(),
            Reason::UsedUp => "token has no uses left",
            Reason::Underpaid => "token paid less than this request costs",
            Reason::NoTerms => "token does not state what it paid",
            Reason::InvoiceGone => "invoice expired or unknown",
            Reason::PaymentPending => "payment not received yet",
            Reason::RateLimited => "too many invoice requests",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}
