//! Turns the directives of an `http {}` block plus the environment into [`Settings`], or a
//! message for `nginx -t` naming what is missing. Runs once per configuration load, in the master.

use std::sync::Arc;

use l402_core::keys::{KeyRing, RootKey};

use super::env;
use super::{MainConf, Settings, StoreSettings, DEFAULT_BACKEND_TIMEOUT, DEFAULT_MAX_PENDING};
use crate::backends;

/// Resolves the main configuration. `Ok(None)` when L402 is not used in this `http {}` block.
pub fn resolve_main(mcf: &MainConf) -> Result<Option<Settings>, String> {
    if !mcf.enabled_somewhere && !mcf.fake_pay_used {
        return Ok(None);
    }
    let keys = resolve_keys(mcf)?;
    let entries = resolve_backend_entries(mcf)?;
    if mcf.fake_pay_used && !entries.iter().any(|e| e.name == l402_fake::NAME) {
        return Err("\"l402_fake_pay\" needs the fake backend (l402_backend fake)".into());
    }
    let timeout = mcf.backend_timeout.unwrap_or(DEFAULT_BACKEND_TIMEOUT);
    // Validates each backend's settings: files exist and parse, addresses parse. Secrets
    // (macaroons, passwords) are never part of a message.
    let load = backends::Load { values: &mcf.backend_values, timeout };
    let backends = entries
        .iter()
        .map(|entry| backends::load(entry, &load))
        .collect::<Result<Vec<_>, String>>()?;
    let lnurl = backends::lnurl::shared(&mcf.backend_values, timeout)?;
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
        lnurl,
        cashu: super::cashu::resolve(&mcf.cashu)?,
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

/// `l402_backend` wins; otherwise the seed's `LN_CLIENT_TYPE` (one name, any case).
fn resolve_backend_entries(mcf: &MainConf) -> Result<Vec<&'static backends::Entry>, String> {
    if let Some(entries) = &mcf.backends {
        return Ok(entries.clone());
    }
    let Some(value) = env::client_type() else {
        return Err("l402 is enabled but no payment backend is configured: \
                    set \"l402_backend\" or the LN_CLIENT_TYPE environment variable"
            .into());
    };
    let upper = value.trim().to_ascii_uppercase();
    match backends::find(&upper) {
        Some(entry) if entry.is_supported() => Ok(vec![entry]),
        Some(_) => Err(format!(
            "LN_CLIENT_TYPE={upper} is not supported by this build yet (supported: {})",
            backends::names(true, true)
        )),
        None => Err(format!(
            "LN_CLIENT_TYPE=\"{}\" is not a known backend ({})",
            env::sanitize(&value),
            backends::names(true, false)
        )),
    }
}
