//! The built-in fake backend (`l402-fake`): real signed BOLT11 invoices nobody can pay on a
//! real network; its wallet is `l402_fake_pay`.

use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use l402_backend::Backend;
use l402_fake::{FakeBackend, FakeConfig, FakeNetwork, FakeSecret};
use ngx::ffi::ngx_conf_t;

use super::{shown, Directive, Entry, Load, Loaded};
use crate::ffi::parse_time;

pub const ENTRY: Entry = Entry {
    name: l402_fake::NAME,
    env: &[],
    directives: &[
        Directive { name: c"l402_fake_delay", parse: delay },
        Directive { name: c"l402_fake_network", parse: network },
    ],
    load: Some(load),
    start_warning: Some(
        "l402: the FAKE payment backend is active: its invoices cannot be paid on any \
         real network and anyone can get a preimage from l402_fake_pay; \
         never use it in production",
    ),
};

/// `l402_fake_delay time`: kept as milliseconds.
fn delay(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let ms = parse_time(v.as_bytes(), false)
        .ok_or_else(|| format!("must be a time such as 500ms or 10s, not \"{}\"", shown(v)))?;
    if Duration::from_millis(ms) > Duration::from_secs(300) {
        return Err("must be at most 300s".into());
    }
    Ok(ms.to_string())
}

fn network(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    match v.to_ascii_lowercase().as_str() {
        n @ ("regtest" | "testnet") => Ok(n.to_owned()),
        _ => Err(format!("must be \"regtest\" or \"testnet\", not \"{}\"", shown(v))),
    }
}

/// The fake backend's settings; its node secret also serves `l402_fake_pay`.
pub struct FakeSettings {
    pub secret: FakeSecret,
    delay: Duration,
    network: FakeNetwork,
}

/// This worker's fake backend, once built: `l402_fake_pay` records its payments there, so
/// payment detection (`l402_auto_detect_payment`, the payment page's poll) sees them. Each
/// worker remembers only the invoices it issued or was asked to pay.
static WORKER_BACKEND: Mutex<Option<Arc<FakeBackend>>> = Mutex::new(None);

/// The fake backend this worker built, if any.
pub fn worker_backend() -> Option<Arc<FakeBackend>> {
    WORKER_BACKEND.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

impl Loaded for FakeSettings {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        let backend = Arc::new(FakeBackend::new(
            self.secret.clone(),
            FakeConfig { delay: self.delay, network: self.network, ..FakeConfig::default() },
        ));
        *WORKER_BACKEND.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&backend));
        Ok(backend)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let delay = l.directive("l402_fake_delay").and_then(|ms| ms.parse().ok()).map(Duration::from_millis);
    let network = match l.directive("l402_fake_network") {
        Some("testnet") => FakeNetwork::Testnet,
        _ => FakeNetwork::Regtest,
    };
    Ok(Box::new(FakeSettings {
        secret: FakeSecret::generate().map_err(|e| format!("cannot create the fake backend's node key: {e}"))?,
        delay: delay.unwrap_or_default(),
        network,
    }))
}
