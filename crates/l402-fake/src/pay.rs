//! "Paying" a fake invoice: synchronous, no I/O, used by the module's fake pay endpoint.
//!
//! The preimage is re-derived from the invoice's payment secret ([`crate::derive`]), so any
//! worker holding the [`FakeSecret`] can pay an invoice any other worker issued.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::Hash;
use l402_backend::{parse_bolt11, MAX_BOLT11_LEN};

use crate::{derive, FakeSecret};

/// Why an invoice could not be paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayError {
    /// Input longer than [`MAX_BOLT11_LEN`] bytes.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// Not a valid BOLT11 invoice (syntax, checksum, fields or signature).
    Invalid(String),
    /// A valid invoice, but not issued by this fake backend (other node key, or its
    /// payment hash is not the one our secret derives).
    NotOurs,
    /// Our invoice, but past its expiry (BOLT11 timestamp + `x`): a real node would refuse it.
    Expired,
}

impl PayError {
    /// Short reason for an HTTP response body or a log line; never contains the input.
    pub fn reason(&self) -> &'static str {
        match self {
            PayError::TooLong { .. } => "invoice too long",
            PayError::Invalid(_) => "invalid BOLT11 invoice",
            PayError::NotOurs => "invoice not issued by this server",
            PayError::Expired => "invoice expired",
        }
    }
}

impl fmt::Display for PayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayError::TooLong { len } => {
                write!(
                    f,
                    "fake pay: invoice is {len} bytes, longer than {MAX_BOLT11_LEN}"
                )
            }
            PayError::Invalid(cause) => write!(f, "fake pay: {cause}"),
            PayError::NotOurs => f.write_str("fake pay: invoice not issued by this server"),
            PayError::Expired => f.write_str("fake pay: invoice expired"),
        }
    }
}

impl std::error::Error for PayError {}

/// What paying an invoice established.
pub(crate) struct Paid {
    pub(crate) preimage: [u8; 32],
    pub(crate) payment_hash: [u8; 32],
    pub(crate) expires_at_unix: u64,
}

/// Pays a fake invoice: checks it parses with a valid signature, that its payee is our node,
/// that our secret derives its payment hash, and that it has not expired; returns the
/// preimage. Surrounding whitespace is ignored. Never panics.
pub fn pay(secret: &FakeSecret, bolt11: &str) -> Result<[u8; 32], PayError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    pay_at(secret, bolt11, now).map(|paid| paid.preimage)
}

/// [`pay`] at a given time (seconds since the Unix epoch).
pub(crate) fn pay_at(secret: &FakeSecret, bolt11: &str, now_unix: u64) -> Result<Paid, PayError> {
    if bolt11.len() > MAX_BOLT11_LEN {
        return Err(PayError::TooLong { len: bolt11.len() });
    }
    let invoice = parse_bolt11(bolt11.trim()).map_err(PayError::Invalid)?;
    if invoice.get_payee_pub_key() != *secret.node_pubkey() {
        return Err(PayError::NotOurs);
    }
    let preimage = secret.preimage_for(&invoice.payment_secret().0);
    let payment_hash = invoice.payment_hash().to_byte_array();
    if derive::payment_hash(&preimage) != payment_hash {
        return Err(PayError::NotOurs);
    }
    let expires_at_unix = invoice.expires_at().unwrap_or(Duration::MAX).as_secs();
    if expires_at_unix <= now_unix {
        return Err(PayError::Expired);
    }
    Ok(Paid {
        preimage,
        payment_hash,
        expires_at_unix,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::invoice::issue;
    use bitcoin::secp256k1::Secp256k1;
    use l402_backend::InvoiceRequest;
    use lightning_invoice::Currency;

    const NOW: u64 = 1_800_000_000;

    fn invoice(secret: &FakeSecret) -> String {
        let req = InvoiceRequest {
            amount_msat: 5_000,
            memo: "m".into(),
            expiry_secs: 60,
        };
        issue(
            &Secp256k1::signing_only(),
            secret,
            Currency::Regtest,
            [3; 32],
            &req,
            Duration::from_secs(NOW),
        )
        .unwrap()
        .invoice
        .to_string()
    }

    #[test]
    fn pays_until_expiry() {
        let secret = FakeSecret::from_bytes([1; 32], [2; 32]).unwrap();
        let bolt11 = invoice(&secret);
        let paid = pay_at(&secret, &bolt11, NOW + 59).unwrap();
        assert_eq!(derive::payment_hash(&paid.preimage), paid.payment_hash);
        assert_eq!(paid.expires_at_unix, NOW + 60);
        assert_eq!(
            pay_at(&secret, &bolt11, NOW + 60).err(),
            Some(PayError::Expired)
        );
        // `pay` uses the real clock: this invoice (2027) has not expired yet only if the
        // clock is earlier; either way it must not panic and must be one of the two answers.
        let got = pay(&secret, &bolt11);
        assert!(matches!(got, Ok(_) | Err(PayError::Expired)));
    }

    #[test]
    fn reasons_never_echo_input() {
        let secret = FakeSecret::from_bytes([1; 32], [2; 32]).unwrap();
        let Err(e) = pay_at(&secret, "lnbcrt1SECRETISH", NOW) else {
            panic!("garbage was paid");
        };
        assert!(!e.to_string().contains("SECRETISH"));
        assert_eq!(e.reason(), "invalid BOLT11 invoice");
    }
}
