//! The verdicts on a Cashu payment (NUT-24 "Payment response": a token from a mint not
//! listed, of another unit, too small or insufficiently locked is refused with 400).
//!
//! [`precheck`] is all that can be judged before a swap at the mint (standard mode, the
//! adapter swaps later). [`verify_p2pk`] judges a P2PK-locked token completely offline: the
//! precheck, then every proof's keyset, lock (NUT-11) and DLEQ (NUT-12). Neither contacts
//! anything; an unlisted mint is refused before anything else is looked at.

use secp256k1::PublicKey;

use crate::dleq;
use crate::keyset::{Keyset, MintKeys, ResolveError};
use crate::mint_url::normalise_mint_url;
use crate::p2pk::{check_lock, LockError};
use crate::token::{Token, TokenError};

/// What a location accepts.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Mint URLs (normalised when compared: [`normalise_mint_url`]); an entry that is not a
    /// mint URL matches nothing.
    pub allowed_mints: &'a [String],
    /// The unit prices are in (`sat`).
    pub unit: &'a str,
    /// In `unit`, after fees. From millisatoshis: [`sat_price`].
    pub price: u64,
    /// Unix seconds.
    pub now: u64,
}

/// A price in millisatoshis as whole satoshis, rounded up (a token cannot pay less).
pub fn sat_price(msat: u64) -> u64 {
    msat.div_ceil(1000)
}

/// Who is at fault, and so the status of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 (NUT-24).
    Client,
    /// 503: we cannot judge yet (keys of an allowed mint not loaded).
    Server,
}

impl Fault {
    pub fn status(&self) -> u16 {
        match self {
            Fault::Client => 400,
            Fault::Server => 503,
        }
    }
}

/// Why a Cashu payment is refused. Stable texts for `X-Cashu-Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Token(TokenError),
    MintNotAllowed,
    UnitNotAccepted,
    /// The same proof (secret, hence `Y`) twice in one token.
    DuplicateProof,
    /// Amount minus fees below the price.
    Underpaid,
    UnknownKeyset,
    AmbiguousKeyset,
    /// A keyset of another unit than the token says.
    KeysetUnit,
    /// NUT-02 "Keyset Final Expiry" passed (or passes before we redeem).
    KeysetExpired,
    /// The keyset has no key for the proof's amount.
    AmountNotInKeyset,
    MissingDleq,
    InvalidDleq,
    Lock(LockError),
    /// The mint is allowed but its keysets are not loaded (yet): ours to fix.
    KeysNotLoaded,
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Token(e) => e.reason(),
            Refusal::MintNotAllowed => "mint not accepted",
            Refusal::UnitNotAccepted => "unit not accepted",
            Refusal::DuplicateProof => "duplicate proof",
            Refusal::Underpaid => "amount too low",
            Refusal::UnknownKeyset => "unknown keyset",
            Refusal::AmbiguousKeyset => "ambiguous keyset id",
            Refusal::KeysetUnit => "keyset unit mismatch",
            Refusal::KeysetExpired => "keyset expired",
            Refusal::AmountNotInKeyset => "amount not in keyset",
            Refusal::MissingDleq => "missing dleq proof",
            Refusal::InvalidDleq => "invalid dleq proof",
            Refusal::Lock(e) => e.reason(),
            Refusal::KeysNotLoaded => "mint keys not loaded",
        }
    }

    pub fn fault(&self) -> Fault {
        match self {
            Refusal::KeysNotLoaded => Fault::Server,
            _ => Fault::Client,
        }
    }
}

impl From<TokenError> for Refusal {
    fn from(e: TokenError) -> Refusal {
        Refusal::Token(e)
    }
}

impl From<ResolveError> for Refusal {
    fn from(e: ResolveError) -> Refusal {
        match e {
            ResolveError::Unknown => Refusal::UnknownKeyset,
            ResolveError::Ambiguous => Refusal::AmbiguousKeyset,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Refusal {}

/// A token worth swapping (standard mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub mint: String,
    /// The proofs' sum.
    pub amount: u64,
    /// NUT-02 fees of the swap, if the mint's keysets were given.
    pub fee: Option<u64>,
}

/// A P2PK token that pays, judged offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Each proof's `Y` (NUT-00), in the token's order, all different: what to claim as spent.
    pub ys: Vec<[u8; 33]>,
    pub amount: u64,
    pub fee: u64,
    pub mint: String,
    /// How long the proofs must be remembered as spent: until the latest `locktime` among
    /// them (after its own locktime a proof is refused anyway, NUT-11: anyone could spend it),
    /// or for ever (`None`) when one is locked without a locktime.
    pub spent_until: Option<u64>,
}

/// Everything but the mint's signatures: the mint is allowed (no look-up of any other), the
/// unit is ours, no proof appears twice and the amount, minus NUT-02 fees when `keys` are
/// given, covers the price. With `keys`, every proof's keyset must be one of them, of the
/// token's unit and not expired; `keys` of another mint are [`Refusal::KeysNotLoaded`].
pub fn precheck(token: &Token, policy: &Policy<'_>, keys: Option<&MintKeys>) -> Result<Checked, Refusal> {
    let allowed = policy.allowed_mints.iter().any(|m| normalise_mint_url(m).as_deref() == Some(token.mint.as_str()));
    if !allowed {
        return Err(Refusal::MintNotAllowed);
    }
    if token.unit != policy.unit {
        return Err(Refusal::UnitNotAccepted);
    }
    if token.proofs.is_empty() {
        return Err(Refusal::Token(TokenError::NoProofs));
    }
    let mut secrets: Vec<&str> = token.proofs.iter().map(|p| p.secret.as_str()).collect();
    secrets.sort_unstable();
    if secrets.windows(2).any(|w| w[0] == w[1]) {
        return Err(Refusal::DuplicateProof);
    }
    let mut amount = 0u64;
    for p in &token.proofs {
        amount = amount.checked_add(p.amount).ok_or(Refusal::Token(TokenError::AmountOverflow))?;
    }
    let fee = match keys {
        None => None,
        Some(keys) => {
            keysets_of(token, keys, policy.now)?;
            Some(keys.fee(&token.proofs)?)
        }
    };
    if amount.saturating_sub(fee.unwrap_or(0)) < policy.price || fee.is_some_and(|f| f > amount) {
        return Err(Refusal::Underpaid);
    }
    Ok(Checked { mint: token.mint.clone(), amount, fee })
}

/// Each proof's keyset, checked against the token and the time.
fn keysets_of<'k>(token: &Token, keys: &'k MintKeys, not_expired_at: u64) -> Result<Vec<&'k Keyset>, Refusal> {
    if keys.mint() != token.mint || keys.is_empty() {
        return Err(Refusal::KeysNotLoaded);
    }
    token
        .proofs
        .iter()
        .map(|p| {
            let k = keys.resolve(&p.keyset_id)?;
            if k.unit != token.unit {
                return Err(Refusal::KeysetUnit);
            }
            if k.final_expiry.is_some_and(|t| t != 0 && t <= not_expired_at) {
                return Err(Refusal::KeysetExpired);
            }
            Ok(k)
        })
        .collect()
}

/// P2PK mode (NUT-11 + NUT-12 offline): the [`precheck`] with the mint's keys, then for every
/// proof: its keyset not expiring within `redemption_window_secs`, a key for its amount, a
/// lock only `our_key` can open until `now + redemption_window_secs` ([`check_lock`]), and a
/// DLEQ proof that verifies against that key (a proof without one is refused: otherwise
/// anyone could make up a `C`).
pub fn verify_p2pk(
    token: &Token,
    keys: &MintKeys,
    our_key: &PublicKey,
    policy: &Policy<'_>,
    redemption_window_secs: u64,
) -> Result<Accepted, Refusal> {
    let checked = precheck(token, policy, Some(keys))?;
    let redeem_by = policy.now.saturating_add(redemption_window_secs);
    let keysets = keysets_of(token, keys, redeem_by)?;
    let mut ys = Vec::with_capacity(token.proofs.len());
    // The latest lock of the token; `None` as soon as one proof is locked for good.
    let mut spent_until = Some(0u64);
    for (p, keyset) in token.proofs.iter().zip(keysets) {
        let a = keyset.keys.get(&p.amount).ok_or(Refusal::AmountNotInKeyset)?;
        let lock = check_lock(&p.secret, our_key, policy.now, redemption_window_secs).map_err(Refusal::Lock)?;
        spent_until = spent_until.zip(lock.locktime).map(|(a, b)| a.max(b));
        let d = p.dleq.as_ref().ok_or(Refusal::MissingDleq)?;
        let y = dleq::verify_proof(&p.secret, &p.c, d, a).map_err(|_| Refusal::InvalidDleq)?;
        ys.push(y.serialize());
    }
    let mut sorted = ys.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(Refusal::DuplicateProof);
    }
    Ok(Accepted { ys, amount: checked.amount, fee: checked.fee.unwrap_or(0), mint: checked.mint, spent_until })
}
