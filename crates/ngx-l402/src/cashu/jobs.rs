//! The jobs of the gate's Cashu steps, run on the worker's runtime: the offline verification
//! of a P2PK token (CPU-bound, on the blocking pool) and the durable store of its proofs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use l402_cashu::{Refusal, Token};
use l402_cashu_mint::{Keys, KeysCache};
use l402_cashu_store::ProofStore;
use l402_gate::method::cashu::{CashuPolicy, Mode};
use l402_gate::{Cause, Failure, IoResult};

use crate::job::Done;

const RETRY: Duration = Duration::from_secs(5);

/// P2PK: every proof's keyset, lock (NUT-11) and DLEQ (NUT-12) against the mint's cached keys.
pub struct VerifyJob {
    pub keys: KeysCache,
    pub policy: Arc<CashuPolicy>,
    pub token: Box<Token>,
    pub price_msat: u64,
    pub now: u64,
}

impl VerifyJob {
    pub async fn run(self) -> Done {
        let VerifyJob { keys, policy, token, price_msat, now } = self;
        let snapshot = match keys.get(&token.mint) {
            Keys::Ready(snapshot) => snapshot,
            Keys::NotLoaded(_) => return (IoResult::CashuVerify(Ok(Err(Refusal::KeysNotLoaded))), Vec::new()),
            Keys::UnknownMint => return (IoResult::CashuVerify(Ok(Err(Refusal::MintNotAllowed))), Vec::new()),
        };
        if let Err(e) = snapshot.info.check_p2pk() {
            let failure = Failure {
                cause: Cause::Mint,
                retry_after: RETRY,
                log: format!("l402: Cashu mint {} cannot be used in P2PK mode: {e}; answering 503", token.mint),
            };
            return (IoResult::CashuVerify(Err(failure)), Vec::new());
        }
        let Mode::P2pk { key, window_secs } = policy.mode else {
            return (IoResult::CashuVerify(Ok(Err(Refusal::KeysNotLoaded))), Vec::new());
        };
        let judged = tokio::task::spawn_blocking(move || {
            let terms = l402_gate::method::cashu::terms(&policy, price_msat, now);
            l402_cashu::verify_p2pk(&token, &snapshot.keys, &key, &terms, window_secs)
        })
        .await;
        let result = judged.map_err(|e| Failure {
            cause: Cause::Mint,
            retry_after: RETRY,
            log: format!("l402: the Cashu verification did not finish: {e}; answering 503"),
        });
        (IoResult::CashuVerify(result), Vec::new())
    }
}

/// The token's proofs, kept for redemption before they count (idempotent by `Y`).
pub struct StoreJob {
    pub store: Arc<Mutex<ProofStore>>,
    pub token: Box<Token>,
    pub ys: Vec<[u8; 33]>,
    /// The location's payee (`l402_lnurl_addr`): whose proofs these are.
    pub tenant: Option<Arc<str>>,
}

impl StoreJob {
    pub async fn run(self) -> Done {
        let StoreJob { store, token, ys, tenant } = self;
        let stored = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let db = store.open()?;
            db.store_token(&token, &ys, tenant.as_deref()).map(|_| ())
        })
        .await;
        let result = match stored {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure {
                cause: Cause::Store,
                retry_after: RETRY,
                log: format!("l402: cannot store the proofs of a Cashu payment: {e}; answering 503"),
            }),
            Err(e) => Err(Failure {
                cause: Cause::Store,
                retry_after: RETRY,
                log: format!("l402: the Cashu proof store did not answer: {e}; answering 503"),
            }),
        };
        (IoResult::CashuStore(result), Vec::new())
    }
}
