//! Eclair over its HTTP API (`l402-eclair`).

use std::any::Any;
use std::sync::Arc;

use l402_backend::Backend;
use l402_eclair::{ConfigError, EclairBackend, EclairConfig, Secret};
use ngx::ffi::ngx_conf_t;

use super::{existing_file, Directive, Entry, Load, Loaded, Sourced};

pub const ENTRY: Entry = Entry {
    name: l402_eclair::NAME,
    env: &["ECLAIR_ADDRESS", "ECLAIR_PASSWORD"],
    directives: &[
        Directive { name: c"l402_eclair_address", parse: address },
        Directive { name: c"l402_eclair_password_file", parse: password_file },
    ],
    load: Some(load),
    start_warning: None,
};

fn address(_: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    if v.contains('@') {
        // Never echo a URL that may embed a password.
        return Err("must not contain user info: put the password in \"l402_eclair_password_file\"".into());
    }
    EclairConfig::load(v, Secret::new("x")).map_err(|e| e.to_string())?;
    Ok(v.trim().to_owned())
}

/// The password itself is never echoed: errors name the file only.
fn password_file(cf: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let path = existing_file(cf, v)?;
    EclairConfig::password_from_file(&path).map_err(|e| e.to_string())?;
    Ok(path)
}

struct Eclair(EclairConfig);

impl Loaded for Eclair {
    fn build(&self) -> Result<Arc<dyn Backend>, String> {
        Ok(Arc::new(EclairBackend::new(self.0.clone()).map_err(|e| e.to_string())?))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn load(l: &Load<'_>) -> Result<Box<dyn Loaded>, String> {
    let address = l.setting("l402_eclair_address", "ECLAIR_ADDRESS").unwrap_or(Sourced {
        value: l402_eclair::DEFAULT_ADDRESS.to_owned(),
        from: "the default Eclair address".to_owned(),
    });
    let (password, pw_from) = match l.directive("l402_eclair_password_file") {
        Some(path) => (
            EclairConfig::password_from_file(path)
                .map_err(|e| format!("\"l402_eclair_password_file\": {e}"))?,
            "\"l402_eclair_password_file\"",
        ),
        // The seed's variable is taken as it is (a password may end in a space).
        None => match std::env::var("ECLAIR_PASSWORD") {
            Ok(p) if !p.is_empty() => (Secret::new(p), "environment variable ECLAIR_PASSWORD"),
            _ => {
                return Err("the eclair backend needs \"l402_eclair_password_file\" or the \
                            environment variable ECLAIR_PASSWORD"
                    .into())
            }
        },
    };
    let config = EclairConfig::load(&address.value, password)
        .map_err(|e| {
            let from = match &e {
                ConfigError::Password(_) => pw_from,
                _ => address.from.as_str(),
            };
            format!("{from}: {e}")
        })?
        .with_timeout(l.timeout);
    // Built once here only to fail `nginx -t` if TLS cannot be set up (no I/O); each worker
    // builds its own after fork.
    EclairBackend::new(config.clone()).map_err(|e| format!("{}: {e}", address.from))?;
    Ok(Box::new(Eclair(config)))
}
