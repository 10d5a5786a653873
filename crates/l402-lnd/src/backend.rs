//! [`LndBackend`]: the [`Backend`] trait over LND's `lnrpc.Lightning` gRPC service.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use l402_backend::{
    check_invoice, check_preimage, with_timeout, Backend, BackendError, BoxFuture, Capabilities,
    Invoice, InvoiceRequest, LookupRef, Settlement, MAX_INVOICE_AMOUNT_MSAT,
};
use tonic::transport::Channel;
use tonic::Code;

use crate::channel::LazyChannel;
use crate::proto::invoice::InvoiceState;
use crate::proto::lightning_client::LightningClient;
use crate::proto::{self, PaymentHash};
use crate::{status, LndConfig};

/// [`Backend::name`] of this backend.
/// [`Backend::name`] of [`LndBackend`].
pub const NAME: &str = "lnd";

/// Texts of LND's "no such invoice" errors from before it used `NOT_FOUND`
/// (`invoices.ErrInvoiceNotFound`, `ErrNoInvoicesCreated`).
const NOT_FOUND_TEXTS: [&str; 2] = ["unable to locate invoice", "there are no existing invoices"];

/// An LND node as a payment backend. Cheap to share (`Arc<dyn Backend>`); all calls share
/// one gRPC channel (HTTP/2 multiplexes them).
pub struct LndBackend {
    config: Arc<LndConfig>,
    channel: LazyChannel,
}

impl fmt::Debug for LndBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LndBackend {
    /// Makes a backend for `config`. Opens no socket and needs no runtime: the channel is
    /// made by the first call, inside the tokio runtime that runs it.
    pub fn new(config: LndConfig) -> LndBackend {
        let config = Arc::new(config);
        LndBackend {
            channel: LazyChannel::new(Arc::clone(&config)),
            config,
        }
    }

    /// The configuration this backend was made with.
    pub fn config(&self) -> &LndConfig {
        &self.config
    }

    /// Runs one RPC on the shared channel within the configured timeout; drops the channel
    /// if the call failed for a reason a new connection may cure.
    async fn call<T, F, Fut>(&self, rpc: F) -> Result<T, BackendError>
    where
        F: FnOnce(LightningClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<T, BackendError>>,
    {
        let (generation, channel) =
            self.channel
                .get()
                .map_err(|cause| BackendError::Unavailable {
                    backend: NAME,
                    cause,
                })?;
        let client = LightningClient::new(channel);
        let result = with_timeout(NAME, self.config.timeout, rpc(client)).await;
        if let Err(BackendError::Unavailable { .. } | BackendError::Timeout { .. }) = &result {
            self.channel.reset(generation);
        }
        result
    }

    /// `message` with the `macaroon` metadata LND authenticates with.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("macaroon", self.config.macaroon().clone());
        request
    }

    fn classify(&self, status: &tonic::Status) -> BackendError {
        status::classify(status, self.config.macaroon_hex(), self.config.timeout)
    }

    /// `AddInvoice(Invoice{value_msat, memo, expiry})`, then the reply checked with
    /// [`check_invoice`] (amount, `r_hash` = the invoice's payment hash, signature, expiry).
    async fn add_invoice(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        let rejected = |cause: &str| BackendError::Rejected {
            backend: NAME,
            cause: cause.to_owned(),
        };
        if req.amount_msat == 0 {
            // LND would issue an amount-less invoice ("value 0 = any amount").
            return Err(rejected("amount must be at least 1 msat"));
        }
        let value_msat = i64::try_from(req.amount_msat)
            .ok()
            .filter(|_| req.amount_msat <= MAX_INVOICE_AMOUNT_MSAT)
            .ok_or_else(|| rejected("amount too large for a BOLT11 invoice"))?;
        if req.expiry_secs == 0 {
            // LND would use its default of 86400 s, not what was asked.
            return Err(rejected("expiry must be at least 1 s"));
        }
        let invoice = proto::Invoice {
            memo: req.memo.clone(),
            value_msat,
            expiry: i64::from(req.expiry_secs),
            ..Default::default()
        };
        let request = self.request(invoice);
        let reply = self
            .call(|mut client| async move {
                client
                    .add_invoice(request)
                    .await
                    .map(tonic::Response::into_inner)
                    .map_err(|s| self.classify(&s))
            })
            .await?;
        let r_hash: [u8; 32] =
            reply
                .r_hash
                .as_slice()
                .try_into()
                .map_err(|_| BackendError::InvalidReply {
                    backend: NAME,
                    cause: format!("r_hash is {} bytes, not 32", reply.r_hash.len()),
                })?;
        check_invoice(NAME, &reply.payment_request, &req, Some(r_hash), now_unix())
    }

    /// `LookupInvoice(PaymentHash{r_hash})` -> the invoice's `state`.
    async fn lookup(&self, payment_hash: [u8; 32]) -> Result<Settlement, BackendError> {
        let request = self.request(PaymentHash {
            r_hash: payment_hash.to_vec(),
            ..Default::default()
        });
        let reply = self
            .call(|mut client| async move {
                match client.lookup_invoice(request).await {
                    Ok(reply) => Ok(Some(reply.into_inner())),
                    Err(s) if is_not_found(&s) => Ok(None),
                    Err(s) => Err(self.classify(&s)),
                }
            })
            .await?;
        match reply {
            None => Ok(Settlement::Unknown),
            Some(invoice) => settlement(&invoice, &payment_hash, now_unix()),
        }
    }
}

/// LND's "no such invoice": `NOT_FOUND`, or older nodes' `UNKNOWN` with its text.
fn is_not_found(status: &tonic::Status) -> bool {
    match status.code() {
        Code::NotFound => true,
        Code::Unknown => NOT_FOUND_TEXTS.iter().any(|t| status.message().contains(t)),
        _ => false,
    }
}

/// Reads an `Invoice` LND returned for `payment_hash` (lightning.proto `Invoice.state`:
/// OPEN, SETTLED, CANCELED, ACCEPTED). LND returns `r_preimage` for open invoices too (it
/// made the preimage), so only `state` tells whether it was paid.
fn settlement(
    invoice: &proto::Invoice,
    payment_hash: &[u8; 32],
    now_unix: u64,
) -> Result<Settlement, BackendError> {
    let invalid = |cause: String| BackendError::InvalidReply {
        backend: NAME,
        cause,
    };
    if !invoice.r_hash.is_empty() && invoice.r_hash.as_slice() != payment_hash.as_slice() {
        return Err(invalid(
            "invoice has another payment hash than asked for".to_owned(),
        ));
    }
    let state = InvoiceState::try_from(invoice.state)
        .map_err(|_| invalid(format!("unknown invoice state {}", invoice.state)))?;
    Ok(match state {
        InvoiceState::Open => {
            // LND cancels expired invoices in the background; until then they stay OPEN.
            let expires = invoice.creation_date.saturating_add(invoice.expiry);
            if invoice.creation_date > 0 && invoice.expiry > 0 && expires <= now_i64(now_unix) {
                Settlement::Expired
            } else {
                Settlement::Open
            }
        }
        // HTLCs held (hold invoice) but not settled: not paid yet.
        InvoiceState::Accepted => Settlement::Open,
        InvoiceState::Canceled => Settlement::Canceled,
        InvoiceState::Settled => {
            if invoice.r_preimage.is_empty() {
                Settlement::Settled { preimage: None }
            } else {
                let preimage: [u8; 32] =
                    invoice.r_preimage.as_slice().try_into().map_err(|_| {
                        invalid(format!(
                            "r_preimage is {} bytes, not 32",
                            invoice.r_preimage.len()
                        ))
                    })?;
                check_preimage(NAME, payment_hash, &preimage)?;
                Settlement::Settled {
                    preimage: Some(preimage),
                }
            }
        }
    })
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_i64(now_unix: u64) -> i64 {
    i64::try_from(now_unix).unwrap_or(i64::MAX)
}

impl Backend for LndBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(self.add_invoice(req))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        Box::pin(self.lookup(payment_hash))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use bitcoin::hashes::{sha256, Hash};

    const NOW: u64 = 1_800_000_000;

    fn invoice(state: InvoiceState, preimage: &[u8], hash: &[u8]) -> proto::Invoice {
        proto::Invoice {
            r_hash: hash.to_vec(),
            r_preimage: preimage.to_vec(),
            state: state as i32,
            creation_date: NOW as i64 - 10,
            expiry: 600,
            ..Default::default()
        }
    }

    #[test]
    fn states() {
        let pre = [5u8; 32];
        let hash = sha256::Hash::hash(&pre).to_byte_array();
        let s = |inv: proto::Invoice| settlement(&inv, &hash, NOW);
        // LND returns the preimage of open invoices too: still Open.
        assert_eq!(
            s(invoice(InvoiceState::Open, &pre, &hash)),
            Ok(Settlement::Open)
        );
        assert_eq!(
            s(invoice(InvoiceState::Accepted, &pre, &hash)),
            Ok(Settlement::Open)
        );
        assert_eq!(
            s(invoice(InvoiceState::Canceled, &pre, &hash)),
            Ok(Settlement::Canceled)
        );
        assert_eq!(
            s(invoice(InvoiceState::Settled, &pre, &hash)),
            Ok(Settlement::Settled {
                preimage: Some(pre)
            })
        );
        assert_eq!(
            s(invoice(InvoiceState::Settled, &[], &[])),
            Ok(Settlement::Settled { preimage: None })
        );
        let mut expired = invoice(InvoiceState::Open, &pre, &hash);
        expired.creation_date = NOW as i64 - 601;
        assert_eq!(s(expired), Ok(Settlement::Expired));
    }

    #[test]
    fn bad_replies() {
        let pre = [5u8; 32];
        let hash = sha256::Hash::hash(&pre).to_byte_array();
        let kind = |inv: proto::Invoice| settlement(&inv, &hash, NOW).unwrap_err().kind();
        assert_eq!(
            kind(invoice(InvoiceState::Settled, &[6; 32], &hash)),
            "invalid_reply"
        );
        assert_eq!(
            kind(invoice(InvoiceState::Settled, &[5; 31], &hash)),
            "invalid_reply"
        );
        assert_eq!(
            kind(invoice(InvoiceState::Open, &pre, &[1; 32])),
            "invalid_reply"
        );
        let mut odd = invoice(InvoiceState::Open, &pre, &hash);
        odd.state = 9;
        assert_eq!(kind(odd), "invalid_reply");
    }

    #[test]
    fn not_found_texts() {
        assert!(is_not_found(&tonic::Status::not_found("x")));
        assert!(is_not_found(&tonic::Status::unknown(
            "unable to locate invoice"
        )));
        assert!(!is_not_found(&tonic::Status::unknown("memo too large")));
    }
}
