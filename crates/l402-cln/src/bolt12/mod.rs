//! Just enough BOLT12 to check what a node returned, with no dependency beyond secp256k1:
//! the string encoding ([`bech32`]), TLV streams ([`tlv`]), the signature merkle tree
//! ([`merkle`]), reading and verifying an invoice ([`Bolt12Invoice`]) and checking an
//! offer's form ([`check_offer`]).
//!
//! The writers ([`bech32::encode`], [`tlv::write_record`]) exist for test peers.

pub mod bech32;
mod invoice;
pub mod merkle;
pub mod tlv;

pub use invoice::{types as invoice_types, Bolt12Invoice, DEFAULT_RELATIVE_EXPIRY_SECS};

/// Offer TLV types (BOLT12 "Offers": 1 through 79 and 1000000000 through 1999999999).
pub(crate) fn is_offer_type(t: u64) -> bool {
    (1..=79).contains(&t) || (1_000_000_000..=1_999_999_999).contains(&t)
}

/// `offer_issuer_id` (type 22), when the offer has one.
pub const OFFER_ISSUER_ID: u64 = 22;

/// Checks that `offer` is a well-formed BOLT12 offer string: `lno1` prefix, bech32
/// alphabet, a TLV stream with strictly increasing types, all in the offer ranges.
/// Does not check the offer's semantics (description, issuer, paths).
pub fn check_offer(offer: &str) -> Result<(), String> {
    let bytes = bech32::decode(offer, "lno")?;
    let records = tlv::parse(&bytes)?;
    if let Some(r) = records.iter().find(|r| !is_offer_type(r.tlv_type)) {
        return Err(format!("TLV type {} is not an offer field", r.tlv_type));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{schnorr, Message, PublicKey, Secp256k1};

    /// The invoice_request vector of the BOLT12 test file bolt12/signature-test.json:
    /// string decoding, TLV parsing, merkle root, signature message and BIP-340 signature
    /// by `invreq_payer_id` (type 88).
    const LNR: &str = "lnr1qqyqqqqqqqqqqqqqqcp4256ypqqkgzshgysy6ct5dpjk6ct5d93kzmpq23ex2ct5d9ek293pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpjkppqvjx204vgdzgsqpvcp4mldl3plscny0rt707gvpdh6ndydfacz43euzqhrurageg3n7kafgsek6gz3e9w52parv8gs2hlxzk95tzeswywffxlkeyhml0hh46kndmwf4m6xma3tkq2lu04qz3slje2rfthc89vss";

    #[test]
    fn spec_invoice_request_vector() {
        let bytes = bech32::decode(LNR, "lnr").unwrap();
        let records = tlv::parse(&bytes).unwrap();
        let root = merkle::root(&records).unwrap();
        assert_eq!(
            reply_hex(&root),
            "608407c18ad9a94d9ea2bcdbe170b6c20c462a7833a197621c916f78cf18e624"
        );
        let msg = merkle::signature_message("invoice_request", &root);
        assert_eq!(
            reply_hex(&msg),
            "aefe3aa88a69772c246dcaef75ed3e7566c08ecc4e9f995233526a5651fc34cd"
        );
        let payer = records.iter().find(|r| r.tlv_type == 88).unwrap().value;
        let sig = records.iter().find(|r| r.tlv_type == 240).unwrap().value;
        let key = PublicKey::from_slice(payer).unwrap().x_only_public_key().0;
        let sig = schnorr::Signature::from_slice(sig).unwrap();
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &Message::from_digest(msg), &key)
            .unwrap();
        // Re-encoding gives the same string.
        assert_eq!(bech32::encode("lnr", &bytes), LNR);
    }

    #[test]
    fn hostile_input_never_panics() {
        // Pseudo-random strings over the bech32 alphabet and a few other characters, and
        // valid-prefix strings of random TLV bytes: errors, never panics.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l+ 1bioLNI";
        for _ in 0..2000 {
            let len = (next() % 200) as usize;
            let body: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            for prefix in ["lni1", "lno1", ""] {
                let s = format!("{prefix}{body}");
                let _ = Bolt12Invoice::parse(&s);
                let _ = check_offer(&s);
            }
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = Bolt12Invoice::parse(&bech32::encode("lni", &bytes));
            let _ = check_offer(&bech32::encode("lno", &bytes));
        }
    }

    fn reply_hex(b: &[u8]) -> String {
        crate::reply::to_hex(b)
    }

    #[test]
    fn offers() {
        let mut tlvs = Vec::new();
        tlv::write_record(&mut tlvs, 10, b"coffee");
        tlv::write_record(&mut tlvs, OFFER_ISSUER_ID, &[2; 33]);
        let offer = bech32::encode("lno", &tlvs);
        check_offer(&offer).unwrap();
        check_offer(&offer.to_uppercase()).unwrap();
        assert!(check_offer(&bech32::encode("lni", &tlvs)).is_err());
        assert!(check_offer("lno1").is_err());
        assert!(check_offer("lno1bbbb").is_err());
        let mut not_offer = tlvs.clone();
        tlv::write_record(&mut not_offer, 88, &[1]);
        let e = check_offer(&bech32::encode("lno", &not_offer)).unwrap_err();
        assert!(e.contains("88"), "{e}");
    }
}
