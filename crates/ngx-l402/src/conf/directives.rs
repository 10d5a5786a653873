//! Directive table and handlers. Each handler turns its arguments into a typed value or fails
//! `nginx -t` with a message naming the directive and the problem (nginx adds file and line).

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;
use std::time::Duration;

use l402_core::keys::RootKey;
use ngx::ffi::{
    ngx_command_t, ngx_conf_t, ngx_str_t, ngx_uint_t, NGX_CONF_FLAG, NGX_CONF_NOARGS,
    NGX_CONF_1MORE, NGX_CONF_TAKE1, NGX_CONF_TAKE12, NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF,
    NGX_HTTP_MAIN_CONF_OFFSET, NGX_HTTP_SRV_CONF,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::ngx_string;

use l402_usage::{Rate, UsePolicy};

use super::cashu::{allow_http as cashu_allow_http, db as cashu_db, key_file as cashu_key_file, lock_window as cashu_lock_window, mints as cashu_mints, mode as cashu_mode};
use super::{ComplexValue, LocConf, MainConf, Price, MAX_AMOUNT_MSAT};
use crate::backends;
use crate::ffi::{conf_args, conf_error, parse_time, CONF_OK};
use crate::Module;

const HTTP_ANY: u32 = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

macro_rules! command {
    ($name:literal, $ty:expr, $handler:ident, $offset:expr) => {
        ngx_command_t {
            name: ngx_string!($name),
            type_: ($ty) as ngx_uint_t,
            set: Some($handler),
            conf: $offset,
            offset: 0,
            post: null_mut(),
        }
    };
}

/// The module's own directives; the backends' follow from the registry ([`COMMANDS`]).
const CORE: [ngx_command_t; CORE_LEN] = [
    command!("l402", HTTP_ANY | NGX_CONF_FLAG, set_enable, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_amount_msat_default", HTTP_ANY | NGX_CONF_TAKE1, set_amount, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_macaroon_timeout", HTTP_ANY | NGX_CONF_TAKE1, set_macaroon_timeout, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_invoice_expiry", HTTP_ANY | NGX_CONF_TAKE1, set_invoice_expiry, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_service", HTTP_ANY | NGX_CONF_TAKE1, set_service, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_fake_pay", NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_fake_pay, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_root_key_file", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_root_key_file, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_backend", NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, set_backend, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_auto_detect_payment", HTTP_ANY | NGX_CONF_FLAG, set_auto_detect, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_payment_html", HTTP_ANY | NGX_CONF_FLAG, set_payment_html, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_dry_run", HTTP_ANY | NGX_CONF_FLAG, set_dry_run, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_backend_timeout", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_backend_timeout, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_legacy_lsat_challenge", NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, set_legacy_lsat, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_max_pending", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_max_pending, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_token_uses", HTTP_ANY | NGX_CONF_TAKE1, set_token_uses, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_indefinite_access", HTTP_ANY | NGX_CONF_FLAG, set_indefinite_access, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_invoice_rate_limit", HTTP_ANY | NGX_CONF_TAKE1, set_rate_limit, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_redis_price", HTTP_ANY | NGX_CONF_FLAG, set_redis_price, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_allow_subrequests", HTTP_ANY | NGX_CONF_FLAG, set_allow_subrequests, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_usage_zone", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE12, set_usage_zone, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_redis", NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, set_redis, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_root_key", HTTP_ANY | NGX_CONF_TAKE1, refuse_inline_key, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_lnurl_addr", HTTP_ANY | NGX_CONF_TAKE1, set_lnurl_addr, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_metrics", NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_metrics, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_manifest", NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, set_manifest, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_manifest_hide", HTTP_ANY | NGX_CONF_NOARGS, set_manifest_hide, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_cors_origins", HTTP_ANY | NGX_CONF_1MORE, set_cors_origins, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_realm", HTTP_ANY | NGX_CONF_TAKE1, set_service, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_log_format", HTTP_ANY | NGX_CONF_TAKE1, set_log_format, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_query_credential", HTTP_ANY | NGX_CONF_TAKE1, set_query_credential, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_cashu", HTTP_ANY | NGX_CONF_FLAG, set_cashu, NGX_HTTP_LOC_CONF_OFFSET),
    command!("l402_cashu_mints", NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE, set_cashu_mints, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_cashu_mode", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_cashu_mode, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_cashu_p2pk_key_file", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_cashu_key_file, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_cashu_db", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_cashu_db, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_cashu_lock_window", NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, set_cashu_lock_window, NGX_HTTP_MAIN_CONF_OFFSET),
    command!("l402_cashu_allow_http", NGX_HTTP_MAIN_CONF | NGX_CONF_FLAG, set_cashu_allow_http, NGX_HTTP_MAIN_CONF_OFFSET),
];
const CORE_LEN: usize = 37;
const LEN: usize = CORE_LEN + backends::directive_count() + 1;

/// Every directive of the module: [`CORE`], then each backend entry's directives (context
/// `http`, one argument, all handled by [`set_backend_directive`]), then the terminator. The
/// README lists them with syntax, default and context.
pub static mut COMMANDS: [ngx_command_t; LEN] = commands();

const fn commands() -> [ngx_command_t; LEN] {
    let mut out = [ngx_command_t::empty(); LEN];
    let mut n = 0;
    while n < CORE_LEN {
        out[n] = CORE[n];
        n += 1;
    }
    let mut e = 0;
    while e < backends::BACKENDS.len() {
        let directives = backends::BACKENDS[e].directives;
        let mut d = 0;
        while d < directives.len() {
            let name = directives[d].name;
            out[n] = ngx_command_t {
                name: ngx_str_t { len: name.to_bytes().len(), data: name.as_ptr() as *mut u8 },
                type_: (NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1) as ngx_uint_t,
                set: Some(set_backend_directive),
                conf: NGX_HTTP_MAIN_CONF_OFFSET,
                offset: 0,
                post: null_mut(),
            };
            n += 1;
            d += 1;
        }
        e += 1;
    }
    out
}

/// A directive of a backend entry: its `parse` checks the argument, the value is kept for
/// the entry's `load` at the end of the `http {}` block.
unsafe extern "C" fn set_backend_directive(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls this with the conf struct of the registered (http main) context.
    unsafe { run::<MainConf>(cf, conf, backend_directive) }
}

fn backend_directive(cf: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    // SAFETY: `cf` is the live configuration being parsed; its args hold the directive name.
    let name = unsafe { conf_args(cf) }.first().map(|a| a.as_bytes()).unwrap_or_default();
    let directive = backends::directive(name).ok_or("is not a backend directive")?;
    let value = (directive.parse)(cf, arg(args)?)?;
    let mut slot = mcf.backend_values.get(directive.name()).cloned();
    once(&mut slot, value)?;
    if let Some(value) = slot {
        mcf.backend_values.insert(directive.name(), value);
    }
    Ok(())
}

/// Shared shape of a handler: typed conf, the arguments after the directive name.
type Handler<C> = fn(cf: *mut ngx_conf_t, conf: &mut C, args: &[ngx_str_t]) -> Result<(), String>;

/// Runs a handler with its conf struct, logging its error as `emerg`.
///
/// # Safety
/// `cf` is the live configuration being parsed and `conf` points to a `C` created by this
/// module's create_*_conf for the context the directive is registered in.
unsafe fn run<C>(cf: *mut ngx_conf_t, conf: *mut c_void, handler: Handler<C>) -> *mut c_char {
    // SAFETY: see the function contract.
    let (conf, args) = unsafe { (&mut *conf.cast::<C>(), conf_args(cf)) };
    let name = args.first().map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned());
    match handler(cf, conf, args.get(1..).unwrap_or(&[])) {
        Ok(()) => CONF_OK,
        Err(msg) => conf_error(cf, &format!("\"{}\" {msg}", name.unwrap_or_default())),
    }
}

macro_rules! handler {
    ($fn_name:ident, $conf:ty, $body:ident) => {
        unsafe extern "C" fn $fn_name(
            cf: *mut ngx_conf_t,
            _cmd: *mut ngx_command_t,
            conf: *mut c_void,
        ) -> *mut c_char {
            // SAFETY: nginx calls this with the conf struct of the registered context.
            unsafe { run::<$conf>(cf, conf, $body) }
        }
    };
}

handler!(set_enable, LocConf, enable);
handler!(set_amount, LocConf, amount);
handler!(set_macaroon_timeout, LocConf, macaroon_timeout);
handler!(set_invoice_expiry, LocConf, invoice_expiry);
handler!(set_service, LocConf, service);
handler!(set_fake_pay, LocConf, fake_pay);
handler!(set_metrics, LocConf, metrics);
handler!(set_manifest, LocConf, manifest);
handler!(set_manifest_hide, LocConf, manifest_hide);
handler!(set_cors_origins, LocConf, cors_origins);
handler!(set_log_format, LocConf, log_format);
handler!(set_query_credential, LocConf, query_credential);
handler!(set_root_key_file, MainConf, root_key_file);
handler!(set_backend, MainConf, backend);
handler!(set_backend_timeout, MainConf, backend_timeout);
handler!(set_auto_detect, LocConf, auto_detect);
handler!(set_payment_html, LocConf, payment_html);
handler!(set_cashu, LocConf, cashu_flag);
handler!(set_cashu_mints, MainConf, cashu_mints);
handler!(set_cashu_mode, MainConf, cashu_mode);
handler!(set_cashu_key_file, MainConf, cashu_key_file);
handler!(set_cashu_db, MainConf, cashu_db);
handler!(set_cashu_lock_window, MainConf, cashu_lock_window);
handler!(set_cashu_allow_http, MainConf, cashu_allow_http);
handler!(set_dry_run, LocConf, dry_run);
handler!(set_legacy_lsat, MainConf, legacy_lsat);
handler!(set_max_pending, MainConf, max_pending);
handler!(refuse_inline_key, MainConf, inline_key);
handler!(set_token_uses, LocConf, token_uses);
handler!(set_indefinite_access, LocConf, indefinite_access);
handler!(set_rate_limit, LocConf, rate_limit);
handler!(set_redis_price, LocConf, redis_price);
handler!(set_allow_subrequests, LocConf, allow_subrequests);
handler!(set_usage_zone, MainConf, usage_zone);
handler!(set_redis, MainConf, redis);
handler!(set_lnurl_addr, LocConf, lnurl_addr);

pub(super) fn arg(args: &[ngx_str_t]) -> Result<&str, String> {
    let a = args.first().ok_or("needs a value")?;
    std::str::from_utf8(a.as_bytes()).map_err(|_| "has a value that is not valid UTF-8".into())
}

pub(super) fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err("is duplicate".into());
    }
    *slot = Some(value);
    Ok(())
}

pub(super) fn on_off(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("must be \"on\" or \"off\", not \"{}\"", shown(v))),
    }
}

/// A value echoed back in an error: printable, bounded. Never used for key material.
pub(super) fn shown(v: &str) -> String {
    v.chars().take(64).map(|c| if c.is_ascii_graphic() { c } else { '?' }).collect()
}

fn main_conf(cf: *mut ngx_conf_t) -> Result<&'static mut MainConf, String> {
    // SAFETY: `cf` is the live configuration of an `http {}` block (every directive here is
    // registered for http contexts only).
    unsafe { Module::main_conf_mut(&*cf) }.ok_or_else(|| "used outside of http{}".into())
}

fn enable(cf: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.enable, on)?;
    if on {
        main_conf(cf)?.enabled_somewhere = true;
    }
    Ok(())
}

fn amount(cf: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    if v.contains('$') {
        // An nginx complex value (`$price`, a `map`): evaluated and validated per request.
        let raw = args.first().ok_or("needs a value")?;
        let cv = crate::ffi::compile_complex_value(cf, raw)
            .ok_or_else(|| format!("cannot compile \"{}\" as a complex value", shown(v)))?;
        return once(&mut lcf.price, Price::Variable(ComplexValue(cv)));
    }
    let amount: u64 = v
        .parse()
        .map_err(|_| format!("must be a whole number of millisatoshis, not \"{}\"", shown(v)))?;
    if amount == 0 {
        return Err("must be at least 1 millisatoshi (use \"l402 off\" for a free location)".into());
    }
    if amount > MAX_AMOUNT_MSAT {
        return Err(format!(
            "{amount} msat is more than a BOLT11 invoice can carry ({MAX_AMOUNT_MSAT})"
        ));
    }
    once(&mut lcf.price, Price::Fixed(amount))
}

fn token_uses(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let policy = UsePolicy::parse(arg(args)?).map_err(|e| e.to_string())?;
    once(&mut lcf.uses, policy).map_err(|_| USES_TWICE.to_owned())
}

/// The seed's switch: `on` = unlimited reuse until expiry, `off` = single use.
fn indefinite_access(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let policy = if on_off(arg(args)?)? { UsePolicy::Unlimited } else { UsePolicy::SINGLE };
    once(&mut lcf.uses, policy).map_err(|_| USES_TWICE.to_owned())
}

const USES_TWICE: &str =
    "is duplicate: set \"l402_token_uses\" or \"l402_indefinite_access\" once per location";

fn rate_limit(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let rate = if v == "off" { None } else { Some(Rate::parse(v).map_err(|e| e.to_string())?) };
    once(&mut lcf.rate_limit, rate)
}

fn redis_price(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.redis_price, on)
}

/// `l402_usage_zone name:size [state=path|off]`, like `limit_req_zone`'s `zone=name:size`.
fn usage_zone(cf: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let (name, size) = v
        .split_once(':')
        .ok_or_else(|| format!("must be name:size such as l402:10m, not \"{}\"", shown(v)))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(format!("has an invalid zone name \"{}\"", shown(name)));
    }
    let size = crate::ffi::parse_size(size.as_bytes())
        .ok_or_else(|| format!("has an invalid zone size \"{}\"", shown(size)))?;
    let state = match args.get(1) {
        None => Some(default_state_path(cf, name)?),
        Some(a) => {
            let a = std::str::from_utf8(a.as_bytes()).map_err(|_| "has a value that is not valid UTF-8")?;
            match a.strip_prefix("state=") {
                Some("off") => None,
                Some("") | None => {
                    return Err(format!("has an unknown parameter \"{}\" (state=path or state=off)", shown(a)))
                }
                Some(path) => Some(std::path::PathBuf::from(crate::ffi::prefix_full_name(cf, path)?)),
            }
        }
    };
    if mcf.zone.is_some() {
        return Err("is duplicate: one usage zone per http{} block".into());
    }
    let tag = (&raw const crate::ngx_http_l402_module).cast();
    mcf.zone = Some(crate::zone::declare(cf, crate::zone::ZoneSpec { name: name.to_owned(), size, state }, tag)?);
    Ok(())
}

/// The usage state file of zone `name` when `state=` is not given: in the nginx prefix.
pub fn default_state_path(cf: *mut ngx_conf_t, name: &str) -> Result<std::path::PathBuf, String> {
    crate::ffi::prefix_full_name(cf, &format!("l402-{name}.state")).map(std::path::PathBuf::from)
}

fn macaroon_timeout(cf: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let secs = seconds(cf, args)?;
    once(&mut lcf.macaroon_timeout, secs)
}

fn invoice_expiry(cf: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let secs = seconds(cf, args)?;
    if secs == 0 || secs > 365 * 86_400 {
        return Err("must be between 1s and 365d".into());
    }
    once(&mut lcf.invoice_expiry, secs as u32)
}

/// nginx time syntax in seconds (`3600`, `1h`, `30m`).
fn seconds(_: *mut ngx_conf_t, args: &[ngx_str_t]) -> Result<u64, String> {
    let v = arg(args)?;
    let secs = parse_time(v.as_bytes(), true)
        .ok_or_else(|| format!("must be a time in seconds such as 3600 or 1h, not \"{}\"", shown(v)))?;
    if secs > 100 * 365 * 86_400 {
        return Err("is longer than 100 years".into());
    }
    Ok(secs)
}

fn duration(args: &[ngx_str_t], max: Duration) -> Result<Duration, String> {
    let v = arg(args)?;
    let ms = parse_time(v.as_bytes(), false)
        .ok_or_else(|| format!("must be a time such as 500ms or 10s, not \"{}\"", shown(v)))?;
    let d = Duration::from_millis(ms);
    if d > max {
        return Err(format!("must be at most {}s", max.as_secs()));
    }
    Ok(d)
}

fn service(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    if !l402_core::is_valid_service_name(v) {
        return Err(format!(
            "\"{}\" is not a valid service name: use 1 to 128 letters, digits, '-', '.' or '_'",
            shown(v)
        ));
    }
    once(&mut lcf.service, v.to_owned())
}

fn fake_pay(cf: *mut ngx_conf_t, _: &mut LocConf, _: &[ngx_str_t]) -> Result<(), String> {
    // SAFETY: `cf` is the live configuration of a location block.
    let clcf = unsafe { NgxHttpCoreModule::location_conf_mut(&*cf) }
        .ok_or("used outside of a location")?;
    clcf.handler = Some(crate::fake_pay::fake_pay_handler);
    main_conf(cf)?.fake_pay_used = true;
    Ok(())
}

fn metrics(cf: *mut ngx_conf_t, _: &mut LocConf, _: &[ngx_str_t]) -> Result<(), String> {
    // SAFETY: `cf` is the live configuration of a location block.
    let clcf = unsafe { NgxHttpCoreModule::location_conf_mut(&*cf) }
        .ok_or("used outside of a location")?;
    clcf.handler = Some(crate::metrics::scrape::metrics_handler);
    main_conf(cf)?.metrics_used = true;
    Ok(())
}

fn manifest(cf: *mut ngx_conf_t, lcf: &mut LocConf, _: &[ngx_str_t]) -> Result<(), String> {
    // SAFETY: `cf` is the live configuration of a location block.
    let clcf = unsafe { NgxHttpCoreModule::location_conf_mut(&*cf) }
        .ok_or("used outside of a location")?;
    clcf.handler = Some(crate::discovery::manifest_handler);
    lcf.manifest = true;
    main_conf(cf)?.manifest_used = true;
    Ok(())
}

fn manifest_hide(_: *mut ngx_conf_t, lcf: &mut LocConf, _: &[ngx_str_t]) -> Result<(), String> {
    once(&mut lcf.manifest_hide, true)
}

fn query_credential(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let ok = (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !ok {
        return Err(format!("\"{}\" is not a query parameter name: use 1 to 64 letters, digits, '-', '_' or '.'", shown(v)));
    }
    once(&mut lcf.query_credential, std::sync::Arc::from(v))
}

fn log_format(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let json = match arg(args)? {
        "json" => true,
        "text" => false,
        other => return Err(format!("takes \"json\" or \"text\", not \"{}\"", shown(other))),
    };
    once(&mut lcf.log_json, json)
}

fn cors_origins(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let values = args
        .iter()
        .map(|a| std::str::from_utf8(a.as_bytes()).map_err(|_| "has a value that is not valid UTF-8".to_owned()))
        .collect::<Result<Vec<&str>, String>>()?;
    let origins = l402_gate::CorsOrigins::parse(&values)?;
    once(&mut lcf.cors, std::sync::Arc::new(origins))
}

fn root_key_file(cf: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let path = crate::ffi::conf_full_name(cf, v)?;
    let material = std::fs::read(&path).map_err(|e| format!("cannot read \"{path}\": {e}"))?;
    let key = RootKey::from_material(&material)
        .map_err(|e| format!("file \"{path}\" does not hold a usable key: {e}"))?;
    if mcf.key_files.len() >= 16 {
        return Err("is given more than 16 times".into());
    }
    mcf.key_files.push(key);
    Ok(())
}

/// `l402_backend NAME [NAME…]`: several names are tried in that order (failover).
fn backend(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    if mcf.backends.is_some() {
        return Err("is duplicate: list every backend in one \"l402_backend\" line".into());
    }
    let mut entries: Vec<&'static backends::Entry> = Vec::with_capacity(args.len());
    for a in args {
        let v = std::str::from_utf8(a.as_bytes()).map_err(|_| "has a value that is not valid UTF-8")?;
        let entry = match backends::find(v) {
            Some(entry) if entry.is_supported() => entry,
            Some(_) => return Err(format!("\"{}\" is not supported by this build yet", shown(v))),
            None => {
                return Err(format!(
                    "\"{}\" is not a known backend ({})",
                    shown(v),
                    backends::names(false, true)
                ))
            }
        };
        if entries.iter().any(|e| std::ptr::eq(*e, entry)) {
            return Err(format!("lists \"{}\" twice", entry.name));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err("needs a backend name".into());
    }
    mcf.backends = Some(entries);
    Ok(())
}

fn allow_subrequests(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.allow_subrequests, on)
}

/// Syntax only here; checked against the block's LNURL transport settings in
/// postconfiguration (`payees::check_all`).
fn lnurl_addr(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    l402_lnurl::Payee::parse(v, true).map_err(|e| format!("payee {e}"))?;
    once(&mut lcf.lnurl_addr, std::sync::Arc::from(v.trim()))
}

fn cashu_flag(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.cashu, on)
}

fn payment_html(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.payment_html, on)
}

fn auto_detect(_: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut lcf.auto_detect, on)
}

fn dry_run(cf: *mut ngx_conf_t, lcf: &mut LocConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    if on {
        // A dry run left on in production serves paid content for free: say so at every load.
        crate::ffi::conf_log(
            cf,
            ngx::ffi::NGX_LOG_WARN,
            "l402: \"l402_dry_run on\": requests here are decided and logged but never refused; \
             the content is served without payment",
        );
    }
    once(&mut lcf.dry_run, on)
}

fn backend_timeout(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let d = duration(args, Duration::from_secs(300))?;
    if d.is_zero() {
        return Err("must be more than 0".into());
    }
    once(&mut mcf.backend_timeout, d)
}

fn legacy_lsat(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut mcf.legacy_lsat, on)
}

fn max_pending(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let n: usize = v
        .parse()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| format!("must be a number from 1 to 1000000, not \"{}\"", shown(v)))?;
    once(&mut mcf.max_pending, n)
}

/// Keys do not belong in nginx.conf (it is often world-readable and copied around).
fn inline_key(_: *mut ngx_conf_t, _: &mut MainConf, _: &[ngx_str_t]) -> Result<(), String> {
    Err("is not supported: put the key in a file readable only by the nginx master \
         and use \"l402_root_key_file\", or set the ROOT_KEY environment variable"
        .into())
}

/// `l402_redis [cluster | sentinel=NAME] URL... [timeout=…] [connect_timeout=…] [ca=…]`.
/// Relative `ca=` paths are resolved against the nginx prefix, like other file arguments.
fn redis(cf: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let mut owned = Vec::with_capacity(args.len());
    for a in args {
        let v = std::str::from_utf8(a.as_bytes()).map_err(|_| "has an argument that is not valid UTF-8")?;
        match v.strip_prefix("ca=") {
            Some(path) if !path.is_empty() => owned.push(format!("ca={}", crate::ffi::conf_full_name(cf, path)?)),
            _ => owned.push(v.to_owned()),
        }
    }
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let cfg = l402_redis::RedisConfig::parse(&refs).map_err(|e| e.to_string())?;
    once(&mut mcf.redis, cfg)
}
