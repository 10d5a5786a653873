//! Store errors, classified by what the caller must do. Texts name the file and the SQLite
//! failure, never a proof's secret, signature or witness.

use std::fmt;

/// What went wrong, by what the caller must do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Busy beyond [`crate::BUSY_TIMEOUT`], disk full, an I/O error: nothing was changed; try
    /// again later (the proofs stay with the caller).
    Unavailable(String),
    /// The path or the file cannot be used (missing directory, not writable, not a database,
    /// a schema from a newer version): an operator must fix it; `nginx -t` reports it.
    Unusable(String),
    /// The operation does not apply to the stored proofs (an unknown `Y`, a state change not
    /// allowed from the proof's state, `Y`s that are not the token's): nothing was changed;
    /// the caller's view is wrong (a bug, or another process got there first).
    Rejected(String),
}

impl StoreError {
    /// Short class name for logs and metrics: "unavailable", "unusable", "rejected".
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Unusable(_) => "unusable",
            StoreError::Rejected(_) => "rejected",
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    /// Classifies a SQLite error. Its texts carry no bound values (we never build SQL from
    /// proofs), so they are safe to show.
    pub(crate) fn sqlite(what: &str, e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let text = format!("{what}: {e}");
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked | C::DiskFull | C::SystemIoFailure | C::OutOfMemory) => {
                StoreError::Unavailable(text)
            }
            Some(C::NotADatabase | C::DatabaseCorrupt | C::ReadOnly | C::CannotOpen | C::PermissionDenied) => {
                StoreError::Unusable(text)
            }
            Some(C::ConstraintViolation) => StoreError::Rejected(text),
            _ => StoreError::Unavailable(text),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (class, text) = match self {
            StoreError::Unavailable(t) => ("unavailable", t),
            StoreError::Unusable(t) => ("unusable", t),
            StoreError::Rejected(t) => ("rejected", t),
        };
        write!(f, "cashu proof store {class}: ")?;
        for c in text.chars().take(256) {
            fmt::Write::write_char(f, if c.is_control() { ' ' } else { c })?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {}
