//! What the store gives back: proofs with their tenant and state, grouped for a melt.

use std::fmt;

use l402_cashu::{KeysetId, Proof};

/// Longer tenant names (an LNURL payee) are refused.
pub const MAX_TENANT_LEN: usize = 512;
/// Longer melt quote ids are refused (NUT-05 quote ids are short opaque strings).
pub const MAX_QUOTE_LEN: usize = 256;

/// Where a proof is on its way to our Lightning balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofState {
    /// Accepted as payment, not yet melted.
    Received,
    /// Part of a melt (NUT-05) under this quote whose outcome is not known yet.
    PendingMelt { quote: String },
    /// Melted: the mint spent it and paid us.
    Redeemed,
}

impl ProofState {
    pub(crate) fn column(&self) -> &'static str {
        match self {
            ProofState::Received => "received",
            ProofState::PendingMelt { .. } => "pending_melt",
            ProofState::Redeemed => "redeemed",
        }
    }
}

/// One stored proof. `Debug` shows where it is and what it is worth, never its secret,
/// signature, DLEQ or witness.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredProof {
    pub(crate) y: [u8; 33],
    pub(crate) mint: String,
    pub(crate) unit: String,
    pub(crate) proof: Proof,
    pub(crate) tenant: Option<String>,
    pub(crate) received_at: u64,
    pub(crate) state: ProofState,
}

impl StoredProof {
    /// `Y = hash_to_curve(secret)`, compressed (NUT-00).
    pub fn y(&self) -> &[u8; 33] {
        &self.y
    }
    /// The mint URL, normalised as the token had it.
    pub fn mint(&self) -> &str {
        &self.mint
    }
    pub fn unit(&self) -> &str {
        &self.unit
    }
    pub fn keyset_id(&self) -> KeysetId {
        self.proof.keyset_id
    }
    pub fn amount(&self) -> u64 {
        self.proof.amount
    }
    /// The proof itself, to spend it. Bearer money: keep it out of logs.
    pub fn proof(&self) -> &Proof {
        &self.proof
    }
    /// The LNURL payee the proof was paid to, or `None` for the server's own backend.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
    /// Unix seconds.
    pub fn received_at(&self) -> u64 {
        self.received_at
    }
    pub fn state(&self) -> &ProofState {
        &self.state
    }
}

impl fmt::Debug for StoredProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredProof")
            .field("y", &crate::hex::encode(&self.y))
            .field("mint", &self.mint)
            .field("unit", &self.unit)
            .field("keyset_id", &self.proof.keyset_id.to_hex())
            .field("amount", &self.proof.amount)
            .field("tenant", &self.tenant)
            .field("received_at", &self.received_at)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What [`crate::Db::store_token`] did: proofs new to the store, and proofs it already had
/// (left as they were).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub inserted: usize,
    pub already: usize,
}

/// Unspent proofs of one tenant at one mint and unit: what one melt can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantGroup {
    pub tenant: Option<String>,
    pub mint: String,
    pub unit: String,
    /// Oldest first.
    pub proofs: Vec<StoredProof>,
}

impl TenantGroup {
    pub fn amount(&self) -> u64 {
        self.proofs.iter().fold(0u64, |a, p| a.saturating_add(p.amount()))
    }
}

/// Proofs of one melt whose outcome is not known: reconciled at start (NUT-05 quote state,
/// NUT-07 proof states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMelt {
    pub quote: String,
    pub proofs: Vec<StoredProof>,
}
