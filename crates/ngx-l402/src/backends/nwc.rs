//! Nostr Wallet Connect (NIP-47) through a relay (`l402-nwc`): `LN_CLIENT_TYPE=NWC` with the
//! seed's `NWC_URI`, or `l402_nwc_uri_file` (a file holding the URI, since it carries the
//! client secret). The URI is checked at `nginx -t`; no message ever holds the secret.

use std::any::Any;
use std::sync::Arc;

use l402_backend::Backend;
use l402_nwc::{NwcBackend, NwcConfig};
use ngx::ffi::ngx_conf_t;

use super::{existing_file, Directive, Entry, Load, Loaded};

pub const ENTRY: Entry = Entry {
    name: l402_nwc::NAME,
    env: &["NWC_URI"],
    directives: &[Directive { name: c"l402_nwc_uri_file", parse: uri_file }],
    load: Some(load),
    start_warning: None,
};

/// The file must hold a valid URI; errors name the file, never its content.
fn uri_file(cf: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let path = existing_file(cf, v)?;
    NwcConfig::from_file(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

struct Nwc(NwcConfig);

impl Loaded for Nwc {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(NwcBackend::new(self.0.clone()).map_err(|e| e.to_string())?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let config = match l.directive("l402_nwc_uri_file") {
        Some(path) => NwcConfig::from_file(path).map_err(|e| format!("\"l402_nwc_uri_file\": {e}"))?,
        None => match crate::conf::env::var("NWC_URI") {
            Some(uri) => NwcConfig::parse(&uri).map_err(|e| format!("environment variable NWC_URI: {e}"))?,
            None => {
                return Err("the nwc backend needs \"l402_nwc_uri_file\" or the environment variable NWC_URI".into())
            }
        },
    }
    .with_timeout(l.timeout);
    // Built once here only to fail `nginx -t` early (no I/O: the relay is reached after fork).
    NwcBackend::new(config.clone()).map_err(|e| format!("NWC: {e}"))?;
    Ok(Box::new(Nwc(config)))
}
