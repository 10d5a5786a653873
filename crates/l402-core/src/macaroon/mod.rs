//! Macaroons: the libmacaroons V2 binary codec (V1 on input) and the HMAC-SHA256
//! signature chain (libmacaroons `doc/format.txt` and `v2.c`; bLIP-26, "Macaroon Verification").

mod error;
mod v1;
mod v2;

use std::fmt;

pub use error::DecodeError;

use crate::crypto::{ct_eq, hmac_sha256};
use crate::encoding::{base64_decode_lenient, base64_standard, hex_encode};
use crate::limits::MAX_MACAROON_BYTES;

/// Key of the HMAC that turns a root key into the chain's first key (libmacaroons).
const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";

/// A macaroon: an identifier, caveats and the chained HMAC signature (libmacaroons
/// `doc/format.txt`; bLIP-26, "Minting Macaroons").
///
/// `Debug` shows caveat conditions only and never the signature, so that a
/// stray `{:?}` cannot leak a usable credential into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    /// Location hint. Not covered by the signature (macaroon design).
    pub location: Option<Vec<u8>>,
    /// The identifier; for L402, a 66-byte [`crate::Identifier`].
    pub identifier: Vec<u8>,
    /// Caveats in the order they were added.
    pub caveats: Vec<Caveat>,
    /// The last HMAC of the chain.
    pub signature: [u8; 32],
}

/// One caveat. First-party caveats have no verification id.
#[derive(Clone, PartialEq, Eq)]
pub struct Caveat {
    /// Location hint (third-party caveats).
    pub location: Option<Vec<u8>>,
    /// The caveat identifier: for first-party caveats the predicate, e.g. `services=svc:0`.
    pub id: Vec<u8>,
    /// Present for third-party caveats only.
    pub verification_id: Option<Vec<u8>>,
}

impl Caveat {
    /// Whether this is a first-party caveat (no verification id).
    pub fn is_first_party(&self) -> bool {
        self.verification_id.is_none()
    }
}

impl Macaroon {
    /// Decodes a macaroon: V2 binary (first byte `0x02`), V1 raw packets
    /// (go-macaroon binary, first byte an ASCII digit) or V1 text (base64 of
    /// packets, as libmacaroons serializes V1). Trailing bytes after the
    /// signature are rejected. Sizes are capped by [`crate::limits`].
    pub fn decode(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
        match bytes.first() {
            None => Err(DecodeError::Empty),
            Some(&v2::VERSION) => v2::decode(bytes),
            Some(b'0'..=b'9') => {
                if bytes.len() > MAX_MACAROON_BYTES {
                    return Err(DecodeError::TooLarge);
                }
                v1::decode_packets(bytes)
            }
            Some(_) => {
                if bytes.len() > MAX_MACAROON_BYTES / 3 * 4 + 4 {
                    return Err(DecodeError::TooLarge);
                }
                let packets = base64_decode_lenient(bytes, MAX_MACAROON_BYTES)
                    .ok_or(DecodeError::BadBase64)?;
                match packets.first() {
                    Some(b'0'..=b'9') => v1::decode_packets(&packets),
                    _ => Err(DecodeError::UnknownFormat),
                }
            }
        }
    }

    /// The V2 binary serialization.
    pub fn encode_v2(&self) -> Vec<u8> {
        v2::encode(self)
    }

    /// Base64, standard alphabet with padding, of [`Macaroon::encode_v2`]: the
    /// form every client parses (bLIP-26, "Server HTTP Authentication Headers"; RFC 4648 §4).
    pub fn to_base64(&self) -> String {
        base64_standard(&self.encode_v2())
    }

    /// A new macaroon without caveats:
    /// `sig = HMAC(HMAC("macaroons-key-generator", root_key), identifier)`.
    pub fn new(root_key: &[u8], identifier: Vec<u8>, location: Option<Vec<u8>>) -> Macaroon {
        let signature = hmac_sha256(&derive_chain_key(root_key), &[&identifier]);
        Macaroon {
            location,
            identifier,
            caveats: Vec::new(),
            signature,
        }
    }

    /// Attenuates: appends a first-party caveat and chains `sig = HMAC(sig, predicate)`.
    pub fn add_first_party_caveat(&mut self, predicate: &[u8]) {
        self.signature = hmac_sha256(&self.signature, &[predicate]);
        self.caveats.push(Caveat {
            location: None,
            id: predicate.to_vec(),
            verification_id: None,
        });
    }

    /// Recomputes the chain from `root_key` and compares it with the signature in
    /// constant time. A macaroon with a third-party caveat never verifies here.
    pub fn verify_signature(&self, root_key: &[u8]) -> bool {
        if !self.caveats.iter().all(Caveat::is_first_party) {
            return false;
        }
        let mut signature = hmac_sha256(&derive_chain_key(root_key), &[&self.identifier]);
        for caveat in &self.caveats {
            signature = hmac_sha256(&signature, &[&caveat.id]);
        }
        ct_eq(&signature, &self.signature)
    }
}

/// `HMAC-SHA256(key = "macaroons-key-generator", msg = root_key)` (libmacaroons).
fn derive_chain_key(root_key: &[u8]) -> [u8; 32] {
    hmac_sha256(KEY_GENERATOR, &[root_key])
}

/// The condition part of a predicate, for `Debug` output without values.
fn condition_of(predicate: &[u8]) -> String {
    let condition = predicate.split(|&c| c == b'=').next().unwrap_or_default();
    String::from_utf8_lossy(condition).into_owned()
}

impl fmt::Debug for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_first_party() {
            write!(f, "Caveat({:?}=…)", condition_of(&self.id))
        } else {
            f.write_str("Caveat(<third party>)")
        }
    }
}

impl fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Macaroon")
            .field(
                "location",
                &self.location.as_deref().map(String::from_utf8_lossy),
            )
            .field("identifier", &hex_encode(&self.identifier))
            .field("caveats", &self.caveats)
            .field("signature", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived HMAC key of the primary interop vector's root key (`tests/vectors_l402.rs`).
    #[test]
    fn derives_chain_key() {
        let root: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            hex_encode(&derive_chain_key(&root)),
            "7a48333781979c470801d9e308c78e75f4de306c63cb9435b16e84d60192417d"
        );
    }

    #[test]
    fn debug_hides_signature_and_values() {
        let mut mac = Macaroon::new(b"key", b"id".to_vec(), None);
        mac.add_first_party_caveat(b"preimage=secret");
        let text = format!("{mac:?}");
        assert!(text.contains("preimage"));
        assert!(!text.contains("secret"));
        assert!(!text.contains(&hex_encode(&mac.signature)));
    }

    #[test]
    fn third_party_caveat_never_verifies() {
        let mut mac = Macaroon::new(b"key", b"id".to_vec(), None);
        mac.caveats.push(Caveat {
            location: None,
            id: b"cid".to_vec(),
            verification_id: Some(vec![1]),
        });
        assert!(!mac.verify_signature(b"key"));
        assert_eq!(Macaroon::decode(&mac.encode_v2()).as_ref(), Ok(&mac));
    }

    #[test]
    fn decode_dispatches_on_format() {
        assert_eq!(Macaroon::decode(b""), Err(DecodeError::Empty));
        // V1 raw packets, and the V1 text form (base64 of the packets).
        let mut packets = b"0011identifier i\n".to_vec();
        packets.extend_from_slice(b"002fsignature ");
        packets.extend_from_slice(&[0x20; 32]);
        packets.push(b'\n');
        let raw = Macaroon::decode(&packets).unwrap();
        assert_eq!(raw.identifier, b"i");
        let text = base64_standard(&packets);
        assert!(text.starts_with('M'));
        assert_eq!(Macaroon::decode(text.as_bytes()).unwrap(), raw);
        // Base64 of V2 bytes is not a macaroon encoding by itself.
        let v2 = Macaroon::new(b"k", b"i".to_vec(), None);
        assert_eq!(
            Macaroon::decode(v2.to_base64().as_bytes()),
            Err(DecodeError::UnknownFormat)
        );
        assert_eq!(Macaroon::decode(b"!!"), Err(DecodeError::BadBase64));
    }
}
