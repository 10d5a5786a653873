//! CORS for paid locations (the Fetch standard, "CORS protocol"): which origins may call a paid
//! location from a browser. With an allow-list, a preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) is answered without a challenge and without an invoice, and
//! answers to allowed origins expose the headers an L402 client must read.

/// `l402_cors_origins`: origins as the `Origin` header spells them (`scheme://host[:port]`),
/// or `*` for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOrigins {
    any: bool,
    /// Lowercase.
    origins: Vec<String>,
}

/// Longest origin accepted in the configuration or compared from a request.
pub const MAX_ORIGIN: usize = 512;

impl CorsOrigins {
    /// Parses the directive's arguments; an error names the bad one.
    pub fn parse(values: &[&str]) -> Result<CorsOrigins, String> {
        let mut out = CorsOrigins { any: false, origins: Vec::new() };
        for v in values {
            if *v == "*" {
                out.any = true;
                continue;
            }
            let lower = v.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"))
                .ok_or_else(|| format!("origin \"{v}\" must start with https:// or http://"))?;
            let host_ok = !rest.is_empty()
                && rest.len() <= MAX_ORIGIN
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
            if !host_ok {
                return Err(format!("origin \"{v}\" must be scheme://host[:port], without a path"));
            }
            out.origins.push(lower);
        }
        Ok(out)
    }

    /// Whether a request's `Origin` may read the answer. `null` (opaque origins) only with `*`.
    pub fn allows(&self, origin: &[u8]) -> bool {
        if origin.is_empty() || origin.len() > MAX_ORIGIN {
            return false;
        }
        self.any || self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_case_insensitive_and_nothing_else() {
        let c = CorsOrigins::parse(&["https://app.example.com", "http://localhost:3000"]).unwrap();
        assert!(c.allows(b"https://app.example.com"));
        assert!(c.allows(b"HTTPS://App.Example.com"));
        assert!(c.allows(b"http://localhost:3000"));
        assert!(!c.allows(b"https://app.example.com.evil.net"));
        assert!(!c.allows(b"https://evil.app.example.com"));
        assert!(!c.allows(b"http://app.example.com"));
        assert!(!c.allows(b"null"));
        assert!(!c.allows(b""));
        let any = CorsOrigins::parse(&["*"]).unwrap();
        assert!(any.allows(b"https://whatever.example") && any.allows(b"null"));
        assert!(!any.allows(&[b'a'; MAX_ORIGIN + 1]));
    }

    #[test]
    fn configuration_errors_name_the_origin() {
        for bad in ["app.example.com", "https://a.example/path", "https://", "ftp://x", "https://a b"] {
            let e = CorsOrigins::parse(&[bad]).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
