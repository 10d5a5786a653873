//! A credential in a URL query parameter, for clients that cannot set `Authorization` (browser
//! WebSocket and EventSource): `?<name>=<macaroon>:<preimage>`, percent-encoded (RFC 3986
//! section 2.1; `+` as a space, as forms send it). Opt-in per location, since URLs reach access
//! logs and proxies: [`redact`] gives the request URI without the value, for logs.

use crate::encoding::hex_value;
use crate::limits::MAX_AUTHORIZATION_BYTES;

/// The decoded value of the first `name=` parameter of `args` (the part after `?`), as the
/// `Authorization` header would carry it: `L402 <value>`. `None` when absent, empty, too long
/// or badly encoded.
pub fn as_authorization(args: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let raw = args.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = split_pair(pair);
        (k == name).then_some(v)
    })?;
    if raw.is_empty() || raw.len() > MAX_AUTHORIZATION_BYTES {
        return None;
    }
    let decoded = percent_decode(raw)?;
    let mut out = Vec::with_capacity(5 + decoded.len());
    out.extend_from_slice(b"L402 ");
    out.extend_from_slice(&decoded);
    Some(out)
}

/// Query-string decoding: `%XX` escapes and `+` as a space (RFC 3986 section 2.1, HTML forms).
/// `None` for a malformed escape.
pub fn percent_decode(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'%' => {
                let hi = hex_value(*raw.get(i + 1)?)?;
                let lo = hex_value(*raw.get(i + 2)?)?;
                out.push((hi << 4) | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `uri` (path and query, as `$request_uri`) with the value of every `name=` parameter replaced
/// by `REDACTED`.
pub fn redact(uri: &[u8], name: &[u8]) -> Vec<u8> {
    let Some(q) = uri.iter().position(|&b| b == b'?') else { return uri.to_vec() };
    let mut out = uri[..=q].to_vec();
    for (i, pair) in uri[q + 1..].split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let (k, _) = split_pair(pair);
        if k == name && pair.contains(&b'=') {
            out.extend_from_slice(k);
            out.extend_from_slice(b"=REDACTED");
        } else {
            out.extend_from_slice(pair);
        }
    }
    out
}

fn split_pair(pair: &[u8]) -> (&[u8], &[u8]) {
    match pair.iter().position(|&b| b == b'=') {
        Some(at) => (&pair[..at], &pair[at + 1..]),
        None => (pair, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes_the_named_parameter() {
        assert_eq!(as_authorization(b"a=1&l402=AgE%2B%2F%3D:ab&b=2", b"l402").as_deref(), Some(&b"L402 AgE+/=:ab"[..]));
        assert_eq!(as_authorization(b"l402x=1&l402=v", b"l402").as_deref(), Some(&b"L402 v"[..]));
        assert_eq!(as_authorization(b"a=1", b"l402"), None);
        assert_eq!(as_authorization(b"l402=", b"l402"), None);
        assert_eq!(as_authorization(b"l402=%zz", b"l402"), None);
        assert_eq!(as_authorization(b"l402=%4", b"l402"), None);
        let long = [b"l402=".as_slice(), &vec![b'a'; MAX_AUTHORIZATION_BYTES + 1]].concat();
        assert_eq!(as_authorization(&long, b"l402"), None);
    }

    #[test]
    fn redacts_every_value_of_the_parameter_only() {
        assert_eq!(redact(b"/ws?l402=secret&x=1&l402=again", b"l402"), b"/ws?l402=REDACTED&x=1&l402=REDACTED".to_vec());
        assert_eq!(redact(b"/ws?l402x=keep&l402", b"l402"), b"/ws?l402x=keep&l402".to_vec());
        assert_eq!(redact(b"/ws", b"l402"), b"/ws".to_vec());
    }
}
