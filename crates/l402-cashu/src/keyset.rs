//! A mint's keysets (NUT-01 "Mint public key exchange", NUT-02 "Keysets and fees"): the replies
//! of `GET /v1/keysets` and `GET /v1/keys/{id}` parsed strictly, each keyset's id checked
//! against its keys, short ids resolved, fees computed.
//!
//! The adapter fetches the replies (I/O is not ours) and builds one [`MintKeys`] per allowed
//! mint; [`crate::verify_p2pk`] reads it.

use std::collections::BTreeMap;
use std::fmt;

use secp256k1::PublicKey;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::hex;
use crate::mint_url::normalise_mint_url;
use crate::token::{KeysetId, Proof};

/// Longer replies are refused before parsing (a keyset of 64 keys is about 5 KiB).
pub const MAX_REPLY_LEN: usize = 512 * 1024;
/// More keysets in one reply are refused.
pub const MAX_KEYSETS: usize = 512;
/// More keys in one keyset are refused (one per power of two of a u64).
pub const MAX_KEYS: usize = 64;
/// NUT-02 fees are per thousand; a fee of more than one unit per input is not a fee we pay.
pub const MAX_INPUT_FEE_PPK: u64 = 1_000_000;

/// Why a reply or a keyset is not taken (for logs; mint replies never reach a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysetError {
    TooLarge,
    Malformed,
    TooManyKeysets,
    TooManyKeys,
    /// An amount that is not a power of two, or a fee beyond [`MAX_INPUT_FEE_PPK`].
    AmountInvalid,
    KeyInvalid,
    IdInvalid,
    /// A version byte other than `00` (V1) and `01` (V2).
    VersionUnsupported,
    /// NUT-02 "Wallets SHOULD compute the keyset id … themselves": it does not match.
    IdMismatch,
    /// The keys reply and the keysets reply disagree (id, unit, fee or expiry).
    Inconsistent,
    /// NUT-02: "reject any attempt at importing new keysets which IDs collide".
    IdCollision,
    UnitInvalid,
}

impl KeysetError {
    pub fn reason(&self) -> &'static str {
        match self {
            KeysetError::TooLarge => "keyset reply too large",
            KeysetError::Malformed => "malformed keyset reply",
            KeysetError::TooManyKeysets => "too many keysets",
            KeysetError::TooManyKeys => "too many keys in keyset",
            KeysetError::AmountInvalid => "invalid keyset amount or fee",
            KeysetError::KeyInvalid => "invalid keyset public key",
            KeysetError::IdInvalid => "invalid keyset id",
            KeysetError::VersionUnsupported => "unsupported keyset id version",
            KeysetError::IdMismatch => "keyset id does not match its keys",
            KeysetError::Inconsistent => "keyset replies disagree",
            KeysetError::IdCollision => "keyset id collides with a known keyset",
            KeysetError::UnitInvalid => "invalid keyset unit",
        }
    }
}

impl fmt::Display for KeysetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for KeysetError {}

/// One entry of `GET /v1/keysets` (NUT-02 `GetKeysetsResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysetInfo {
    pub id: KeysetId,
    pub unit: String,
    pub active: bool,
    /// Absent or null is 0 (NUT-02).
    pub input_fee_ppk: u64,
    pub final_expiry: Option<u64>,
}

/// One entry of `GET /v1/keys/{id}` (NUT-01 `Keyset`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysetKeys {
    pub id: KeysetId,
    pub unit: String,
    pub keys: BTreeMap<u64, PublicKey>,
    /// Newer mints repeat these here; when present they must agree with [`KeysetInfo`].
    pub input_fee_ppk: Option<u64>,
    pub final_expiry: Option<u64>,
}

#[derive(Deserialize)]
struct KeysetsReply {
    keysets: Capped<KeysetInfoWire>,
}

#[derive(Deserialize)]
struct KeysetInfoWire {
    id: String,
    unit: String,
    active: bool,
    #[serde(default)]
    input_fee_ppk: Option<u64>,
    #[serde(default)]
    final_expiry: Option<u64>,
}

#[derive(Deserialize)]
struct KeysReply {
    keysets: Capped<KeysetKeysWire>,
}

#[derive(Deserialize)]
struct KeysetKeysWire {
    id: String,
    unit: String,
    keys: KeyList,
    #[serde(default)]
    input_fee_ppk: Option<u64>,
    #[serde(default)]
    final_expiry: Option<u64>,
}

/// A JSON array of at most [`MAX_KEYSETS`] items, refused as soon as it has one more.
struct Capped<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Capped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Capped<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of keysets")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if out.len() == MAX_KEYSETS {
                        return Err(de::Error::custom("too many keysets"));
                    }
                    out.push(item);
                }
                Ok(Capped(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// The `keys` object: amount (decimal string) → public key (hex), duplicates refused, at most
/// [`MAX_KEYS`] entries.
struct KeyList(Vec<(String, String)>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of amount to public key")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyList, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    if out.len() == MAX_KEYS {
                        return Err(de::Error::custom("too many keys"));
                    }
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom("duplicate amount"));
                    }
                    out.push((k, v));
                }
                Ok(KeyList(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn check_len(json: &str) -> Result<(), KeysetError> {
    if json.len() > MAX_REPLY_LEN {
        return Err(KeysetError::TooLarge);
    }
    Ok(())
}

fn classify(e: serde_json::Error) -> KeysetError {
    let m = e.to_string();
    if m.starts_with("too many keysets") {
        KeysetError::TooManyKeysets
    } else if m.starts_with("too many keys") {
        KeysetError::TooManyKeys
    } else {
        KeysetError::Malformed
    }
}

fn unit(u: String) -> Result<String, KeysetError> {
    if u.is_empty() || u.len() > crate::token::MAX_UNIT_LEN || !u.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeysetError::UnitInvalid);
    }
    Ok(u)
}

fn fee(ppk: Option<u64>) -> Result<u64, KeysetError> {
    match ppk.unwrap_or(0) {
        f if f > MAX_INPUT_FEE_PPK => Err(KeysetError::AmountInvalid),
        f => Ok(f),
    }
}

/// Parses `GET /v1/keysets` (NUT-02). Unknown fields are ignored; the listed ones are typed.
pub fn parse_keysets(json: &str) -> Result<Vec<KeysetInfo>, KeysetError> {
    check_len(json)?;
    let reply: KeysetsReply = serde_json::from_str(json).map_err(classify)?;
    reply
        .keysets
        .0
        .into_iter()
        .map(|k| {
            Ok(KeysetInfo {
                id: KeysetId::from_hex(&k.id).ok_or(KeysetError::IdInvalid)?,
                unit: unit(k.unit)?,
                active: k.active,
                input_fee_ppk: fee(k.input_fee_ppk)?,
                final_expiry: k.final_expiry,
            })
        })
        .collect()
}

/// Parses `GET /v1/keys` or `GET /v1/keys/{id}` (NUT-01): every amount a power of two written
/// in canonical decimal, every key a valid compressed point.
pub fn parse_keys(json: &str) -> Result<Vec<KeysetKeys>, KeysetError> {
    check_len(json)?;
    let reply: KeysReply = serde_json::from_str(json).map_err(classify)?;
    reply
        .keysets
        .0
        .into_iter()
        .map(|k| {
            let mut keys = BTreeMap::new();
            for (amount, key) in k.keys.0 {
                let a: u64 = amount.parse().map_err(|_| KeysetError::AmountInvalid)?;
                if !a.is_power_of_two() || a.to_string() != amount {
                    return Err(KeysetError::AmountInvalid);
                }
                keys.insert(a, parse_point(&key).ok_or(KeysetError::KeyInvalid)?);
            }
            if keys.is_empty() {
                return Err(KeysetError::Malformed);
            }
            Ok(KeysetKeys {
                id: KeysetId::from_hex(&k.id).ok_or(KeysetError::IdInvalid)?,
                unit: unit(k.unit)?,
                keys,
                input_fee_ppk: k.input_fee_ppk.map(|f| fee(Some(f))).transpose()?,
                final_expiry: k.final_expiry,
            })
        })
        .collect()
}

/// A compressed point in hex (66 digits).
pub(crate) fn parse_point(s: &str) -> Option<PublicKey> {
    let b: [u8; 33] = hex::decode_array(s)?;
    PublicKey::from_slice(&b).ok()
}

/// NUT-02 "Keyset ID V1 (deprecated)": `00` || the first 7 bytes of SHA256 of the compressed
/// keys concatenated in ascending amount order.
pub fn derive_v1_id(keys: &BTreeMap<u64, PublicKey>) -> [u8; 8] {
    let mut h = Sha256::new();
    for k in keys.values() {
        h.update(k.serialize());
    }
    let d = h.finalize();
    let mut id = [0u8; 8];
    id[1..].copy_from_slice(&d[..7]);
    id
}

/// NUT-02 "Keyset ID V2": `01` || SHA256(`amount:key_hex` pairs in ascending amount order
/// joined by `,`, then `|unit:<unit lower-cased>`, `|input_fee_ppk:<fee>` if non-zero,
/// `|final_expiry:<time>` if present and non-zero).
pub fn derive_v2_id(
    keys: &BTreeMap<u64, PublicKey>,
    unit: &str,
    input_fee_ppk: u64,
    final_expiry: Option<u64>,
) -> [u8; 33] {
    let mut pre = String::new();
    for (i, (amount, key)) in keys.iter().enumerate() {
        if i > 0 {
            pre.push(',');
        }
        pre.push_str(&amount.to_string());
        pre.push(':');
        pre.push_str(&hex::encode(&key.serialize()));
    }
    pre.push_str("|unit:");
    pre.push_str(&unit.to_lowercase());
    if input_fee_ppk != 0 {
        pre.push_str(&format!("|input_fee_ppk:{input_fee_ppk}"));
    }
    if let Some(t) = final_expiry.filter(|t| *t != 0) {
        pre.push_str(&format!("|final_expiry:{t}"));
    }
    let d = Sha256::digest(pre.as_bytes());
    let mut id = [0u8; 33];
    id[0] = 0x01;
    id[1..].copy_from_slice(&d);
    id
}

/// Whether `id` is what NUT-02 derives from these keys and metadata.
pub fn id_matches(id: &KeysetId, keys: &BTreeMap<u64, PublicKey>, unit: &str, fee: u64, expiry: Option<u64>) -> Result<(), KeysetError> {
    let ok = match (id.version(), id) {
        (0x00, KeysetId::Short(b)) => *b == derive_v1_id(keys),
        (0x01, KeysetId::Full(b)) => *b == derive_v2_id(keys, unit, fee, expiry),
        (0x00 | 0x01, _) => return Err(KeysetError::IdInvalid),
        _ => return Err(KeysetError::VersionUnsupported),
    };
    if ok {
        Ok(())
    } else {
        Err(KeysetError::IdMismatch)
    }
}

/// A keyset we verified, with its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub id: KeysetId,
    pub unit: String,
    pub active: bool,
    pub input_fee_ppk: u64,
    pub final_expiry: Option<u64>,
    /// Amount → the mint's public key `A` for it.
    pub keys: BTreeMap<u64, PublicKey>,
}

/// Why a proof's keyset id names no keyset of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveError {
    Unknown,
    /// NUT-00 "Short keyset ID": resolves to more than one keyset.
    Ambiguous,
}

/// One mint's verified keysets: full id → keyset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintKeys {
    mint: String,
    keysets: BTreeMap<KeysetId, Keyset>,
}

impl MintKeys {
    /// An empty set for a mint (normalised), or `None` if the URL is not a mint URL.
    pub fn new(mint: &str) -> Option<MintKeys> {
        Some(MintKeys { mint: normalise_mint_url(mint)?, keysets: BTreeMap::new() })
    }

    pub fn mint(&self) -> &str {
        &self.mint
    }

    pub fn is_empty(&self) -> bool {
        self.keysets.is_empty()
    }

    pub fn keysets(&self) -> impl Iterator<Item = &Keyset> {
        self.keysets.values()
    }

    /// Adds a keyset from its `/v1/keysets` entry and its `/v1/keys/{id}` reply, after checking
    /// that they agree and that the id is the one NUT-02 derives. The same keyset again
    /// replaces the old entry (its `active` flag may change); a different keyset under a known
    /// id is refused. Two keysets whose V2 ids share a short id are both kept; resolving that
    /// short id is then [`ResolveError::Ambiguous`].
    pub fn insert(&mut self, info: &KeysetInfo, keys: KeysetKeys) -> Result<(), KeysetError> {
        if info.id != keys.id || info.unit != keys.unit {
            return Err(KeysetError::Inconsistent);
        }
        if keys.input_fee_ppk.is_some_and(|f| f != info.input_fee_ppk)
            || keys.final_expiry.is_some_and(|t| Some(t) != info.final_expiry)
        {
            return Err(KeysetError::Inconsistent);
        }
        id_matches(&info.id, &keys.keys, &info.unit, info.input_fee_ppk, info.final_expiry)?;
        if let Some(old) = self.keysets.get(&info.id) {
            if old.keys != keys.keys || old.unit != info.unit {
                return Err(KeysetError::IdCollision);
            }
        }
        let keyset = Keyset {
            id: info.id,
            unit: info.unit.clone(),
            active: info.active,
            input_fee_ppk: info.input_fee_ppk,
            final_expiry: info.final_expiry,
            keys: keys.keys,
        };
        self.keysets.insert(info.id, keyset);
        Ok(())
    }

    /// The keyset a proof names: a full id exactly; 8 bytes as a V1 id or as the short form
    /// of exactly one V2 id (NUT-00 "Short keyset ID").
    pub fn resolve(&self, id: &KeysetId) -> Result<&Keyset, ResolveError> {
        match id {
            KeysetId::Full(_) => self.keysets.get(id).ok_or(ResolveError::Unknown),
            KeysetId::Short(s) => {
                let mut found = None;
                for k in self.keysets.values().filter(|k| k.id.short() == *s) {
                    if found.is_some() {
                        return Err(ResolveError::Ambiguous);
                    }
                    found = Some(k);
                }
                found.ok_or(ResolveError::Unknown)
            }
        }
    }

    /// NUT-02 "Fees": `ceil(Σ input_fee_ppk / 1000)` over the proofs' keysets.
    pub fn fee(&self, proofs: &[Proof]) -> Result<u64, ResolveError> {
        let mut ppk = 0u64;
        for p in proofs {
            // At most MAX_PROOFS × MAX_INPUT_FEE_PPK: no overflow.
            ppk = ppk.saturating_add(self.resolve(&p.keyset_id)?.input_fee_ppk);
        }
        Ok(ppk.div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyset(id: KeysetId, fee: u64) -> Keyset {
        Keyset { id, unit: "sat".into(), active: true, input_fee_ppk: fee, final_expiry: None, keys: BTreeMap::new() }
    }

    /// Two V2 ids sharing their first 8 bytes (not derivable on purpose: built directly).
    fn colliding() -> MintKeys {
        let mut a = [0x01u8; 33];
        let mut b = [0x01u8; 33];
        a[32] = 0xaa;
        b[32] = 0xbb;
        let mut mk = MintKeys::new("https://mint.example.com").unwrap();
        for id in [KeysetId::Full(a), KeysetId::Full(b)] {
            mk.keysets.insert(id, keyset(id, 0));
        }
        mk
    }

    #[test]
    fn a_short_id_of_two_keysets_is_ambiguous() {
        let mk = colliding();
        assert_eq!(mk.resolve(&KeysetId::Short([0x01; 8])).map(|k| k.id), Err(ResolveError::Ambiguous));
        let mut a = [0x01u8; 33];
        a[32] = 0xaa;
        assert!(mk.resolve(&KeysetId::Full(a)).is_ok(), "the full id is not");
        assert_eq!(mk.resolve(&KeysetId::Short([0x01, 0, 0, 0, 0, 0, 0, 0])).map(|k| k.id), Err(ResolveError::Unknown));
    }

    #[test]
    fn fees_round_up_per_nut02() {
        let id = KeysetId::Short([0, 1, 2, 3, 4, 5, 6, 7]);
        let mut mk = MintKeys::new("https://mint.example.com").unwrap();
        mk.keysets.insert(id, keyset(id, 100));
        let p = Proof { keyset_id: id, amount: 1, secret: "s".into(), c: [2; 33], dleq: None, witness: None };
        // NUT-02's example: 100 ppk per input, 1-10 inputs cost 1, 11-20 cost 2.
        for (n, fee) in [(1usize, 1u64), (10, 1), (11, 2), (20, 2), (21, 3)] {
            assert_eq!(mk.fee(&vec![p.clone(); n]), Ok(fee), "{n}");
        }
        assert_eq!(mk.fee(&[]), Ok(0));
    }
}
