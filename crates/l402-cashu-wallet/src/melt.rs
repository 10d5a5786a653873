//! Redemption: a melt quote for our invoice (NUT-05), then the melt of stored proofs, its
//! unused fee reserve returned as change (NUT-08) into this wallet.
//!
//! The caller's order, so that a crash loses nothing: [`Redeemer::quote_melt`] → mark the
//! proofs pending under the quote id (`l402_cashu_store::ProofStore::mark_pending`) →
//! [`Redeemer::melt`] → `mark_redeemed` on success or [`MeltError::Spent`], `release` on a
//! definite refusal, nothing on [`MeltError::Unavailable`] (reconcile later with NUT-07
//! checkstate: the mint may have spent them).

use std::collections::HashMap;
use std::time::Duration;

use cdk::nuts::{CurrencyUnit, MeltQuoteState, PaymentMethod};
use cdk::nuts::nut00::KnownMethod;
use cdk::wallet::types::KeysetLoadPolicy;
use l402_cashu::Proof;

use crate::convert::to_cdk;
use crate::error::MeltError;
use crate::key::SigningKey;
use crate::redeemer::Redeemer;

/// A melt quote: the mint will pay the invoice's `amount_sat` and may keep up to
/// `fee_reserve_sat` for the Lightning fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeltQuote {
    pub id: String,
    pub amount_sat: u64,
    pub fee_reserve_sat: u64,
    /// Unix seconds.
    pub expiry: u64,
    /// The mint's fee reserve is above the reserve our plan left (warn: the melt will fail
    /// with [`MeltError::InsufficientFunds`] unless the proofs carry more).
    pub reserve_exceeded: bool,
}

/// A finished melt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Melted {
    /// What the invoice was paid.
    pub paid_sat: u64,
    /// The Lightning fee (and input fees) the mint kept.
    pub fee_sat: u64,
    /// The Lightning preimage, when the mint gives it.
    pub preimage: Option<String>,
    /// The unused reserve the mint returned (NUT-08), now in this wallet.
    pub change_sat: u64,
}

async fn bounded<T, F>(timeout: Duration, f: F) -> Result<T, MeltError>
where
    F: std::future::Future<Output = Result<T, cdk::Error>>,
{
    match tokio::time::timeout(timeout, f).await {
        Err(_) => Err(MeltError::Unavailable(format!("no answer from the mint in {timeout:?}"))),
        Ok(r) => r.map_err(|e| MeltError::from_cdk(&e)),
    }
}

impl Redeemer {
    /// Asks the mint for a melt quote (NUT-05, bolt11) paying `invoice`; `our_reserve_sat` is
    /// the reserve of our plan ([`crate::MeltPlan`]), compared with the quote's.
    pub async fn quote_melt(&self, invoice: &str, our_reserve_sat: u64, timeout: Duration) -> Result<MeltQuote, MeltError> {
        let q = bounded(timeout, self.wallet.melt_quote(PaymentMethod::Known(KnownMethod::Bolt11), invoice.trim(), None, None)).await?;
        if q.unit != CurrencyUnit::Sat {
            return Err(MeltError::Rejected(format!("the quote is in {}, not sat", q.unit)));
        }
        let fee_reserve_sat = u64::from(q.fee_reserve);
        Ok(MeltQuote {
            id: q.id,
            amount_sat: u64::from(q.amount),
            fee_reserve_sat,
            expiry: q.expiry,
            reserve_exceeded: fee_reserve_sat > our_reserve_sat,
        })
    }

    /// Melts `proofs` (from our store; P2PK-locked ones signed with `p2pk_signing_key`) to pay
    /// `quote`, within `timeout` for the whole exchange. A timeout leaves the outcome unknown
    /// ([`MeltError::Unavailable`]); cdk keeps the melt's saga in its database.
    pub async fn melt(
        &self,
        quote: &MeltQuote,
        proofs: &[Proof],
        p2pk_signing_key: Option<&SigningKey>,
        timeout: Duration,
    ) -> Result<Melted, MeltError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let keysets = bounded(timeout, self.wallet.keysets(KeysetLoadPolicy::CacheThenNetwork)).await?;
        let known: Vec<_> = keysets.iter().map(|k| k.id).collect();
        let proofs = proofs.iter().map(|p| to_cdk(p, &known, p2pk_signing_key)).collect::<Result<Vec<_>, _>>()?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let done = bounded(left, async {
            let prepared = self.wallet.prepare_melt_proofs(&quote.id, proofs, HashMap::new()).await?;
            prepared.confirm().await
        })
        .await?;
        match done.state() {
            MeltQuoteState::Paid => {}
            MeltQuoteState::Pending | MeltQuoteState::Unknown => {
                return Err(MeltError::Unavailable(format!("the melt is {} at the mint", done.state())))
            }
            MeltQuoteState::Unpaid | MeltQuoteState::Failed => {
                return Err(MeltError::InvoiceRejected(format!("the mint could not pay the invoice ({})", done.state())))
            }
        }
        let change_sat = done.change().map(|c| c.iter().map(|p| u64::from(p.amount)).sum()).unwrap_or(0);
        Ok(Melted {
            paid_sat: u64::from(done.amount()),
            fee_sat: u64::from(done.fee_paid()),
            preimage: done.payment_proof().map(str::to_string),
            change_sat,
        })
    }
}
