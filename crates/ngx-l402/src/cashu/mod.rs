//! Cashu in a worker (docs/architecture.md, "Cashu"): the mints' keysets kept fresh in the
//! background (`l402-cashu-mint` `KeysCache`, loaded after fork, never on the request path), the
//! host's proof store (`l402-cashu-store`, opened lazily on the runtime's blocking pool), and
//! the jobs the executor runs for the gate's Cashu steps (`jobs.rs`).

mod jobs;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l402_cashu_mint::{ClientOptions, KeysCache, MintClient, Refresh, TransportOptions};
use l402_cashu_store::ProofStore;
use ngx::ffi::{NGX_LOG_ERR, NGX_LOG_INFO};

use crate::bridge;
use crate::conf::cashu::CashuSettings;

pub use jobs::{StoreJob, VerifyJob};

/// Time limit of one call to a mint.
const MINT_TIMEOUT: Duration = Duration::from_secs(5);

/// What this worker holds for Cashu.
#[derive(Clone)]
pub struct Worker {
    pub keys: KeysCache,
    pub store: Arc<Mutex<ProofStore>>,
}

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// This worker's Cashu state, when Cashu is configured and started.
pub fn worker() -> Option<Worker> {
    WORKER.with(|w| w.try_borrow().ok().and_then(|w| w.clone()))
}

/// Starts Cashu in this worker (after fork, once the bridge runs): one client per allowed
/// mint on a shared transport, the keysets loaded and refreshed in the background.
pub fn start(settings: &CashuSettings) -> Result<(), String> {
    let options = ClientOptions {
        timeout: MINT_TIMEOUT,
        transport: TransportOptions { allow_http: settings.allow_http, ..TransportOptions::default() },
    };
    let clients = settings
        .policy
        .mints
        .iter()
        .map(|m| MintClient::new(m, &options).map_err(|e| format!("Cashu mint \"{m}\": {e}")))
        .collect::<Result<Vec<_>, String>>()?;
    let keys = KeysCache::new(clients);
    let store = Arc::new(Mutex::new(ProofStore::new(settings.db.clone())));
    WORKER.with(|w| *w.borrow_mut() = Some(Worker { keys: keys.clone(), store: Arc::clone(&store) }));
    let mints = settings.policy.mints.clone();
    bridge::spawn_background(false, move |sink| async move {
        // Opened once at start, as the worker user: a store this user cannot write is said now,
        // not at the first payment (`nginx -t` runs as the master's user).
        let opened = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            store.open().map(|_| ()).map_err(|e| e.to_string())
        })
        .await;
        if let Ok(Err(e)) | Err(e) = opened.map_err(|e| e.to_string()) {
            sink.log(
                NGX_LOG_ERR,
                format!("l402: the Cashu proof store cannot be used by this worker: {e}; Cashu payments answer 503 (its directory must be writable by the worker user)"),
            );
        }
        for mint in &mints {
            match keys.refresh(mint).await {
                Ok(()) => {
                    if let l402_cashu_mint::Keys::Ready(snap) = keys.get(mint) {
                        match snap.info.check_p2pk() {
                            Ok(()) => sink.log(NGX_LOG_INFO, format!("l402: Cashu mint {mint}: keysets loaded")),
                            Err(e) => sink.log(
                                NGX_LOG_ERR,
                                format!("l402: Cashu mint {mint} cannot be used in P2PK mode: {e}; its tokens are refused"),
                            ),
                        }
                    }
                }
                Err(e) => sink.log(
                    NGX_LOG_ERR,
                    format!("l402: Cashu mint {mint}: keysets not loaded ({e}); retried in the background, its tokens get 503 until then"),
                ),
            }
        }
        let _refresher = keys.spawn(&tokio::runtime::Handle::current(), Refresh::default());
        std::future::pending::<()>().await;
    });
    Ok(())
}

/// Drops this worker's Cashu state (worker exit).
pub fn stop() {
    WORKER.with(|w| {
        if let Ok(mut w) = w.try_borrow_mut() {
            w.take();
        }
    });
}
