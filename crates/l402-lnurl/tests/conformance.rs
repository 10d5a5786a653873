//! The shared conformance suite against LnurlBackend talking real HTTPS (LUD-06/16, LUD-21
//! verify) to testnode-lnurl, which trusts only the test server's throwaway CA.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use l402_backend::conformance::{self, Mode};
use l402_lnurl::{LnurlBackend, LnurlConfig, Network, Payee, Transport, TransportConfig};
use testnode_lnurl::TestNode;

const TIMEOUT: Duration = Duration::from_millis(400);

async fn node_and_backend() -> (TestNode, Arc<LnurlBackend>) {
    let node = TestNode::start_tls().await.unwrap();
    let ca = node.ca_pem().expect("a TLS test node has a CA").as_bytes().to_vec();
    let transport =
        Transport::new(&TransportConfig { ca_pem: Some(ca), allow_http: false, connect_timeout: TIMEOUT }).unwrap();
    let payee = Payee::parse(&node.lightning_address("conformance"), false).unwrap();
    let config = LnurlConfig { payee, network: Network::Regtest, document_ttl: Duration::from_secs(60), timeout: TIMEOUT };
    (node, Arc::new(LnurlBackend::new(config, transport)))
}

// run_all and settles_after_payment are not run: they expect the invoice to expire when the
// request asks (InvoiceRequest expiry), and LUD-06's callback has no expiry parameter, so the
// payee chooses it (testnode-lnurl: its own default).

#[tokio::test]
async fn lnurl_name_is_valid() {
    let (_node, backend) = node_and_backend().await;
    conformance::name_is_valid(backend.as_ref()).await.unwrap();
}

// run_faults is not run whole: its down_is_unavailable looks up a payment hash alone, which
// LNURL cannot ask about (LUD-21 gives a verify URL per invoice), so the backend answers
// Unknown there by design. Its timeout check applies as it is:
#[tokio::test]
async fn lnurl_times_out_against_slow_peer() {
    let (node, backend) = node_and_backend().await;
    conformance::times_out_against_slow_peer(backend.as_ref(), &node, TIMEOUT).await.unwrap();
    node.set_mode(Mode::Normal).await.unwrap();
}
