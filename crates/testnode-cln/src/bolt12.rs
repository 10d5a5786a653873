//! BOLT12 offers and invoices of the test node, in the real BOLT12 encoding: TLV streams
//! in bech32 without checksum, invoices signed with BIP-340 over the BOLT12 merkle root
//! (the same rules `l402_cln::bolt12` verifies, checked there against the spec vectors).
//!
//! Simplifications, so these invoices are **not payable**: no `invoice_paths` (160) and no
//! `invoice_blindedpay` (162), which BOLT12 requires, and no `invreq_chain`; the invoice
//! request part is made up by the node itself (random `invreq_metadata` and payer key), as
//! if a payer had sent it. A strict BOLT12 parser (LDK, lightningd) would refuse them for
//! the missing paths.

use bitcoin::secp256k1::Message;
use l402_cln::bolt12::{bech32, invoice_types, merkle, tlv, OFFER_ISSUER_ID};

use crate::keys::{random32, random_key, NodeKey};

/// `offer_chains` (BOLT12 type 2).
const OFFER_CHAINS: u64 = 2;
/// `offer_description` (type 10).
const OFFER_DESCRIPTION: u64 = 10;
/// `invreq_metadata` (type 0).
const INVREQ_METADATA: u64 = 0;
/// `invreq_amount` (type 82).
const INVREQ_AMOUNT: u64 = 82;
/// `invreq_payer_id` (type 88).
const INVREQ_PAYER_ID: u64 = 88;
/// `invreq_payer_note` (type 89).
const INVREQ_PAYER_NOTE: u64 = 89;

/// Regtest genesis block hash in the byte order BOLT12 `chain_hash` uses.
const REGTEST_CHAIN: [u8; 32] = [
    0x06, 0x22, 0x6e, 0x46, 0x11, 0x1a, 0x0b, 0x59, 0xca, 0xaf, 0x12, 0x60, 0x43, 0xeb, 0x5b, 0xbf,
    0x28, 0xc3, 0x4f, 0x3a, 0x5e, 0x33, 0x2a, 0x1f, 0xc7, 0xb2, 0xb7, 0x3c, 0xf1, 0x88, 0x91, 0x0f,
];

/// The TLV records of the node's offer (amount any): chains, description, issuer id.
pub fn offer_records(key: &NodeKey, description: &str) -> Vec<(u64, Vec<u8>)> {
    vec![
        (OFFER_CHAINS, REGTEST_CHAIN.to_vec()),
        (OFFER_DESCRIPTION, description.as_bytes().to_vec()),
        (OFFER_ISSUER_ID, key.id.serialize().to_vec()),
    ]
}

fn encode_records(records: &mut [(u64, Vec<u8>)]) -> Vec<u8> {
    records.sort_by_key(|(t, _)| *t);
    let mut out = Vec::new();
    for (t, v) in records.iter() {
        tlv::write_record(&mut out, *t, v);
    }
    out
}

/// The `lno1…` string of an offer.
pub fn offer_string(records: &[(u64, Vec<u8>)]) -> String {
    bech32::encode("lno", &encode_records(&mut records.to_vec()))
}

/// What an invoice for the offer contains.
pub struct InvoiceFields<'a> {
    pub amount_msat: u64,
    pub payer_note: &'a str,
    pub created_at: u64,
    /// `None` leaves `invoice_relative_expiry` out (BOLT12 default 7200 s).
    pub relative_expiry: Option<u32>,
    pub payment_hash: [u8; 32],
}

/// Builds an `lni1…` invoice for `offer` naming `key` as `invoice_node_id`, signed by
/// `signer` (the same key, except to forge; see the module notes).
pub fn issue_invoice(
    key: &NodeKey,
    signer: &NodeKey,
    offer: &[(u64, Vec<u8>)],
    f: &InvoiceFields<'_>,
) -> String {
    let mut records = offer.to_vec();
    records.push((
        INVREQ_METADATA,
        random32().get(..16).unwrap_or_default().to_vec(),
    ));
    records.push((INVREQ_AMOUNT, tlv::tu64(f.amount_msat)));
    let payer = random_key().public_key(&key.secp);
    records.push((INVREQ_PAYER_ID, payer.serialize().to_vec()));
    if !f.payer_note.is_empty() {
        records.push((INVREQ_PAYER_NOTE, f.payer_note.as_bytes().to_vec()));
    }
    records.push((invoice_types::CREATED_AT, tlv::tu64(f.created_at)));
    if let Some(rel) = f.relative_expiry {
        records.push((invoice_types::RELATIVE_EXPIRY, tlv::tu64(u64::from(rel))));
    }
    records.push((invoice_types::PAYMENT_HASH, f.payment_hash.to_vec()));
    records.push((invoice_types::AMOUNT, tlv::tu64(f.amount_msat)));
    records.push((invoice_types::NODE_ID, key.id.serialize().to_vec()));
    let unsigned = encode_records(&mut records);

    // The records were just written, so they parse; fall back to an empty root otherwise.
    let root = tlv::parse(&unsigned)
        .ok()
        .and_then(|r| merkle::root(&r))
        .unwrap_or([0; 32]);
    let msg = Message::from_digest(merkle::signature_message("invoice", &root));
    let sig = signer.secp.sign_schnorr_no_aux_rand(&msg, &signer.keypair);
    let mut signed = unsigned;
    tlv::write_record(&mut signed, invoice_types::SIGNATURE, sig.as_ref());
    bech32::encode("lni", &signed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use l402_cln::bolt12::{check_offer, Bolt12Invoice};

    #[test]
    fn issued_invoices_verify() {
        let key = NodeKey::generate();
        let offer = offer_records(&key, "test offer");
        check_offer(&offer_string(&offer)).unwrap();
        let s = issue_invoice(
            &key,
            &key,
            &offer,
            &InvoiceFields {
                amount_msat: 21_000,
                payer_note: "hello",
                created_at: 1_800_000_000,
                relative_expiry: Some(600),
                payment_hash: [7; 32],
            },
        );
        let inv = Bolt12Invoice::parse(&s).unwrap();
        assert_eq!(inv.amount_msat, 21_000);
        assert_eq!(inv.payment_hash, [7; 32]);
        assert_eq!(inv.expires_at(), 1_800_000_600);
        assert_eq!(inv.node_id, key.id.serialize());

        // Changing one field breaks the signature.
        let bytes = bech32::decode(&s, "lni").unwrap();
        let mut recs: Vec<(u64, Vec<u8>)> = tlv::parse(&bytes)
            .unwrap()
            .iter()
            .map(|r| (r.tlv_type, r.value.to_vec()))
            .collect();
        for r in recs.iter_mut() {
            if r.0 == invoice_types::AMOUNT {
                r.1 = tlv::tu64(21_001);
            }
        }
        let forged = bech32::encode("lni", &encode_records(&mut recs));
        let e = Bolt12Invoice::parse(&forged).unwrap_err();
        assert!(e.contains("signature"), "{e}");

        // Signed by another key than invoice_node_id.
        let other = NodeKey::generate();
        let fields = InvoiceFields {
            amount_msat: 1,
            payer_note: "",
            created_at: 1,
            relative_expiry: None,
            payment_hash: [1; 32],
        };
        let s = issue_invoice(&key, &other, &offer, &fields);
        assert!(Bolt12Invoice::parse(&s).unwrap_err().contains("signature"));
    }
}
