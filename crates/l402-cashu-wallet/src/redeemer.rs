//! One cdk wallet for one allow-listed mint, its state in cdk-sqlite.
//!
//! The database is one SQLite file (cdk-sqlite: WAL, `busy_timeout` 10 s, `synchronous=FULL`),
//! so several processes (nginx workers) may open it at once: each change is one SQLite
//! transaction, the NUT-13 derivation counters included, so two processes never reuse a
//! counter. What is not shared is cdk's in-memory state (the mint's keysets cache, per
//! process) and a melt in flight: run redemption in one process only (the seed's rule).
//! Unlike cdk-redb, which locks its file exclusively. The file is created if missing; its
//! directory must be writable by the worker user (SQLite writes `-wal` / `-shm` beside it).

use std::path::Path;
use std::sync::Arc;

use cdk::nuts::CurrencyUnit;
use cdk::wallet::{HttpClient, Wallet, WalletBuilder};
use cdk_sqlite::WalletSqliteDatabase;

use crate::connector::SyncMelt;
use crate::error::OpenError;

/// Standard-mode receive and redemption against one mint (the `sat` unit).
pub struct Redeemer {
    pub(crate) wallet: Wallet,
    /// The wallet's own HTTP client, also used directly where cdk's wallet would resume a
    /// saga we have given up on (the melt quote's state).
    pub(crate) client: Arc<SyncMelt>,
    mint_url: String,
}

impl std::fmt::Debug for Redeemer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redeemer").field("mint_url", &self.mint_url).finish_non_exhaustive()
    }
}

impl Redeemer {
    /// Opens (creating and migrating if needed) the wallet DB at `wallet_db_path` for
    /// `mint_url` (an allow-listed mint: this wallet talks to it and to no other), with `seed`
    /// ([`crate::seed_from_secret`] of CASHU_WALLET_SECRET). Needs a tokio runtime; no mint
    /// call yet.
    pub async fn new(mint_url: &str, wallet_db_path: &Path, seed: [u8; 64]) -> Result<Redeemer, OpenError> {
        let db = WalletSqliteDatabase::new(wallet_db_path.to_path_buf()).await.map_err(|e| OpenError::Database(e.to_string()))?;
        let mint = mint_url.parse::<cdk::mint_url::MintUrl>().map_err(|e| OpenError::MintUrl(e.to_string()))?;
        let client = Arc::new(SyncMelt(HttpClient::new(mint.clone(), None)));
        let wallet = WalletBuilder::new()
            .mint_url(mint)
            .shared_client(client.clone())
            .unit(CurrencyUnit::Sat)
            .localstore(Arc::new(db))
            .seed(seed)
            .build()
            .map_err(|e| OpenError::MintUrl(e.to_string()))?;
        Ok(Redeemer { wallet, client, mint_url: mint_url.to_string() })
    }

    /// [`Redeemer::new`] with the seed derived from CASHU_WALLET_SECRET's bytes
    /// ([`crate::seed_from_secret`]).
    pub async fn from_secret(mint_url: &str, wallet_db_path: &Path, secret: &[u8]) -> Result<Redeemer, OpenError> {
        let seed = crate::seed_from_secret(secret).map_err(|e| OpenError::Secret(e.to_string()))?;
        Redeemer::new(mint_url, wallet_db_path, seed).await
    }

    /// The mint this wallet talks to, as given.
    pub fn mint_url(&self) -> &str {
        &self.mint_url
    }

    /// What the wallet holds (received swaps, melt change), in sat, from its database.
    pub async fn balance_sat(&self) -> Result<u64, OpenError> {
        self.wallet.total_balance().await.map(u64::from).map_err(|e| OpenError::Database(e.to_string()))
    }
}
