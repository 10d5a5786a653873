//! Shared set-up: a test node in a fresh directory and an LndBackend pointed at it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use l402_lnd::{LndBackend, LndConfig};
use testnode_lnd::TestNode;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "l402-lnd-{tag}-{}-{n}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running test node, its directory and a backend configured for it.
pub struct Setup {
    pub node: TestNode,
    pub backend: LndBackend,
    pub dir: TempDir,
}

pub const TIMEOUT: Duration = Duration::from_secs(5);

pub fn config_for(node: &TestNode, timeout: Duration) -> LndConfig {
    LndConfig::load(&node.address(), node.macaroon_path(), node.cert_path())
        .unwrap()
        .with_timeout(timeout)
}

pub async fn setup_with_timeout(timeout: Duration) -> Setup {
    let dir = TempDir::new("node");
    let node = TestNode::start(dir.path(), 0).await.unwrap();
    let backend = LndBackend::new(config_for(&node, timeout));
    Setup { node, backend, dir }
}

pub async fn setup() -> Setup {
    setup_with_timeout(TIMEOUT).await
}
