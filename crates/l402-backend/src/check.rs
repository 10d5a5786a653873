//! Checks on what a backend returned, run by every backend before replying: parse the
//! invoice (BOLT 11), check its amount, hash and expiry, check a reported preimage.
//!
//! A reply that fails any check is [`BackendError::InvalidReply`]: it is never accepted.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use lightning_invoice::Bolt11Invoice;

use crate::{BackendError, Invoice, InvoiceKind, InvoiceRequest, LookupRef};

/// Longest BOLT11 string accepted, in bytes. Real invoices, even with several route hints,
/// are well under 2 KiB; the cap bounds parsing work on hostile input.
pub const MAX_BOLT11_LEN: usize = 8 * 1024;

/// Parses and verifies a BOLT11 invoice (BOLT11 "Requirements": checksum, fields,
/// feature bits, and the signature against the payee key).
///
/// Input longer than [`MAX_BOLT11_LEN`] is refused before parsing; a panic inside the
/// parser is caught and reported as an error. The error text never contains the input.
pub fn parse_bolt11(bolt11: &str) -> Result<Bolt11Invoice, String> {
    if bolt11.len() > MAX_BOLT11_LEN {
        return Err(format!(
            "invoice is {} bytes, longer than {MAX_BOLT11_LEN}",
            bolt11.len()
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| Bolt11Invoice::from_str(bolt11))) {
        Ok(Ok(invoice)) => Ok(invoice),
        Ok(Err(e)) => Err(format!("not a valid BOLT11 invoice: {e}")),
        Err(_panic) => Err("not a valid BOLT11 invoice: parser panicked".to_owned()),
    }
}

/// Checks a BOLT11 invoice a backend returned for `req` and converts it to an [`Invoice`]:
///
/// - it parses and its signature is valid ([`parse_bolt11`]);
/// - its amount equals `req.amount_msat` (an amount-less invoice is refused);
/// - its payment hash equals `expected_hash`, when the backend reported one separately;
/// - it has not expired at `now_unix` (expiry = timestamp + `x` field, BOLT11 default 3600 s).
///
/// Any failure is [`BackendError::InvalidReply`] naming `backend`; this never panics.
pub fn check_invoice(
    backend: &'static str,
    bolt11: &str,
    req: &InvoiceRequest,
    expected_hash: Option<[u8; 32]>,
    now_unix: u64,
) -> Result<Invoice, BackendError> {
    let invalid = |cause: String| BackendError::InvalidReply { backend, cause };

    let parsed = parse_bolt11(bolt11).map_err(invalid)?;

    let amount_msat = parsed
        .amount_milli_satoshis()
        .ok_or_else(|| invalid("invoice has no amount".to_owned()))?;
    if amount_msat != req.amount_msat {
        return Err(invalid(format!(
            "invoice is for {amount_msat} msat, {} msat were requested",
            req.amount_msat
        )));
    }

    let payment_hash = parsed.payment_hash().to_byte_array();
    if let Some(expected) = expected_hash {
        if expected != payment_hash {
            return Err(invalid(
                "invoice payment hash differs from the one the backend reported".to_owned(),
            ));
        }
    }

    // `expires_at` is None only on overflow: such an invoice never expires.
    let expires_at_unix = parsed.expires_at().unwrap_or(Duration::MAX).as_secs();
    if expires_at_unix <= now_unix {
        return Err(invalid(format!(
            "invoice expired at {expires_at_unix}, now is {now_unix}"
        )));
    }

    Ok(Invoice {
        kind: InvoiceKind::Bolt11,
        text: bolt11.to_owned(),
        payment_hash,
        amount_msat,
        expires_at_unix,
        lookup: LookupRef::from_payment_hash(payment_hash),
    })
}

/// Checks that `bolt11` was signed by the node `expected_node_id` (33-byte compressed key),
/// for backends that know their node's id. Without a BOLT11 `n` field the payee key is
/// recovered from the signature, so an altered invoice parses fine but names another node:
/// this check is what catches it. A mismatch is [`BackendError::InvalidReply`].
pub fn check_payee(
    backend: &'static str,
    bolt11: &str,
    expected_node_id: &[u8; 33],
) -> Result<(), BackendError> {
    let invalid = |cause: String| BackendError::InvalidReply { backend, cause };
    let parsed = parse_bolt11(bolt11).map_err(invalid)?;
    if parsed.get_payee_pub_key().serialize() == *expected_node_id {
        Ok(())
    } else {
        Err(invalid("invoice is signed by another node".to_owned()))
    }
}

/// Checks that a preimage a backend reported hashes to the payment hash
/// (BOLT11 `p` field: "SHA256 payment_hash"). A mismatch is [`BackendError::InvalidReply`].
pub fn check_preimage(
    backend: &'static str,
    payment_hash: &[u8; 32],
    preimage: &[u8; 32],
) -> Result<(), BackendError> {
    if sha256::Hash::hash(preimage).to_byte_array() == *payment_hash {
        Ok(())
    } else {
        Err(BackendError::InvalidReply {
            backend,
            cause: "preimage does not hash to the payment hash".to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};

    const NOW: u64 = 1_800_000_000;

    /// Example invoice from lightning-invoice's documentation (mainnet, 10 msat, 2021).
    const DOC_INVOICE: &str =
        "lnbc100p1psj9jhxdqud3jxktt5w46x7unfv9kz6mn0v3jsnp4q0d3p2sfluzdx45tqcs\
h2pu5qc7lgq0xs578ngs6s0s68ua4h7cvspp5q6rmq35js88zp5dvwrv9m459tnk2zunwj5jalqtyxqulh0l\
5gflssp5nf55ny5gcrfl30xuhzj3nphgj27rstekmr9fw3ny5989s300gyus9qyysgqcqpcrzjqw2sxwe993\
h5pcm4dxzpvttgza8zhkqxpgffcrf5v25nwpr3cmfg7z54kuqq8rgqqqqqqqq2qqqqq9qq9qrzjqd0ylaqcl\
j9424x9m8h2vcukcgnm6s56xfgu3j78zyqzhgs4hlpzvznlugqq9vsqqqqqqqlgqqqqqeqq9qrzjqwldmj9d\
ha74df76zhx6l9we0vjdquygcdt3kssupehe64g6yyp5yz5rhuqqwccqqyqqqqlgqqqqjcqq9qrzjqf9e58a\
guqr0rcun0ajlvmzq3ek63cw2w282gv3z5uupmuwvgjtq2z55qsqqg6qqqyqqqrtnqqqzq3cqygrzjqvphms\
ywntrrhqjcraumvc4y6r8v4z5v593trte429v4hredj7ms5z52usqq9ngqqqqqqqlgqqqqqqgq9qrzjq2v0v\
p62g49p7569ev48cmulecsxe59lvaw3wlxm7r982zxa9zzj7z5l0cqqxusqqyqqqqlgqqqqqzsqygarl9fh3\
8s0gyuxjjgux34w75dnc6xp2l35j7es3jd4ugt3lu0xzre26yg5m7ke54n2d5sym4xcmxtl8238xxvw5h5h5\
j5r6drg6k6zcqj0fcwg";

    fn req(amount_msat: u64) -> InvoiceRequest {
        InvoiceRequest {
            amount_msat,
            memo: "test".into(),
            expiry_secs: 600,
        }
    }

    /// A regtest invoice signed by a fixed key, created at `NOW`.
    fn make(amount_msat: Option<u64>, hash: [u8; 32], expiry_secs: u64) -> String {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[0x11; 32]).unwrap();
        let builder = InvoiceBuilder::new(Currency::Regtest)
            .description("test".into())
            .payment_hash(sha256::Hash::from_byte_array(hash))
            .payment_secret(PaymentSecret([0x22; 32]))
            .duration_since_epoch(Duration::from_secs(NOW))
            .min_final_cltv_expiry_delta(80)
            .expiry_time(Duration::from_secs(expiry_secs));
        let builder = match amount_msat {
            Some(a) => builder.amount_milli_satoshis(a),
            None => builder,
        };
        builder
            .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
            .unwrap()
            .to_string()
    }

    fn cause(e: BackendError) -> String {
        match e {
            BackendError::InvalidReply { backend, cause } => {
                assert_eq!(backend, "t");
                cause
            }
            other => panic!("expected InvalidReply, got {other:?}"),
        }
    }

    #[test]
    fn accepts_matching_invoice() {
        let s = make(Some(21_000), [7; 32], 600);
        let inv = check_invoice("t", &s, &req(21_000), Some([7; 32]), NOW).unwrap();
        assert_eq!(inv.text, s);
        assert_eq!(inv.kind, InvoiceKind::Bolt11);
        assert_eq!(inv.lookup, LookupRef::from_payment_hash(inv.payment_hash));
        assert_eq!(inv.payment_hash, [7; 32]);
        assert_eq!(inv.amount_msat, 21_000);
        assert_eq!(inv.expires_at_unix, NOW + 600);
        // Without an expected hash too.
        assert!(check_invoice("t", &s, &req(21_000), None, NOW + 599).is_ok());
    }

    #[test]
    fn rejects_wrong_amount() {
        let s = make(Some(21_000), [7; 32], 600);
        let c = cause(check_invoice("t", &s, &req(21_001), None, NOW).unwrap_err());
        assert!(c.contains("21000 msat"), "{c}");
    }

    #[test]
    fn rejects_amountless_invoice() {
        let s = make(None, [7; 32], 600);
        let c = cause(check_invoice("t", &s, &req(1_000), None, NOW).unwrap_err());
        assert!(c.contains("no amount"), "{c}");
    }

    #[test]
    fn rejects_wrong_hash() {
        let s = make(Some(1_000), [7; 32], 600);
        let c = cause(check_invoice("t", &s, &req(1_000), Some([8; 32]), NOW).unwrap_err());
        assert!(c.contains("payment hash"), "{c}");
    }

    #[test]
    fn rejects_expired() {
        let s = make(Some(1_000), [7; 32], 600);
        let c = cause(check_invoice("t", &s, &req(1_000), None, NOW + 600).unwrap_err());
        assert!(c.contains("expired"), "{c}");
        // A real 2021 invoice: valid signature, long expired.
        let c = cause(check_invoice("t", DOC_INVOICE, &req(10), None, NOW).unwrap_err());
        assert!(c.contains("expired"), "{c}");
    }

    #[test]
    fn parses_real_invoice() {
        let inv = parse_bolt11(DOC_INVOICE).unwrap();
        assert_eq!(inv.amount_milli_satoshis(), Some(10));
    }

    #[test]
    fn rejects_tampered_signature() {
        let s = make(Some(1_000), [7; 32], 600);
        // Change one character of the data part (the description) and fix nothing else:
        // the bech32 checksum fails; flipping a signature char likewise. Both are refused.
        for pos in [20, s.len() - 10] {
            let mut bytes = s.clone().into_bytes();
            bytes[pos] = if bytes[pos] == b'q' { b'p' } else { b'q' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(check_invoice("t", &tampered, &req(1_000), None, NOW).is_err());
        }
    }

    #[test]
    fn rejects_bad_signature() {
        // Claims payee key A (BOLT11 `n` field) but is signed by key B.
        let secp = Secp256k1::new();
        let signer = SecretKey::from_slice(&[0x11; 32]).unwrap();
        let claimed = SecretKey::from_slice(&[0x33; 32])
            .unwrap()
            .public_key(&secp);
        let s = InvoiceBuilder::new(Currency::Regtest)
            .description("test".into())
            .payment_hash(sha256::Hash::from_byte_array([7; 32]))
            .payment_secret(PaymentSecret([0x22; 32]))
            .duration_since_epoch(Duration::from_secs(NOW))
            .min_final_cltv_expiry_delta(80)
            .amount_milli_satoshis(1_000)
            .payee_pub_key(claimed)
            .build_signed(|m| secp.sign_ecdsa_recoverable(m, &signer))
            .unwrap()
            .to_string();
        let c = cause(check_invoice("t", &s, &req(1_000), None, NOW).unwrap_err());
        assert!(c.to_lowercase().contains("signature"), "{c}");
    }

    #[test]
    fn rejects_garbage_and_huge_input() {
        for junk in ["", "lnbc", "hello", "lnbcrt1\u{0}", "☃☃☃", "LNBC1QQQQ"] {
            cause(check_invoice("t", junk, &req(1_000), None, NOW).unwrap_err());
        }
        let huge = "q".repeat(MAX_BOLT11_LEN + 1);
        let c = cause(check_invoice("t", &huge, &req(1_000), None, NOW).unwrap_err());
        assert!(c.contains("longer than"), "{c}");
    }

    #[test]
    fn error_does_not_echo_input() {
        let junk = "lnbcrt-not-an-invoice-SECRETISH";
        let c = cause(check_invoice("t", junk, &req(1_000), None, NOW).unwrap_err());
        assert!(!c.contains("SECRETISH"), "{c}");
    }

    #[test]
    fn payee_check() {
        let s = make(Some(1_000), [7; 32], 600);
        let secp = Secp256k1::new();
        let ours = SecretKey::from_slice(&[0x11; 32])
            .unwrap()
            .public_key(&secp);
        let other = SecretKey::from_slice(&[0x12; 32])
            .unwrap()
            .public_key(&secp);
        assert!(check_payee("t", &s, &ours.serialize()).is_ok());
        let c = cause(check_payee("t", &s, &other.serialize()).unwrap_err());
        assert!(c.contains("another node"), "{c}");
        cause(check_payee("t", "junk", &ours.serialize()).unwrap_err());
    }

    #[test]
    fn preimage_check() {
        let preimage = [5u8; 32];
        let hash = sha256::Hash::hash(&preimage).to_byte_array();
        assert!(check_preimage("t", &hash, &preimage).is_ok());
        cause(check_preimage("t", &hash, &[6u8; 32]).unwrap_err());
    }
}
