//! The seed module's environment variables (`ROOT_KEY`, `LN_CLIENT_TYPE`, `LND_ADDRESS`, …).
//!
//! They are read while the configuration is parsed, in the master (or `nginx -t`) process, which
//! still has the full environment; workers get the parsed values through the configuration and so
//! need no `env` directive. Directives always win over the environment.

use super::BackendKind;

/// `ROOT_KEY`: operator key material (hex or raw), seed compatible.
pub fn root_key() -> Option<Vec<u8>> {
    non_empty("ROOT_KEY").map(String::into_bytes)
}

/// `REDIS_URL`: the seed's Redis (dynamic prices; here also claims and rate limits).
pub fn redis_url() -> Option<String> {
    non_empty("REDIS_URL").map(|v| v.trim().to_owned())
}

/// What `LN_CLIENT_TYPE` asks for.
pub enum ClientType {
    Supported(BackendKind),
    /// A backend of the seed that this build does not provide yet.
    NotYetSupported(String),
    Unknown(String),
}

/// `LN_CLIENT_TYPE` (LNURL, LND, CLN, NWC, BOLT12, ECLAIR, LNC; FAKE for the built-in backend).
pub fn client_type() -> Option<ClientType> {
    let value = non_empty("LN_CLIENT_TYPE")?;
    let upper = value.trim().to_ascii_uppercase();
    Some(match upper.as_str() {
        "FAKE" => ClientType::Supported(BackendKind::Fake),
        "LND" => ClientType::Supported(BackendKind::Lnd),
        "CLN" => ClientType::Supported(BackendKind::Cln),
        "ECLAIR" => ClientType::Supported(BackendKind::Eclair),
        "BOLT12" => ClientType::Supported(BackendKind::Bolt12),
        "LNURL" | "NWC" | "LNC" => ClientType::NotYetSupported(upper),
        _ => ClientType::Unknown(sanitize(&value)),
    })
}

/// A seed backend variable (`LND_ADDRESS`, `MACAROON_FILE_PATH`, `CERT_FILE_PATH`,
/// `CLN_LIGHTNING_RPC_FILE_PATH`, `ECLAIR_ADDRESS`, `ECLAIR_PASSWORD`, `BOLT12_OFFER`),
/// trimmed, if set and not empty.
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
fn sanitize(value: &str) -> String {
    value
        .chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
