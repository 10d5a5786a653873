//! Standard mode: the token's proofs swapped at the mint for new ones of ours (NUT-03), the
//! mint refusing spent ones (NUT-07 states; error 11001). P2PK-locked proofs are signed with
//! our key on the way (NUT-11 witness).

use std::time::Duration;

use cdk::wallet::ReceiveOptions;

use crate::error::ReceiveError;
use crate::key::SigningKey;
use crate::redeemer::Redeemer;

/// A received token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// What the wallet now holds from it, in sat (the token's value minus the swap's fee).
    pub amount: u64,
    /// The swap's input fee (NUT-02), in sat.
    pub fee: u64,
}

impl Redeemer {
    /// Swaps the proofs of `token` (`cashuA…` / `cashuB…`, of this wallet's mint and unit) into
    /// the wallet, signing P2PK-locked ones with `p2pk_signing_key`, within `timeout`.
    ///
    /// A timeout leaves the swap's outcome unknown ([`ReceiveError::Unavailable`]): the mint
    /// may have spent the proofs; the token must still be refused (it is not paid for).
    pub async fn receive(
        &self,
        token: &str,
        p2pk_signing_key: Option<&SigningKey>,
        timeout: Duration,
    ) -> Result<Received, ReceiveError> {
        let value = l402_cashu::parse_token(token.trim())
            .map_err(|e| ReceiveError::Rejected(e.reason().to_string()))?
            .amount();
        let opts = ReceiveOptions {
            p2pk_signing_keys: p2pk_signing_key.map(SigningKey::cdk).into_iter().collect(),
            ..Default::default()
        };
        let amount = match tokio::time::timeout(timeout, self.wallet.receive(token.trim(), opts)).await {
            Err(_) => return Err(ReceiveError::Unavailable(format!("no answer from the mint in {timeout:?}"))),
            Ok(Err(e)) => return Err(ReceiveError::from_cdk(&e)),
            Ok(Ok(a)) => u64::from(a),
        };
        Ok(Received { amount, fee: value.saturating_sub(amount) })
    }
}
