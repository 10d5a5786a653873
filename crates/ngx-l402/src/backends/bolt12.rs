//! BOLT12 (`l402-cln`): a fresh invoice per challenge fetched from the node's own offer
//! (BOLT 12, "Offers"), through Core Lightning.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use l402_backend::Backend;
use l402_cln::{Bolt12Backend, Bolt12Config, ConfigError};
use ngx::ffi::ngx_conf_t;

use super::{cln, Directive, Entry, Load, Loaded};

pub const ENTRY: Entry = Entry {
    name: l402_cln::BOLT12_NAME,
    env: &["BOLT12_OFFER", "CLN_LIGHTNING_RPC_FILE_PATH"],
    // `l402_cln_rpc_file` belongs to the cln entry; this one reads it too.
    directives: &[Directive { name: c"l402_bolt12_offer", parse: offer }],
    load: Some(load),
    start_warning: None,
};

fn offer(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    l402_cln::bolt12::check_offer(v.trim()).map_err(|e| format!("is not a usable BOLT12 offer: {e}"))?;
    Ok(v.trim().to_owned())
}

struct Bolt12(Bolt12Config);

impl Loaded for Bolt12 {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(Bolt12Backend::new(self.0.clone())))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let offer = l.required("bolt12", "l402_bolt12_offer", "BOLT12_OFFER")?;
    let rpc = cln::rpc_file(l, "bolt12")?;
    let mut config = Bolt12Config::load(&offer.value, Path::new(&rpc.value)).map_err(|e| {
        let from = match &e {
            ConfigError::BadOffer(_) => &offer.from,
            _ => &rpc.from,
        };
        format!("{from}: {e}")
    })?;
    config.cln = config.cln.with_timeout(l.timeout).map_err(|e| e.to_string())?;
    Ok(Box::new(Bolt12(config)))
}
