//! Facts and policy of one request, read from nginx for the decision (`l402_gate`). Nothing
//! here decides: it only reads the request and the location's configuration.

use l402_gate::{Carriers, Facts, Policy, PriceFact, Store};
use l402_usage::price::parse_price;
use ngx::ffi::ngx_http_request_t;
use ngx::http::{HttpModuleLocationConf, HttpModuleServerConf, NgxHttpCoreModule};

use crate::conf::{derive_service_name, LocConf, Price, Settings, StoreSettings, MAX_AMOUNT_MSAT};
use crate::marks;

/// Headers that carry a hex macaroon instead of `Authorization` (gRPC metadata; the L402
/// protocol specification, "gRPC").
const HEX_MACAROON_HEADERS: [&str; 4] = ["Macaroon", "Token", "Grpc-Metadata-Macaroon", "Grpc-Metadata-Token"];

/// The location's policy for this request.
///
/// # Safety
/// `r` is a live request on the main thread; `lcf` is its location's conf.
pub unsafe fn policy<'a>(r: *mut ngx_http_request_t, lcf: &'a LocConf, settings: &'a Settings) -> Policy<'a> {
    Policy {
        // SAFETY: forwarded contract.
        service: unsafe { service_name(r, lcf) },
        uses: lcf.uses(),
        store: match settings.store {
            StoreSettings::Zone(_) => Store::Zone,
            StoreSettings::Redis(_) => Store::Redis,
            StoreSettings::None => Store::None,
        },
        store_price: lcf.redis_price(),
        rate_limit: lcf.rate_limit(),
        auto_detect: lcf.auto_detect(),
        macaroon_timeout: lcf.macaroon_timeout(),
        invoice_expiry_secs: lcf.invoice_expiry(),
        legacy_lsat: settings.legacy_lsat,
        dry_run: lcf.dry_run(),
        cors: lcf.cors.as_deref(),
        cashu: settings.cashu.as_ref().filter(|_| lcf.cashu()).map(|c| &*c.policy),
    }
}

/// The request's facts. `now_ms` is the adapter's one clock ([`now_ms`]).
///
/// # Safety
/// `r` is a live request on the main thread; the facts borrow its memory.
pub unsafe fn facts<'a>(r: *mut ngx_http_request_t, lcf: &LocConf, cashu: bool) -> Facts<'a> {
    // SAFETY: forwarded contract; header storage, `uri` and `addr_text` belong to the request.
    unsafe {
        let auth = (*r).headers_in.authorization;
        let authorization = match (!auth.is_null()).then(|| (*auth).value.as_bytes()) {
            None => lcf.query_credential.as_deref().and_then(|name| query_credential(r, name)),
            header => header,
        };
        // The payment page's cookie, only where the page is on and nothing else was presented.
        let authorization = match authorization {
            None if lcf.payment_html() => crate::page::cookie_credential(r, service_name(r, lcf)),
            other => other,
        };
        let hex_macaroon = if authorization.is_some_and(l402_core::credential::is_l402_scheme) {
            None
        } else {
            HEX_MACAROON_HEADERS.iter().find_map(|name| crate::ffi::header_in(r, name))
        };
        let internal = (*r).internal() != 0;
        // The Cashu carrier only where Cashu is taken (no header walk otherwise).
        let x_cashu = if cashu { crate::ffi::header_in(r, l402_gate::method::cashu::HEADER) } else { None };
        // CORS facts only where an allow-list is configured (no header walk otherwise).
        let origin = lcf.cors.as_ref().and_then(|_| crate::ffi::header_in(r, "Origin"));
        let preflight = origin.is_some()
            && (*r).method == ngx::ffi::NGX_HTTP_OPTIONS as usize
            && crate::ffi::header_in(r, "Access-Control-Request-Method").is_some();
        Facts {
            carriers: Carriers { authorization, hex_macaroon, x_cashu },
            origin,
            preflight,
            session: crate::page::is_session_request(r, lcf),
            client_addr: (*(*r).connection).addr_text.as_bytes(),
            connection: (*(*r).connection).number,
            path: (*r).uri.as_bytes(),
            price: price(r, lcf),
            // Marks come from an earlier pass of this request: only after an internal redirect.
            claimed: if internal { marks::claimed(r) } else { None },
            already_challenged: internal && marks::has(r, marks::Mark::PaymentRequired),
            now_ms: now_ms(),
        }
    }
}

/// `l402_query_credential`: the named query parameter as an `Authorization` value, copied into
/// the request pool (it lives as long as the request).
unsafe fn query_credential<'a>(r: *mut ngx_http_request_t, name: &str) -> Option<&'a [u8]> {
    // SAFETY: live request; the copy is in its pool.
    unsafe {
        let value = l402_core::credential::query::as_authorization((*r).args.as_bytes(), name.as_bytes())?;
        redact_request_line(r, name);
        pool_copy(r, &value)
    }
}

/// The request line without the credential: nginx puts `$request` (this line) in every error
/// log line about the request and in the default access log format.
unsafe fn redact_request_line(r: *mut ngx_http_request_t, name: &str) {
    // SAFETY: live request; the new line is in its pool and lives as long as the request.
    unsafe {
        let line = (*r).request_line.as_bytes();
        let (Some(first), Some(last)) = (line.iter().position(|&b| b == b' '), line.iter().rposition(|&b| b == b' ')) else {
            return;
        };
        if last <= first {
            return;
        }
        let uri = l402_core::credential::query::redact(&line[first + 1..last], name.as_bytes());
        let redacted = [&line[..=first], &uri[..], &line[last..]].concat();
        if let Some(copy) = pool_copy(r, &redacted) {
            (*r).request_line = ngx::ffi::ngx_str_t { len: copy.len(), data: copy.as_ptr().cast_mut() };
        }
    }
}

/// `bytes` copied into the request pool.
unsafe fn pool_copy<'a>(r: *mut ngx_http_request_t, bytes: &[u8]) -> Option<&'a [u8]> {
    // SAFETY: live request; the pool outlives every borrow of the request.
    unsafe {
        let p = ngx::ffi::ngx_pnalloc((*r).pool, bytes.len()).cast::<u8>();
        if p.is_null() {
            return None;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        Some(std::slice::from_raw_parts(p, bytes.len()))
    }
}

/// The adapter's clock: nginx's cached time of this event-loop turn, in milliseconds.
pub fn now_ms() -> u64 {
    let tp = ngx::ffi::ngx_timeofday();
    u64::try_from(tp.sec).unwrap_or(0).saturating_mul(1_000).saturating_add(tp.msec as u64)
}

/// The location's price: fixed, or its nginx complex value evaluated for this request. A value
/// that is not a whole number in 1..=max is a [`PriceFact::Invalid`]: never a free request.
unsafe fn price(r: *mut ngx_http_request_t, lcf: &LocConf) -> PriceFact {
    let cv = match lcf.price() {
        Price::Fixed(amount) => return PriceFact::Msat(amount),
        Price::Variable(cv) => cv,
    };
    // SAFETY: live request; `cv` was compiled at parse time.
    let Some(raw) = (unsafe { crate::ffi::complex_value(r, cv.0) }) else {
        return PriceFact::Unevaluable;
    };
    match parse_price(raw, MAX_AMOUNT_MSAT) {
        Ok(p) => PriceFact::Msat(p),
        Err(e) => {
            let shown: String =
                raw.iter().take(32).map(|&b| if b.is_ascii_graphic() { char::from(b) } else { '?' }).collect();
            PriceFact::Invalid {
                log: format!("l402: \"l402_amount_msat_default\" gave \"{shown}\": {e}; answering 503"),
            }
        }
    }
}

/// The service tokens of this location are bound to: `l402_service`, or the name derived at
/// configuration time (`services.rs`), so a token is valid only where it was bought.
///
/// # Safety
/// `r` is a live request; `lcf` is its location's conf.
pub unsafe fn service_name(r: *mut ngx_http_request_t, lcf: &LocConf) -> &str {
    if let Some(name) = &lcf.service {
        return name;
    }
    // An `if` or `limit_except` block has no name of its own: its enclosing location's.
    let mut conf = Some(lcf);
    for _ in 0..=crate::loc_tree::MAX_DEPTH {
        let Some(c) = conf else { break };
        if let Some(name) = c.derived_service.get() {
            return name;
        }
        // SAFETY: parents are confs of the same cycle, alive as long as `lcf`.
        conf = c.parent.map(|p| unsafe { &*p.as_ptr() });
    }
    // Not reached for locations nginx's trees hold; a name from this request's server and
    // location as a last resort.
    lcf.derived_service.get_or_init(|| {
        // SAFETY: live request; core module confs are always present in an HTTP request.
        unsafe {
            let server = NgxHttpCoreModule::server_conf(&*r)
                .map(|c| c.server_name.as_bytes().to_vec())
                .unwrap_or_default();
            let location = NgxHttpCoreModule::location_conf(&*r)
                .map(|c| {
                    let clcf: crate::loc_tree::Clcf = c;
                    [crate::loc_tree::modifier(clcf).as_bytes(), b" ", c.name.as_bytes()].concat()
                })
                .unwrap_or_default();
            derive_service_name(&server, &location)
        }
    })
}
