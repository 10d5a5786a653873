//! Errors classified by what the caller must do. cdk's error is read here and nowhere else;
//! only its text (never a secret: cdk's errors carry no proofs) survives as a reason.

use cdk::Error as CdkError;

/// Opening the wallet failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Fix the configuration: the mint URL is not one cdk accepts.
    MintUrl(String),
    /// Fix the configuration: CASHU_WALLET_SECRET is unusable (too short).
    Secret(String),
    /// The wallet database cannot be opened or migrated (path, permissions, a corrupt file).
    Database(String),
}

/// A standard-mode receive (NUT-03 swap) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiveError {
    /// The mint says a proof is already spent (NUT error 11001): refuse the token (a replay).
    Spent,
    /// The mint says a proof is pending in another operation (11002): refuse now; the client
    /// may retry.
    Pending,
    /// The mint did not answer in time, or not at all (connection, timeout, 5xx): its state
    /// is unknown; retry later, do not blame the client.
    Unavailable(String),
    /// The token is not acceptable (malformed, wrong mint or unit, P2PK lock not satisfied,
    /// bad signature, unknown keyset...): refuse it.
    Rejected(String),
    /// Our wallet database failed: an operator problem.
    Local(String),
}

/// A melt (NUT-05) or its quote failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeltError {
    /// The mint did not answer in time or at all, or the payment is still in flight
    /// (a pending melt quote, 20005 / 11002): keep the proofs pending and reconcile later
    /// (NUT-07 checkstate / the quote's state); never spend them elsewhere meanwhile.
    Unavailable(String),
    /// The invoice is not payable by this mint (malformed, expired, already paid, amount out
    /// of range, the Lightning payment failed): release the proofs, get a new invoice.
    InvoiceRejected(String),
    /// A proof is already spent (11001): someone else redeemed it; mark it redeemed.
    Spent,
    /// The proofs do not cover the quote's amount + fee reserve (+ input fees): release them,
    /// melt more proofs or ask for a smaller invoice.
    InsufficientFunds,
    /// The mint refused for another reason (keyset, witness, limits): release the proofs and
    /// look at the reason.
    Rejected(String),
    /// Our wallet database failed, or a proof we hold cannot be read: an operator problem.
    Local(String),
}

/// How cdk's error reads to us.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Spent,
    Pending,
    Unavailable,
    Invoice,
    Insufficient,
    Local,
    Rejected,
}

pub(crate) fn classify(e: &CdkError) -> Class {
    match e {
        CdkError::TokenAlreadySpent => Class::Spent,
        CdkError::TokenPending | CdkError::PendingQuote => Class::Pending,
        CdkError::Timeout
        | CdkError::CouldNotGetMintInfo
        | CdkError::UnknownPaymentState
        | CdkError::InvalidMintResponse(_)
        | CdkError::SerdeJsonError(_)
        | CdkError::HttpError(None, _) => Class::Unavailable,
        CdkError::HttpError(Some(status), _) if *status >= 500 || *status == 429 || *status == 408 => Class::Unavailable,
        CdkError::InvalidInvoice
        | CdkError::Invoice(_)
        | CdkError::InvoiceAmountUndefined
        | CdkError::AmountLessNotAllowed
        | CdkError::ExpiredQuote(_, _)
        | CdkError::UnknownQuote
        | CdkError::RequestAlreadyPaid
        | CdkError::PaidQuote
        | CdkError::PaymentFailed
        | CdkError::AmountOutofLimitRange(_, _, _)
        | CdkError::MeltingDisabled => Class::Invoice,
        CdkError::InsufficientFunds | CdkError::MaxFeeExceeded => Class::Insufficient,
        CdkError::Database(_) => Class::Local,
        _ => Class::Rejected,
    }
}

impl ReceiveError {
    pub(crate) fn from_cdk(e: &CdkError) -> ReceiveError {
        match classify(e) {
            Class::Spent => ReceiveError::Spent,
            Class::Pending => ReceiveError::Pending,
            Class::Unavailable => ReceiveError::Unavailable(e.to_string()),
            Class::Local => ReceiveError::Local(e.to_string()),
            Class::Invoice | Class::Insufficient | Class::Rejected => ReceiveError::Rejected(e.to_string()),
        }
    }
}

impl MeltError {
    pub(crate) fn from_cdk(e: &CdkError) -> MeltError {
        match classify(e) {
            Class::Spent => MeltError::Spent,
            Class::Pending | Class::Unavailable => MeltError::Unavailable(e.to_string()),
            Class::Invoice => MeltError::InvoiceRejected(e.to_string()),
            Class::Insufficient => MeltError::InsufficientFunds,
            Class::Local => MeltError::Local(e.to_string()),
            Class::Rejected => MeltError::Rejected(e.to_string()),
        }
    }
}

macro_rules! display {
    ($t:ty, $($pat:pat => $fmt:expr),+ $(,)?) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self { $($pat => { let text: String = $fmt; f.write_str(&text) }),+ }
            }
        }
        impl std::error::Error for $t {}
    };
}

display!(OpenError,
    OpenError::MintUrl(r) => format!("mint URL refused: {r}"),
    OpenError::Database(r) => format!("wallet database: {r}"),
    OpenError::Secret(r) => r.clone(),
);
display!(ReceiveError,
    ReceiveError::Spent => "a proof is already spent (NUT error 11001)".into(),
    ReceiveError::Pending => "a proof is pending at the mint (NUT error 11002)".into(),
    ReceiveError::Unavailable(r) => format!("mint unavailable: {r}"),
    ReceiveError::Rejected(r) => format!("token rejected: {r}"),
    ReceiveError::Local(r) => format!("wallet database: {r}"),
);
display!(MeltError,
    MeltError::Unavailable(r) => format!("mint unavailable or payment in flight: {r}"),
    MeltError::InvoiceRejected(r) => format!("invoice rejected: {r}"),
    MeltError::Spent => "a proof is already spent (NUT error 11001)".into(),
    MeltError::InsufficientFunds => "the proofs do not cover the amount and the fee reserve".into(),
    MeltError::Rejected(r) => format!("melt rejected: {r}"),
    MeltError::Local(r) => format!("wallet database: {r}"),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(ReceiveError::from_cdk(&CdkError::TokenAlreadySpent), ReceiveError::Spent);
        assert_eq!(ReceiveError::from_cdk(&CdkError::TokenPending), ReceiveError::Pending);
        assert!(matches!(ReceiveError::from_cdk(&CdkError::HttpError(None, "refused".into())), ReceiveError::Unavailable(_)));
        assert!(matches!(ReceiveError::from_cdk(&CdkError::HttpError(Some(502), "bad gw".into())), ReceiveError::Unavailable(_)));
        assert!(matches!(ReceiveError::from_cdk(&CdkError::HttpError(Some(400), "bad".into())), ReceiveError::Rejected(_)));
        assert!(matches!(ReceiveError::from_cdk(&CdkError::IncorrectMint), ReceiveError::Rejected(_)));
        assert_eq!(MeltError::from_cdk(&CdkError::TokenAlreadySpent), MeltError::Spent);
        assert!(matches!(MeltError::from_cdk(&CdkError::PendingQuote), MeltError::Unavailable(_)));
        assert!(matches!(MeltError::from_cdk(&CdkError::InvalidInvoice), MeltError::InvoiceRejected(_)));
        assert!(matches!(MeltError::from_cdk(&CdkError::RequestAlreadyPaid), MeltError::InvoiceRejected(_)));
        assert_eq!(MeltError::from_cdk(&CdkError::InsufficientFunds), MeltError::InsufficientFunds);
        assert!(matches!(MeltError::from_cdk(&CdkError::UnknownKeySet), MeltError::Rejected(_)));
    }
}
