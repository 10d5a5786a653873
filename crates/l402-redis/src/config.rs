//! The `l402_redis` directive, typed at configuration time: which Redis deployment to use
//! (standalone, cluster, sentinel), how long to wait for it, and which CA to trust for
//! `rediss://`. Nothing here touches the network; the only I/O is reading the `ca=` file, so
//! that `nginx -t` rejects a missing or unreadable CA.
//!
//! Passwords never leave this module in text: [`RedisUrl`]'s `Debug` and `Display` print
//! `redis://user:***@host:port/db`, and error messages name the argument, not its value.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};

/// Default bound on one store operation (`timeout=`).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Default bound on establishing a connection (`connect_timeout=`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest accepted timeout (`timeout=`, `connect_timeout=`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// A bad `l402_redis` argument; the message never contains a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// One validated `redis://` or `rediss://` URL.
#[derive(Clone)]
pub struct RedisUrl {
    info: Box<ConnectionInfo>,
    tls: bool,
    host: String,
    port: u16,
    db: i64,
    username: Option<String>,
    password: Option<String>,
}

impl RedisUrl {
    /// Parses and validates one URL: scheme `redis` or `rediss`, a host (name, IPv4 or `[IPv6]`),
    /// a port in 1..=65535 (default 6379), an optional non-negative database index, optional
    /// `user:password@`. `what` names the argument in error messages.
    pub fn parse(raw: &str, what: &str) -> Result<RedisUrl, ConfigError> {
        let tls = if raw.starts_with("rediss://") {
            true
        } else if raw.starts_with("redis://") {
            false
        } else {
            return Err(err(format!(
                "{what} is not a redis:// or rediss:// URL"
            )));
        };
        let info = raw
            .into_connection_info()
            .map_err(|_| err(format!("{what} is not a valid Redis URL (host, port 1-65535, /db)")))?;
        let (host, port) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
            _ => return Err(err(format!("{what} must name a TCP host"))),
        };
        if host.is_empty() {
            return Err(err(format!("{what} has no host")));
        }
        if port == 0 {
            return Err(err(format!("{what} has port 0")));
        }
        let settings = info.redis_settings();
        let db = settings.db();
        if db < 0 {
            return Err(err(format!("{what} has a negative database index")));
        }
        let username = settings.username().map(str::to_owned);
        let password = settings.password().map(str::to_owned);
        Ok(RedisUrl {
            tls,
            host,
            port,
            db,
            username,
            password,
            info: Box::new(info),
        })
    }

    /// `rediss://`?
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Host name or address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Database index.
    pub fn db(&self) -> i64 {
        self.db
    }

    /// Whether the URL carries a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub(crate) fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    pub(crate) fn connection_info(&self) -> &ConnectionInfo {
        &self.info
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.tls { "rediss://" } else { "redis://" })?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, None) => {}
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}/{}", self.port, self.db)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// Which Redis deployment holds the shared state.
#[derive(Debug, Clone)]
pub enum Topology {
    /// One server (`l402_redis URL`).
    Standalone(RedisUrl),
    /// A Redis Cluster, reached through any of these seed nodes (`l402_redis cluster URL...`).
    Cluster(Vec<RedisUrl>),
    /// A master found through Sentinel (`l402_redis sentinel=NAME URL...`). The URLs name the
    /// sentinels; their scheme (TLS or not) applies to the master too, and the user, password
    /// and database index of the first URL are used for the master (sentinels are asked without
    /// authentication).
    Sentinel {
        /// The monitored master's name (`sentinel monitor NAME ...`).
        master_name: String,
        /// Sentinel addresses, asked in order.
        sentinels: Vec<RedisUrl>,
    },
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, urls: &[RedisUrl]| -> fmt::Result {
            for (i, u) in urls.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{u}")?;
            }
            Ok(())
        };
        match self {
            Topology::Standalone(u) => write!(f, "{u}"),
            Topology::Cluster(urls) => {
                f.write_str("cluster ")?;
                list(f, urls)
            }
            Topology::Sentinel {
                master_name,
                sentinels,
            } => {
                write!(f, "sentinel={master_name} ")?;
                list(f, sentinels)
            }
        }
    }
}

/// The CA certificate(s) to trust for `rediss://`, PEM (`ca=/path/ca.pem`).
#[derive(Clone)]
pub struct CaCert {
    /// Where it was read from.
    pub path: String,
    pub(crate) pem: Arc<[u8]>,
}

impl fmt::Debug for CaCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaCert({:?}, {} bytes)", self.path, self.pem.len())
    }
}

/// Everything the store needs to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Where Redis is.
    pub topology: Topology,
    /// Bound on one store operation (script, `GET`), default 500 ms (`timeout=`).
    pub command_timeout: Duration,
    /// Bound on connecting (and on resolving the master through Sentinel), default 1 s
    /// (`connect_timeout=`).
    pub connect_timeout: Duration,
    /// CA to trust for `rediss://` instead of the system roots (`ca=`).
    pub ca: Option<CaCert>,
}

impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} timeout={}ms connect_timeout={}ms",
            self.topology,
            self.command_timeout.as_millis(),
            self.connect_timeout.as_millis()
        )?;
        if let Some(ca) = &self.ca {
            write!(f, " ca={}", ca.path)?;
        }
        Ok(())
    }
}

fn parse_duration(value: &str, what: &str) -> Result<Duration, ConfigError> {
    let bad = || err(format!("{what}: \"{}\" is not a time like 500ms or 2s", value.escape_debug()));
    let (digits, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        (value, 1)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 9 {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let d = Duration::from_millis(n * scale);
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(err(format!("{what} must be between 1ms and {}s", MAX_TIMEOUT.as_secs())));
    }
    Ok(d)
}

impl RedisConfig {
    /// From the nginx directive arguments:
    /// `l402_redis [cluster | sentinel=NAME] URL... [timeout=500ms] [connect_timeout=1s] [ca=PATH]`.
    ///
    /// Examples: `["redis://127.0.0.1:6379"]`, `["rediss://:pw@h:6380/0", "ca=/etc/ca.pem"]`,
    /// `["cluster", "redis://a:7000", "redis://b:7001"]`,
    /// `["sentinel=mymaster", "redis://127.0.0.1:26379"]`.
    pub fn parse(args: &[&str]) -> Result<RedisConfig, ConfigError> {
        enum Mode {
            Standalone,
            Cluster,
            Sentinel(String),
        }
        let mut mode = Mode::Standalone;
        let mut urls = Vec::new();
        let mut command_timeout = DEFAULT_COMMAND_TIMEOUT;
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        let mut ca_path = None;
        for (i, arg) in args.iter().enumerate() {
            let what = format!("argument {}", i + 1);
            if i == 0 && *arg == "cluster" {
                mode = Mode::Cluster;
            } else if let (0, Some(name)) = (i, arg.strip_prefix("sentinel=")) {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                {
                    return Err(err("sentinel= needs a master name of letters, digits, '-', '_', '.'"));
                }
                mode = Mode::Sentinel(name.to_owned());
            } else if let Some(v) = arg.strip_prefix("timeout=") {
                command_timeout = parse_duration(v, "timeout=")?;
            } else if let Some(v) = arg.strip_prefix("connect_timeout=") {
                connect_timeout = parse_duration(v, "connect_timeout=")?;
            } else if let Some(v) = arg.strip_prefix("ca=") {
                if v.is_empty() {
                    return Err(err("ca= needs a file path"));
                }
                ca_path = Some(v.to_owned());
            } else if arg.contains("://") {
                urls.push(RedisUrl::parse(arg, &what)?);
            } else if *arg == "cluster" || arg.starts_with("sentinel=") {
                return Err(err(format!("{what}: \"cluster\" and \"sentinel=\" must come first")));
            } else {
                return Err(err(format!(
                    "{what} is neither a redis:// or rediss:// URL nor one of cluster, sentinel=, timeout=, connect_timeout=, ca="
                )));
            }
        }
        if urls.is_empty() {
            return Err(err("l402_redis needs at least one redis:// or rediss:// URL"));
        }
        let tls = urls[0].tls;
        if urls.iter().any(|u| u.tls != tls) {
            return Err(err("all URLs must use the same scheme (all redis:// or all rediss://)"));
        }
        let ca = match ca_path {
            None => None,
            Some(_) if !tls => return Err(err("ca= only applies to rediss:// URLs")),
            Some(path) => Some(read_ca(path)?),
        };
        let topology = match mode {
            Mode::Standalone => {
                if urls.len() != 1 {
                    return Err(err(
                        "one URL without \"cluster\" or \"sentinel=NAME\"; several URLs need one of them",
                    ));
                }
                Topology::Standalone(urls.remove(0))
            }
            Mode::Cluster => {
                if urls.iter().any(|u| u.db != 0) {
                    return Err(err("Redis Cluster only has database 0"));
                }
                let first = (urls[0].username.clone(), urls[0].password.clone());
                if urls
                    .iter()
                    .any(|u| (u.username.clone(), u.password.clone()) != first)
                {
                    return Err(err("all cluster URLs must carry the same user and password"));
                }
                Topology::Cluster(urls)
            }
            Mode::Sentinel(master_name) => Topology::Sentinel {
                master_name,
                sentinels: urls,
            },
        };
        Ok(RedisConfig {
            topology,
            command_timeout,
            connect_timeout,
            ca,
        })
    }

    /// The seed's `REDIS_URL` environment variable: one standalone URL, default timeouts.
    pub fn from_url(url: &str) -> Result<RedisConfig, ConfigError> {
        Ok(RedisConfig {
            topology: Topology::Standalone(RedisUrl::parse(url, "REDIS_URL")?),
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca: None,
        })
    }

    /// Whether the URLs are `rediss://`.
    pub fn uses_tls(&self) -> bool {
        match &self.topology {
            Topology::Standalone(u) => u.tls(),
            Topology::Cluster(us) | Topology::Sentinel { sentinels: us, .. } => {
                us.iter().any(RedisUrl::tls)
            }
        }
    }

    /// Every password in the configuration, to scrub from error text.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let urls: Vec<&RedisUrl> = match &self.topology {
            Topology::Standalone(u) => vec![u],
            Topology::Cluster(us) => us.iter().collect(),
            Topology::Sentinel { sentinels, .. } => sentinels.iter().collect(),
        };
        let mut out: Vec<String> = urls
            .iter()
            .filter_map(|u| u.password().map(str::to_owned))
            .filter(|p| !p.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn read_ca(path: String) -> Result<CaCert, ConfigError> {
    let pem = std::fs::read(&path)
        .map_err(|e| err(format!("ca=: cannot read \"{}\": {e}", path.escape_debug())))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(err(format!(
            "ca=: \"{}\" holds no PEM certificate",
            path.escape_debug()
        )));
    }
    Ok(CaCert {
        path,
        pem: pem.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn standalone_forms() {
        let c = RedisConfig::parse(&["redis://127.0.0.1:6379"]).unwrap();
        assert_eq!(c.command_timeout, DEFAULT_COMMAND_TIMEOUT);
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        let Topology::Standalone(u) = &c.topology else { panic!() };
        assert_eq!((u.host(), u.port(), u.db(), u.tls()), ("127.0.0.1", 6379, 0, false));

        let c = RedisConfig::parse(&["rediss://:s3cret@h.example:6380/2"]).unwrap();
        let Topology::Standalone(u) = &c.topology else { panic!() };
        assert_eq!((u.host(), u.port(), u.db(), u.tls()), ("h.example", 6380, 2, true));
        assert!(u.has_password());

        let c = RedisConfig::parse(&["redis://[::1]:7000"]).unwrap();
        let Topology::Standalone(u) = &c.topology else { panic!() };
        assert_eq!((u.host(), u.port()), ("::1", 7000));
        assert_eq!(u.to_string(), "redis://[::1]:7000/0");

        let c = RedisConfig::parse(&["redis://localhost"]).unwrap();
        let Topology::Standalone(u) = &c.topology else { panic!() };
        assert_eq!(u.port(), 6379);
    }

    #[test]
    fn modes_and_options() {
        let c = RedisConfig::parse(&["cluster", "redis://a:7000", "redis://b:7001"]).unwrap();
        assert!(matches!(&c.topology, Topology::Cluster(v) if v.len() == 2));
        let c = RedisConfig::parse(&[
            "sentinel=mymaster",
            "redis://127.0.0.1:26379",
            "redis://127.0.0.1:26380",
            "timeout=250ms",
            "connect_timeout=2s",
        ])
        .unwrap();
        assert!(
            matches!(&c.topology, Topology::Sentinel { master_name, sentinels } if master_name == "mymaster" && sentinels.len() == 2)
        );
        assert_eq!(c.command_timeout, Duration::from_millis(250));
        assert_eq!(c.connect_timeout, Duration::from_secs(2));
    }

    #[test]
    fn rejects() {
        for bad in [
            &[][..],
            &["http://h:1"],
            &["h:6379"],
            &["redis://h:0"],
            &["redis://h:70000"],
            &["redis://h:1/x"],
            &["unix:///tmp/redis.sock"],
            &["valkey://h:1"],
            &["redis://a:1", "redis://b:2"],
            &["cluster"],
            &["cluster", "redis://a:1/3"],
            &["cluster", "redis://a:1", "rediss://b:2"],
            &["cluster", "redis://:x@a:1", "redis://:y@b:2"],
            &["sentinel=", "redis://a:1"],
            &["redis://a:1", "cluster"],
            &["redis://a:1", "timeout=0ms"],
            &["redis://a:1", "timeout=soon"],
            &["redis://a:1", "timeout=120s"],
            &["redis://a:1", "ca=/etc/ca.pem"],
            &["rediss://a:1", "ca=/nonexistent/ca.pem"],
            &["redis://a:1", "bogus"],
        ] {
            assert!(RedisConfig::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_never_printed() {
        let secret = "hunter2-very-secret";
        let url = format!("rediss://alice:{secret}@h:6380/1");
        let c = RedisConfig::parse(&[&url]).unwrap();
        for text in [format!("{c:?}"), format!("{c}"), format!("{:?}", c.topology)] {
            assert!(!text.contains(secret), "{text}");
            assert!(text.contains("alice:***@h:6380/1"), "{text}");
        }
        // Bad arguments are named, not echoed.
        let e = RedisConfig::parse(&[&format!("http://:{secret}@h")]).unwrap_err();
        assert!(!e.to_string().contains(secret));
        let e = RedisConfig::parse(&[&format!("redis://:{secret}@h:99999")]).unwrap_err();
        assert!(!e.to_string().contains(secret));
        assert_eq!(c.secrets(), vec![secret.to_owned()]);
    }

    #[test]
    fn from_env_url() {
        let c = RedisConfig::from_url("redis://127.0.0.1:6379/0").unwrap();
        assert!(matches!(c.topology, Topology::Standalone(_)));
        assert!(RedisConfig::from_url("127.0.0.1:6379").is_err());
    }
}
