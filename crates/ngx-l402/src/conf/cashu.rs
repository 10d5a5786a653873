//! Cashu configuration: the `l402_cashu_*` directives (http level) and the seed's `CASHU_*`
//! environment variables, resolved and validated at `nginx -t` (README, "Cashu").
//!
//! A mint allow-list is required whenever Cashu is on: a token from any other mint is refused
//! before any network call, so no request ever goes to a URL a client chose. Only P2PK mode is
//! offered (standard mode, a swap at the mint per request, is refused at `nginx -t` until it is
//! built).

use std::path::PathBuf;
use std::sync::Arc;

use l402_gate::method::cashu::{CashuPolicy, Mode};
use ngx::ffi::{ngx_conf_t, ngx_str_t};
use secp256k1::{PublicKey, Secp256k1, SecretKey};

use super::directives::{arg, on_off, once, shown};
use super::env;
use super::MainConf;

/// `l402_cashu_lock_window` default: a P2PK lock must hold at least this long (seconds), the
/// time the redemption job has to melt the proofs before anyone else could spend them.
pub const DEFAULT_LOCK_WINDOW_SECS: u64 = 3_600;

/// The `l402_cashu_*` directives as written.
#[derive(Default)]
pub struct CashuDirectives {
    pub mints: Option<Vec<String>>,
    pub mode: Option<String>,
    pub key_file: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub lock_window: Option<u64>,
    pub allow_http: Option<bool>,
}

/// Resolved Cashu settings every worker starts from.
pub struct CashuSettings {
    /// What locations that take Cashu offer and accept.
    pub policy: Arc<CashuPolicy>,
    /// Our P2PK key: unlocks the received proofs at redemption. Never logged or formatted.
    pub secret_key: SecretKey,
    /// The proof store shared by every worker of the host.
    pub db: PathBuf,
    /// Mints may be plain `http://` (private deployments and tests).
    pub allow_http: bool,
}

impl std::fmt::Debug for CashuSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CashuSettings")
            .field("mints", &self.policy.mints)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// Whether Cashu is configured at all: a directive, or `CASHU_ECASH_SUPPORT=true`.
pub fn wanted(d: &CashuDirectives) -> bool {
    d.mints.is_some() || d.mode.is_some() || d.key_file.is_some() || d.db.is_some() || env_flag("CASHU_ECASH_SUPPORT")
}

/// The settings, or `None` when Cashu is not configured. Every error names the directive or
/// variable at fault and never shows a key.
pub fn resolve(d: &CashuDirectives) -> Result<Option<CashuSettings>, String> {
    if !wanted(d) {
        return Ok(None);
    }
    let p2pk = match d.mode.as_deref() {
        Some(mode) => mode == "p2pk",
        None => env_flag("CASHU_P2PK_MODE"),
    };
    if !p2pk {
        return Err("Cashu standard mode (a swap at the mint for every request) is not supported yet: \
                    set \"l402_cashu_mode p2pk\" (or CASHU_P2PK_MODE=true) with a P2PK key"
            .into());
    }
    let allow_http = d.allow_http.unwrap_or(false);
    let mints = resolve_mints(d, allow_http)?;
    let secret_key = resolve_key(d)?;
    let key = PublicKey::from_secret_key(&Secp256k1::new(), &secret_key);
    let db = match (&d.db, env::var("CASHU_DB_PATH")) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => PathBuf::from(path),
        (None, None) => {
            return Err("Cashu needs a proof store: set \"l402_cashu_db /path/cashu.db\" (or CASHU_DB_PATH)".into())
        }
    };
    check_db_dir(&db)?;
    let window_secs = d.lock_window.unwrap_or(DEFAULT_LOCK_WINDOW_SECS);
    let policy = CashuPolicy { mints, unit: "sat".to_owned(), mode: Mode::P2pk { key, window_secs } };
    Ok(Some(CashuSettings { policy: Arc::new(policy), secret_key, db, allow_http }))
}

fn env_flag(name: &str) -> bool {
    env::var(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

fn resolve_mints(d: &CashuDirectives, allow_http: bool) -> Result<Vec<String>, String> {
    let (listed, from) = match (&d.mints, env::var("CASHU_WHITELISTED_MINTS")) {
        (Some(m), _) => (m.clone(), "l402_cashu_mints"),
        (None, Some(v)) => (v.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect(), "CASHU_WHITELISTED_MINTS"),
        (None, None) => (Vec::new(), "l402_cashu_mints"),
    };
    if listed.is_empty() {
        return Err("Cashu needs a mint allow-list (\"l402_cashu_mints https://mint.example …\" or \
                    CASHU_WHITELISTED_MINTS): accepting any mint would accept ecash anyone can make"
            .into());
    }
    let mut mints = Vec::with_capacity(listed.len());
    for m in &listed {
        let normal = l402_cashu::normalise_mint_url(m)
            .ok_or_else(|| format!("{from}: \"{}\" is not a mint URL", shown(m)))?;
        if normal.starts_with("http://") && !allow_http {
            return Err(format!(
                "{from}: \"{}\" is plain http: mints are reached over https (\"l402_cashu_allow_http on\" for \
                 private deployments and tests)",
                shown(m)
            ));
        }
        if !mints.contains(&normal) {
            mints.push(normal);
        }
    }
    Ok(mints)
}

/// The P2PK private key: `l402_cashu_p2pk_key_file` (64 hex digits; the file readable by its
/// owner only), or `CASHU_P2PK_PRIVATE_KEY`.
fn resolve_key(d: &CashuDirectives) -> Result<SecretKey, String> {
    let (hex, from) = match (&d.key_file, env::var("CASHU_P2PK_PRIVATE_KEY")) {
        (Some(path), _) => (read_key_file(path)?, "l402_cashu_p2pk_key_file"),
        (None, Some(v)) => (v, "CASHU_P2PK_PRIVATE_KEY"),
        (None, None) => {
            return Err("Cashu P2PK mode needs our private key: \"l402_cashu_p2pk_key_file\" (or \
                        CASHU_P2PK_PRIVATE_KEY); generate one with: openssl rand -hex 32"
                .into())
        }
    };
    let hex = hex.trim();
    (hex.len() == 64)
        .then(|| <SecretKey as std::str::FromStr>::from_str(hex).ok())
        .flatten()
        .ok_or_else(|| format!("{from}: not a secp256k1 private key (64 hex digits)"))
}

fn read_key_file(path: &PathBuf) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown_path = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("l402_cashu_p2pk_key_file \"{shown_path}\": {e}"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "l402_cashu_p2pk_key_file \"{shown_path}\" is readable by others: it holds the key that spends \
             every received proof (chmod 600)"
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("l402_cashu_p2pk_key_file \"{shown_path}\": {e}"))
}

/// The proof store can be created and written where it is configured (`l402-cashu-store`
/// `check_path`: its directory writable, the file, if there, a regular file).
fn check_db_dir(db: &std::path::Path) -> Result<(), String> {
    l402_cashu_store::check_path(db).map_err(|e| format!("l402_cashu_db: {e}"))
}

/// `l402_cashu_mints url …`
pub fn mints(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let list: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned()).collect();
    once(&mut mcf.cashu.mints, list)
}

/// `l402_cashu_mode p2pk|standard`
pub fn mode(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    match v {
        "p2pk" | "standard" => once(&mut mcf.cashu.mode, v.to_owned()),
        _ => Err(format!("must be \"p2pk\" or \"standard\", not \"{}\"", shown(v))),
    }
}

/// `l402_cashu_p2pk_key_file path`
pub fn key_file(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    once(&mut mcf.cashu.key_file, PathBuf::from(arg(args)?))
}

/// `l402_cashu_db path`
pub fn db(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    once(&mut mcf.cashu.db, PathBuf::from(arg(args)?))
}

/// `l402_cashu_lock_window time` (at least 1 minute, at most 30 days).
pub fn lock_window(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let v = arg(args)?;
    let ms = crate::ffi::parse_time(v.as_bytes(), false)
        .filter(|ms| (60_000..=30 * 86_400_000).contains(ms))
        .ok_or_else(|| format!("must be a time from 1m to 30d, not \"{}\"", shown(v)))?;
    once(&mut mcf.cashu.lock_window, ms / 1_000)
}

/// `l402_cashu_allow_http on|off`
pub fn allow_http(_: *mut ngx_conf_t, mcf: &mut MainConf, args: &[ngx_str_t]) -> Result<(), String> {
    let on = on_off(arg(args)?)?;
    once(&mut mcf.cashu.allow_http, on)
}
