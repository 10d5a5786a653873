//! Building and signing the fake backend's BOLT11 invoices with lightning-invoice's
//! `InvoiceBuilder` (BOLT11 "Requirements" for writers: `p`, `s`, `d`, `c`, `x`, features 9
//! and 14, signature by the node key).

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Secp256k1, Signing};
use lightning_invoice::{Bolt11Invoice, CreationError, Currency, InvoiceBuilder, PaymentSecret};

use crate::{derive, FakeSecret};
use l402_backend::InvoiceRequest;

/// `min_final_cltv_expiry_delta` written into every invoice (BOLT11 `c` field). The BOLT11
/// default is 18; 80 is LND's default, so invoices look like a real node's.
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 80;

/// A signed invoice and the preimage that pays it.
pub(crate) struct Issued {
    pub(crate) invoice: Bolt11Invoice,
    pub(crate) preimage: [u8; 32],
}

/// Builds the invoice for `req`, created at `now` (since the Unix epoch), whose preimage
/// derives from `payment_secret`, signed by the secret's node key.
///
/// Fails when lightning-invoice refuses a field: memo over 639 bytes, amount whose
/// pico-BTC value overflows 64 bits, timestamp beyond 35 bits.
pub(crate) fn issue<C: Signing>(
    secp: &Secp256k1<C>,
    secret: &FakeSecret,
    currency: Currency,
    payment_secret: [u8; 32],
    req: &InvoiceRequest,
    now: Duration,
) -> Result<Issued, CreationError> {
    let preimage = secret.preimage_for(&payment_secret);
    let payment_hash = derive::payment_hash(&preimage);
    let invoice = InvoiceBuilder::new(currency)
        .description(req.memo.clone())
        .payment_hash(sha256::Hash::from_byte_array(payment_hash))
        .payment_secret(PaymentSecret(payment_secret))
        .duration_since_epoch(now)
        .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA)
        .amount_milli_satoshis(req.amount_msat)
        .expiry_time(Duration::from_secs(u64::from(req.expiry_secs)))
        .build_signed(|msg| secp.sign_ecdsa_recoverable(msg, secret.node_key()))?;
    Ok(Issued { invoice, preimage })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use lightning_invoice::Bolt11InvoiceDescriptionRef;
    use std::str::FromStr;

    fn secret() -> FakeSecret {
        FakeSecret::from_bytes([7; 32], [8; 32]).unwrap()
    }

    fn req() -> InvoiceRequest {
        InvoiceRequest {
            amount_msat: 21_000,
            memo: "fake memo".into(),
            expiry_secs: 300,
        }
    }

    #[test]
    fn issues_parseable_signed_invoice() {
        let secp = Secp256k1::signing_only();
        let now = Duration::from_secs(1_800_000_000);
        let issued = issue(&secp, &secret(), Currency::Regtest, [9; 32], &req(), now).unwrap();
        let text = issued.invoice.to_string();
        assert!(text.starts_with("lnbcrt210n1"), "{text}");
        let parsed = Bolt11Invoice::from_str(&text).unwrap();
        assert_eq!(parsed.amount_milli_satoshis(), Some(21_000));
        assert_eq!(parsed.expiry_time(), Duration::from_secs(300));
        assert_eq!(parsed.duration_since_epoch(), now);
        assert_eq!(
            parsed.min_final_cltv_expiry_delta(),
            MIN_FINAL_CLTV_EXPIRY_DELTA
        );
        assert_eq!(parsed.payment_secret().0, [9; 32]);
        assert_eq!(parsed.get_payee_pub_key(), *secret().node_pubkey());
        assert_eq!(
            parsed.payment_hash().to_byte_array(),
            derive::payment_hash(&issued.preimage)
        );
        match parsed.description() {
            Bolt11InvoiceDescriptionRef::Direct(d) => assert_eq!(d.as_inner().0, "fake memo"),
            Bolt11InvoiceDescriptionRef::Hash(_) => panic!("expected a direct description"),
        }
    }

    #[test]
    fn testnet_prefix() {
        let secp = Secp256k1::signing_only();
        let now = Duration::from_secs(1_800_000_000);
        let issued = issue(
            &secp,
            &secret(),
            Currency::BitcoinTestnet,
            [9; 32],
            &req(),
            now,
        )
        .unwrap();
        assert!(issued.invoice.to_string().starts_with("lntb210n1"));
    }

    #[test]
    fn long_memo_is_a_creation_error() {
        let secp = Secp256k1::signing_only();
        let mut r = req();
        r.memo = "m".repeat(640);
        let got = issue(
            &secp,
            &secret(),
            Currency::Regtest,
            [9; 32],
            &r,
            Duration::ZERO,
        );
        assert!(matches!(got, Err(CreationError::DescriptionTooLong)));
    }
}
