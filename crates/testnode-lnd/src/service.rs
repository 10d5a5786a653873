//! `lnrpc.Lightning` `AddInvoice` and `LookupInvoice` with LND's semantics (lnd
//! `rpcserver.go` and `lnrpc/invoicesrpc/addinvoice.go`), bent by the current [`Mode`], and
//! the macaroon check LND's interceptor does.

// tonic's interceptor and handler signatures return `tonic::Status` by value.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex, MutexGuard};

use tonic::{Request, Response, Status};

use crate::proto::invoice::InvoiceState;
use crate::proto::lightning_server::Lightning;
use crate::proto::{AddInvoiceResponse, Invoice, PaymentHash};
use crate::store::{self, NewInvoice, State, Store, Stored};
use crate::Mode;

/// What the RPC handlers, the control API and the listener share.
pub(crate) struct NodeState {
    pub(crate) store: Mutex<Store>,
    pub(crate) mode: Mutex<Mode>,
}

impl NodeState {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The gRPC service.
#[derive(Clone)]
pub(crate) struct Service {
    pub(crate) state: Arc<NodeState>,
}

/// LND's interceptor: the `macaroon` metadata must hold the hex of the node's macaroon.
/// LND answers a missing or wrong macaroon with an error before the handler runs; here the
/// code is `UNAUTHENTICATED`.
pub(crate) fn macaroon_check(
    expected_hex: Arc<str>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |request: Request<()>| {
        let given = request
            .metadata()
            .get_all("macaroon")
            .iter()
            .collect::<Vec<_>>();
        match given.as_slice() {
            [one] if one.as_bytes().eq_ignore_ascii_case(expected_hex.as_bytes()) => Ok(request),
            [_] => Err(Status::unauthenticated(
                "verification failed: signature mismatch after caveat verification",
            )),
            many => Err(Status::unauthenticated(format!(
                "expected 1 macaroon, got {}",
                many.len()
            ))),
        }
    }
}

fn err(text: impl Into<String>) -> Status {
    // LND returns its own refusals as plain errors, which gRPC sends as UNKNOWN.
    Status::unknown(text)
}

impl Service {
    async fn delay(&self) {
        if let Mode::Slow(d) = self.state.mode() {
            tokio::time::sleep(d).await;
        }
    }

    /// Checks an `AddInvoice` request like LND's `invoicesrpc.AddInvoice`.
    fn validate(inv: &Invoice) -> Result<NewInvoice, Status> {
        if inv.value != 0 && inv.value_msat != 0 {
            return Err(err("sat and msat arguments are mutually exclusive"));
        }
        let value_msat = if inv.value != 0 {
            inv.value.checked_mul(1000)
        } else {
            Some(inv.value_msat)
        };
        let value_msat = match value_msat.map(u64::try_from) {
            Some(Ok(v)) => v,
            _ => return Err(err("payment of negative value is not allowed")),
        };
        if value_msat > u64::MAX / 10 {
            return Err(err(format!("payment of {value_msat} msat is too large")));
        }
        if inv.memo.len() > store::MAX_MEMO_LEN {
            return Err(err(format!(
                "memo too large: {} bytes (maxsize={})",
                inv.memo.len(),
                store::MAX_MEMO_LEN
            )));
        }
        let description_hash = match inv.description_hash.len() {
            0 => None,
            32 => <[u8; 32]>::try_from(inv.description_hash.as_slice()).ok(),
            n => return Err(err(format!("description hash is {n} bytes, must be 32"))),
        };
        let expiry = match u64::try_from(inv.expiry) {
            Ok(0) => store::DEFAULT_EXPIRY_SECS,
            Ok(e) => e,
            Err(_) => return Err(err("expiry must be positive")),
        };
        let cltv_expiry = match inv.cltv_expiry {
            0 => store::DEFAULT_CLTV_EXPIRY,
            c => c,
        };
        Ok(NewInvoice {
            value_msat,
            memo: inv.memo.clone(),
            description_hash,
            expiry,
            cltv_expiry,
        })
    }
}

/// The `Invoice` message LND's `invoicesrpc.CreateRPCInvoice` makes from a stored invoice.
/// LND includes `r_preimage` whatever the state (it made the preimage).
fn to_rpc(inv: &Stored, now: u64) -> Invoice {
    let state = match inv.state_at(now) {
        State::Open => InvoiceState::Open,
        State::Settled => InvoiceState::Settled,
        State::Canceled => InvoiceState::Canceled,
    };
    let i64_of = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    #[allow(deprecated)]
    Invoice {
        memo: inv.memo.clone(),
        r_preimage: inv.preimage.to_vec(),
        r_hash: inv.hash.to_vec(),
        value: i64_of(inv.value_msat / 1000),
        value_msat: i64_of(inv.value_msat),
        settled: state == InvoiceState::Settled,
        creation_date: i64_of(inv.creation_date),
        settle_date: i64_of(inv.settle_date),
        payment_request: inv.payment_request.clone(),
        description_hash: inv.description_hash.clone(),
        expiry: i64_of(inv.expiry),
        cltv_expiry: inv.cltv_expiry,
        add_index: inv.add_index,
        settle_index: inv.settle_index,
        amt_paid: i64_of(inv.amt_paid_msat),
        amt_paid_sat: i64_of(inv.amt_paid_msat / 1000),
        amt_paid_msat: i64_of(inv.amt_paid_msat),
        state: state as i32,
        payment_addr: inv.payment_addr.to_vec(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Lightning for Service {
    /// `AddInvoice(Invoice) -> AddInvoiceResponse{r_hash, payment_request, add_index,
    /// payment_addr}`.
    async fn add_invoice(
        &self,
        request: Request<Invoice>,
    ) -> Result<Response<AddInvoiceResponse>, Status> {
        self.delay().await;
        let new = Self::validate(request.get_ref())?;
        let mode = self.state.mode();
        let invoice_msat = match mode {
            Mode::WrongAmount => new.value_msat.saturating_add(1000),
            _ => new.value_msat,
        };
        let stored = self.state.store().add(&new, invoice_msat).map_err(err)?;
        let mut reply = AddInvoiceResponse {
            r_hash: stored.hash.to_vec(),
            payment_request: stored.payment_request,
            add_index: stored.add_index,
            payment_addr: stored.payment_addr.to_vec(),
        };
        match mode {
            Mode::WrongHash => reply.r_hash[0] ^= 0xff,
            Mode::Garbage => reply.payment_request = "lnbcrt1this-is-not-bolt11".to_owned(),
            _ => {}
        }
        Ok(Response::new(reply))
    }

    /// `LookupInvoice(PaymentHash) -> Invoice`; `NOT_FOUND` "unable to locate invoice".
    async fn lookup_invoice(
        &self,
        request: Request<PaymentHash>,
    ) -> Result<Response<Invoice>, Status> {
        self.delay().await;
        let req = request.get_ref();
        #[allow(deprecated)]
        let hash = if req.r_hash_str.is_empty() {
            req.r_hash.clone()
        } else {
            hex::decode(&req.r_hash_str).map_err(|e| err(e.to_string()))?
        };
        let hash = <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| {
            err(format!(
                "payment hash must be exactly 32 bytes, is instead {}",
                hash.len()
            ))
        })?;
        let mut reply = match self.state.store().get(&hash) {
            Some(inv) => to_rpc(inv, store::now_unix()),
            None => return Err(Status::not_found("unable to locate invoice")),
        };
        match self.state.mode() {
            Mode::WrongHash => reply.r_hash[0] ^= 0xff,
            Mode::Garbage => reply.state = 99,
            Mode::WrongPreimage if reply.state == InvoiceState::Settled as i32 => {
                reply.r_preimage[0] ^= 0xff;
            }
            _ => {}
        }
        Ok(Response::new(reply))
    }
}
