//! [`Payee`]: who the invoices pay, as an operator writes it — a Lightning Address
//! (`user@domain`, LUD-16), a bech32 LNURL (`lnurl1…`, LUD-01) or a plain LNURL-pay URL — and the
//! payRequest URL it resolves to, without any I/O.

use std::fmt;

use url::Url;

/// Longest payee text accepted, in bytes.
pub const MAX_PAYEE_LEN: usize = 2048;

/// Why a payee was refused. Shows the payee only through [`Payee::shown`]-style redaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeError(pub String);

impl fmt::Display for PayeeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PayeeError {}

/// A payee: where its payRequest document is (LUD-06 step 1) and how it is named in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Payee {
    /// The payRequest URL.
    url: Url,
    /// How logs name it: the address as written, or scheme://host/path of a URL (its query
    /// may hold a per-payee secret).
    shown: String,
}

impl fmt::Debug for Payee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payee({})", self.shown)
    }
}

impl Payee {
    /// Parses a payee. `allow_http` admits `http://` URLs and resolves Lightning Addresses over
    /// `http://` (for private deployments and tests; LUD-16 resolves over `https://`, or `http://`
    /// for an onion domain).
    pub fn parse(text: &str, allow_http: bool) -> Result<Payee, PayeeError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PayeeError("is empty".into()));
        }
        if text.len() > MAX_PAYEE_LEN {
            return Err(PayeeError(format!("is longer than {MAX_PAYEE_LEN} bytes")));
        }
        let lower = text.to_ascii_lowercase();
        let lower = lower.strip_prefix("lightning:").unwrap_or(&lower);
        if lower.starts_with("lnurl1") {
            let url = decode_lnurl(lower)?;
            return Payee::from_url(&url, allow_http);
        }
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return Payee::from_url(text, allow_http);
        }
        if text.contains('@') {
            return Payee::from_address(text, allow_http);
        }
        Err(PayeeError(
            "is not a Lightning Address (user@domain), an lnurl1… string or an https:// LNURL-pay URL".into(),
        ))
    }

    /// LUD-16: `user@domain` → `https://domain/.well-known/lnurlp/user` (`http://` for an
    /// `.onion` domain, or when plain HTTP is allowed).
    fn from_address(text: &str, allow_http: bool) -> Result<Payee, PayeeError> {
        let (user, domain) = text
            .split_once('@')
            .ok_or_else(|| PayeeError("is not user@domain".into()))?;
        // LUD-16: the username is limited to a-z0-9-_.+ (we also accept upper case and fold it).
        let user_ok = !user.is_empty()
            && user.len() <= 64
            && user.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+'));
        if !user_ok {
            return Err(PayeeError(
                "the name before '@' may hold only letters, digits and - _ . + (LUD-16)".into(),
            ));
        }
        let domain_ok = !domain.is_empty()
            && domain.len() <= 253
            && domain
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':' | b'[' | b']'));
        if !domain_ok {
            return Err(PayeeError("the domain after '@' is not a host name".into()));
        }
        let host = domain.to_ascii_lowercase();
        let scheme = if allow_http || host.ends_with(".onion") { "http" } else { "https" };
        let url = Url::parse(&format!(
            "{scheme}://{host}/.well-known/lnurlp/{}",
            user.to_ascii_lowercase()
        ))
        .map_err(|e| PayeeError(format!("does not make a URL: {e}")))?;
        Ok(Payee { url, shown: format!("{}@{host}", user.to_ascii_lowercase()) })
    }

    fn from_url(text: &str, allow_http: bool) -> Result<Payee, PayeeError> {
        let url = Url::parse(text).map_err(|e| PayeeError(format!("is not a URL: {e}")))?;
        check_scheme(&url, allow_http).map_err(PayeeError)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PayeeError("must not contain user info".into()));
        }
        let shown = format!("{}://{}{}", url.scheme(), host_port(&url), url.path());
        Ok(Payee { url, shown })
    }

    /// The payRequest URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The payee as logs name it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The payee's host (and port, when not the scheme's default).
    pub fn host(&self) -> String {
        host_port(&self.url)
    }
}

/// `host[:port]` of a URL, lowercase.
pub fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// `https://`, or `http://` when allowed (LUD-01: "LNURL … must use https", except onion).
pub fn check_scheme(url: &Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http || url.host_str().is_some_and(|h| h.ends_with(".onion")) => {}
        "http" => {
            return Err("uses http://: allow it with \"l402_lnurl_allow_http on\" (tests and private networks only)".into())
        }
        other => return Err(format!("has scheme \"{}\", not https", other.chars().take(16).collect::<String>())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// LUD-01: a bech32 string with human-readable part `lnurl` whose data is the URL's bytes.
fn decode_lnurl(text: &str) -> Result<String, PayeeError> {
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<bech32::Bech32>(text)
        .map_err(|e| PayeeError(format!("is not a valid bech32 LNURL: {e}")))?;
    if !checked.hrp().as_str().eq_ignore_ascii_case("lnurl") {
        return Err(PayeeError("is a bech32 string but not an LNURL".into()));
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    String::from_utf8(bytes).map_err(|_| PayeeError("LNURL does not decode to a UTF-8 URL".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode_lnurl(url: &str) -> String {
        let hrp = bech32::Hrp::parse("lnurl").unwrap();
        bech32::encode::<bech32::Bech32>(hrp, url.as_bytes()).unwrap()
    }

    #[test]
    fn lightning_address_resolves_over_https() {
        let p = Payee::parse("Alice@Example.com", false).unwrap();
        assert_eq!(p.url().as_str(), "https://example.com/.well-known/lnurlp/alice");
        assert_eq!(p.shown(), "alice@example.com");
        assert_eq!(p.host(), "example.com");
        let local = Payee::parse("bob@127.0.0.1:8443", false).unwrap();
        assert_eq!(local.url().as_str(), "https://127.0.0.1:8443/.well-known/lnurlp/bob");
        assert_eq!(local.host(), "127.0.0.1:8443");
        let plain = Payee::parse("bob@127.0.0.1:8080", true).unwrap();
        assert_eq!(plain.url().scheme(), "http");
        let onion = Payee::parse("carol@abcdef.onion", false).unwrap();
        assert_eq!(onion.url().scheme(), "http");
    }

    #[test]
    fn bech32_lnurl_and_plain_urls() {
        let url = "https://service.example/lnurlp/alice?k1=secret";
        let p = Payee::parse(&encode_lnurl(url), false).unwrap();
        assert_eq!(p.url().as_str(), url);
        assert!(!p.shown().contains("secret"), "{}", p.shown());
        let upper = encode_lnurl(url).to_ascii_uppercase();
        assert_eq!(Payee::parse(&format!("lightning:{upper}"), false).unwrap().url().as_str(), url);
        assert_eq!(Payee::parse(url, false).unwrap().shown(), "https://service.example/lnurlp/alice");
    }

    #[test]
    fn hostile_payees_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@example.com/../x",
            "ftp://example.com/x",
            "http://example.com/x",
            "https://user:pw@example.com/x",
            "lnurl1qqqqqqqq",
            "https://",
        ] {
            assert!(Payee::parse(bad, false).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_PAYEE_LEN));
        assert!(Payee::parse(&long, false).is_err());
        let not_lnurl = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("lnbc").unwrap(), b"x").unwrap();
        assert!(Payee::parse(&format!("lnurl{}", &not_lnurl[4..]), false).is_err());
        let err = Payee::parse("https://user:hunter2@example.com/x", false).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
