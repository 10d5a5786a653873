//! Typed configuration: what the directives (`directives.rs`) and the seed's environment
//! variables (`env.rs`) become once `nginx -t` has accepted them.
//!
//! Everything here is validated at parse time; a worker only ever sees values that work.

pub mod cashu;
pub mod directives;
pub mod env;
mod resolve;

use std::cell::OnceCell;
use std::sync::Arc;
use std::time::Duration;

use l402_core::keys::{KeyRing, RootKey};
use l402_fake::FakeSecret;
use l402_redis::RedisConfig;
use l402_usage::{Rate, UsePolicy};
use ngx::ffi::ngx_http_complex_value_t;

use crate::backends;
use crate::zone::UsageZone;

pub use resolve::{resolve_main, resolve_redis};

/// Price used when a location sets no `l402_amount_msat_default`.
pub const DEFAULT_AMOUNT_MSAT: u64 = 1_000;
/// `l402_macaroon_timeout` default, seconds (the seed's example value).
pub const DEFAULT_MACAROON_TIMEOUT_SECS: u64 = 3_600;
/// `l402_invoice_expiry` default.
pub const DEFAULT_INVOICE_EXPIRY_SECS: u32 = 3_600;
/// `l402_backend_timeout` default.
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(10);
/// `l402_max_pending` default: challenges waiting for an invoice, per worker.
pub const DEFAULT_MAX_PENDING: usize = 4_096;
/// Name and size of the usage zone created when L402 is used and no `l402_usage_zone` or
/// Redis is configured (about 120 000 tokens).
pub const DEFAULT_ZONE_NAME: &str = "l402_usage";
pub const DEFAULT_ZONE_SIZE: usize = 4 * 1024 * 1024;
/// Largest price accepted anywhere: what a BOLT11 invoice can carry.
pub use l402_backend::MAX_INVOICE_AMOUNT_MSAT as MAX_AMOUNT_MSAT;

/// `http {}`-level settings, as written by the directives (before resolution).
#[derive(Default)]
pub struct MainConf {
    /// Keys from `l402_root_key_file`, in order (the first one mints).
    pub key_files: Vec<RootKey>,
    /// `l402_backend`: one name, or several tried in order (failover).
    pub backends: Option<Vec<&'static backends::Entry>>,
    /// The directives the backend entries declare (`l402_lnd_*`, `l402_cln_*`, …).
    pub backend_values: backends::Values,
    pub backend_timeout: Option<Duration>,
    pub legacy_lsat: Option<bool>,
    pub max_pending: Option<usize>,
    /// `l402_usage_zone`, or the default zone added in postconfiguration.
    pub zone: Option<UsageZone>,
    /// `l402_redis`, or the seed's `REDIS_URL` (see [`resolve_redis`]).
    pub redis: Option<RedisConfig>,
    /// Set by `l402 on` anywhere in this `http {}` block.
    pub enabled_somewhere: bool,
    /// Set by `l402_fake_pay` anywhere in this `http {}` block.
    pub fake_pay_used: bool,
    /// Set by `l402_metrics` anywhere in this `http {}` block.
    pub metrics_used: bool,
    /// Set by `l402_manifest` anywhere in this `http {}` block.
    pub manifest_used: bool,
    /// The metrics zone, declared in postconfiguration when the module is used.
    pub metrics: Option<crate::metrics::MetricsZone>,
    /// `l402_cashu_*` as written.
    pub cashu: cashu::CashuDirectives,
    /// Filled by [`resolve_main`] in postconfiguration when L402 is used at all.
    pub settings: Option<Arc<Settings>>,
}

/// The resolved, immutable settings every worker starts from.
pub struct Settings {
    pub keys: Arc<KeyRing>,
    /// One backend, or several tried in order (failover); never empty.
    pub backends: Vec<backends::Configured>,
    /// Time limit of one call to one backend.
    pub backend_timeout: Duration,
    pub legacy_lsat: bool,
    pub max_pending: usize,
    /// Where claims and rate entries live.
    pub store: StoreSettings,
    /// What every LNURL payee of the block shares (the `lnurl` backend and `l402_lnurl_addr`).
    pub lnurl: backends::lnurl::Shared,
    /// Cashu ecash, when configured (`conf/cashu.rs`).
    pub cashu: Option<cashu::CashuSettings>,
}

impl Settings {
    /// The nginx-side limit for a suspended request: every runtime-side timeout a job can
    /// spend (backend call, Redis connect and commands) plus a margin.
    pub fn backstop(&self) -> Duration {
        let redis = match &self.store {
            StoreSettings::Redis(c) => (c.command_timeout + c.connect_timeout) * 2,
            _ => Duration::ZERO,
        };
        self.call_timeout() + redis + Duration::from_secs(1)
    }

    /// Time limit of one call to the (failover) backend: `backend_timeout` for one backend;
    /// with a failover list each backend may use its own `backend_timeout` in turn (the LND,
    /// CLN and Eclair backends bound each of their calls by it), plus a margin.
    pub fn call_timeout(&self) -> Duration {
        match u32::try_from(self.backends.len()) {
            Ok(0 | 1) => self.backend_timeout,
            Ok(n) => self.backend_timeout.saturating_mul(n) + Duration::from_millis(100),
            Err(_) => self.backend_timeout,
        }
    }

    /// The fake backend's node secret, when the fake backend is configured (`l402_fake_pay`).
    pub fn fake_secret(&self) -> Option<&FakeSecret> {
        self.backends
            .iter()
            .find_map(|b| b.settings.as_any().downcast_ref::<backends::FakeSettings>())
            .map(|fake| &fake.secret)
    }
}

/// Where token-use claims and invoice rate entries live.
pub enum StoreSettings {
    /// This host's shared memory zone.
    Zone(UsageZone),
    /// Redis, shared by every instance that points at it (several hosts).
    Redis(RedisConfig),
    /// No paid location (only `l402_fake_pay` is used): nothing to store.
    None,
}

/// Per-location settings (`http`, `server` and `location` contexts, inherited downwards).
#[derive(Default)]
pub struct LocConf {
    pub enable: Option<bool>,
    /// `l402_amount_msat_default`: a number, or an nginx complex value (`$price`).
    pub price: Option<Price>,
    /// `l402_token_uses` / `l402_indefinite_access`.
    pub uses: Option<UsePolicy>,
    /// `l402_invoice_rate_limit`; `Some(None)` = explicitly off.
    pub rate_limit: Option<Option<Rate>>,
    /// `l402_redis_price`: read the price under the request path in Redis (default on when
    /// Redis is configured).
    pub redis_price: Option<bool>,
    /// Seconds; 0 = tokens never expire.
    pub macaroon_timeout: Option<u64>,
    pub invoice_expiry: Option<u32>,
    /// `l402_auto_detect_payment`: admit a macaroon without preimage when the backend reports
    /// its invoice settled.
    pub auto_detect: Option<bool>,
    /// `l402_dry_run`: decide, log and record what would happen; serve every request.
    pub dry_run: Option<bool>,
    /// `l402_allow_subrequests`: serve subrequests (SSI `include virtual`, `auth_request`,
    /// `mirror`, …) into this paid location without payment. Off: refused with 403.
    pub allow_subrequests: Option<bool>,
    /// `l402_lnurl_addr`: this location's invoices pay this LNURL payee (multi-tenant).
    pub lnurl_addr: Option<Arc<str>>,
    /// Explicit `l402_service`; otherwise a name derived from server and location.
    pub service: Option<String>,
    /// The derived service name, set at configuration time for every paid location in nginx's
    /// location trees (`services.rs`).
    pub derived_service: OnceCell<String>,
    /// `l402_query_credential name`: a credential may come in this query parameter.
    pub query_credential: Option<Arc<str>>,
    /// `l402_log_format json`: one JSON line per decided request (`l402_gate::log_line`).
    pub log_json: Option<bool>,
    /// `l402_cors_origins`: browsers of these origins may call the location.
    pub cors: Option<Arc<l402_gate::CorsOrigins>>,
    /// `l402_cashu`: Cashu is accepted here too (default on where Cashu is configured).
    pub cashu: Option<bool>,
    /// `l402_payment_html`: browsers get the 402 as a payment page, and the page's cookie is a
    /// credential here (docs/payment-page.md).
    pub payment_html: Option<bool>,
    /// `l402_manifest`: this location serves the discovery document.
    pub manifest: bool,
    /// `l402_manifest_hide`: keep this paid location out of the discovery document.
    pub manifest_hide: Option<bool>,
    /// The document of this location's server, set at postconfiguration (`discovery.rs`).
    pub manifest_doc: Option<Arc<str>>,
    /// The conf this one was merged from: for an `if` or `limit_except` block, the enclosing
    /// location, whose derived service name it uses.
    pub parent: Option<std::ptr::NonNull<LocConf>>,
}

impl LocConf {
    pub fn enabled(&self) -> bool {
        self.enable.unwrap_or(false)
    }
    pub fn price(&self) -> Price {
        self.price.unwrap_or(Price::Fixed(DEFAULT_AMOUNT_MSAT))
    }
    /// Uses per token; single use by default (the seed's behaviour).
    pub fn uses(&self) -> UsePolicy {
        self.uses.unwrap_or(UsePolicy::SINGLE)
    }
    pub fn rate_limit(&self) -> Option<Rate> {
        self.rate_limit.flatten()
    }
    pub fn redis_price(&self) -> bool {
        self.redis_price.unwrap_or(true)
    }
    pub fn macaroon_timeout(&self) -> u64 {
        self.macaroon_timeout.unwrap_or(DEFAULT_MACAROON_TIMEOUT_SECS)
    }
    pub fn auto_detect(&self) -> bool {
        self.auto_detect.unwrap_or(false)
    }
    pub fn payment_html(&self) -> bool {
        self.payment_html.unwrap_or(false)
    }
    pub fn cashu(&self) -> bool {
        self.cashu.unwrap_or(true)
    }
    pub fn dry_run(&self) -> bool {
        self.dry_run.unwrap_or(false)
    }
    pub fn log_json(&self) -> bool {
        self.log_json.unwrap_or(false)
    }
    pub fn manifest_hide(&self) -> bool {
        self.manifest_hide.unwrap_or(false)
    }
    pub fn allow_subrequests(&self) -> bool {
        self.allow_subrequests.unwrap_or(false)
    }
    pub fn invoice_expiry(&self) -> u32 {
        self.invoice_expiry.unwrap_or(DEFAULT_INVOICE_EXPIRY_SECS)
    }
}

impl ngx::http::Merge for LocConf {
    fn merge(&mut self, prev: &LocConf) -> Result<(), ngx::http::MergeConfigError> {
        if self.enable.is_none() {
            self.enable = prev.enable;
        }
        if self.price.is_none() {
            self.price = prev.price;
        }
        if self.uses.is_none() {
            self.uses = prev.uses;
        }
        if self.rate_limit.is_none() {
            self.rate_limit = prev.rate_limit;
        }
        if self.redis_price.is_none() {
            self.redis_price = prev.redis_price;
        }
        if self.macaroon_timeout.is_none() {
            self.macaroon_timeout = prev.macaroon_timeout;
        }
        if self.invoice_expiry.is_none() {
            self.invoice_expiry = prev.invoice_expiry;
        }
        if self.dry_run.is_none() {
            self.dry_run = prev.dry_run;
        }
        if self.payment_html.is_none() {
            self.payment_html = prev.payment_html;
        }
        if self.cashu.is_none() {
            self.cashu = prev.cashu;
        }
        if self.auto_detect.is_none() {
            self.auto_detect = prev.auto_detect;
        }
        if self.allow_subrequests.is_none() {
            self.allow_subrequests = prev.allow_subrequests;
        }
        if self.service.is_none() {
            self.service.clone_from(&prev.service);
        }
        if self.lnurl_addr.is_none() {
            self.lnurl_addr.clone_from(&prev.lnurl_addr);
        }
        if self.query_credential.is_none() {
            self.query_credential.clone_from(&prev.query_credential);
        }
        if self.log_json.is_none() {
            self.log_json = prev.log_json;
        }
        if self.cors.is_none() {
            self.cors.clone_from(&prev.cors);
        }
        if self.manifest_hide.is_none() {
            self.manifest_hide = prev.manifest_hide;
        }
        self.parent = Some(std::ptr::NonNull::from(prev));
        Ok(())
    }
}

/// A location's price.
#[derive(Clone, Copy)]
pub enum Price {
    /// Millisatoshis, validated at parse time.
    Fixed(u64),
    /// An nginx complex value evaluated per request; its result is validated per request.
    Variable(ComplexValue),
}

/// A compiled nginx complex value, allocated in the configuration pool (lives as long as the
/// cycle).
#[derive(Clone, Copy)]
pub struct ComplexValue(pub std::ptr::NonNull<ngx_http_complex_value_t>);

// SAFETY: only evaluated on an nginx main thread; the pointer is immutable after parsing.
unsafe impl Send for ComplexValue {}
// SAFETY: as above.
unsafe impl Sync for ComplexValue {}

/// A derived service name: stable across reloads and instances for the same server name and
/// location, different between locations and server blocks. Characters: `[a-z0-9-]`.
pub fn derive_service_name(server_name: &[u8], location: &[u8]) -> String {
    let mut material = Vec::with_capacity(server_name.len() + location.len() + 1);
    material.extend_from_slice(server_name);
    material.push(0);
    material.extend_from_slice(location);
    let digest = l402_core::sha256(&material);
    let mut name = String::from("loc-");
    name.push_str(&l402_core::hex_encode(&digest[..8]));
    name
}
