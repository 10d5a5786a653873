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
    /// A Cashu payment that does not pay (NUT-24: 400 with `X-Cashu-Reason`).
    Cashu(l402_cashu::Refusal),
    /// A Cashu proof spent before (here, or at the mint).
    ProofSpent,
    /// A Cashu proof the mint holds as pending.
    ProofPending,
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
            Reason::Cashu(r) => r.reason(),
            Reason::ProofSpent => "proof already spent",
            Reason::ProofPending => "proof pending",
        }
    }
}

impl Reason {
    /// A metric label value: a short snake_case code, never input.
    pub fn label(&self) -> &'static str {
        use Rejection as R;
        match self {
            Reason::Credential(_) => "malformed",
            Reason::Rejected(r) => match r {
                R::NotL402Identifier => "not_l402",
                R::MissingPreimage => "missing_preimage",
                R::PreimageMismatch | R::PreimageCaveatDisagrees => "wrong_preimage",
                R::SignatureMismatch => "bad_signature",
                R::ThirdPartyCaveat => "third_party_caveat",
                R::CaveatWidens => "caveat_widens",
                R::MalformedCaveat => "malformed_caveat",
                R::WrongService => "wrong_service",
                R::Expired => "expired",
            },
            Reason::UsedUp => "used_up",
            Reason::Underpaid => "underpaid",
            Reason::NoTerms => "no_terms",
            Reason::InvoiceGone => "invoice_gone",
            Reason::PaymentPending => "payment_pending",
            Reason::RateLimited => "rate_limited",
            Reason::Cashu(r) => cashu_label(r),
            Reason::ProofSpent => "cashu_spent",
            Reason::ProofPending => "cashu_pending",
        }
    }
}

fn cashu_label(r: &l402_cashu::Refusal) -> &'static str {
    use l402_cashu::Refusal as C;
    match r {
        C::Token(_) => "cashu_malformed",
        C::MintNotAllowed => "cashu_mint",
        C::UnitNotAccepted => "cashu_unit",
        C::DuplicateProof => "cashu_duplicate",
        C::Underpaid => "cashu_underpaid",
        C::UnknownKeyset | C::AmbiguousKeyset | C::KeysetUnit | C::KeysetExpired | C::AmountNotInKeyset => "cashu_keyset",
        C::MissingDleq | C::InvalidDleq => "cashu_dleq",
        C::Lock(_) => "cashu_lock",
        C::KeysNotLoaded => "cashu_keys_not_loaded",
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_snake_case_codes() {
        use Rejection as R;
        let all = [
            Reason::Credential(CredentialError::TooLong),
            Reason::Rejected(R::NotL402Identifier),
            Reason::Rejected(R::MissingPreimage),
            Reason::Rejected(R::PreimageMismatch),
            Reason::Rejected(R::SignatureMismatch),
            Reason::Rejected(R::ThirdPartyCaveat),
            Reason::Rejected(R::PreimageCaveatDisagrees),
            Reason::Rejected(R::CaveatWidens),
            Reason::Rejected(R::MalformedCaveat),
            Reason::Rejected(R::WrongService),
            Reason::Rejected(R::Expired),
            Reason::UsedUp,
            Reason::Underpaid,
            Reason::NoTerms,
            Reason::InvoiceGone,
            Reason::PaymentPending,
            Reason::RateLimited,
        ];
        for r in all {
            let l = r.label();
            assert!(!l.is_empty() && l.len() <= 24, "{l}");
            assert!(l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()), "{l}");
        }
    }
}
