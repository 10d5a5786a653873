//! [`NwcConfig`]: the wallet connection URI (NIP-47 "Nostr Wallet Connect URI"), validated at
//! load time so that a bad value fails `nginx -t`, not a request.
//!
//! `nostr+walletconnect://<wallet pubkey hex>?relay=<urlencoded>&relay=…&secret=<hex>[&lud16=…]`

use std::fmt;
use std::path::Path;
use std::time::Duration;

use nostr::prelude::{Keys, PublicKey, SecretKey};
use zeroize::{Zeroize, Zeroizing};

use crate::breaker::BreakerSettings;

/// Default time limit of one wallet call (publish, relay acknowledgement and the wallet's reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most `relay=` parameters accepted in one URI.
pub const MAX_RELAYS: usize = 8;

/// Longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 4096;

const SCHEME: &str = "nostr+walletconnect:";

/// The client secret of a wallet connection: 32 bytes. Zeroed on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Zeroizing<[u8; 32]>);

impl Secret {
    /// Parses 64 hex digits. The error never contains the input.
    pub fn from_hex(hex: &str) -> Result<Secret, ConfigError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if hex.len() != 64 || !decode_hex(hex, bytes.as_mut()) {
            return Err(ConfigError::Uri("secret must be 64 hex digits".to_owned()));
        }
        Ok(Secret(bytes))
    }

    /// The bytes themselves: for deriving the signing key only.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The Nostr keys of the client (signing and decryption).
    pub(crate) fn keys(&self) -> Result<Keys, ConfigError> {
        SecretKey::from_slice(self.expose().as_slice())
            .map(Keys::new)
            .map_err(|_| ConfigError::Uri("secret is not a valid secp256k1 key".to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a wallet connection URI was refused. Never contains the secret (nor the URI, which
/// holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The URI is malformed or misses a required part.
    Uri(String),
    /// A relay address is not a usable `ws://` or `wss://` URL.
    Relay(String),
    /// The URI file cannot be read.
    File(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Uri(m) => write!(f, "invalid Nostr Wallet Connect URI: {m}"),
            ConfigError::Relay(m) => write!(f, "invalid Nostr Wallet Connect relay: {m}"),
            ConfigError::File(m) => write!(f, "cannot load the Nostr Wallet Connect URI: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A relay address: `ws://` or `wss://`, host, optional port and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl {
    url: String,
    tls: bool,
    host: String,
    port: u16,
}

impl RelayUrl {
    /// Validates a relay address (`ws://host[:port][/path]` or `wss://…`; no user info or
    /// fragment).
    pub fn parse(text: &str) -> Result<RelayUrl, ConfigError> {
        let shown: String = text.chars().take(100).collect::<String>().escape_debug().to_string();
        let bad = |why: &str| ConfigError::Relay(format!("\"{shown}\": {why}"));
        let text = text.trim();
        let (tls, rest) = if let Some(r) = strip_prefix_ci(text, "wss://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(text, "ws://") {
            (false, r)
        } else {
            return Err(bad("the scheme must be ws:// or wss://"));
        };
        if text.contains('#') {
            return Err(bad("a fragment is not allowed"));
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(bad("user info is not allowed"));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("spaces and control characters are not allowed"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad host or port"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let scheme = if tls { "wss" } else { "ws" };
        Ok(RelayUrl {
            url: format!("{scheme}://{authority}{path}"),
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// The URL as given (scheme lowercased).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The URL for messages: without its query (a relay may take an access token there),
    /// shown as `?…` when there was one.
    pub fn shown(&self) -> String {
        match self.url.split_once('?') {
            Some((base, _)) => format!("{base}?…"),
            None => self.url.clone(),
        }
    }

    /// Whether the address is `wss://`.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Host name or IP address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port (default 80 for `ws://`, 443 for `wss://`).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; `None` when malformed (port 0 included).
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let ok_host = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if !ok_host {
        return None;
    }
    match port {
        None => Some((host, None)),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some((host, Some(n))),
            _ => None,
        },
    }
}

/// Decodes hex into `out` (exactly `2 * out.len()` digits, either case).
pub(crate) fn decode_hex(hex: &str, out: &mut [u8]) -> bool {
    let digits = hex.as_bytes();
    if digits.len() != out.len() * 2 {
        return false;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            _ => return false,
        }
    }
    true
}

/// Settings of an [`crate::NwcBackend`]: the wallet, the relays to reach it through, the
/// client secret and the call timeout.
#[derive(Clone)]
pub struct NwcConfig {
    wallet: PublicKey,
    relays: Vec<RelayUrl>,
    secret: Secret,
    lud16: Option<String>,
    /// Time limit of one call (`l402_backend_timeout`); also bounds connecting to a relay.
    pub timeout: Duration,
    /// How long calls fail at once after the wallet stopped answering ([`crate::Breaker`]).
    pub breaker: BreakerSettings,
}

impl NwcConfig {
    /// Parses and validates a connection URI: wallet public key (64 hex digits), at least one
    /// `relay=` (tried in order: later ones are fallbacks), exactly one `secret=`, optional
    /// `lud16=`. Unknown parameters are ignored. Timeout: [`DEFAULT_TIMEOUT`].
    pub fn parse(uri: &str) -> Result<NwcConfig, ConfigError> {
        let bad = |why: &str| ConfigError::Uri(why.to_owned());
        let uri = uri.trim();
        if uri.len() > MAX_URI_LEN {
            return Err(bad(&format!("longer than {MAX_URI_LEN} bytes")));
        }
        let rest = strip_prefix_ci(uri, SCHEME)
            .ok_or_else(|| bad("must start with nostr+walletconnect://"))?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (pubkey, query) = rest.split_once('?').ok_or_else(|| bad("no parameters (relay=, secret=)"))?;
        let pubkey = pubkey.trim_end_matches('/');
        let mut key = [0u8; 32];
        if !decode_hex(pubkey, &mut key) {
            return Err(bad("the wallet public key must be 64 hex digits"));
        }
        let wallet = PublicKey::from_slice(&key)
            .map_err(|_| bad("the wallet public key is not a valid x-only secp256k1 key"))?;
        if query.contains('#') {
            return Err(bad("a fragment is not allowed"));
        }

        let mut relays = Vec::new();
        let mut secret = None;
        let mut lud16 = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "relay" => {
                    if relays.len() == MAX_RELAYS {
                        return Err(bad(&format!("more than {MAX_RELAYS} relays")));
                    }
                    relays.push(RelayUrl::parse(&value)?);
                }
                "secret" => {
                    let mut value = value.into_owned();
                    let parsed = Secret::from_hex(&value);
                    value.zeroize();
                    if secret.replace(parsed?).is_some() {
                        return Err(bad("more than one secret"));
                    }
                }
                "lud16" => lud16 = Some(value.chars().take(320).collect()),
                _ => {}
            }
        }
        let secret = secret.ok_or_else(|| bad("no secret= parameter"))?;
        if relays.is_empty() {
            return Err(bad("no relay= parameter"));
        }
        let keys = secret.keys()?;
        if keys.public_key() == wallet {
            return Err(bad("the secret is the wallet's own key"));
        }
        Ok(NwcConfig { wallet, relays, secret, lud16, timeout: DEFAULT_TIMEOUT, breaker: BreakerSettings::default() })
    }

    /// Reads the URI from a file (surrounding whitespace trimmed). The error names the file,
    /// never its content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<NwcConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| ConfigError::File(format!("cannot read \"{}\": {e}", path.display())))?;
        NwcConfig::parse(text.trim()).map_err(|e| match e {
            ConfigError::Uri(m) => ConfigError::Uri(format!("\"{}\": {m}", path.display())),
            ConfigError::Relay(m) => ConfigError::Relay(format!("\"{}\": {m}", path.display())),
            other => other,
        })
    }

    /// The same settings with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> NwcConfig {
        self.timeout = timeout;
        self
    }

    /// The same settings with other breaker cool-downs.
    pub fn with_breaker(mut self, breaker: BreakerSettings) -> NwcConfig {
        self.breaker = breaker;
        self
    }

    /// The wallet service's public key.
    pub fn wallet(&self) -> &PublicKey {
        &self.wallet
    }

    /// The wallet service's public key, hex.
    pub fn wallet_hex(&self) -> String {
        self.wallet.to_hex()
    }

    /// The relays, in the order they are tried.
    pub fn relays(&self) -> &[RelayUrl] {
        &self.relays
    }

    /// The `lud16` lightning address given with the URI, if any.
    pub fn lud16(&self) -> Option<&str> {
        self.lud16.as_deref()
    }

    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }
}

impl std::str::FromStr for NwcConfig {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<NwcConfig, ConfigError> {
        NwcConfig::parse(s)
    }
}

impl fmt::Debug for NwcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NwcConfig")
            .field("wallet", &self.wallet.to_hex())
            .field("relays", &self.relays.iter().map(RelayUrl::shown).collect::<Vec<_>>())
            .field("secret", &self.secret)
            .field("lud16", &self.lud16)
            .field("timeout", &self.timeout)
            .field("breaker", &self.breaker)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const WALLET: &str = "b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4";
    const SECRET: &str = "71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c";

    fn uri(query: &str) -> String {
        format!("nostr+walletconnect://{WALLET}?{query}")
    }

    fn uri_error(text: &str) -> ConfigError {
        match NwcConfig::parse(text) {
            Err(e) => e,
            Ok(c) => panic!("{text:?} was accepted: {c:?}"),
        }
    }

    #[test]
    fn parses_relays_in_order_secret_and_lud16() {
        let c = NwcConfig::parse(&uri(&format!(
            "relay=wss%3A%2F%2Frelay.example.com%2Fv1&relay=ws://127.0.0.1:7777&secret={SECRET}&lud16=a%40b.example&other=x"
        )))
        .unwrap();
        assert_eq!(c.wallet_hex(), WALLET);
        let relays: Vec<&str> = c.relays().iter().map(RelayUrl::as_str).collect();
        assert_eq!(relays, ["wss://relay.example.com/v1", "ws://127.0.0.1:7777"]);
        assert!(c.relays()[0].is_tls());
        assert_eq!((c.relays()[0].host(), c.relays()[0].port()), ("relay.example.com", 443));
        assert_eq!((c.relays()[1].host(), c.relays()[1].port()), ("127.0.0.1", 7777));
        assert_eq!(c.lud16(), Some("a@b.example"));
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.with_timeout(Duration::from_millis(300)).timeout, Duration::from_millis(300));
        // No `//`, upper-case scheme, IPv6 relay.
        let c = NwcConfig::parse(&format!(
            "NOSTR+WALLETCONNECT:{WALLET}?secret={SECRET}&relay=ws%3A%2F%2F%5B%3A%3A1%5D%3A9000"
        ))
        .unwrap();
        assert_eq!((c.relays()[0].host(), c.relays()[0].port()), ("::1", 9000));
    }

    #[test]
    fn refuses_hostile_uris_without_echoing_the_secret() {
        let bad_relay = |r: &str| uri(&format!("relay={r}&secret={SECRET}"));
        for text in [
            String::new(),
            format!("https://{WALLET}?relay=ws://x&secret={SECRET}"),
            format!("nostr+walletconnect://{WALLET}"),
            uri("relay=ws://x"),
            uri(&format!("secret={SECRET}")),
            uri(&format!("relay=ws://x&secret={SECRET}&secret={SECRET}")),
            uri("relay=ws://x&secret=zz"),
            uri(&format!("relay=ws://x&secret={}", &SECRET[..62])),
            uri(&format!("relay=ws://x&secret={SECRET}00")),
            uri(&format!("relay=ws://x&secret={}", "0".repeat(64))),
            format!("nostr+walletconnect://{}?relay=ws://x&secret={SECRET}", &WALLET[..63]),
            format!("nostr+walletconnect://xyz?relay=ws://x&secret={SECRET}"),
            format!("nostr+walletconnect://{WALLET}?relay=ws://x&secret={SECRET}#frag"),
            bad_relay("http://relay.example"),
            bad_relay("relay.example"),
            bad_relay("ws://"),
            bad_relay("ws://user:pw@relay.example"),
            bad_relay("ws://relay.example:0"),
            bad_relay("ws://relay.example:99999"),
            bad_relay("ws://relay.example:x"),
            bad_relay("ws://rel%20ay.example"),
            bad_relay("ws://relay.example/a%0Ab"),
            bad_relay("ws://[::1"),
            uri(&format!("secret={SECRET}{}", "&relay=ws://x".repeat(MAX_RELAYS + 1))),
            format!("{}{}", uri(&format!("relay=ws://x&secret={SECRET}&pad=")), "a".repeat(MAX_URI_LEN)),
        ] {
            let e = uri_error(&text);
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(SECRET) && !shown.contains(&SECRET[..20]), "{shown}");
        }
        // The wallet's own key as the client secret.
        let own = Secret::from_hex(SECRET).unwrap().keys().unwrap().public_key().to_hex();
        let e = uri_error(&format!("nostr+walletconnect://{own}?relay=ws://x&secret={SECRET}"));
        assert!(e.to_string().contains("own key"), "{e}");
    }

    #[test]
    fn debug_is_redacted() {
        let c = NwcConfig::parse(&uri(&format!("relay=ws://x&secret={SECRET}"))).unwrap();
        let shown = format!("{c:?} {:?}", c.secret());
        assert!(!shown.contains(&SECRET[..16]), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
        assert!(shown.contains(WALLET), "{shown}");
    }

    #[test]
    fn from_file_trims_and_names_the_file() {
        let dir = std::env::temp_dir().join(format!("l402-nwc-uri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("uri");
        std::fs::write(&file, format!("\n  {}  \n", uri(&format!("relay=ws://x&secret={SECRET}")))).unwrap();
        assert_eq!(NwcConfig::from_file(&file).unwrap().wallet_hex(), WALLET);
        std::fs::write(&file, uri("relay=ws://x")).unwrap();
        let e = NwcConfig::from_file(&file).unwrap_err();
        assert!(e.to_string().contains("uri\""), "{e}");
        let e = NwcConfig::from_file(dir.join("missing")).unwrap_err();
        assert!(matches!(e, ConfigError::File(_)) && e.to_string().contains("missing"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hex_decoding() {
        let mut out = [0u8; 2];
        assert!(decode_hex("aBff", &mut out));
        assert_eq!(out, [0xab, 0xff]);
        assert!(!decode_hex("abf", &mut out));
        assert!(!decode_hex("abfg", &mut out));
        assert!(!decode_hex("é1", &mut [0u8; 1]));
    }
}
