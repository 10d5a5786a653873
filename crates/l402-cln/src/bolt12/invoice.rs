//! Reading and verifying a BOLT12 invoice (`lni1…`, BOLT12 "Invoices") without a node:
//! the fields an L402 challenge needs, and the BIP-340 signature by `invoice_node_id`.

use bitcoin::secp256k1::{schnorr, Message, PublicKey, Secp256k1};

use super::{bech32, merkle, tlv};

/// BOLT12 default `invoice_relative_expiry`: 7200 seconds.
pub const DEFAULT_RELATIVE_EXPIRY_SECS: u64 = 7200;

/// TLV types of the BOLT12 invoice fields read here.
pub mod types {
    /// `invoice_created_at` (tu64, seconds since 1970).
    pub const CREATED_AT: u64 = 164;
    /// `invoice_relative_expiry` (tu32, seconds).
    pub const RELATIVE_EXPIRY: u64 = 166;
    /// `invoice_payment_hash` (sha256).
    pub const PAYMENT_HASH: u64 = 168;
    /// `invoice_amount` (tu64, msat).
    pub const AMOUNT: u64 = 170;
    /// `invoice_node_id` (point).
    pub const NODE_ID: u64 = 176;
    /// `signature` (bip340sig).
    pub const SIGNATURE: u64 = 240;
}

/// The parts of a BOLT12 invoice an L402 challenge needs, read from a string whose
/// signature [`Bolt12Invoice::parse`] verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bolt12Invoice {
    /// `invoice_payment_hash`.
    pub payment_hash: [u8; 32],
    /// `invoice_amount`, in millisatoshis.
    pub amount_msat: u64,
    /// `invoice_created_at`, Unix seconds.
    pub created_at: u64,
    /// `invoice_relative_expiry` (or its default, 7200), seconds.
    pub relative_expiry: u64,
    /// `invoice_node_id`, compressed.
    pub node_id: [u8; 33],
    /// The offer fields the invoice mirrors (its records of offer types, as encoded):
    /// equal to the TLV bytes of the offer it was requested from.
    pub offer_tlvs: Vec<u8>,
}

impl Bolt12Invoice {
    /// Unix time at which the invoice expires (`created_at + relative_expiry`, saturating).
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(self.relative_expiry)
    }

    /// Decodes an `lni1…` string, reads the fields above and verifies the `signature`
    /// field against `invoice_node_id` over the BOLT12 merkle root. Errors never echo input.
    pub fn parse(s: &str) -> Result<Bolt12Invoice, String> {
        let bytes = bech32::decode(s, "lni")?;
        let records = tlv::parse(&bytes)?;
        let field = |t: u64| records.iter().find(|r| r.tlv_type == t).map(|r| r.value);
        let required = |t: u64, name: &str| field(t).ok_or_else(|| format!("no {name}"));

        let payment_hash: [u8; 32] = required(types::PAYMENT_HASH, "invoice_payment_hash")?
            .try_into()
            .map_err(|_| "invoice_payment_hash is not 32 bytes".to_owned())?;
        let amount_msat = tlv::read_tu64(required(types::AMOUNT, "invoice_amount")?)?;
        let created_at = tlv::read_tu64(required(types::CREATED_AT, "invoice_created_at")?)?;
        let relative_expiry = match field(types::RELATIVE_EXPIRY) {
            Some(v) if v.len() <= 4 => tlv::read_tu64(v)?,
            Some(_) => return Err("invoice_relative_expiry longer than 4 bytes".to_owned()),
            None => DEFAULT_RELATIVE_EXPIRY_SECS,
        };
        let node_id: [u8; 33] = required(types::NODE_ID, "invoice_node_id")?
            .try_into()
            .map_err(|_| "invoice_node_id is not 33 bytes".to_owned())?;
        let signature = required(types::SIGNATURE, "signature")?;

        let root = merkle::root(&records).ok_or("empty invoice")?;
        let msg = Message::from_digest(merkle::signature_message("invoice", &root));
        let key = PublicKey::from_slice(&node_id)
            .map_err(|_| "invoice_node_id is not a valid point".to_owned())?;
        let sig = schnorr::Signature::from_slice(signature)
            .map_err(|_| "signature is not a BIP-340 signature".to_owned())?;
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &msg, &key.x_only_public_key().0)
            .map_err(|_| "invoice signature does not verify against invoice_node_id".to_owned())?;

        let offer_tlvs = records
            .iter()
            .filter(|r| super::is_offer_type(r.tlv_type))
            .flat_map(|r| r.raw.iter().copied())
            .collect();

        Ok(Bolt12Invoice {
            payment_hash,
            amount_msat,
            created_at,
            relative_expiry,
            node_id,
            offer_tlvs,
        })
    }
}
