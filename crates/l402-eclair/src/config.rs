//! [`EclairConfig`]: where the Eclair API is and how to authenticate, validated at load time
//! so that a bad value fails `nginx -t`, not a request.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use hyper::Uri;
use zeroize::Zeroizing;

/// The seed's default Eclair API address (`ECLAIR_ADDRESS`).
pub const DEFAULT_ADDRESS: &str = "http://localhost:8080";

/// Default time limit of one API call (request and reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The Eclair API password (`eclair.api.password`). Zeroed on drop; `Debug` and `Display`
/// never show it.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a password given directly (for example from `ECLAIR_PASSWORD`).
    pub fn new(password: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(password.into()))
    }

    /// The password itself: for building the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why an Eclair configuration was refused. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The address is not an `http://` or `https://` URL with a host.
    Address(String),
    /// The password is empty, or its file cannot be read.
    Password(String),
    /// The TLS settings cannot be built.
    Tls(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Address(m) => write!(f, "invalid Eclair address: {m}"),
            ConfigError::Password(m) => write!(f, "invalid Eclair password: {m}"),
            ConfigError::Tls(m) => write!(f, "cannot set up TLS for Eclair: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Settings of an [`crate::EclairBackend`].
#[derive(Debug, Clone)]
pub struct EclairConfig {
    /// Base URL without a trailing `/`, e.g. `http://localhost:8080` or `https://[::1]:8080`.
    base: String,
    https: bool,
    password: Secret,
    /// Time limit of one API call: connecting, sending and reading the whole reply.
    pub timeout: Duration,
}

impl EclairConfig {
    /// Validates `address` (`http://` or `https://`, a host, optional port and base path; no
    /// user info, query or fragment) and a non-empty password. Timeout: [`DEFAULT_TIMEOUT`].
    pub fn load(address: &str, password: Secret) -> Result<EclairConfig, ConfigError> {
        let (base, https) = parse_address(address)?;
        if password.expose().is_empty() {
            return Err(ConfigError::Password("the password is empty".to_owned()));
        }
        Ok(EclairConfig {
            base,
            https,
            password,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Reads the password from a file (one line; a trailing newline is ignored). The error
    /// names the file, never its content.
    pub fn password_from_file(path: impl AsRef<Path>) -> Result<Secret, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| {
                ConfigError::Password(format!("cannot read \"{}\": {e}", path.display()))
            })?;
        let line = text.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Err(ConfigError::Password(format!(
                "\"{}\" is empty",
                path.display()
            )));
        }
        if line.contains(['\r', '\n']) {
            return Err(ConfigError::Password(format!(
                "\"{}\" has more than one line",
                path.display()
            )));
        }
        Ok(Secret::new(line))
    }

    /// The same settings with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> EclairConfig {
        self.timeout = timeout;
        self
    }

    /// The base URL, without a trailing `/`.
    pub fn address(&self) -> &str {
        &self.base
    }

    /// Whether the address is `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    pub(crate) fn password(&self) -> &Secret {
        &self.password
    }
}

fn parse_address(address: &str) -> Result<(String, bool), ConfigError> {
    let bad = |why: &str| ConfigError::Address(format!("\"{}\": {why}", address.escape_debug()));
    let uri: Uri = address
        .trim()
        .parse()
        .map_err(|e| bad(&format!("not a URL ({e})")))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(_) => return Err(bad("the scheme must be http or https")),
        None => return Err(bad("expected http://host:port or https://host:port")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad(
            "user info is not allowed: give the password separately",
        ));
    }
    if authority.host().is_empty() {
        return Err(bad("no host"));
    }
    // `Uri` keeps a port it cannot represent as "no port": look at the text instead.
    let after_host = authority
        .as_str()
        .rsplit_once(']')
        .map_or(authority.as_str(), |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':') {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
    }
    if uri.query().is_some() || address.contains('#') {
        return Err(bad("a query or fragment is not allowed"));
    }
    let path = uri.path().trim_end_matches('/');
    let scheme = if https { "https" } else { "http" };
    Ok((format!("{scheme}://{authority}{path}"), https))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn load(addr: &str) -> Result<EclairConfig, ConfigError> {
        EclairConfig::load(addr, Secret::new("pw"))
    }

    #[test]
    fn accepts_http_https_ipv6_and_base_path() {
        let c = load(DEFAULT_ADDRESS).unwrap();
        assert_eq!(c.address(), "http://localhost:8080");
        assert!(!c.is_https());
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        let c = load("https://[::1]:8080/").unwrap();
        assert_eq!(c.address(), "https://[::1]:8080");
        assert!(c.is_https());
        assert_eq!(
            load("https://node.example/eclair/").unwrap().address(),
            "https://node.example/eclair"
        );
        assert_eq!(
            load("http://127.0.0.1:8080").unwrap().address(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn refuses_bad_addresses() {
        for bad in [
            "",
            "localhost:8080",
            "ftp://localhost:8080",
            "http://",
            "http://:pw@localhost:8080",
            "http://localhost:8080/?x=1",
            "http://localhost:8080/#frag",
            "http://local host:8080",
            "http://localhost:99999",
            "http://localhost:0",
            "http://[::1]:x",
        ] {
            match load(bad) {
                Err(ConfigError::Address(_)) => {}
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_empty_password_and_never_shows_it() {
        assert!(matches!(
            EclairConfig::load(DEFAULT_ADDRESS, Secret::new("")),
            Err(ConfigError::Password(_))
        ));
        let c = EclairConfig::load(DEFAULT_ADDRESS, Secret::new("hunter2-secret")).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
        let c = c.with_timeout(Duration::from_millis(250));
        assert_eq!(c.timeout, Duration::from_millis(250));
    }

    #[test]
    fn password_from_file() {
        let dir = std::env::temp_dir().join(format!("l402-eclair-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        assert_eq!(
            EclairConfig::password_from_file(&file).unwrap().expose(),
            "s3cret"
        );
        std::fs::write(&file, "\n").unwrap();
        assert!(EclairConfig::password_from_file(&file).is_err());
        std::fs::write(&file, "two\nlines-secret\n").unwrap();
        let e = EclairConfig::password_from_file(&file).unwrap_err();
        assert!(!e.to_string().contains("lines-secret"), "{e}");
        let e = EclairConfig::password_from_file(dir.join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
