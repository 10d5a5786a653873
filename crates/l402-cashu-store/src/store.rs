//! [`ProofStore`] (a path; no I/O until [`ProofStore::open`]) and [`Db`] (this process's
//! connection, where every operation is one transaction).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l402_cashu::{proof_y, Dleq, KeysetId, Proof, Token};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};

use crate::error::StoreError;
use crate::hex;
use crate::path::prepare_file;
use crate::record::{PendingMelt, ProofState, Stored, StoredProof, TenantGroup, MAX_QUOTE_LEN, MAX_TENANT_LEN};
use crate::schema;

/// How long a write waits for another process's transaction before it is
/// [`StoreError::Unavailable`]. Transactions here last milliseconds.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// The store of one host, by its path. Built at configuration (before fork) without touching
/// the file; each process opens its own connection with [`ProofStore::open`].
#[derive(Debug)]
pub struct ProofStore {
    path: PathBuf,
    db: Option<Db>,
}

/// This process's open connection to the store.
pub struct Db {
    conn: Connection,
    /// The process that opened it: a connection must not be used across fork (SQLite, "How To
    /// Corrupt An SQLite Database File", 2.6).
    pid: u32,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("pid", &self.pid).finish_non_exhaustive()
    }
}

impl ProofStore {
    /// No I/O: the file is created or opened by [`ProofStore::open`].
    pub fn new(path: impl Into<PathBuf>) -> ProofStore {
        ProofStore { path: path.into(), db: None }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_open(&self) -> bool {
        self.db.as_ref().is_some_and(|d| d.pid == std::process::id())
    }

    /// This process's connection: opened on the first call (the file created with mode 0600,
    /// WAL mode, the schema created or checked), the same one afterwards (no I/O). A
    /// connection inherited across fork is abandoned, never used or closed, and a new one
    /// opened.
    pub fn open(&mut self) -> Result<&mut Db, StoreError> {
        if self.db.as_ref().is_some_and(|d| d.pid != std::process::id()) {
            // Closing it here could release the parent's locks: leak it instead.
            std::mem::forget(self.db.take());
        }
        let db = match self.db.take() {
            Some(db) => db,
            None => Db::open(&self.path)?,
        };
        Ok(self.db.insert(db))
    }

    /// Closes this process's connection (a checkpoint of the WAL when it is the last one).
    pub fn close(&mut self) {
        if let Some(db) = self.db.take() {
            if db.pid == std::process::id() {
                drop(db);
            } else {
                std::mem::forget(db);
            }
        }
    }
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn as_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const COLUMNS: &str = "y, mint, unit, keyset_id, amount, secret, c, dleq, witness, tenant, received_at, state, melt_quote";

impl Db {
    fn open(path: &Path) -> Result<Db, StoreError> {
        prepare_file(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::sqlite("open", e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| StoreError::sqlite("busy_timeout", e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| StoreError::sqlite("journal_mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unusable(format!("{}: WAL mode refused (journal mode {mode})", path.display())));
        }
        // WAL with `synchronous=NORMAL` (SQLite, "PRAGMA synchronous"): a commit survives the
        // crash or kill of any process at once; only a power loss or kernel crash can lose the
        // last commits — the durability of the usage zone's state file (docs/usage-state.md).
        // `FULL` (an fsync per token) cut P2PK payments to a quarter (BENCHMARKS.md); group
        // commit would give both.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| StoreError::sqlite("synchronous", e))?;
        let mut db = Db { conn, pid: std::process::id() };
        db.migrate(path)?;
        Ok(db)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite("schema", e))?;
        let version: i64 =
            tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| StoreError::sqlite("schema", e))?;
        if version > schema::VERSION {
            return Err(StoreError::Unusable(format!(
                "{}: schema version {version} is newer than this module's ({})",
                path.display(),
                schema::VERSION
            )));
        }
        if version < schema::VERSION {
            tx.execute_batch(schema::CREATE).map_err(|e| StoreError::sqlite("schema", e))?;
            tx.pragma_update(None, "user_version", schema::VERSION).map_err(|e| StoreError::sqlite("schema", e))?;
        }
        tx.commit().map_err(|e| StoreError::sqlite("schema", e))
    }

    /// Stores a token's proofs as `received` for `tenant`, in one transaction. `ys[i]` is
    /// proof `i`'s `Y` (checked). Idempotent: a proof already stored (by any process) is left
    /// as it is, whatever its state, and counted in [`Stored::already`].
    pub fn store_token(&mut self, token: &Token, ys: &[[u8; 33]], tenant: Option<&str>) -> Result<Stored, StoreError> {
        if ys.len() != token.proofs.len() {
            return Err(StoreError::Rejected(format!("{} Ys for {} proofs", ys.len(), token.proofs.len())));
        }
        for (i, (p, y)) in token.proofs.iter().zip(ys).enumerate() {
            if proof_y(&p.secret).ok().as_ref() != Some(y) {
                return Err(StoreError::Rejected(format!("Y {i} is not its proof's (NUT-00 hash_to_curve)")));
            }
        }
        if tenant.is_some_and(|t| t.len() > MAX_TENANT_LEN) {
            return Err(StoreError::Rejected(format!("tenant longer than {MAX_TENANT_LEN} bytes")));
        }
        let now = as_sql(now_unix());
        let tx = self.write()?;
        let mut inserted = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO proofs (y, mint, unit, keyset_id, amount, secret, c, dleq, witness, tenant,
                                         received_at, state, melt_quote, state_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'received', NULL, ?11)
                     ON CONFLICT (y) DO NOTHING",
                )
                .map_err(|e| StoreError::sqlite("store", e))?;
            for (p, y) in token.proofs.iter().zip(ys) {
                let dleq = p.dleq.map(|d| hex::encode(&[d.e, d.s, d.r].concat()));
                inserted += insert
                    .execute(params![
                        hex::encode(y),
                        token.mint,
                        token.unit,
                        p.keyset_id.to_hex(),
                        as_sql(p.amount),
                        p.secret,
                        hex::encode(&p.c),
                        dleq,
                        p.witness,
                        tenant,
                        now,
                    ])
                    .map_err(|e| StoreError::sqlite("store", e))?;
            }
        }
        tx.commit().map_err(|e| StoreError::sqlite("store", e))?;
        Ok(Stored { inserted, already: ys.len() - inserted })
    }

    /// Every `received` proof, grouped by tenant (the server's own first), mint and unit,
    /// oldest first within a group.
    pub fn unspent_by_tenant(&mut self) -> Result<Vec<TenantGroup>, StoreError> {
        let proofs = self.select(
            "WHERE state = 'received' ORDER BY tenant IS NOT NULL, tenant, mint, unit, received_at, y",
            [],
        )?;
        let mut groups: Vec<TenantGroup> = Vec::new();
        for p in proofs {
            match groups.last_mut() {
                Some(g) if g.tenant == p.tenant && g.mint == p.mint && g.unit == p.unit => g.proofs.push(p),
                _ => groups.push(TenantGroup {
                    tenant: p.tenant.clone(),
                    mint: p.mint.clone(),
                    unit: p.unit.clone(),
                    proofs: vec![p],
                }),
            }
        }
        Ok(groups)
    }

    /// Every `pending_melt` proof, grouped by melt quote.
    pub fn pending(&mut self) -> Result<Vec<PendingMelt>, StoreError> {
        let proofs = self.select("WHERE state = 'pending_melt' ORDER BY melt_quote, received_at, y", [])?;
        let mut melts: Vec<PendingMelt> = Vec::new();
        for p in proofs {
            let ProofState::PendingMelt { quote } = &p.state else { continue };
            match melts.last_mut() {
                Some(m) if m.quote == *quote => m.proofs.push(p),
                _ => melts.push(PendingMelt { quote: quote.clone(), proofs: vec![p] }),
            }
        }
        Ok(melts)
    }

    /// One proof by its `Y`.
    pub fn proof(&mut self, y: &[u8; 33]) -> Result<Option<StoredProof>, StoreError> {
        Ok(self.select("WHERE y = ?1", [hex::encode(y)])?.into_iter().next())
    }

    /// `received` → `pending_melt` under `quote`, all of `ys` or none, before the melt is
    /// asked for (a crash then leaves them pending, for reconciliation). Already pending under
    /// the same quote is not an error.
    pub fn mark_pending(&mut self, ys: &[[u8; 33]], quote: &str) -> Result<(), StoreError> {
        if quote.is_empty() || quote.len() > MAX_QUOTE_LEN {
            return Err(StoreError::Rejected(format!("a melt quote id must be 1 to {MAX_QUOTE_LEN} bytes")));
        }
        let pending = ProofState::PendingMelt { quote: quote.to_string() };
        self.transition(ys, &pending, |from| match from {
            ProofState::Received => Ok(true),
            ProofState::PendingMelt { quote: q } if q == quote => Ok(false),
            ProofState::PendingMelt { .. } => Err("pending under another melt quote"),
            ProofState::Redeemed => Err("already redeemed"),
        })
    }

    /// `pending_melt` → `redeemed`, all of `ys` or none: the melt was paid. Already redeemed
    /// is not an error; a proof never marked pending is refused.
    pub fn mark_redeemed(&mut self, ys: &[[u8; 33]]) -> Result<(), StoreError> {
        self.transition(ys, &ProofState::Redeemed, |from| match from {
            ProofState::PendingMelt { .. } => Ok(true),
            ProofState::Redeemed => Ok(false),
            ProofState::Received => Err("not pending a melt"),
        })
    }

    /// `pending_melt` → `received`, all of `ys` or none: the melt failed and the mint says the
    /// proofs are unspent (NUT-07), so the next cycle may melt them again.
    pub fn release(&mut self, ys: &[[u8; 33]]) -> Result<(), StoreError> {
        self.transition(ys, &ProofState::Received, |from| match from {
            ProofState::PendingMelt { .. } => Ok(true),
            ProofState::Received => Ok(false),
            ProofState::Redeemed => Err("already redeemed"),
        })
    }

    /// Moves every `Y` to `to` in one transaction; `allowed(from)` says whether to change it
    /// (`Ok(true)`), leave it (`Ok(false)`) or refuse the whole call.
    fn transition(
        &mut self,
        ys: &[[u8; 33]],
        to: &ProofState,
        allowed: impl Fn(&ProofState) -> Result<bool, &'static str>,
    ) -> Result<(), StoreError> {
        let quote = match to {
            ProofState::PendingMelt { quote } => Some(quote.as_str()),
            _ => None,
        };
        let now = as_sql(now_unix());
        let tx = self.write()?;
        {
            let mut get = tx
                .prepare_cached("SELECT state, melt_quote FROM proofs WHERE y = ?1")
                .map_err(|e| StoreError::sqlite("state", e))?;
            // Redeemed keeps the quote it was melted under.
            let mut set = tx
                .prepare_cached(
                    "UPDATE proofs SET state = ?2, melt_quote = COALESCE(?3, CASE WHEN ?2 = 'received' THEN NULL ELSE melt_quote END),
                                       state_at = ?4 WHERE y = ?1",
                )
                .map_err(|e| StoreError::sqlite("state", e))?;
            for (i, y) in ys.iter().enumerate() {
                let y = hex::encode(y);
                let row: Option<(String, Option<String>)> = get
                    .query_row([&y], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(|e| StoreError::sqlite("state", e))?;
                let Some((state, q)) = row else {
                    return Err(StoreError::Rejected(format!("Y {i} is not stored")));
                };
                let from = state_of(&state, q).ok_or_else(corrupt)?;
                match allowed(&from) {
                    Ok(true) => {
                        set.execute(params![y, to.column(), quote, now]).map_err(|e| StoreError::sqlite("state", e))?;
                    }
                    Ok(false) => {}
                    Err(why) => {
                        return Err(StoreError::Rejected(format!("Y {i} cannot become {}: {why}", to.column())))
                    }
                }
            }
        }
        tx.commit().map_err(|e| StoreError::sqlite("state", e))
    }

    /// A write transaction, holding the write lock from its start (`BEGIN IMMEDIATE`, so a
    /// busy store waits up to [`BUSY_TIMEOUT`] here rather than failing midway).
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite("begin", e))
    }

    fn select(&mut self, tail: &str, args: impl rusqlite::Params) -> Result<Vec<StoredProof>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM proofs {tail}"))
            .map_err(|e| StoreError::sqlite("read", e))?;
        let rows = stmt.query_map(args, row).map_err(|e| StoreError::sqlite("read", e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| StoreError::sqlite("read", e))?.ok_or_else(corrupt)?);
        }
        Ok(out)
    }
}

fn corrupt() -> StoreError {
    StoreError::Unusable("a stored proof does not read back (the file was changed outside this module)".into())
}

fn state_of(state: &str, quote: Option<String>) -> Option<ProofState> {
    match (state, quote) {
        ("received", _) => Some(ProofState::Received),
        ("pending_melt", Some(quote)) => Some(ProofState::PendingMelt { quote }),
        ("redeemed", _) => Some(ProofState::Redeemed),
        _ => None,
    }
}

/// A row as a proof, `None` if a column does not parse (never says which value).
fn row(r: &Row<'_>) -> rusqlite::Result<Option<StoredProof>> {
    let y: String = r.get(0)?;
    let keyset: String = r.get(3)?;
    let amount: i64 = r.get(4)?;
    let c: String = r.get(6)?;
    let dleq: Option<String> = r.get(7)?;
    let received_at: i64 = r.get(10)?;
    let state: String = r.get(11)?;
    let parsed = (|| {
        let dleq = match dleq {
            None => None,
            Some(d) => {
                let b: [u8; 96] = hex::decode_array(&d)?;
                let mut e = [0u8; 32];
                let mut s = [0u8; 32];
                let mut rr = [0u8; 32];
                e.copy_from_slice(&b[..32]);
                s.copy_from_slice(&b[32..64]);
                rr.copy_from_slice(&b[64..]);
                Some(Dleq { e, s, r: rr })
            }
        };
        Some((
            hex::decode_array::<33>(&y)?,
            KeysetId::from_hex(&keyset)?,
            u64::try_from(amount).ok()?,
            hex::decode_array::<33>(&c)?,
            dleq,
            u64::try_from(received_at).ok()?,
        ))
    })();
    let Some((y, keyset_id, amount, c, dleq, received_at)) = parsed else { return Ok(None) };
    let Some(state) = state_of(&state, r.get(12)?) else { return Ok(None) };
    Ok(Some(StoredProof {
        y,
        mint: r.get(1)?,
        unit: r.get(2)?,
        proof: Proof { keyset_id, amount, secret: r.get(5)?, c, dleq, witness: r.get(8)? },
        tenant: r.get(9)?,
        received_at,
        state,
    }))
}
