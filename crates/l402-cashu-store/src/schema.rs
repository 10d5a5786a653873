//! The store's schema, versioned by SQLite's `user_version`.
//!
//! One row per proof, keyed by `Y` (hex of the compressed point, NUT-00): a proof is stored
//! once, whichever worker got it, and its state moves forward only:
//! `received` → `pending_melt` (`melt_quote` set) → `redeemed`; back to `received` only when
//! a melt is known to have failed (NUT-07 says UNSPENT).

/// The schema this code writes. A file with a higher version is refused (written by newer
/// code); version 0 is a new file.
pub(crate) const VERSION: i64 = 1;

pub(crate) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS proofs (
    y           TEXT PRIMARY KEY NOT NULL CHECK (length(y) = 66),
    mint        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    keyset_id   TEXT NOT NULL CHECK (length(keyset_id) IN (16, 66)),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    secret      TEXT NOT NULL,
    c           TEXT NOT NULL CHECK (length(c) = 66),
    dleq        TEXT CHECK (dleq IS NULL OR length(dleq) = 192),
    witness     TEXT,
    tenant      TEXT,
    received_at INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('received', 'pending_melt', 'redeemed')),
    melt_quote  TEXT CHECK (state <> 'pending_melt' OR melt_quote IS NOT NULL),
    state_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS proofs_by_state ON proofs (state, tenant, mint, received_at);
";
