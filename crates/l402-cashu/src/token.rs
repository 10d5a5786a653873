//! Serialized Cashu tokens (NUT-00, "Serialization of tokens"): `cashuB…` (V4, CBOR) and
//! `cashuA…` (V3, JSON, deprecated), into our own [`Token`].
//!
//! Every cap is checked on the text before it is decoded, so the work and memory a hostile
//! token can cost are bounded by [`MAX_TOKEN_LEN`]; counts and lengths inside are checked as
//! they are read.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::Deserialize;

use crate::cbor::{self, Value};
use crate::hex;
use crate::mint_url::normalise_mint_url;

/// Longer token texts are refused before decoding.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;
/// More proofs in one token are refused.
pub const MAX_PROOFS: usize = 256;
/// Longer proof secrets are refused (a NUT-11 P2PK secret with tags is about 200 bytes).
pub const MAX_SECRET_LEN: usize = 1024;
/// Longer proof witnesses are refused (a NUT-11 witness with three signatures is about 450).
pub const MAX_WITNESS_LEN: usize = 2048;
/// Longer memos and units are refused.
pub const MAX_MEMO_LEN: usize = 1024;
pub const MAX_UNIT_LEN: usize = 32;

/// A keyset id as a token carries it (NUT-02, "Keyset ID"; NUT-00, "Short keyset ID").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeysetId {
    /// 8 bytes: a whole V1 id (version `00`) or the first 8 bytes of a V2 id (version `01`).
    Short([u8; 8]),
    /// 33 bytes: a whole V2 id (version `01`).
    Full([u8; 33]),
}

impl KeysetId {
    /// From its bytes (8 or 33), any version; [`crate::MintKeys`] says whether it is known.
    pub fn from_bytes(b: &[u8]) -> Option<KeysetId> {
        if let Ok(s) = <[u8; 8]>::try_from(b) {
            Some(KeysetId::Short(s))
        } else {
            <[u8; 33]>::try_from(b).ok().map(KeysetId::Full)
        }
    }

    /// From hex (16 or 66 digits).
    pub fn from_hex(s: &str) -> Option<KeysetId> {
        if s.len() != 16 && s.len() != 66 {
            return None;
        }
        KeysetId::from_bytes(&hex::decode(s)?)
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            KeysetId::Short(b) => b,
            KeysetId::Full(b) => b,
        }
    }

    /// The version byte (`00` V1, `01` V2).
    pub fn version(&self) -> u8 {
        self.as_bytes()[0]
    }

    /// The first 8 bytes (NUT-00 `s_id`; the whole id for V1).
    pub fn short(&self) -> [u8; 8] {
        match self {
            KeysetId::Short(b) => *b,
            KeysetId::Full(b) => {
                let mut s = [0u8; 8];
                s.copy_from_slice(&b[..8]);
                s
            }
        }
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }
}

/// NUT-12 "User to user: DLEQ in Proof": the mint's `(e, s)` and the sender's blinding factor
/// `r`, as 32-byte big-endian scalars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dleq {
    pub e: [u8; 32],
    pub s: [u8; 32],
    pub r: [u8; 32],
}

/// One proof (NUT-00 `Proof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub keyset_id: KeysetId,
    /// A power of two.
    pub amount: u64,
    /// The secret text, signed by the mint as its UTF-8 bytes (NUT-00).
    pub secret: String,
    /// The unblinded signature `C`, a compressed point's bytes (prefix checked, the point is
    /// checked when used).
    pub c: [u8; 33],
    pub dleq: Option<Dleq>,
    pub witness: Option<String>,
}

/// A token from one mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Normalised ([`normalise_mint_url`]).
    pub mint: String,
    pub unit: String,
    pub memo: Option<String>,
    /// At least one, at most [`MAX_PROOFS`], in the order the token lists them.
    pub proofs: Vec<Proof>,
}

impl Token {
    /// The sum of the proofs' amounts (checked not to overflow when parsed).
    pub fn amount(&self) -> u64 {
        self.proofs.iter().fold(0u64, |acc, p| acc.saturating_add(p.amount))
    }
}

/// Why a token text is not a token we take. The texts are stable (sent as `X-Cashu-Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    TooLarge,
    /// Not `cashuA`/`cashuB`, or a version we do not read.
    UnsupportedVersion,
    /// Bad base64, CBOR, JSON, a missing or mistyped field.
    Malformed,
    NoProofs,
    TooManyProofs,
    SecretTooLong,
    WitnessTooLong,
    MemoTooLong,
    UnitInvalid,
    /// An amount that is zero or not a power of two (NUT-00 amounts are denominations).
    AmountNotPowerOfTwo,
    AmountOverflow,
    /// A V3 token naming more than one mint.
    SeveralMints,
    MintUrlInvalid,
    KeysetIdInvalid,
    /// `C` is not 33 bytes with a compressed-point prefix, or a DLEQ field is not 32 bytes.
    PointInvalid,
}

impl TokenError {
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "token too large",
            TokenError::UnsupportedVersion => "unsupported token version",
            TokenError::Malformed => "malformed token",
            TokenError::NoProofs => "token has no proofs",
            TokenError::TooManyProofs => "too many proofs",
            TokenError::SecretTooLong => "proof secret too long",
            TokenError::WitnessTooLong => "proof witness too long",
            TokenError::MemoTooLong => "token memo too long",
            TokenError::UnitInvalid => "invalid unit",
            TokenError::AmountNotPowerOfTwo => "proof amount not a power of two",
            TokenError::AmountOverflow => "token amount too large",
            TokenError::SeveralMints => "token from several mints",
            TokenError::MintUrlInvalid => "invalid mint url",
            TokenError::KeysetIdInvalid => "invalid keyset id",
            TokenError::PointInvalid => "invalid proof signature",
        }
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for TokenError {}

/// NUT-00: "base64_urlsafe strings may have padding characters … which can be omitted. Clients
/// need to be able to decode both cases."
const URL_SAFE_EITHER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// Some wallets wrote V3 tokens in the standard alphabet.
const STANDARD_EITHER: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if s.contains(['+', '/']) {
        STANDARD_EITHER.decode(s).ok()
    } else {
        URL_SAFE_EITHER.decode(s).ok()
    }
}

pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// Parses a serialized token, with or without the NUT-00 `cashu:` URI prefix.
pub fn parse_token(text: &str) -> Result<Token, TokenError> {
    if text.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLarge);
    }
    let text = text.strip_prefix("cashu:").unwrap_or(text);
    if let Some(body) = text.strip_prefix("cashuB") {
        let bytes = base64_decode(body).ok_or(TokenError::Malformed)?;
        parse_v4(&bytes)
    } else if let Some(body) = text.strip_prefix("cashuA") {
        let bytes = base64_decode(body).ok_or(TokenError::Malformed)?;
        parse_v3(&bytes)
    } else {
        Err(TokenError::UnsupportedVersion)
    }
}

// ---- V4 (NUT-00 "V4 tokens") ----

fn parse_v4(bytes: &[u8]) -> Result<Token, TokenError> {
    let top = cbor::decode(bytes).map_err(|_| TokenError::Malformed)?;
    let Value::Map(top) = top else { return Err(TokenError::Malformed) };
    let mint = text_field(&top, "m")?.ok_or(TokenError::Malformed)?;
    let unit = text_field(&top, "u")?.ok_or(TokenError::Malformed)?;
    let memo = text_field(&top, "d")?;
    let Some(Value::Array(groups)) = get(&top, "t")? else { return Err(TokenError::Malformed) };
    let mut proofs = Vec::new();
    for group in groups {
        let Value::Map(group) = group else { return Err(TokenError::Malformed) };
        let Some(Value::Bytes(id)) = get(group, "i")? else { return Err(TokenError::Malformed) };
        let keyset_id = KeysetId::from_bytes(id).ok_or(TokenError::KeysetIdInvalid)?;
        let Some(Value::Array(ps)) = get(group, "p")? else { return Err(TokenError::Malformed) };
        if proofs.len() + ps.len() > MAX_PROOFS {
            return Err(TokenError::TooManyProofs);
        }
        for p in ps {
            proofs.push(v4_proof(p, keyset_id)?);
        }
    }
    finish(mint, unit, memo, proofs)
}

fn get<'a>(m: &'a [(Value, Value)], key: &str) -> Result<Option<&'a Value>, TokenError> {
    cbor::field(m, key).map_err(|_| TokenError::Malformed)
}

fn text_field<'a>(m: &'a [(Value, Value)], key: &str) -> Result<Option<&'a str>, TokenError> {
    match get(m, key)? {
        None => Ok(None),
        Some(Value::Text(t)) => Ok(Some(t)),
        Some(_) => Err(TokenError::Malformed),
    }
}

fn bytes32(v: Option<&Value>) -> Result<[u8; 32], TokenError> {
    match v {
        Some(Value::Bytes(b)) => b.as_slice().try_into().map_err(|_| TokenError::PointInvalid),
        _ => Err(TokenError::Malformed),
    }
}

fn v4_proof(p: &Value, keyset_id: KeysetId) -> Result<Proof, TokenError> {
    let Value::Map(p) = p else { return Err(TokenError::Malformed) };
    let Some(Value::Unsigned(amount)) = get(p, "a")? else { return Err(TokenError::Malformed) };
    let secret = text_field(p, "s")?.ok_or(TokenError::Malformed)?;
    let Some(Value::Bytes(c)) = get(p, "c")? else { return Err(TokenError::Malformed) };
    let dleq = match get(p, "d")? {
        None => None,
        Some(Value::Map(d)) => {
            Some(Dleq { e: bytes32(get(d, "e")?)?, s: bytes32(get(d, "s")?)?, r: bytes32(get(d, "r")?)? })
        }
        Some(_) => return Err(TokenError::Malformed),
    };
    let witness = text_field(p, "w")?;
    proof(keyset_id, *amount, secret, c, dleq, witness)
}

// ---- V3 (NUT-00 "V3 tokens") ----

#[derive(Deserialize)]
struct V3 {
    token: Vec<V3Entry>,
    unit: Option<String>,
    memo: Option<String>,
}

#[derive(Deserialize)]
struct V3Entry {
    mint: String,
    proofs: Vec<V3Proof>,
}

#[derive(Deserialize)]
struct V3Proof {
    id: String,
    amount: u64,
    secret: String,
    #[serde(rename = "C")]
    c: String,
    dleq: Option<V3Dleq>,
    /// A string, or (NUT-11 "Signed inputs") the witness object itself.
    witness: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct V3Dleq {
    e: String,
    s: String,
    r: String,
}

/// What a V3 token without `unit` meant (the field came later; those tokens were in sat).
const V3_DEFAULT_UNIT: &str = "sat";

fn parse_v3(bytes: &[u8]) -> Result<Token, TokenError> {
    let v3: V3 = serde_json::from_slice(bytes).map_err(|_| TokenError::Malformed)?;
    let first = v3.token.first().ok_or(TokenError::NoProofs)?;
    let mint = normalise_mint_url(&first.mint).ok_or(TokenError::MintUrlInvalid)?;
    let mut proofs = Vec::new();
    for entry in &v3.token {
        if normalise_mint_url(&entry.mint).as_deref() != Some(mint.as_str()) {
            return Err(TokenError::SeveralMints);
        }
        if proofs.len() + entry.proofs.len() > MAX_PROOFS {
            return Err(TokenError::TooManyProofs);
        }
        for p in &entry.proofs {
            let keyset_id = KeysetId::from_hex(&p.id).ok_or(TokenError::KeysetIdInvalid)?;
            let c = hex::decode(&p.c).ok_or(TokenError::PointInvalid)?;
            let dleq = match &p.dleq {
                None => None,
                Some(d) => Some(Dleq { e: hex32(&d.e)?, s: hex32(&d.s)?, r: hex32(&d.r)? }),
            };
            let witness = match &p.witness {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(w @ serde_json::Value::Object(_)) => Some(w.to_string()),
                Some(_) => return Err(TokenError::Malformed),
            };
            proofs.push(proof(keyset_id, p.amount, &p.secret, &c, dleq, witness.as_deref())?);
        }
    }
    let unit = v3.unit.as_deref().unwrap_or(V3_DEFAULT_UNIT);
    finish(&mint, unit, v3.memo.as_deref(), proofs)
}

fn hex32(s: &str) -> Result<[u8; 32], TokenError> {
    hex::decode_array(s).ok_or(TokenError::PointInvalid)
}

// ---- shared checks ----

fn proof(
    keyset_id: KeysetId,
    amount: u64,
    secret: &str,
    c: &[u8],
    dleq: Option<Dleq>,
    witness: Option<&str>,
) -> Result<Proof, TokenError> {
    if !amount.is_power_of_two() {
        return Err(TokenError::AmountNotPowerOfTwo);
    }
    if secret.len() > MAX_SECRET_LEN {
        return Err(TokenError::SecretTooLong);
    }
    if secret.is_empty() {
        return Err(TokenError::Malformed);
    }
    if witness.is_some_and(|w| w.len() > MAX_WITNESS_LEN) {
        return Err(TokenError::WitnessTooLong);
    }
    let c: [u8; 33] = c.try_into().map_err(|_| TokenError::PointInvalid)?;
    if c[0] != 0x02 && c[0] != 0x03 {
        return Err(TokenError::PointInvalid);
    }
    Ok(Proof { keyset_id, amount, secret: secret.to_string(), c, dleq, witness: witness.map(str::to_string) })
}

fn finish(mint: &str, unit: &str, memo: Option<&str>, proofs: Vec<Proof>) -> Result<Token, TokenError> {
    let mint = normalise_mint_url(mint).ok_or(TokenError::MintUrlInvalid)?;
    if unit.is_empty() || unit.len() > MAX_UNIT_LEN || !unit.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TokenError::UnitInvalid);
    }
    if memo.is_some_and(|m| m.len() > MAX_MEMO_LEN) {
        return Err(TokenError::MemoTooLong);
    }
    if proofs.is_empty() {
        return Err(TokenError::NoProofs);
    }
    let mut sum = 0u64;
    for p in &proofs {
        sum = sum.checked_add(p.amount).ok_or(TokenError::AmountOverflow)?;
    }
    Ok(Token { mint, unit: unit.to_string(), memo: memo.map(str::to_string), proofs })
}

/// Serializes a token as V4 (`cashuB`, unpadded base64url), proofs grouped by keyset id in
/// order of first appearance. For tests, seeds and tools; the paywall only reads tokens.
pub fn encode_v4(token: &Token) -> String {
    let mut groups: Vec<(KeysetId, Vec<Value>)> = Vec::new();
    for p in &token.proofs {
        let mut fields = vec![
            (t("a"), Value::Unsigned(p.amount)),
            (t("s"), Value::Text(p.secret.clone())),
            (t("c"), Value::Bytes(p.c.to_vec())),
        ];
        if let Some(d) = &p.dleq {
            let d = Value::Map(vec![
                (t("e"), Value::Bytes(d.e.to_vec())),
                (t("s"), Value::Bytes(d.s.to_vec())),
                (t("r"), Value::Bytes(d.r.to_vec())),
            ]);
            fields.push((t("d"), d));
        }
        if let Some(w) = &p.witness {
            fields.push((t("w"), Value::Text(w.clone())));
        }
        match groups.iter_mut().find(|(id, _)| *id == p.keyset_id) {
            Some((_, ps)) => ps.push(Value::Map(fields)),
            None => groups.push((p.keyset_id, vec![Value::Map(fields)])),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(id, ps)| Value::Map(vec![(t("i"), Value::Bytes(id.as_bytes().to_vec())), (t("p"), Value::Array(ps))]))
        .collect();
    // The key order of NUT-00's examples.
    let mut top = vec![(t("t"), Value::Array(groups))];
    if let Some(m) = &token.memo {
        top.push((t("d"), Value::Text(m.clone())));
    }
    top.push((t("m"), Value::Text(token.mint.clone())));
    top.push((t("u"), Value::Text(token.unit.clone())));
    let mut out = Vec::new();
    cbor::encode(&Value::Map(top), &mut out);
    format!("cashuB{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}
