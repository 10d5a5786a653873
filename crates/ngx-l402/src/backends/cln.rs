//! Core Lightning over its JSON-RPC unix socket (`l402-cln`), BOLT11 invoices.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use l402_backend::Backend;
use l402_cln::{ClnBackend, ClnConfig};

use super::{existing_file, Directive, Entry, Load, Loaded, Sourced};

pub const ENTRY: Entry = Entry {
    name: l402_cln::CLN_NAME,
    env: &["CLN_LIGHTNING_RPC_FILE_PATH"],
    directives: &[RPC_FILE],
    load: Some(load),
    start_warning: None,
};

/// `l402_cln_rpc_file`: also read by the `bolt12` backend, which talks to the same node.
pub const RPC_FILE: Directive = Directive { name: c"l402_cln_rpc_file", parse: existing_file };

/// The socket path, from the directive or `CLN_LIGHTNING_RPC_FILE_PATH`.
pub fn rpc_file(l: &Load<'_>, backend: &str) -> Result<Sourced, String> {
    l.required(backend, "l402_cln_rpc_file", "CLN_LIGHTNING_RPC_FILE_PATH")
}

struct Cln(ClnConfig);

impl Loaded for Cln {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(ClnBackend::new(self.0.clone())))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let rpc = rpc_file(l, "cln")?;
    let config = ClnConfig::load(Path::new(&rpc.value))
        .and_then(|c| c.with_timeout(l.timeout))
        .map_err(|e| format!("{}: {e}", rpc.from))?;
    Ok(Box::new(Cln(config)))
}
