//! [`ClnBackend`] (name "cln"): BOLT11 invoices from Core Lightning's `invoice` command.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use l402_backend::{check_invoice, check_payee, with_timeout, Backend, BackendError, BoxFuture};
use l402_backend::{Capabilities, Invoice, InvoiceRequest, LookupRef, Settlement};
use serde_json::json;

use crate::common::{now_unix, validate};
use crate::label::LabelGen;
use crate::reply::{hex32_field, parse_hex, str_field, u64_field};
use crate::rpc::RpcClient;
use crate::ClnConfig;

/// [`Backend::name`] of [`ClnBackend`].
pub const CLN_NAME: &str = "cln";

/// Largest difference accepted between `expires_at` as CLN reports it and as the BOLT11
/// says (timestamp + expiry), in seconds.
const EXPIRY_SLACK_SECS: u64 = 60;

/// Core Lightning backend over the lightning-rpc unix socket.
#[derive(Debug)]
pub struct ClnBackend {
    rpc: RpcClient,
    timeout: Duration,
    labels: LabelGen,
    /// The node id from `getinfo`: every invoice must be signed by it.
    node_id: Mutex<Option<[u8; 33]>>,
}

impl ClnBackend {
    /// A backend for `config`. Opens no socket: the first call connects.
    pub fn new(config: ClnConfig) -> ClnBackend {
        ClnBackend {
            rpc: RpcClient::new(config.rpc_file, config.pool_size),
            timeout: config.timeout,
            labels: LabelGen::new(),
            node_id: Mutex::new(None),
        }
    }

    /// The JSON-RPC client (for callers that need another CLN command).
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The node id: remembered from an earlier `getinfo` unless `refresh`, else asked
    /// with `getinfo` -> `id` (CLN `doc/schemas/getinfo.json`: the node's public key, hex).
    async fn node_id(&self, refresh: bool) -> Result<[u8; 33], BackendError> {
        if !refresh {
            if let Some(id) = *self.node_id.lock().unwrap_or_else(PoisonError::into_inner) {
                return Ok(id);
            }
        }
        let invalid = |cause: String| BackendError::InvalidReply {
            backend: CLN_NAME,
            cause,
        };
        let info = self
            .rpc
            .call("getinfo", json!({}))
            .await
            .map_err(|e| e.into_backend_error(CLN_NAME))?;
        let id = parse_hex::<33>(str_field(&info, "id").map_err(invalid)?)
            .ok_or_else(|| invalid("getinfo id is not a 33-byte hex public key".to_owned()))?;
        *self.node_id.lock().unwrap_or_else(PoisonError::into_inner) = Some(id);
        Ok(id)
    }

    /// Checks that `bolt11` is signed by the node. Without a BOLT11 `n` field the payee is
    /// recovered from the signature, so this is what catches an invoice signed by any
    /// other key. On a mismatch the node id is asked again once (the socket may now lead
    /// to another node).
    async fn check_signer(&self, bolt11: &str) -> Result<(), BackendError> {
        let id = self.node_id(false).await?;
        if check_payee(CLN_NAME, bolt11, &id).is_ok() {
            return Ok(());
        }
        let fresh = self.node_id(true).await?;
        check_payee(CLN_NAME, bolt11, &fresh)
    }

    /// `invoice {amount_msat, label, description, expiry}` (CLN `doc/schemas/invoice.json`)
    /// -> `{bolt11, payment_hash, expires_at, …}`, verified with [`check_invoice`] and signed
    /// by the node (`getinfo` id).
    async fn create(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        let invalid = |cause: String| BackendError::InvalidReply {
            backend: CLN_NAME,
            cause,
        };
        validate(CLN_NAME, &req)?;
        let params = json!({
            "amount_msat": req.amount_msat,
            "label": self.labels.next_label(),
            "description": req.memo,
            "expiry": req.expiry_secs,
        });
        let now = now_unix();
        let result = self
            .rpc
            .call("invoice", params)
            .await
            .map_err(|e| e.into_backend_error(CLN_NAME))?;
        let bolt11 = str_field(&result, "bolt11").map_err(invalid)?;
        let hash = hex32_field(&result, "payment_hash").map_err(invalid)?;
        let invoice = check_invoice(CLN_NAME, bolt11, &req, Some(hash), now)?;
        self.check_signer(bolt11).await?;
        let expires_at = u64_field(&result, "expires_at").map_err(invalid)?;
        if expires_at.abs_diff(invoice.expires_at_unix) > EXPIRY_SLACK_SECS {
            return Err(invalid(format!(
                "expires_at {expires_at} disagrees with the invoice ({})",
                invoice.expires_at_unix
            )));
        }
        Ok(invoice)
    }
}

impl Backend for ClnBackend {
    fn name(&self) -> &'static str {
        CLN_NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(with_timeout(CLN_NAME, self.timeout, self.create(req)))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        Box::pin(with_timeout(
            CLN_NAME,
            self.timeout,
            crate::common::lookup(CLN_NAME, &self.rpc, payment_hash),
        ))
    }
}
