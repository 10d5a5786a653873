//! The seed module's environment variables (`ROOT_KEY`, `LN_CLIENT_TYPE`, `LND_ADDRESS`, …).
//!
//! They are read while the configuration is parsed, in the master (or `nginx -t`) process, which
//! still has the full environment; workers get the parsed values through the configuration and so
//! need no `env` directive. Directives always win over the environment.

/// `ROOT_KEY`: operator key material (hex or raw), seed compatible.
pub fn root_key() -> Option<Vec<u8>> {
    non_empty("ROOT_KEY").map(String::into_bytes)
}

/// `REDIS_URL`: the seed's Redis (dynamic prices; here also claims and rate limits).
pub fn redis_url() -> Option<String> {
    non_empty("REDIS_URL").map(|v| v.trim().to_owned())
}

/// `LN_CLIENT_TYPE` (LNURL, LND, CLN, NWC, BOLT12, ECLAIR, LNC; FAKE for the built-in backend),
/// as set (not empty).
pub fn client_type() -> Option<String> {
    non_empty("LN_CLIENT_TYPE")
}

/// A seed backend variable (each backend entry lists its own, `backends/`), trimmed, if set
/// and not empty.
pub fn var(name: &str) -> Option<String> {
    non_empty(name).map(|v| v.trim().to_owned())
}

fn non_empty(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => None,
    }
}

/// A value echoed in an error message: printable ASCII only, bounded.
pub fn sanitize(value: &str) -> String {
    value
        .chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
