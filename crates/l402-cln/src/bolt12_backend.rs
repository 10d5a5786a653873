//! [`Bolt12Backend`] (name "bolt12"): a fresh BOLT12 invoice per challenge, fetched from
//! the node's own offer (BOLT 12, "Offers" and "Invoices").
//!
//! CLN's `fetchinvoice {offer, amount_msat, payer_note}` RPC returns `{invoice: "lni1…"}`;
//! its `decode {string}` RPC reports
//! `invoice_payment_hash`, `invoice_amount_msat`, `invoice_created_at` and
//! `invoice_relative_expiry`. The invoice string is also decoded here and its BIP-340
//! signature verified ([`Bolt12Invoice::parse`]); both readings must agree.
//!
//! The request's `expiry_secs` cannot be passed on: the offer's node chooses the relative
//! expiry (BOLT12 default 7200 s). The returned [`Invoice`] is of kind
//! [`InvoiceKind::Bolt12`] and its text is the `lni1…` string.

use std::time::Duration;

use l402_backend::{with_timeout, Backend, BackendError, BoxFuture};
use l402_backend::{Capabilities, Invoice, InvoiceKind, InvoiceRequest, LookupRef, Settlement};
use serde_json::{json, Value};

use crate::bolt12::{self, Bolt12Invoice, DEFAULT_RELATIVE_EXPIRY_SECS, OFFER_ISSUER_ID};
use crate::common::{now_unix, validate};
use crate::reply::{hex32_field, msat_field, str_field, u64_field};
use crate::rpc::RpcClient;
use crate::Bolt12Config;

/// [`Backend::name`] of [`Bolt12Backend`].
pub const BOLT12_NAME: &str = "bolt12";

/// BOLT12 backend: invoices fetched from an offer of the node behind the socket.
#[derive(Debug)]
pub struct Bolt12Backend {
    rpc: RpcClient,
    timeout: Duration,
    offer: String,
    /// The offer's TLV bytes, or why they could not be read.
    offer_tlvs: Result<Vec<u8>, String>,
}

impl Bolt12Backend {
    /// A backend for `config`. Opens no socket: the first call connects.
    pub fn new(config: Bolt12Config) -> Bolt12Backend {
        let offer_tlvs = bolt12::bech32::decode(&config.offer, "lno");
        Bolt12Backend {
            rpc: RpcClient::new(config.cln.rpc_file, config.cln.pool_size),
            timeout: config.cln.timeout,
            offer: config.offer,
            offer_tlvs,
        }
    }

    /// The JSON-RPC client.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    async fn create(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        let invalid = |cause: String| BackendError::InvalidReply {
            backend: BOLT12_NAME,
            cause,
        };
        validate(BOLT12_NAME, &req)?;
        let offer_tlvs = self
            .offer_tlvs
            .as_ref()
            .map_err(|e| BackendError::Rejected {
                backend: BOLT12_NAME,
                cause: format!("configured offer is invalid: {e}"),
            })?;
        let call = |method: &'static str, params: Value| async move {
            self.rpc
                .call(method, params)
                .await
                .map_err(|e| e.into_backend_error(BOLT12_NAME))
        };

        let mut params = json!({
            "offer": self.offer,
            "amount_msat": req.amount_msat,
            // fetchinvoice's own limit (seconds), so the node gives up when we do.
            "timeout": self.timeout.as_secs().max(1),
        });
        if let (false, Some(p)) = (req.memo.is_empty(), params.as_object_mut()) {
            p.insert("payer_note".to_owned(), Value::String(req.memo.clone()));
        }
        let fetched = call("fetchinvoice", params).await?;
        let lni = str_field(&fetched, "invoice").map_err(invalid)?;

        // Our own reading: encoding, TLV stream, signature by invoice_node_id.
        let ours =
            Bolt12Invoice::parse(lni).map_err(|e| invalid(format!("BOLT12 invoice: {e}")))?;
        if ours.offer_tlvs != *offer_tlvs {
            return Err(invalid(
                "BOLT12 invoice is not for the configured offer".to_owned(),
            ));
        }
        let records = bolt12::tlv::parse(offer_tlvs).map_err(invalid)?;
        if let Some(issuer) = records.iter().find(|r| r.tlv_type == OFFER_ISSUER_ID) {
            if issuer.value != ours.node_id.as_slice() {
                return Err(invalid(
                    "BOLT12 invoice is not signed by the offer's issuer".to_owned(),
                ));
            }
        }

        // The node's reading (`decode`) must agree with ours.
        let decoded = call("decode", json!({"string": lni})).await?;
        check_decoded(&decoded, &ours).map_err(invalid)?;

        if ours.amount_msat != req.amount_msat {
            return Err(invalid(format!(
                "invoice is for {} msat, {} msat were requested",
                ours.amount_msat, req.amount_msat
            )));
        }
        let now = now_unix();
        if ours.expires_at() <= now {
            return Err(invalid(format!(
                "invoice expired at {}, now is {now}",
                ours.expires_at()
            )));
        }
        Ok(Invoice {
            kind: InvoiceKind::Bolt12,
            text: lni.to_owned(),
            payment_hash: ours.payment_hash,
            amount_msat: ours.amount_msat,
            expires_at_unix: ours.expires_at(),
            // `listinvoices` finds a BOLT12 invoice by its payment hash too.
            lookup: LookupRef::from_payment_hash(ours.payment_hash),
        })
    }
}

/// Checks CLN's `decode` reply for a BOLT12 invoice against our own reading.
fn check_decoded(decoded: &Value, ours: &Bolt12Invoice) -> Result<(), String> {
    if str_field(decoded, "type")? != "bolt12 invoice" {
        return Err("decode says the string is not a bolt12 invoice".to_owned());
    }
    if decoded.get("valid").and_then(Value::as_bool) != Some(true) {
        return Err("decode says the invoice is not valid".to_owned());
    }
    if hex32_field(decoded, "invoice_payment_hash")? != ours.payment_hash {
        return Err("decode reports another payment hash".to_owned());
    }
    if msat_field(decoded, "invoice_amount_msat")? != ours.amount_msat {
        return Err("decode reports another amount".to_owned());
    }
    if u64_field(decoded, "invoice_created_at")? != ours.created_at {
        return Err("decode reports another creation time".to_owned());
    }
    let relative = match decoded.get("invoice_relative_expiry") {
        None => DEFAULT_RELATIVE_EXPIRY_SECS,
        Some(_) => u64_field(decoded, "invoice_relative_expiry")?,
    };
    if relative != ours.relative_expiry {
        return Err("decode reports another relative expiry".to_owned());
    }
    Ok(())
}

impl Backend for Bolt12Backend {
    fn name(&self) -> &'static str {
        BOLT12_NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(with_timeout(BOLT12_NAME, self.timeout, self.create(req)))
    }

    /// `listinvoices {payment_hash}` finds BOLT12 invoices too (they are stored by the
    /// offers plugin with `createinvoice`).
    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        Box::pin(with_timeout(
            BOLT12_NAME,
            self.timeout,
            crate::common::lookup(BOLT12_NAME, &self.rpc, payment_hash),
        ))
    }
}
