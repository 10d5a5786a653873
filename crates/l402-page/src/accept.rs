//! Whether a request is from a browser that wants a page: content negotiation on `Accept`
//! (RFC 9110 §12.5.1). Only an explicit `text/html` (or `application/xhtml+xml`) that is
//! preferred at least as much as every other explicit type selects the page; `*/*` or `text/*`
//! alone never do, so API clients (`curl`, `fetch`, L402 libraries) always get the plain 402.

/// Longer `Accept` values are not negotiated (no page): browsers send about 150 bytes.
pub const MAX_ACCEPT: usize = 2_048;
/// Media ranges looked at, at most.
const MAX_RANGES: usize = 32;

/// Weights in thousandths (RFC 9110 §12.4.2: `qvalue` has at most three decimals).
type Weight = u16;

/// Whether `accept` asks for HTML before anything else it names.
pub fn prefers_html(accept: &[u8]) -> bool {
    if accept.len() > MAX_ACCEPT {
        return false;
    }
    let mut html: Option<Weight> = None;
    let mut other: Weight = 0;
    for range in accept.split(|&b| b == b',').take(MAX_RANGES) {
        let mut parts = range.split(|&b| b == b';');
        let media = parts.next().unwrap_or_default().trim_ascii();
        let mut weight: Weight = 1_000;
        for param in parts {
            let param = param.trim_ascii();
            if let Some(q) = param.strip_prefix(b"q=").or_else(|| param.strip_prefix(b"Q=")) {
                match parse_qvalue(q) {
                    Some(w) => weight = w,
                    None => return false,
                }
            }
        }
        let Some(slash) = media.iter().position(|&b| b == b'/') else { continue };
        let (kind, sub) = (&media[..slash], &media[slash + 1..]);
        if sub == b"*" {
            // Wildcards accept a page but never ask for one.
            continue;
        }
        let is_html = (kind.eq_ignore_ascii_case(b"text") && sub.eq_ignore_ascii_case(b"html"))
            || (kind.eq_ignore_ascii_case(b"application") && sub.eq_ignore_ascii_case(b"xhtml+xml"));
        if is_html {
            html = Some(html.map_or(weight, |h| h.max(weight)));
        } else {
            other = other.max(weight);
        }
    }
    html.is_some_and(|h| h > 0 && h >= other)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(q: &[u8]) -> Option<Weight> {
    let (int, frac) = match q.iter().position(|&b| b == b'.') {
        Some(dot) => (&q[..dot], &q[dot + 1..]),
        None => (q, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| Weight::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1_000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_the_page() {
        // Chromium and Firefox navigations.
        assert!(prefers_html(b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"));
        assert!(prefers_html(b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(prefers_html(b"TEXT/HTML"));
    }

    #[test]
    fn api_clients_never_do() {
        assert!(!prefers_html(b""));
        assert!(!prefers_html(b"*/*"));
        assert!(!prefers_html(b"text/*"));
        assert!(!prefers_html(b"application/json"));
        assert!(!prefers_html(b"application/json, text/html;q=0.5"));
        assert!(!prefers_html(b"text/html;q=0"));
        assert!(!prefers_html(b"text/html;q=2"));
        assert!(!prefers_html(b"text/html;q=0.12345"));
        let long = [b"text/html,".as_slice(), &[b' '; MAX_ACCEPT]].concat();
        assert!(!prefers_html(&long));
    }

    #[test]
    fn equal_weight_prefers_the_page() {
        assert!(prefers_html(b"application/json, text/html"));
        assert!(prefers_html(b"text/html;q=0.9, application/json;q=0.9"));
        assert!(!prefers_html(b"text/html;q=0.8, application/json;q=0.9"));
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue(b"1"), Some(1000));
        assert_eq!(parse_qvalue(b"1.000"), Some(1000));
        assert_eq!(parse_qvalue(b"0.5"), Some(500));
        assert_eq!(parse_qvalue(b"0.05"), Some(50));
        assert_eq!(parse_qvalue(b"0"), Some(0));
        assert_eq!(parse_qvalue(b"1.5"), None);
        assert_eq!(parse_qvalue(b"x"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = prefers_html(&bytes);
        }
    }
}
