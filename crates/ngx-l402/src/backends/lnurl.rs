//! LNURL-pay / Lightning Address (`l402-lnurl`): the default payee (`LNURL_ADDRESS`,
//! `l402_lnurl_address`) and the transport settings every LNURL payee of the `http {}` block
//! uses, including the per-location payees of `l402_lnurl_addr` (`crate::payees`).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use l402_backend::Backend;
use l402_lnurl::{LnurlBackend, LnurlConfig, Network, Payee, TransportConfig, DEFAULT_DOCUMENT_TTL};
use ngx::ffi::{ngx_conf_t, NGX_LOG_WARN};

use super::{existing_file, shown, Directive, Entry, Load, Loaded, Values};

pub const ENTRY: Entry = Entry {
    name: l402_lnurl::NAME,
    env: &["LNURL_ADDRESS", "LNURL_NETWORK"],
    directives: &[
        Directive { name: c"l402_lnurl_address", parse: address },
        Directive { name: c"l402_lnurl_network", parse: network },
        Directive { name: c"l402_lnurl_ca_file", parse: ca_file },
        Directive { name: c"l402_lnurl_allow_http", parse: allow_http },
        Directive { name: c"l402_lnurl_document_ttl", parse: document_ttl },
    ],
    load: Some(load),
    start_warning: None,
};

/// Syntax only: whether `http://` is allowed is known when the block ends ([`shared`]).
fn address(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    Payee::parse(v, true).map_err(|e| e.to_string())?;
    Ok(v.trim().to_owned())
}

fn network(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    Network::parse(v)
        .map(|_| v.trim().to_owned())
        .ok_or_else(|| format!("must be mainnet, testnet, signet or regtest, not \"{}\"", shown(v)))
}

fn ca_file(cf: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let path = existing_file(cf, v)?;
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read it: {e}"))?;
    l402_lnurl::Transport::new(&TransportConfig { ca_pem: Some(pem), ..Default::default() })?;
    Ok(path)
}

fn allow_http(cf: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => {
            crate::ffi::conf_log(
                cf,
                NGX_LOG_WARN,
                "l402: \"l402_lnurl_allow_http on\": LNURL payees may be reached over plain HTTP, \
                 where anyone on the path can swap the invoices; use it for tests and private \
                 networks only",
            );
            Ok("on".into())
        }
        "off" => Ok("off".into()),
        _ => Err(format!("must be \"on\" or \"off\", not \"{}\"", shown(v))),
    }
}

fn document_ttl(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let secs = crate::ffi::parse_time(v.as_bytes(), true)
        .filter(|s| (1..=86_400).contains(s))
        .ok_or_else(|| format!("must be a time from 1s to 1d, not \"{}\"", shown(v)))?;
    Ok(secs.to_string())
}

/// What every LNURL payee of the block shares: transport, network, document lifetime.
#[derive(Clone, Debug)]
pub struct Shared {
    pub transport: TransportConfig,
    pub network: Network,
    pub document_ttl: Duration,
    pub timeout: Duration,
}

impl Shared {
    pub fn allow_http(&self) -> bool {
        self.transport.allow_http
    }

    /// A payee written in the configuration, checked against the transport settings.
    pub fn payee(&self, text: &str) -> Result<Payee, String> {
        Payee::parse(text, self.allow_http()).map_err(|e| e.to_string())
    }

    pub fn config(&self, payee: Payee) -> LnurlConfig {
        LnurlConfig { payee, network: self.network, document_ttl: self.document_ttl, timeout: self.timeout }
    }
}

/// The shared LNURL settings of an `http {}` block (defaults when no directive is given):
/// mainnet, public CA roots only, no plain HTTP, a 5-minute document lifetime.
pub fn shared(values: &Values, timeout: Duration) -> Result<Shared, String> {
    let ca_pem = match values.get("l402_lnurl_ca_file") {
        Some(path) => Some(std::fs::read(path).map_err(|e| format!("\"l402_lnurl_ca_file\": cannot read it: {e}"))?),
        None => None,
    };
    let allow_http = values.get("l402_lnurl_allow_http").is_some_and(|v| v == "on");
    let network = match values.get("l402_lnurl_network").cloned().or_else(|| crate::conf::env::var("LNURL_NETWORK")) {
        Some(v) => Network::parse(&v).ok_or_else(|| {
            format!("LNURL network \"{}\" is not mainnet, testnet, signet or regtest", shown(&v))
        })?,
        None => Network::Bitcoin,
    };
    let document_ttl = values
        .get("l402_lnurl_document_ttl")
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_DOCUMENT_TTL, Duration::from_secs);
    Ok(Shared {
        transport: TransportConfig { ca_pem, allow_http, connect_timeout: timeout },
        network,
        document_ttl,
        timeout,
    })
}

/// The default payee (the backend named `lnurl`).
struct Lnurl {
    shared: Shared,
    payee: Payee,
    shown: Arc<str>,
}

/// How logs name the block's LNURL payee, when the block's only backend is `lnurl`.
pub fn default_payee(backends: &[super::Configured]) -> Option<Arc<str>> {
    match backends {
        [only] => only.settings.as_any().downcast_ref::<Lnurl>().map(|l| Arc::clone(&l.shown)),
        _ => None,
    }
}

impl Loaded for Lnurl {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        let transport = crate::payees::transport(&self.shared)?;
        Ok(Arc::new(LnurlBackend::new(self.shared.config(self.payee.clone()), transport)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let address = l.required("lnurl", "l402_lnurl_address", "LNURL_ADDRESS")?;
    let shared = shared(l.values, l.timeout)?;
    let payee = shared.payee(&address.value).map_err(|e| format!("{}: payee {e}", address.from))?;
    let shown = payee.shown().into();
    Ok(Box::new(Lnurl { shared, payee, shown }))
}
