//! The backend registry: one entry per payment backend, the only place that names them.
//!
//! An [`Entry`] says everything the module needs to know about a backend: its name as operators
//! write it (`l402_backend lnd`, `LN_CLIENT_TYPE=LND`), the seed's environment variables it
//! reads, its `l402_*` directives and how each argument is checked while nginx parses the
//! configuration, how its settings are loaded and validated when the `http {}` block ends (so
//! `nginx -t` fails on them), and how a worker builds it after fork. The directive table
//! (`conf/directives.rs`), the `l402_backend` and `LN_CLIENT_TYPE` parsers, their error messages
//! and the worker start (`worker.rs`) all read [`BACKENDS`].
//!
//! Adding a backend: write its crate (a [`l402_backend::Backend`] that passes
//! `l402_backend::conformance`), add a file here with its `ENTRY`, and list it in [`BACKENDS`].

mod bolt12;
mod cln;
mod eclair;
pub(crate) mod fake;
mod lnd;
mod nwc;
pub mod lnurl;

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::Arc;
use std::time::Duration;

use l402_backend::Backend;
use ngx::ffi::ngx_conf_t;

pub use fake::FakeSettings;

/// Every backend this build knows, in the seed's order (it is the order of the names in
/// error messages). Entries without [`Entry::load`] are planned, not built yet.
pub static BACKENDS: &[Entry] = &[
    lnd::ENTRY,
    cln::ENTRY,
    eclair::ENTRY,
    lnurl::ENTRY,
    nwc::ENTRY,
    bolt12::ENTRY,
    Entry::planned("lnc"),
    fake::ENTRY,
];

/// One backend.
pub struct Entry {
    /// Lowercase, as in `l402_backend`; `LN_CLIENT_TYPE` takes it in any case. Also the
    /// name its [`Backend::name`] reports.
    pub name: &'static str,
    /// The seed's environment variables its settings may come from (directives win).
    pub env: &'static [&'static str],
    /// Its directives (context `http`, one argument each).
    pub directives: &'static [Directive],
    /// Loads and validates its settings when the `http {}` block ends (`nginx -t`); `None`
    /// for a backend this build does not provide yet.
    pub load: Option<LoadFn>,
    /// Logged at `warn` by every worker that starts it.
    pub start_warning: Option<&'static str>,
}

impl Entry {
    /// A backend of the seed this build does not provide yet: its name is refused with
    /// "not supported by this build yet".
    pub const fn planned(name: &'static str) -> Entry {
        Entry { name, env: &[], directives: &[], load: None, start_warning: None }
    }

    pub fn is_supported(&self) -> bool {
        self.load.is_some()
    }
}

/// Loads and validates a backend's settings (`nginx -t`).
pub type LoadFn = fn(&Load<'_>) -> Result<Box<dyn Loaded>, String>;

/// A directive of a backend: `name value;` in `http {}`.
pub struct Directive {
    pub name: &'static CStr,
    /// Checks the argument while nginx parses it and returns the value to keep (a path is
    /// resolved against the nginx prefix); an error names the problem, nginx adds the
    /// directive, file and line.
    pub parse: fn(cf: *mut ngx_conf_t, value: &str) -> Result<String, String>,
}

impl Directive {
    pub fn name(&self) -> &'static str {
        self.name.to_str().unwrap_or_default()
    }
}

/// A backend's validated settings, made in the master (or `nginx -t`), built in each worker.
pub trait Loaded: Send + Sync {
    /// The backend, in a worker after fork. Opens no connection: backends connect on first
    /// use, inside the worker's runtime.
    fn build(&self) -> Result<Arc<dyn Backend>, String>;
    /// For the code that serves one backend's own features (`l402_fake_pay`).
    fn as_any(&self) -> &dyn Any;
}

/// A configured backend: its entry and its settings.
pub struct Configured {
    pub entry: &'static Entry,
    pub settings: Box<dyn Loaded>,
}

/// The entry called `name` (any case), supported or planned.
pub fn find(name: &str) -> Option<&'static Entry> {
    BACKENDS.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// The entry that declares directive `name`.
pub fn directive(name: &[u8]) -> Option<&'static Directive> {
    BACKENDS.iter().flat_map(|e| e.directives).find(|d| d.name.to_bytes() == name)
}

/// Names of the backends, `sep`-joined, upper- or lowercase, supported ones only or all.
pub fn names(upper: bool, supported_only: bool) -> String {
    BACKENDS
        .iter()
        .filter(|e| !supported_only || e.is_supported())
        .map(|e| if upper { e.name.to_ascii_uppercase() } else { e.name.to_owned() })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many directives all backends declare (the size of the directive table).
pub const fn directive_count() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < BACKENDS.len() {
        n += BACKENDS[i].directives.len();
        i += 1;
    }
    n
}

/// Values of the backend directives of one `http {}` block, by directive name.
pub type Values = BTreeMap<&'static str, String>;

/// A setting and where it came from, for error messages: `"l402_lnd_address"` or
/// `environment variable LND_ADDRESS`.
pub struct Sourced {
    pub value: String,
    pub from: String,
}

/// What a backend's `load` reads: its directives, the environment, the call timeout.
pub struct Load<'a> {
    pub values: &'a Values,
    /// `l402_backend_timeout`: the limit of one call to this backend.
    pub timeout: Duration,
}

impl Load<'_> {
    /// The value of a directive, if given.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The directive's value if given (directives win), else the environment variable's,
    /// trimmed, if set and not empty.
    pub fn setting(&self, directive: &str, var: &str) -> Option<Sourced> {
        match self.directive(directive) {
            Some(v) => Some(Sourced { value: v.to_owned(), from: format!("\"{directive}\"") }),
            None => crate::conf::env::var(var)
                .map(|value| Sourced { value, from: format!("environment variable {var}") }),
        }
    }

    /// Like [`Load::setting`], failing with the message every backend uses for a missing one.
    pub fn required(&self, backend: &str, directive: &str, var: &str) -> Result<Sourced, String> {
        self.setting(directive, var).ok_or_else(|| {
            format!("the {backend} backend needs \"{directive}\" or the environment variable {var}")
        })
    }
}

/// Loads the settings of `entry` (`nginx -t`).
pub fn load(entry: &'static Entry, load: &Load<'_>) -> Result<Configured, String> {
    let Some(f) = entry.load else {
        return Err(format!("\"{}\" is not supported by this build yet", entry.name));
    };
    Ok(Configured { entry, settings: f(load)? })
}

// Argument checks shared by the entries.

/// A value echoed back in an error: printable, bounded. Never used for secrets.
pub fn shown(v: &str) -> String {
    v.chars().take(64).map(|c| if c.is_ascii_graphic() { c } else { '?' }).collect()
}

/// A path as it may appear in an error: printable, bounded (paths are not secrets).
fn shown_path(v: &str) -> String {
    v.chars().take(256).map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// A file argument, resolved against the nginx prefix like other file arguments; it must exist.
pub fn existing_file(cf: *mut ngx_conf_t, v: &str) -> Result<String, String> {
    let path = crate::ffi::conf_full_name(cf, v)?;
    match std::fs::metadata(&path) {
        Ok(_) => Ok(path),
        Err(e) => Err(format!("cannot use \"{}\": {e}", shown_path(&path))),
    }
}
