//! What the CLN and BOLT12 backends share: refusing requests CLN cannot honour, and
//! looking an invoice up by payment hash with `listinvoices`.

use std::time::{SystemTime, UNIX_EPOCH};

use l402_backend::MAX_INVOICE_AMOUNT_MSAT;
use l402_backend::{check_preimage, BackendError, InvoiceRequest, Settlement};
use serde_json::{json, Value};

use crate::reply::{hex32_field, msat_field, str_field, to_hex};
use crate::rpc::RpcClient;

/// Seconds since 1970 (0 if the clock is before 1970).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Refuses, before asking the node, a request that must not become an invoice: zero
/// amount (CLN would make an "any amount" invoice for `"any"`, and an invoice without an
/// amount must never be issued), an amount BOLT11 cannot carry, a zero expiry.
pub fn validate(backend: &'static str, req: &InvoiceRequest) -> Result<(), BackendError> {
    let rejected = |cause: String| BackendError::Rejected { backend, cause };
    if req.amount_msat == 0 {
        return Err(rejected("amount must be greater than 0 msat".to_owned()));
    }
    if req.amount_msat > MAX_INVOICE_AMOUNT_MSAT {
        return Err(rejected(format!(
            "amount {} msat is above {MAX_INVOICE_AMOUNT_MSAT}",
            req.amount_msat
        )));
    }
    if req.expiry_secs == 0 {
        return Err(rejected("expiry must be greater than 0 seconds".to_owned()));
    }
    Ok(())
}

/// `listinvoices {payment_hash}` (CLN `doc/schemas/listinvoices.json`): `invoices` is empty
/// for an unknown hash, else holds the invoice with `status` `unpaid`, `paid` (then with
/// `payment_preimage` and `amount_received_msat`) or `expired`.
pub async fn lookup(
    backend: &'static str,
    rpc: &RpcClient,
    payment_hash: [u8; 32],
) -> Result<Settlement, BackendError> {
    let invalid = |cause: String| BackendError::InvalidReply { backend, cause };
    let result = rpc
        .call(
            "listinvoices",
            json!({"payment_hash": to_hex(&payment_hash)}),
        )
        .await
        .map_err(|e| e.into_backend_error(backend))?;
    let invoices = result
        .get("invoices")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("listinvoices reply has no invoices array".to_owned()))?;
    let Some(inv) = invoices.first() else {
        return Ok(Settlement::Unknown);
    };
    if invoices.len() > 1 {
        return Err(invalid(
            "listinvoices returned several invoices for one hash".to_owned(),
        ));
    }
    if hex32_field(inv, "payment_hash").map_err(invalid)? != payment_hash {
        return Err(invalid(
            "listinvoices returned another payment hash".to_owned(),
        ));
    }
    match str_field(inv, "status").map_err(invalid)? {
        "unpaid" => Ok(Settlement::Open),
        "expired" => Ok(Settlement::Expired),
        "paid" => {
            let preimage = hex32_field(inv, "payment_preimage").map_err(invalid)?;
            check_preimage(backend, &payment_hash, &preimage)?;
            // An invoice with an amount is paid only with at least that amount (BOLT11
            // and BOLT12 let payers overpay, not underpay).
            if let Ok(amount) = msat_field(inv, "amount_msat") {
                let received = msat_field(inv, "amount_received_msat").map_err(invalid)?;
                if received < amount {
                    return Err(invalid(format!(
                        "paid invoice received {received} msat of {amount}"
                    )));
                }
            }
            Ok(Settlement::Settled {
                preimage: Some(preimage),
            })
        }
        _ => Err(invalid(
            "listinvoices status is not unpaid, paid or expired".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount_msat: u64, expiry_secs: u32) -> InvoiceRequest {
        InvoiceRequest {
            amount_msat,
            memo: String::new(),
            expiry_secs,
        }
    }

    #[test]
    fn validation() {
        assert!(validate("cln", &req(1, 1)).is_ok());
        assert_eq!(
            validate("cln", &req(0, 1)).map_err(|e| e.kind()),
            Err("rejected")
        );
        assert!(validate("cln", &req(MAX_INVOICE_AMOUNT_MSAT + 1, 1)).is_err());
        assert!(validate("cln", &req(1, 0)).is_err());
    }
}
