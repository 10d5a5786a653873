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

use cdk::nuts::{CurrencyUnit, MeltQuoteState, PaymentMethod, State};
use cdk::nuts::nut00::KnownMethod;
use cdk::wallet::types::KeysetLoadPolicy;
use cdk::wallet::MintConnector;
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
    /// The melt was paid but cdk had given it up as failed before the mint settled it (see
    /// [`Redeemer::melt`]): its change outputs are gone, the whole reserve counts as fee.
    pub change_lost: bool,
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
    /// cdk's melt adds our (external) proofs to its own database and, when it gives a melt up,
    /// puts them back there as unspent; but they are the proof store's, which alone decides
    /// what to do next. Best effort: a failure leaves only a wrong cdk balance.
    async fn forget(&self, proofs: &[cdk::nuts::Proof]) {
        use cdk::nuts::ProofsMethods;
        if let Ok(ys) = proofs.to_vec().ys() {
            let _ = self.wallet.localstore.update_proofs(vec![], ys).await;
        }
    }

    /// NUT-07 checkstate of `proofs`: any spent → [`MeltError::Spent`], pending →
    /// [`MeltError::Unavailable`].
    async fn check_unspent(&self, proofs: &[cdk::nuts::Proof], deadline: tokio::time::Instant) -> Result<(), MeltError> {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let states = bounded(left, self.wallet.check_proofs_spent(proofs.to_vec())).await?;
        if states.iter().any(|s| s.state == State::Spent) {
            return Err(MeltError::Spent);
        }
        if states.iter().any(|s| s.state == State::Pending) {
            return Err(MeltError::Unavailable("a proof is pending at the mint".into()));
        }
        Ok(())
    }

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
        // Enough for the quote? Checked here: cdk 0.18.3 checks it too, but only after it has
        // reserved the quote for an operation it then abandons (the quote stays unusable).
        let inputs: u64 = proofs.iter().map(|p| u64::from(p.amount)).sum();
        let input_fee = self.wallet.get_proofs_fee(&proofs).await.map_err(|e| MeltError::from_cdk(&e))?.total;
        let needed = quote.amount_sat.saturating_add(quote.fee_reserve_sat).saturating_add(u64::from(input_fee));
        if inputs < needed {
            return Err(MeltError::InsufficientFunds);
        }
        // NUT-07 first: cdk 0.18.3 reports any refused melt whose quote stays unpaid as
        // "payment failed", hiding the mint's 11001; spent inputs are found here instead.
        self.check_unspent(&proofs, deadline).await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let done = bounded(left, async {
            let prepared = self.wallet.prepare_melt_proofs(&quote.id, proofs.clone(), HashMap::new()).await?;
            prepared.confirm().await
        })
        .await;
        let done = match done {
            Ok(d) => d,
            Err(e) => {
                let outcome = match e {
                    MeltError::InvoiceRejected(r) => self.after_failed_melt(quote, &proofs, deadline, r).await,
                    e => Err(e),
                };
                self.forget(&proofs).await;
                return outcome;
            }
        };
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
            preimage: done.payment_proof().filter(|p| !p.is_empty()).map(str::to_string),
            change_sat,
            change_lost: false,
        })
    }

    /// cdk gives a melt up as soon as the mint's quote reads unpaid, so "payment failed" may
    /// still be a payment in flight (an asynchronous mint; ours asks for synchronous melts,
    /// `connector.rs`, but a mint may ignore that). The quote is polled until it is settled
    /// or the deadline passes; the proofs' NUT-07 state then tells whose spend it was.
    async fn after_failed_melt(
        &self,
        quote: &MeltQuote,
        proofs: &[cdk::nuts::Proof],
        deadline: tokio::time::Instant,
        reason: String,
    ) -> Result<Melted, MeltError> {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let q = match bounded(left, self.client.get_melt_quote_status(PaymentMethod::Known(KnownMethod::Bolt11), &quote.id)).await? {
                cdk::MeltQuoteResponse::Bolt11(q) => q,
                _ => return Err(MeltError::Rejected("the mint answered a bolt11 quote with another method".into())),
            };
            match q.state {
                MeltQuoteState::Paid => {
                    let inputs: u64 = proofs.iter().map(|p| u64::from(p.amount)).sum();
                    let paid_sat = u64::from(q.amount);
                    return Ok(Melted {
                        paid_sat,
                        fee_sat: inputs.saturating_sub(paid_sat),
                        preimage: q.payment_preimage,
                        change_sat: 0,
                        change_lost: true,
                    });
                }
                MeltQuoteState::Pending | MeltQuoteState::Unknown => {}
                MeltQuoteState::Unpaid | MeltQuoteState::Failed => {
                    // Not paid: spent inputs then mean someone else spent them (NUT-07);
                    // pending ones, that our melt is still being taken up.
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    let states = bounded(left, self.wallet.check_proofs_spent(proofs.to_vec())).await?;
                    if states.iter().all(|s| s.state != State::Pending) {
                        if states.iter().any(|s| s.state == State::Spent) {
                            return Err(MeltError::Spent);
                        }
                        return Err(MeltError::InvoiceRejected(reason));
                    }
                }
            }
            if tokio::time::Instant::now() + POLL >= deadline {
                return Err(MeltError::Unavailable(format!("melt quote {} still in flight", quote.id)));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

const POLL: Duration = Duration::from_millis(200);
