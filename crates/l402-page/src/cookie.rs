//! The credential cookie of the payment page (RFC 6265): its name per service, the
//! `Set-Cookie` line the module sends once a payment is proven, and finding it again in a
//! `Cookie` header. The cookie holds exactly what follows `L402 ` in an `Authorization` value.

use sha2::{Digest, Sha256};

/// Longer cookie values are ignored (a macaroon and a preimage are about 400 bytes).
pub const MAX_VALUE: usize = 3_072;
/// Browsers keep a cookie at most 400 days (RFC 6265bis §5.5); a token that never expires
/// gets that.
pub const MAX_AGE_NEVER_EXPIRES: u64 = 400 * 24 * 3_600;

/// The cookie of `service`'s credential: `l402_` and 12 hex digits of the name's SHA-256, so
/// nested locations of different services never read each other's cookie and any service name
/// gives a valid cookie name.
pub fn name(service: &str) -> String {
    let digest = Sha256::digest(service.as_bytes());
    let mut out = String::with_capacity(17);
    out.push_str("l402_");
    for b in &digest[..6] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `value` may be a cookie value (RFC 6265 §4.1.1 `cookie-octet`, no quotes) within
/// [`MAX_VALUE`].
pub fn is_valid_value(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE
        && value.iter().all(|&b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// The value of the cookie `name` in one `Cookie` header (`a=b; c=d`, RFC 6265 §5.4), if it is
/// there and valid. The first valid one wins (browsers send the longest path first).
pub fn find<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (n, v) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
        (n == name.as_bytes() && is_valid_value(v)).then_some(v)
    })
}

/// Where the cookie is sent: the location's own prefix when it is a literal path, or else the
/// request path's directory (RFC 6265 §5.1.4, "default-path").
pub fn path(location: &[u8], uri: &[u8]) -> String {
    let safe = |p: &[u8]| p.first() == Some(&b'/') && p.iter().all(|&b| (0x21..=0x7E).contains(&b) && b != b';');
    if safe(location) {
        return String::from_utf8_lossy(location).into_owned();
    }
    match uri.iter().rposition(|&b| b == b'/') {
        Some(i) if i > 0 && safe(&uri[..i]) => String::from_utf8_lossy(&uri[..i]).into_owned(),
        _ => "/".to_owned(),
    }
}

/// How the cookie is sent.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub name: &'a str,
    pub path: &'a str,
    /// Served over TLS: the cookie is `Secure`.
    pub secure: bool,
}

/// The `Set-Cookie` value that stores `value` for `max_age` seconds: `HttpOnly` (no script
/// reads it), `SameSite=Lax` (other sites' subrequests never carry it). `None` when `value`
/// cannot be a cookie.
pub fn set(scope: &Scope<'_>, value: &[u8], max_age: u64) -> Option<String> {
    if !is_valid_value(value) {
        return None;
    }
    let value = std::str::from_utf8(value).ok()?;
    Some(line(scope, value, max_age.clamp(1, MAX_AGE_NEVER_EXPIRES)))
}

/// The `Set-Cookie` value that removes the cookie (its credential was refused).
pub fn clear(scope: &Scope<'_>) -> String {
    line(scope, "", 0)
}

fn line(scope: &Scope<'_>, value: &str, max_age: u64) -> String {
    let secure = if scope.secure { "; Secure" } else { "" };
    format!("{}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}", scope.name, scope.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_per_service_and_valid() {
        let a = name("api");
        assert_eq!(a.len(), 17);
        assert!(a.starts_with("l402_"));
        assert_ne!(a, name("api2"));
        assert_eq!(a, name("api"));
        assert!(name("weird; name=\"x\"").bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }

    #[test]
    fn finds_its_cookie_only() {
        let h = b"a=1; l402_x=AgEE+/=:ab12; l402_y=zz";
        assert_eq!(find(h, "l402_x"), Some(&b"AgEE+/=:ab12"[..]));
        assert_eq!(find(h, "l402_y"), Some(&b"zz"[..]));
        assert_eq!(find(h, "l402_z"), None);
        assert_eq!(find(b"l402_x=\"quoted\"", "l402_x"), None);
        assert_eq!(find(b"l402_x=", "l402_x"), None);
        assert_eq!(find(b"l402_x=bad value; l402_x=good", "l402_x"), Some(&b"good"[..]));
        assert_eq!(find(b"xl402_x=1", "l402_x"), None);
    }

    #[test]
    fn paths() {
        assert_eq!(path(b"/api/", b"/api/x"), "/api/");
        assert_eq!(path(b"/premium", b"/premium"), "/premium");
        assert_eq!(path(b"~ ^/r", b"/r/a/b"), "/r/a");
        assert_eq!(path(b"@named", b"/x"), "/");
        assert_eq!(path(b"/a;b", b"/a;b/c"), "/");
    }

    #[test]
    fn set_and_clear() {
        let s = Scope { name: "l402_ab", path: "/api/", secure: false };
        assert_eq!(set(&s, b"m:p", 60).as_deref(), Some("l402_ab=m:p; Path=/api/; Max-Age=60; HttpOnly; SameSite=Lax"));
        let s = Scope { secure: true, ..s };
        assert!(set(&s, b"m", 0).is_some_and(|l| l.contains("Max-Age=1;") && l.ends_with("; Secure")));
        assert!(set(&s, b"m", u64::MAX).is_some_and(|l| l.contains("Max-Age=34560000;")));
        assert_eq!(set(&s, b"a;b", 60), None);
        assert_eq!(set(&s, b"a b", 60), None);
        assert!(clear(&s).starts_with("l402_ab=; Path=/api/; Max-Age=0;"));
    }

    proptest::proptest! {
        #[test]
        fn find_never_panics_and_returns_valid_values(
            header in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            if let Some(v) = find(&header, "l402_x") {
                proptest::prop_assert!(is_valid_value(v));
            }
        }
    }
}
