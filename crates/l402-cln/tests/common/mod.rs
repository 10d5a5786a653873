//! Shared set-up: a testnode-cln on a fresh socket and backends wired to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use l402_backend::{Backend, BackendError, InvoiceRequest};
use l402_cln::{Bolt12Backend, Bolt12Config, ClnBackend, ClnConfig};
use testnode_cln::TestNode;

/// A test node in its own temporary directory (removed when dropped, after the node).
pub struct Setup {
    pub node: TestNode,
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub async fn start() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let node = TestNode::start(dir.path().join("lightning-rpc"))
            .await
            .unwrap();
        Setup { node, dir }
    }

    pub fn config(&self, timeout: Duration) -> ClnConfig {
        ClnConfig::load(self.node.socket_path())
            .unwrap()
            .with_timeout(timeout)
            .unwrap()
    }

    pub fn cln(&self) -> ClnBackend {
        ClnBackend::new(self.config(Duration::from_secs(5)))
    }

    pub fn cln_with_timeout(&self, timeout: Duration) -> ClnBackend {
        ClnBackend::new(self.config(timeout))
    }

    pub fn bolt12(&self) -> Bolt12Backend {
        let mut c = Bolt12Config::load(&self.node.offer(), self.node.socket_path()).unwrap();
        c.cln.timeout = Duration::from_secs(5);
        Bolt12Backend::new(c)
    }
}

pub fn req(amount_msat: u64) -> InvoiceRequest {
    InvoiceRequest {
        amount_msat,
        memo: "l402 cln test".to_owned(),
        expiry_secs: 600,
    }
}

/// Retries `create_invoice` until it succeeds or `within` passes (the node rebinds its
/// socket asynchronously after a mode change).
pub async fn eventually_creates(
    backend: &dyn Backend,
    within: Duration,
) -> Result<(), BackendError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match backend.create_invoice(req(1_000)).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
