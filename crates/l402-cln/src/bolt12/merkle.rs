//! BOLT12 "Signature Calculation": the merkle root of a TLV stream and the message a
//! BIP-340 signature commits to.
//!
//! - `H(tag, msg) = SHA256(SHA256(tag) || SHA256(tag) || msg)`;
//! - each record outside the signature range 240..=1000 is a leaf `H("LnLeaf", tlv)`, paired
//!   with the nonce `H("LnNonce" || first-tlv, tlv-type)`;
//! - inner nodes are `H("LnBranch", lesser || greater)`; with a number of leaves that is not a
//!   power of two, the deepest part of the tree is on the lowest-order leaves;
//! - the signed message is `H("lightning" || messagename || fieldname, merkle-root)`.

use bitcoin::hashes::{sha256, Hash, HashEngine};

use super::tlv::{write_bigsize, Record};

/// Signature TLV types (BOLT12: "types 240 through 1000 inclusive") are not in the tree.
pub fn is_signature_type(t: u64) -> bool {
    (240..=1000).contains(&t)
}

/// `H(tag, msg)` as BOLT12 defines it (a BIP-340 style tagged hash).
pub fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = sha256::Hash::hash(tag).to_byte_array();
    let mut engine = sha256::Hash::engine();
    engine.input(&tag_hash);
    engine.input(&tag_hash);
    for p in parts {
        engine.input(p);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

fn branch(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    tagged_hash(b"LnBranch", &[lo, hi])
}

/// The merkle root of `records` (signature records are skipped). `None` for a stream
/// without any non-signature record.
pub fn root(records: &[Record<'_>]) -> Option<[u8; 32]> {
    let first = records.first()?;
    let mut nonce_tag = b"LnNonce".to_vec();
    nonce_tag.extend_from_slice(first.raw);
    let mut level: Vec<[u8; 32]> = records
        .iter()
        .filter(|r| !is_signature_type(r.tlv_type))
        .map(|r| {
            let leaf = tagged_hash(b"LnLeaf", &[r.raw]);
            let mut t = Vec::with_capacity(9);
            write_bigsize(&mut t, r.tlv_type);
            let nonce = tagged_hash(&nonce_tag, &[&t]);
            branch(&leaf, &nonce)
        })
        .collect();
    if level.is_empty() {
        return None;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => branch(a, b),
                [a] => *a,
                _ => [0; 32], // chunks(2) yields one or two items
            })
            .collect();
    }
    level.first().copied()
}

/// The 32-byte message a BOLT12 signature signs: `H("lightning" || messagename ||
/// "signature", merkle-root)`, e.g. messagename `"invoice"`.
pub fn signature_message(messagename: &str, merkle_root: &[u8; 32]) -> [u8; 32] {
    let mut tag = b"lightning".to_vec();
    tag.extend_from_slice(messagename.as_bytes());
    tag.extend_from_slice(b"signature");
    tagged_hash(&tag, &[merkle_root])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::tlv::parse;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex32(s: &str) -> [u8; 32] {
        hex(s).try_into().unwrap()
    }

    // Vectors from the BOLT12 test file bolt12/signature-test.json.

    #[test]
    fn single_leaf() {
        let bytes = hex("010203e8");
        let recs = parse(&bytes).unwrap();
        assert_eq!(
            root(&recs).unwrap(),
            hex32("b013756c8fee86503a0b4abdab4cddeb1af5d344ca6fc2fa8b6c08938caa6f93")
        );
    }

    #[test]
    fn two_and_three_leaves() {
        let two = hex("010203e802080000010000020003");
        assert_eq!(
            root(&parse(&two).unwrap()).unwrap(),
            hex32("c3774abbf4815aa54ccaa026bff6581f01f3be5fe814c620a252534f434bc0d1")
        );
        let three = hex(
            "010203e802080000010000020003\
             03310266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c0351800000000000000010000000000000002",
        );
        assert_eq!(
            root(&parse(&three).unwrap()).unwrap(),
            hex32("ab2e79b1283b0b31e0b035258de23782df6b89a38cfa7237bde69aed1a658c5d")
        );
    }

    #[test]
    fn signature_records_are_not_leaves() {
        let mut with_sig = hex("010203e8");
        with_sig.extend_from_slice(&[0xf0, 0x02, 0xaa, 0xbb]); // type 240
        assert_eq!(
            root(&parse(&with_sig).unwrap()).unwrap(),
            hex32("b013756c8fee86503a0b4abdab4cddeb1af5d344ca6fc2fa8b6c08938caa6f93")
        );
        assert_eq!(root(&[]), None);
    }
}
