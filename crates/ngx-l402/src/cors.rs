//! The CORS headers of a paid location's answers (the Fetch standard, "CORS protocol"), for an
//! origin on its `l402_cors_origins` list: the decision (`l402_gate::cors`) says whether a
//! request is an allowed preflight; this writes the headers.

use ngx::ffi::{ngx_http_request_t, ngx_int_t};

use crate::ffi::add_header_out;
use crate::render::INTERNAL_ERROR;

/// What a browser script must be able to read from a 402 (and a paid answer).
const EXPOSE: &[u8] = b"WWW-Authenticate, X-Cashu, X-L402-Reason, X-L402-Uses-Remaining, Retry-After";
/// Methods a preflight may ask for.
const METHODS: &[u8] = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers an L402 client sends besides the usual ones.
const HEADERS: &str = "Authorization, Content-Type, X-Cashu, Macaroon";
/// Seconds a browser may cache a preflight answer.
const MAX_AGE: &[u8] = b"600";
/// Longest `Access-Control-Request-Headers` echoed back.
const MAX_REQUEST_HEADERS: usize = 1024;

/// `Access-Control-Allow-Origin` for `origin` (echoed: it matched the list), `Vary: Origin`, and
/// on an ordinary answer the headers a script may read. False when a header could not be added.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn allow_origin(r: *mut ngx_http_request_t, origin: &[u8], preflight: bool) -> bool {
    // SAFETY: forwarded contract.
    unsafe {
        if crate::ffi::has_header_out(r, "Access-Control-Allow-Origin") {
            return true; // an internal redirect (index, try_files) decided again
        }
        add_header_out(r, "Access-Control-Allow-Origin", origin)
            && add_header_out(r, "Vary", b"Origin")
            && (preflight || add_header_out(r, "Access-Control-Expose-Headers", EXPOSE))
    }
}

/// The answer to an allowed preflight: 204 with the methods and headers a client may use.
///
/// # Safety
/// `r` is a live request on the main thread.
pub unsafe fn preflight(r: *mut ngx_http_request_t) -> ngx_int_t {
    // SAFETY: forwarded contract.
    unsafe {
        let asked = crate::ffi::header_in(r, "Access-Control-Request-Headers").unwrap_or_default();
        let mut headers = HEADERS.to_owned();
        // Header names the script asked for (tokens only; anything else is left out).
        if asked.len() <= MAX_REQUEST_HEADERS {
            for name in asked.split(|&b| b == b',') {
                let name = name.trim_ascii();
                let token = !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                if token && !HEADERS.split(", ").any(|h| h.as_bytes().eq_ignore_ascii_case(name)) {
                    headers.push_str(", ");
                    headers.push_str(&String::from_utf8_lossy(name));
                }
            }
        }
        let ok = add_header_out(r, "Access-Control-Allow-Methods", METHODS)
            && add_header_out(r, "Access-Control-Allow-Headers", headers.as_bytes())
            && add_header_out(r, "Access-Control-Max-Age", MAX_AGE)
            && add_header_out(r, "Cache-Control", b"no-store");
        if !ok {
            return INTERNAL_ERROR;
        }
        NO_CONTENT
    }
}

const NO_CONTENT: ngx_int_t = 204;
