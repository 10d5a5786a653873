//! Proofs locked to our key (NUT-10 "Well-known Secret", NUT-11 "Pay to Public Key").
//!
//! [`parse_p2pk_secret`] reads a secret as NUT-10/11 define it, refusing what NUT-11 calls
//! malformed. [`check_lock`] then asks whether only we can spend the proof until we redeem it:
//! locked to our key alone, no other spending path, not expiring within the redemption window.
//!
//! Stricter than NUT-11 where a looser reading could let a mint see something else than we do
//! (a mint that does not read a secret as P2PK treats the proof as anyone-can-spend): unknown
//! fields, unknown tags, an unparsable `locktime` and upper-case hex are refused.

use secp256k1::PublicKey;
use serde::Deserialize;

use crate::keyset::parse_point;

/// Longer secrets are refused before parsing (also the token's cap).
pub const MAX_SECRET_LEN: usize = crate::token::MAX_SECRET_LEN;
/// More tags, or more values in one tag, are refused.
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_VALUES: usize = 16;

/// NUT-11 "Signature flag".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigFlag {
    /// The default when the tag is absent.
    SigInputs,
    SigAll,
}

/// A NUT-11 P2PK secret, its tags read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P2pkSecret {
    pub nonce: String,
    /// The key the proof is locked to (`Secret.data`).
    pub data: PublicKey,
    pub sigflag: SigFlag,
    /// Unix seconds.
    pub locktime: Option<u64>,
    /// The `pubkeys` tag: more keys of the locktime pathway.
    pub pubkeys: Vec<PublicKey>,
    pub n_sigs: Option<u64>,
    /// The `refund` tag: keys that can spend once `locktime` passed.
    pub refund: Vec<PublicKey>,
    pub n_sigs_refund: Option<u64>,
    /// Names of tags NUT-11 does not define, in order.
    pub other_tags: Vec<String>,
}

/// Why a proof's lock does not make it ours. Stable texts (sent as `X-Cashu-Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockError {
    TooLong,
    /// Not a NUT-10 well-known secret at all (a plain secret: anyone can spend it).
    NotLocked,
    /// A well-known secret of another kind (HTLC, …).
    NotP2pk,
    /// NUT-10/11 malformed: bad JSON shape, empty or non-string tags, a bad key or number.
    Malformed,
    /// NUT-11: "If a tag appears more than once, the P2PK secret is malformed".
    DuplicateTag,
    /// A tag NUT-11 does not define: we cannot know what it lets a mint do.
    UnknownTag,
    /// Locked to another key.
    NotOurKey,
    /// `pubkeys` or `n_sigs`: other keys in the locktime pathway.
    OtherKeys,
    /// `refund` or `n_sigs_refund`: other keys once the lock expires.
    RefundKeys,
    /// A locktime before now + the redemption window: then anyone can spend it.
    ExpiresTooSoon,
    /// `SIG_ALL` (or, from the parser, an unknown flag).
    SigFlagUnsupported,
}

impl LockError {
    pub fn reason(&self) -> &'static str {
        match self {
            LockError::TooLong => "proof secret too long",
            LockError::NotLocked => "proof not locked",
            LockError::NotP2pk => "proof not p2pk locked",
            LockError::Malformed => "malformed p2pk secret",
            LockError::DuplicateTag => "duplicate p2pk tag",
            LockError::UnknownTag => "unknown p2pk tag",
            LockError::NotOurKey => "proof locked to another key",
            LockError::OtherKeys => "lock allows other keys",
            LockError::RefundKeys => "lock has refund keys",
            LockError::ExpiresTooSoon => "lock expires too soon",
            LockError::SigFlagUnsupported => "unsupported sigflag",
        }
    }
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for LockError {}

/// NUT-10: `[kind, {nonce, data, tags?}]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    nonce: String,
    data: String,
    #[serde(default)]
    tags: Option<Vec<Vec<String>>>,
}

/// Reads a NUT-10 secret of kind `P2PK` and its NUT-11 tags.
pub fn parse_p2pk_secret(secret: &str) -> Result<P2pkSecret, LockError> {
    if secret.len() > MAX_SECRET_LEN {
        return Err(LockError::TooLong);
    }
    // A NUT-10 secret is a JSON array; NUT-00's plain secrets are not.
    if !secret.trim_start().starts_with('[') {
        return Err(LockError::NotLocked);
    }
    let (kind, _): (String, serde::de::IgnoredAny) =
        serde_json::from_str(secret).map_err(|_| LockError::Malformed)?;
    if kind != "P2PK" {
        return Err(LockError::NotP2pk);
    }
    // Read again into the typed body, straight from the text so a repeated field is refused.
    let (_, body): (String, Body) = serde_json::from_str(secret).map_err(|_| LockError::Malformed)?;
    if body.nonce.is_empty() {
        return Err(LockError::Malformed);
    }
    let mut s = P2pkSecret {
        nonce: body.nonce,
        data: key(&body.data)?,
        sigflag: SigFlag::SigInputs,
        locktime: None,
        pubkeys: Vec::new(),
        n_sigs: None,
        refund: Vec::new(),
        n_sigs_refund: None,
        other_tags: Vec::new(),
    };
    let tags = body.tags.unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(LockError::Malformed);
    }
    let mut seen: Vec<&str> = Vec::new();
    for tag in &tags {
        // NUT-10 "Tag format": one or more non-empty strings.
        let Some((name, values)) = tag.split_first() else { return Err(LockError::Malformed) };
        if tag.iter().any(String::is_empty) || values.len() > MAX_TAG_VALUES {
            return Err(LockError::Malformed);
        }
        if seen.contains(&name.as_str()) {
            return Err(LockError::DuplicateTag);
        }
        seen.push(name);
        match name.as_str() {
            "sigflag" => {
                s.sigflag = match one(values)? {
                    "SIG_INPUTS" => SigFlag::SigInputs,
                    "SIG_ALL" => SigFlag::SigAll,
                    _ => return Err(LockError::Malformed),
                }
            }
            "locktime" => s.locktime = Some(number(one(values)?)?),
            "n_sigs" => s.n_sigs = Some(number(one(values)?)?),
            "n_sigs_refund" => s.n_sigs_refund = Some(number(one(values)?)?),
            "pubkeys" => s.pubkeys = keys(values)?,
            "refund" => s.refund = keys(values)?,
            other => s.other_tags.push(other.to_string()),
        }
    }
    // NUT-11: n_sigs and n_sigs_refund are positive and at most the keys of their pathway;
    // "Each key MUST appear at most ONCE per multi-signature pathway".
    let locktime_keys = 1 + s.pubkeys.len() as u64;
    if s.n_sigs.is_some_and(|n| n == 0 || n > locktime_keys)
        || s.n_sigs_refund.is_some_and(|n| n == 0 || n > s.refund.len() as u64)
        || has_repeat(std::iter::once(&s.data).chain(&s.pubkeys))
        || has_repeat(s.refund.iter())
    {
        return Err(LockError::Malformed);
    }
    Ok(s)
}

fn one(values: &[String]) -> Result<&str, LockError> {
    match values {
        [v] => Ok(v),
        _ => Err(LockError::Malformed),
    }
}

/// A canonical decimal u64 (no sign, no leading zeros).
fn number(v: &str) -> Result<u64, LockError> {
    let n: u64 = v.parse().map_err(|_| LockError::Malformed)?;
    if n.to_string() != v {
        return Err(LockError::Malformed);
    }
    Ok(n)
}

/// A compressed key in lower-case hex.
fn key(v: &str) -> Result<PublicKey, LockError> {
    if v.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(LockError::Malformed);
    }
    parse_point(v).ok_or(LockError::Malformed)
}

fn keys(values: &[String]) -> Result<Vec<PublicKey>, LockError> {
    if values.is_empty() {
        return Err(LockError::Malformed);
    }
    values.iter().map(|v| key(v)).collect()
}

/// NUT-11: "Keys are compared using their … x-coordinate".
fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.x_only_public_key().0 == b.x_only_public_key().0
}

fn has_repeat<'a>(keys: impl Iterator<Item = &'a PublicKey>) -> bool {
    let keys: Vec<&PublicKey> = keys.collect();
    keys.iter().enumerate().any(|(i, a)| keys[..i].iter().any(|b| same_key(a, b)))
}

/// A proof's lock, as far as it matters to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// `None`: permanent.
    pub locktime: Option<u64>,
}

/// Whether only `our_key` can spend a proof with this secret until `now + window_secs`: a
/// NUT-11 P2PK secret whose `data` is our key (by x-coordinate), with no `pubkeys`, `n_sigs`,
/// `refund` or `n_sigs_refund`, `SIG_INPUTS`, no tag NUT-11 does not define, and a `locktime`
/// that is absent or not before `now + window_secs` (NUT-11 "Expired Lock": without refund
/// keys an expired proof is spendable by anyone).
pub fn check_lock(secret: &str, our_key: &PublicKey, now: u64, window_secs: u64) -> Result<Lock, LockError> {
    let s = parse_p2pk_secret(secret)?;
    if !s.other_tags.is_empty() {
        return Err(LockError::UnknownTag);
    }
    if !same_key(&s.data, our_key) {
        return Err(LockError::NotOurKey);
    }
    if !s.pubkeys.is_empty() || s.n_sigs.is_some() {
        return Err(LockError::OtherKeys);
    }
    if !s.refund.is_empty() || s.n_sigs_refund.is_some() {
        return Err(LockError::RefundKeys);
    }
    if s.sigflag != SigFlag::SigInputs {
        return Err(LockError::SigFlagUnsupported);
    }
    if let Some(t) = s.locktime {
        if t < now.saturating_add(window_secs) {
            return Err(LockError::ExpiresTooSoon);
        }
    }
    Ok(Lock { locktime: s.locktime })
}
