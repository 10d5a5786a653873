//! LND over gRPC (`l402-lnd`): TLS with the node's pinned certificate, a macaroon.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use l402_backend::Backend;
use l402_lnd::{ConfigError, LndBackend, LndConfig};
use ngx::ffi::ngx_conf_t;

use super::{existing_file, Directive, Entry, Load, Loaded};

pub const ENTRY: Entry = Entry {
    name: l402_lnd::NAME,
    env: &["LND_ADDRESS", "MACAROON_FILE_PATH", "CERT_FILE_PATH"],
    directives: &[
        Directive { name: c"l402_lnd_address", parse: address },
        Directive { name: c"l402_lnd_macaroon_file", parse: existing_file },
        Directive { name: c"l402_lnd_cert_file", parse: existing_file },
    ],
    load: Some(load),
    start_warning: None,
};

/// `host:port` (`[::1]:10009` for IPv6); checked with the other settings by [`load`].
fn address(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    if v.trim().is_empty() {
        return Err("needs a host:port".into());
    }
    Ok(v.trim().to_owned())
}

struct Lnd(LndConfig);

impl Loaded for Lnd {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(LndBackend::new(self.0.clone())))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Files exist and parse, the address parses. The macaroon is never part of a message.
fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let address = l.required("lnd", "l402_lnd_address", "LND_ADDRESS")?;
    let macaroon = l.required("lnd", "l402_lnd_macaroon_file", "MACAROON_FILE_PATH")?;
    let cert = l.required("lnd", "l402_lnd_cert_file", "CERT_FILE_PATH")?;
    let config = LndConfig::load(&address.value, Path::new(&macaroon.value), Path::new(&cert.value))
        .map_err(|e| {
            let from = match &e {
                ConfigError::Address { .. } => &address.from,
                ConfigError::Macaroon { .. } => &macaroon.from,
                ConfigError::Cert { .. } => &cert.from,
            };
            format!("{from}: {e}")
        })?;
    Ok(Box::new(Lnd(config.with_timeout(l.timeout))))
}
