//! Test-only fault injection (cargo feature `faults`): lets the shared conformance suite's
//! fault checks ([`l402_backend::conformance::run_faults`]) run against the fake, which has
//! no peer to misbehave. Without the feature none of this is compiled and the fake behaves
//! exactly as in production.
//!
//! The fake "is" its own peer, so each [`Mode`] is simulated where a node's reply would
//! arrive: a slow peer sleeps, a down peer is `Unavailable`, and garbage or a wrong amount is
//! produced as a reply and then run through the same [`check_invoice`] every backend uses, so
//! the `InvalidReply` comes from the real check.

use std::sync::PoisonError;
use std::time::{SystemTime, UNIX_EPOCH};

use l402_backend::conformance::{GarbageKind, Mode, PeerControl};
use l402_backend::{check_invoice, BackendError, BoxFuture, Invoice, InvoiceRequest, Settlement};

use crate::{FakeBackend, NAME};

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn down() -> BackendError {
    BackendError::Unavailable {
        backend: NAME,
        cause: "simulated peer down (faults feature)".to_owned(),
    }
}

impl FakeBackend {
    /// The current simulated peer mode.
    pub fn fault_mode(&self) -> Mode {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the simulated peer mode.
    pub fn set_fault_mode(&self, mode: Mode) {
        *self.fault.lock().unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// `Some(reply)` when the mode replaces `create_invoice`'s normal reply.
    pub(crate) async fn faulty_create(
        &self,
        req: &InvoiceRequest,
    ) -> Option<Result<Invoice, BackendError>> {
        let now = now_unix();
        match self.fault_mode() {
            Mode::Normal => None,
            Mode::Slow(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Mode::Down => Some(Err(down())),
            Mode::Garbage(GarbageKind::Unparsable) => {
                Some(check_invoice(NAME, "lnbcrt1garbage", req, None, now))
            }
            Mode::Garbage(GarbageKind::NotJson) => Some(check_invoice(
                NAME,
                "<html>502 Bad Gateway</html>",
                req,
                None,
                now,
            )),
            Mode::Garbage(GarbageKind::WrongHash) => Some(self.create(req).and_then(|inv| {
                let mut other = inv.payment_hash;
                other[0] ^= 0xff;
                check_invoice(NAME, &inv.text, req, Some(other), now)
            })),
            Mode::WrongAmount => {
                let more = InvoiceRequest {
                    amount_msat: req.amount_msat.saturating_add(1),
                    ..req.clone()
                };
                Some(self.create(&more).and_then(|inv| {
                    check_invoice(NAME, &inv.text, req, Some(inv.payment_hash), now)
                }))
            }
        }
    }

    /// `Some(reply)` when the mode replaces `lookup_invoice`'s normal reply.
    pub(crate) async fn faulty_lookup(&self) -> Option<Result<Settlement, BackendError>> {
        match self.fault_mode() {
            Mode::Normal | Mode::WrongAmount => None,
            Mode::Slow(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Mode::Down => Some(Err(down())),
            Mode::Garbage(kind) => Some(Err(BackendError::InvalidReply {
                backend: NAME,
                cause: format!("simulated {kind:?} reply (faults feature)"),
            })),
        }
    }
}

impl PeerControl for FakeBackend {
    fn set_mode(&self, mode: Mode) -> BoxFuture<'_, ()> {
        self.set_fault_mode(mode);
        Box::pin(async {})
    }

    fn settle(&self, invoice: Invoice) -> BoxFuture<'_, Result<[u8; 32], String>> {
        let paid = self
            .pay_and_record(&invoice.text)
            .map_err(|e| e.to_string());
        Box::pin(async move { paid })
    }

    /// Everything but [`Mode::Slow`]: the fake never waits on a peer, so it has no timeout
    /// to show (a slow mode still delays its replies).
    fn supports(&self, mode: &Mode) -> bool {
        !matches!(mode, Mode::Slow(_))
    }
}
