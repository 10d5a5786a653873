//! Turns the directives of an `http {}` block plus the environment into [`Settings`], or a
//! message for `nginx -t` naming what is missing. Runs once per configuration load, in the master.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use l402_core::keys::{KeyRing, RootKey};
use l402_fake::{FakeNetwork, FakeSecret};

use super::env::{self, ClientType};
use super::{
    BackendKind, BackendSettings, MainConf, Settings, StoreSettings, DEFAULT_BACKEND_TIMEOUT,
    DEFAULT_MAX_PENDING,
};

/// Resolves the main configuration. `Ok(None)` when L402 is not used in this `http {}` block.
pub fn resolve_main(mcf: &MainConf) -> Result<Option<Settings>, String> {
    if !mcf.enabled_somewhere && !mcf.fake_pay_used {
        return Ok(None);
    }
    let keys = resolve_keys(mcf)?;
    let kinds = resolve_backend_kinds(mcf)?;
    if mcf.fake_pay_used && !kinds.contains(&BackendKind::Fake) {
        return Err("\"l402_fake_pay\" needs the fake backend (l402_backend fake)".into());
    }
    let timeout = mcf.backend_timeout.unwrap_or(DEFAULT_BACKEND_TIMEOUT);
    let backends = kinds
        .iter()
        .map(|kind| resolve_backend(mcf, *kind, timeout))
        .collect::<Result<Vec<_>, String>>()?;
    let store = match (&mcf.redis, mcf.zone) {
        (Some(redis), _) => StoreSettings::Redis(redis.clone()),
        (None, Some(zone)) => StoreSettings::Zone(zone),
        (None, None) if !mcf.enabled_somewhere => StoreSettings::None,
        (None, None) => return Err("l402 needs a usage zone (l402_usage_zone name:size)".into()),
    };
    Ok(Some(Settings {
        store,
        keys: Arc::new(keys),
        backends,
        backend_timeout: timeout,
        legacy_lsat: mcf.legacy_lsat.unwrap_or(true),
        max_pending: mcf.max_pending.unwrap_or(DEFAULT_MAX_PENDING),
    }))
}

/// `l402_redis` wins; otherwise the seed's `REDIS_URL` (one standalone URL). Runs before the
/// default usage zone is added, so a Redis deployment gets no zone it would not use.
pub fn resolve_redis(mcf: &mut MainConf) -> Result<(), String> {
    if mcf.redis.is_some() {
        return Ok(());
    }
    if let Some(url) = env::redis_url() {
        let cfg = l402_redis::RedisConfig::from_url(&url)
            .map_err(|e| format!("environment variable REDIS_URL is invalid: {e}"))?;
        mcf.redis = Some(cfg);
    }
    Ok(())
}

/// Key files first (in order), then `ROOT_KEY`; the first key mints, all verify.
fn resolve_keys(mcf: &MainConf) -> Result<KeyRing, String> {
    let mut keys: Vec<RootKey> = mcf.key_files.clone();
    if let Some(material) = env::root_key() {
        let key = RootKey::from_material(&material)
            .map_err(|e| format!("environment variable ROOT_KEY is invalid: {e}"))?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err("l402 is enabled but no root key is configured: \
                    set \"l402_root_key_file\" or the ROOT_KEY environment variable \
                    (generate one with: openssl rand -hex 32)"
            .into());
    }
    KeyRing::new(keys).map_err(|e| format!("invalid root keys: {e}"))
}

fn resolve_backend_kinds(mcf: &MainConf) -> Result<Vec<BackendKind>, String> {
    if let Some(kinds) = &mcf.backends {
        return Ok(kinds.clone());
    }
    match env::client_type() {
        Some(ClientType::Supported(kind)) => Ok(vec![kind]),
        Some(ClientType::NotYetSupported(name)) => Err(format!(
            "LN_CLIENT_TYPE={name} is not supported by this build yet \
             (supported: LND, CLN, ECLAIR, BOLT12, FAKE)"
        )),
        Some(ClientType::Unknown(name)) => Err(format!(
            "LN_CLIENT_TYPE=\"{name}\" is not a known backend \
             (LND, CLN, ECLAIR, LNURL, NWC, BOLT12, LNC, FAKE)"
        )),
        None => Err("l402 is enabled but no payment backend is configured: \
                     set \"l402_backend\" or the LN_CLIENT_TYPE environment variable"
            .into()),
    }
}

/// A setting and where it came from, for error messages: `"l402_lnd_address"` or
/// `environment variable LND_ADDRESS`.
struct Sourced {
    value: String,
    from: String,
}

/// The directive's value if given (directives win), else the environment variable's.
fn setting(directive_value: &Option<String>, directive: &str, var: &str) -> Option<Sourced> {
    match directive_value {
        Some(v) => Some(Sourced { value: v.clone(), from: format!("\"{directive}\"") }),
        None => env::var(var).map(|value| Sourced { value, from: format!("environment variable {var}") }),
    }
}

fn required(s: Option<Sourced>, backend: &str, directive: &str, var: &str) -> Result<Sourced, String> {
    s.ok_or_else(|| {
        format!("the {backend} backend needs \"{directive}\" or the environment variable {var}")
    })
}

/// Builds (validates) the settings of one backend: files exist and parse, addresses parse.
/// Secrets (macaroons, passwords) are never part of a message.
fn resolve_backend(mcf: &MainConf, kind: BackendKind, timeout: Duration) -> Result<BackendSettings, String> {
    let d = &mcf.backend_directives;
    match kind {
        BackendKind::Fake => Ok(BackendSettings::Fake {
            secret: FakeSecret::generate()
                .map_err(|e| format!("cannot create the fake backend's node key: {e}"))?,
            delay: mcf.fake_delay.unwrap_or_default(),
            network: mcf.fake_network.unwrap_or(FakeNetwork::Regtest),
        }),
        BackendKind::Lnd => {
            let address = required(setting(&d.lnd_address, "l402_lnd_address", "LND_ADDRESS"), "lnd", "l402_lnd_address", "LND_ADDRESS")?;
            let macaroon = required(
                setting(&d.lnd_macaroon_file, "l402_lnd_macaroon_file", "MACAROON_FILE_PATH"),
                "lnd",
                "l402_lnd_macaroon_file",
                "MACAROON_FILE_PATH",
            )?;
            let cert = required(
                setting(&d.lnd_cert_file, "l402_lnd_cert_file", "CERT_FILE_PATH"),
                "lnd",
                "l402_lnd_cert_file",
                "CERT_FILE_PATH",
            )?;
            let config = l402_lnd::LndConfig::load(&address.value, Path::new(&macaroon.value), Path::new(&cert.value))
                .map_err(|e| {
                    let from = match &e {
                        l402_lnd::ConfigError::Address { .. } => &address.from,
                        l402_lnd::ConfigError::Macaroon { .. } => &macaroon.from,
                        l402_lnd::ConfigError::Cert { .. } => &cert.from,
                    };
                    format!("{from}: {e}")
                })?;
            Ok(BackendSettings::Lnd(config.with_timeout(timeout)))
        }
        BackendKind::Cln => {
            let rpc = cln_rpc_file(d, "cln")?;
            let config = l402_cln::ClnConfig::load(Path::new(&rpc.value))
                .and_then(|c| c.with_timeout(timeout))
                .map_err(|e| format!("{}: {e}", rpc.from))?;
            Ok(BackendSettings::Cln(config))
        }
        BackendKind::Bolt12 => {
            let offer = required(setting(&d.bolt12_offer, "l402_bolt12_offer", "BOLT12_OFFER"), "bolt12", "l402_bolt12_offer", "BOLT12_OFFER")?;
            let rpc = cln_rpc_file(d, "bolt12")?;
            let mut config = l402_cln::Bolt12Config::load(&offer.value, Path::new(&rpc.value)).map_err(|e| {
                let from = match &e {
                    l402_cln::ConfigError::BadOffer(_) => &offer.from,
                    _ => &rpc.from,
                };
                format!("{from}: {e}")
            })?;
            config.cln = config.cln.with_timeout(timeout).map_err(|e| e.to_string())?;
            Ok(BackendSettings::Bolt12(config))
        }
        BackendKind::Eclair => {
            let address = setting(&d.eclair_address, "l402_eclair_address", "ECLAIR_ADDRESS").unwrap_or(Sourced {
                value: l402_eclair::DEFAULT_ADDRESS.to_owned(),
                from: "the default Eclair address".to_owned(),
            });
            let (password, pw_from) = match &d.eclair_password_file {
                Some(path) => (
                    l402_eclair::EclairConfig::password_from_file(path)
                        .map_err(|e| format!("\"l402_eclair_password_file\": {e}"))?,
                    "\"l402_eclair_password_file\"",
                ),
                None => match std::env::var("ECLAIR_PASSWORD") {
                    Ok(p) if !p.is_empty() => (l402_eclair::Secret::new(p), "environment variable ECLAIR_PASSWORD"),
                    _ => {
                        return Err("the eclair backend needs \"l402_eclair_password_file\" or the \
                                    environment variable ECLAIR_PASSWORD"
                            .into())
                    }
                },
            };
            let config = l402_eclair::EclairConfig::load(&address.value, password)
                .map_err(|e| {
                    let from = match &e {
                        l402_eclair::ConfigError::Password(_) => pw_from,
                        _ => address.from.as_str(),
                    };
                    format!("{from}: {e}")
                })?
                .with_timeout(timeout);
            // Built once here only to fail `nginx -t` if TLS cannot be set up (no I/O); each
            // worker builds its own after fork.
            l402_eclair::EclairBackend::new(config.clone()).map_err(|e| format!("{}: {e}", address.from))?;
            Ok(BackendSettings::Eclair(config))
        }
    }
}

fn cln_rpc_file(d: &super::BackendDirectives, backend: &str) -> Result<Sourced, String> {
    required(
        setting(&d.cln_rpc_file, "l402_cln_rpc_file", "CLN_LIGHTNING_RPC_FILE_PATH"),
        backend,
        "l402_cln_rpc_file",
        "CLN_LIGHTNING_RPC_FILE_PATH",
    )
}
