//! A testnode-lnurl payee over HTTPS and an `LnurlBackend` that trusts only its throwaway CA.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use l402_lnurl::{LnurlBackend, LnurlConfig, Network, Payee, Transport, TransportConfig};
use testnode_lnurl::TestNode;

/// Backend timeout of the tests: short, so that slow payees fail fast.
pub const TIMEOUT: Duration = Duration::from_millis(800);

/// An HTTPS test payee.
pub async fn node() -> TestNode {
    TestNode::start_tls().await.expect("testnode-lnurl starts")
}

pub fn transport(node: &TestNode, timeout: Duration) -> Transport {
    let ca = node.ca_pem().expect("a TLS test node has a CA").as_bytes().to_vec();
    Transport::new(&TransportConfig { ca_pem: Some(ca), allow_http: false, connect_timeout: timeout })
        .expect("the test CA is usable")
}

/// The backend paying `user` of `node` (regtest), with `ttl` as the payRequest lifetime.
pub fn backend_with(node: &TestNode, user: &str, ttl: Duration, timeout: Duration) -> Arc<LnurlBackend> {
    let payee = Payee::parse(&node.lightning_address(user), false).expect("a valid Lightning Address");
    let config = LnurlConfig { payee, network: Network::Regtest, document_ttl: ttl, timeout };
    Arc::new(LnurlBackend::new(config, transport(node, timeout)))
}

pub fn backend(node: &TestNode, user: &str) -> Arc<LnurlBackend> {
    backend_with(node, user, Duration::from_secs(60), TIMEOUT)
}
