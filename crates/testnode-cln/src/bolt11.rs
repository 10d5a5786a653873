//! Real signed BOLT11 invoices (regtest, `lnbcrt…`) built with lightning-invoice.

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};

use crate::keys::{random32, NodeKey};

/// Final CLTV delta of the invoices (lightningd's default `cltv-final` is 18 blocks).
const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 18;

/// Builds and signs a BOLT11 invoice. `amount_msat = None` makes an "any amount" invoice.
pub fn issue(
    key: &NodeKey,
    amount_msat: Option<u64>,
    description: &str,
    payment_hash: [u8; 32],
    created_at: u64,
    expiry_secs: u64,
) -> Result<String, String> {
    let builder = InvoiceBuilder::new(Currency::Regtest)
        .description(description.to_owned())
        .payment_hash(sha256::Hash::from_byte_array(payment_hash))
        .payment_secret(PaymentSecret(random32()))
        .duration_since_epoch(Duration::from_secs(created_at))
        .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expiry_time(Duration::from_secs(expiry_secs));
    let builder = match amount_msat {
        Some(a) => builder.amount_milli_satoshis(a),
        None => builder,
    };
    builder
        .build_signed(|m| key.secp.sign_ecdsa_recoverable(m, &key.secret))
        .map(|i| i.to_string())
        .map_err(|e| e.to_string())
}
