//! Configuration of the CLN and BOLT12 backends, checked when the configuration is loaded
//! (docs/architecture.md, "Configuration": validated at `nginx -t`) with no I/O beyond looking at the socket path.

use std::fmt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bolt12;
use crate::rpc::DEFAULT_POOL_SIZE;

/// Default time limit of one backend operation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A configuration that cannot work; the message names the setting and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Nothing exists at the lightning-rpc path.
    RpcFileMissing(PathBuf),
    /// The path exists but is neither a unix socket nor a file (e.g. a directory).
    RpcFileNotSocket(PathBuf),
    /// The path cannot be inspected (permissions, …).
    RpcFileUnreadable {
        /// The configured path.
        path: PathBuf,
        /// The I/O error kind.
        cause: String,
    },
    /// The BOLT12 offer is not an `lno1…` offer string.
    BadOffer(String),
    /// A zero timeout or pool size.
    BadSetting(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::RpcFileMissing(p) => {
                write!(
                    f,
                    "CLN lightning-rpc socket \"{}\" does not exist",
                    p.display()
                )
            }
            ConfigError::RpcFileNotSocket(p) => write!(
                f,
                "CLN lightning-rpc path \"{}\" is not a unix socket",
                p.display()
            ),
            ConfigError::RpcFileUnreadable { path, cause } => write!(
                f,
                "CLN lightning-rpc path \"{}\" cannot be inspected: {cause}",
                path.display()
            ),
            ConfigError::BadOffer(cause) => write!(f, "BOLT12 offer is invalid: {cause}"),
            ConfigError::BadSetting(what) => write!(f, "CLN backend: {what}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Settings of [`crate::ClnBackend`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClnConfig {
    /// Path of lightningd's JSON-RPC socket, `<lightning-dir>/<network>/lightning-rpc`.
    pub rpc_file: PathBuf,
    /// Time limit of one backend operation (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// Number of pooled connections (default 4); lightningd handles one request at a time
    /// per connection.
    pub pool_size: usize,
}

impl ClnConfig {
    /// Checks that `rpc_file` exists and is a unix socket or a regular file (no connection
    /// is made: lightningd may restart before the first request).
    pub fn load(rpc_file: &Path) -> Result<ClnConfig, ConfigError> {
        let meta = std::fs::metadata(rpc_file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ConfigError::RpcFileMissing(rpc_file.to_owned()),
            kind => ConfigError::RpcFileUnreadable {
                path: rpc_file.to_owned(),
                cause: kind.to_string(),
            },
        })?;
        let ft = meta.file_type();
        if !(ft.is_socket() || ft.is_file()) {
            return Err(ConfigError::RpcFileNotSocket(rpc_file.to_owned()));
        }
        Ok(ClnConfig {
            rpc_file: rpc_file.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            pool_size: DEFAULT_POOL_SIZE,
        })
    }

    /// Sets the time limit of one operation; zero is refused.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<ClnConfig, ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::BadSetting("timeout must be greater than zero"));
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Sets the number of pooled connections; zero is refused.
    pub fn with_pool_size(mut self, pool_size: usize) -> Result<ClnConfig, ConfigError> {
        if pool_size == 0 {
            return Err(ConfigError::BadSetting("pool size must be at least 1"));
        }
        self.pool_size = pool_size;
        Ok(self)
    }
}

/// Settings of [`crate::Bolt12Backend`]: the node's own offer plus the socket settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bolt12Config {
    /// The offer (`lno1…`, made with `offer amount=any`) invoices are fetched from.
    pub offer: String,
    /// Socket, timeout and pool settings.
    pub cln: ClnConfig,
}

impl Bolt12Config {
    /// Checks the offer's form (`lno1` prefix, bech32 alphabet, offer TLV stream; see
    /// [`bolt12::check_offer`]) and the socket path as [`ClnConfig::load`] does.
    pub fn load(offer: &str, rpc_file: &Path) -> Result<Bolt12Config, ConfigError> {
        let offer = offer.trim();
        bolt12::check_offer(offer).map_err(ConfigError::BadOffer)?;
        Ok(Bolt12Config {
            offer: offer.to_ascii_lowercase(),
            cln: ClnConfig::load(rpc_file)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_directory_paths_are_refused() {
        let dir = std::env::temp_dir();
        let e = ClnConfig::load(&dir.join("l402-cln-no-such-socket")).unwrap_err();
        assert!(matches!(e, ConfigError::RpcFileMissing(_)));
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = ClnConfig::load(&dir).unwrap_err();
        assert!(e.to_string().contains("not a unix socket"), "{e}");
    }

    #[test]
    fn zero_settings_are_refused() {
        let c = ClnConfig {
            rpc_file: PathBuf::from("/x"),
            timeout: DEFAULT_TIMEOUT,
            pool_size: 1,
        };
        assert!(c.clone().with_timeout(Duration::ZERO).is_err());
        assert!(c.clone().with_pool_size(0).is_err());
        assert_eq!(c.with_pool_size(2).unwrap().pool_size, 2);
    }
}
