//! Mint URLs compared as NUT-00 writes them: "the mint URL MUST be normalized by stripping any
//! trailing slashes". We also lower-case the scheme and host and drop a default port, so an
//! allow-list entry and a token's mint compare equal exactly when they name the same mint.

/// Longer mint URLs are refused.
pub const MAX_MINT_URL_LEN: usize = 512;

/// `scheme://host[:port][/path]` normalised, or `None` if it is not an http(s) URL we would
/// ever contact: no user info, query, fragment, whitespace, control or non-ASCII bytes.
pub fn normalise_mint_url(url: &str) -> Option<String> {
    if url.is_empty() || url.len() > MAX_MINT_URL_LEN {
        return None;
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) || url.contains(['?', '#', '@', '\\']) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut host = authority.to_ascii_lowercase();
    if let Some(stripped) = host.strip_suffix(default_port) {
        host = stripped.to_string();
    }
    if host.is_empty() || host.starts_with(':') || host.ends_with(':') {
        return None;
    }
    let path = path.trim_end_matches('/');
    Some(format!("{scheme}://{host}{path}"))
}

#[cfg(test)]
mod tests {
    use super::normalise_mint_url as n;

    #[test]
    fn normalises() {
        assert_eq!(n("https://Mint.Example.COM/").as_deref(), Some("https://mint.example.com"));
        assert_eq!(n("HTTPS://mint.example.com:443").as_deref(), Some("https://mint.example.com"));
        assert_eq!(n("http://localhost:3338//").as_deref(), Some("http://localhost:3338"));
        assert_eq!(n("https://8333.space:3338").as_deref(), Some("https://8333.space:3338"));
        assert_eq!(n("https://h.example/Cashu/Mint/").as_deref(), Some("https://h.example/Cashu/Mint"));
        assert_eq!(n("http://h.example:80/x").as_deref(), Some("http://h.example/x"));
    }

    #[test]
    fn refuses() {
        for bad in [
            "",
            "mint.example.com",
            "ftp://mint.example.com",
            "https://",
            "https:///path",
            "https://user@mint.example.com",
            "https://mint.example.com/?a=b",
            "https://mint.example.com/#x",
            "https://mint example.com",
            "https://mint.example.com\n",
            "https://mïnt.example.com",
            "https://:443",
            "https://mint.example.com:",
        ] {
            assert_eq!(n(bad), None, "{bad:?}");
        }
        assert_eq!(n(&format!("https://{}", "a".repeat(600))), None);
    }
}
