//! LND connection settings, read and checked without network I/O (the seed's
//! `LND_ADDRESS=host:10009`, `MACAROON_FILE_PATH`, `CERT_FILE_PATH`).

use std::fmt;
use std::io::Read;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tonic::metadata::{Ascii, MetadataValue};

/// LND's default gRPC port (`rpclisten`), used when the address has none.
pub const DEFAULT_LND_PORT: u16 = 10009;

/// Default bound on each call (connecting included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest macaroon file accepted. LND's admin macaroon is ~250 bytes; baked macaroons with
/// many caveats stay far below this.
const MAX_MACAROON_LEN: usize = 64 * 1024;

/// Largest certificate file accepted.
const MAX_CERT_FILE_LEN: usize = 256 * 1024;

/// First byte of a binary version-2 macaroon, the format LND writes (`macaroon.v2`
/// `MarshalBinary`).
const MACAROON_V2: u8 = 0x02;

/// Why an LND configuration was refused. Messages name the file or address and the
/// problem; they never contain the macaroon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The address is not `host`, `host:port`, `[v6]` or `[v6]:port`.
    Address {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The macaroon file cannot be read or is not a binary macaroon.
    Macaroon {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS certificate file cannot be read or is not one PEM X.509 certificate.
    Cert {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Address { address, reason } => {
                write!(f, "invalid LND address {address:?}: {reason}")
            }
            ConfigError::Macaroon { path, reason } => {
                write!(f, "invalid LND macaroon file {}: {reason}", path.display())
            }
            ConfigError::Cert { path, reason } => {
                write!(
                    f,
                    "invalid LND TLS certificate file {}: {reason}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where and how to reach one LND node.
#[derive(Clone)]
pub struct LndConfig {
    /// Host name or IP address (an IPv6 address without brackets).
    host: String,
    /// gRPC port.
    port: u16,
    /// Name given to rustls; the pinned-cert verifier ignores it for trust.
    server_name: ServerName<'static>,
    /// Hex of the macaroon file, as LND reads it from the `macaroon` metadata.
    macaroon: MetadataValue<Ascii>,
    /// The node's `tls.cert`, DER: the only certificate trusted.
    cert: CertificateDer<'static>,
    /// Bound on every call, connecting included.
    pub timeout: Duration,
}

impl fmt::Debug for LndConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LndConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("macaroon", &"<redacted>")
            .field("cert_der_len", &self.cert.as_ref().len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl LndConfig {
    /// Reads the macaroon (binary, as LND writes `admin.macaroon` / `invoice.macaroon`) and
    /// the node's PEM `tls.cert`, and parses `address`. No network I/O. The timeout is
    /// [`DEFAULT_TIMEOUT`]; change it with [`LndConfig::with_timeout`] or the field.
    pub fn load(
        address: &str,
        macaroon_file: &Path,
        cert_file: &Path,
    ) -> Result<LndConfig, ConfigError> {
        let (host, port) = parse_address(address)?;
        let server_name = ServerName::try_from(host.clone()).map_err(|_| ConfigError::Address {
            address: address.to_owned(),
            reason: "host is neither a DNS name nor an IP address".to_owned(),
        })?;
        let macaroon = load_macaroon(macaroon_file)?;
        let cert = load_cert(cert_file)?;
        Ok(LndConfig {
            host,
            port,
            server_name,
            macaroon,
            cert,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same configuration with another per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> LndConfig {
        self.timeout = timeout;
        self
    }

    /// Host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// gRPC port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(crate) fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    pub(crate) fn macaroon(&self) -> &MetadataValue<Ascii> {
        &self.macaroon
    }

    pub(crate) fn macaroon_hex(&self) -> &[u8] {
        self.macaroon.as_bytes()
    }

    pub(crate) fn cert(&self) -> &CertificateDer<'static> {
        &self.cert
    }
}

/// Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
fn parse_address(address: &str) -> Result<(String, u16), ConfigError> {
    let bad = |reason: &str| ConfigError::Address {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let address_trimmed = address.trim();
    if address_trimmed.is_empty() {
        return Err(bad("empty"));
    }
    if address_trimmed.contains("://") {
        return Err(bad(
            "give host:port without a scheme (LND's gRPC is always TLS)",
        ));
    }
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad("port must be a number from 1 to 65535")),
        Ok(port) => Ok(port),
    };
    let (host, port) = if let Some(rest) = address_trimmed.strip_prefix('[') {
        let (v6, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("missing ']' after the IPv6 address"))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address between '[' and ']'"));
        }
        let port = match after {
            "" => DEFAULT_LND_PORT,
            _ => parse_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("expected ':port' after ']'"))?,
            )?,
        };
        (v6.to_owned(), port)
    } else if address_trimmed.parse::<Ipv6Addr>().is_ok() {
        (address_trimmed.to_owned(), DEFAULT_LND_PORT)
    } else {
        match address_trimmed.split_once(':') {
            None => (address_trimmed.to_owned(), DEFAULT_LND_PORT),
            Some((host, port)) => {
                if port.contains(':') {
                    return Err(bad("put an IPv6 address in brackets: [::1]:10009"));
                }
                (host.to_owned(), parse_port(port)?)
            }
        }
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    Ok((host, port))
}

/// Reads at most `max` bytes of `path`; a longer file is an error.
fn read_limited(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > max {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(bytes)
}

/// Reads a binary macaroon and returns its hex as a sensitive metadata value.
fn load_macaroon(path: &Path) -> Result<MetadataValue<Ascii>, ConfigError> {
    let bad = |reason: String| ConfigError::Macaroon {
        path: path.to_owned(),
        reason,
    };
    let bytes = read_limited(path, MAX_MACAROON_LEN).map_err(bad)?;
    match bytes.first() {
        None => return Err(bad("empty file".to_owned())),
        Some(&MACAROON_V2) => {}
        Some(_) => {
            let text = bytes
                .iter()
                .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
            return Err(bad(if text {
                "text, not a binary macaroon: give the file LND wrote (admin.macaroon, \
                 invoice.macaroon), not its hex or base64"
                    .to_owned()
            } else {
                "not a binary version-2 macaroon as LND writes them".to_owned()
            }));
        }
    }
    let mut value = MetadataValue::try_from(hex::encode(&bytes))
        .map_err(|_| bad("cannot be sent as metadata".to_owned()))?;
    // HPACK "never indexed": kept out of header compression tables.
    value.set_sensitive(true);
    Ok(value)
}

/// Reads a PEM file holding exactly one X.509 certificate.
fn load_cert(path: &Path) -> Result<CertificateDer<'static>, ConfigError> {
    let bad = |reason: String| ConfigError::Cert {
        path: path.to_owned(),
        reason,
    };
    let bytes = read_limited(path, MAX_CERT_FILE_LEN).map_err(bad)?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&bytes) {
        certs.push(item.map_err(|e| bad(format!("bad PEM: {e}")))?);
    }
    let cert = match certs.len() {
        0 => return Err(bad("no PEM CERTIFICATE block".to_owned())),
        1 => certs.remove(0),
        n => {
            return Err(bad(format!(
                "{n} certificates; give the node's own tls.cert (one certificate)"
            )))
        }
    };
    webpki::EndEntityCert::try_from(&cert)
        .map_err(|e| bad(format!("not an X.509 certificate: {e}")))?;
    Ok(cert)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str| parse_address(a).unwrap();
        assert_eq!(ok("localhost:10009"), ("localhost".into(), 10009));
        assert_eq!(
            ok("node.example"),
            ("node.example".into(), DEFAULT_LND_PORT)
        );
        assert_eq!(ok("127.0.0.1:1"), ("127.0.0.1".into(), 1));
        assert_eq!(ok("[::1]:10010"), ("::1".into(), 10010));
        assert_eq!(ok("[::1]"), ("::1".into(), DEFAULT_LND_PORT));
        assert_eq!(ok("fe80::1"), ("fe80::1".into(), DEFAULT_LND_PORT));
        for bad in [
            "",
            " ",
            ":10009",
            "host:",
            "host:0",
            "host:65536",
            "host:x",
            "[::1",
            "[zz]:1",
            "[::1]10009",
            "https://host:10009",
            "fe80::1:10009:x",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?} accepted");
        }
    }
}
