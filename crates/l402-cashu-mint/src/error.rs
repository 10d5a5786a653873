//! Mint client errors, classified by what the caller must do (as `l402_backend::BackendError`
//! classifies a Lightning backend's).

use std::fmt;
use std::time::Duration;

/// Longest text of a cause or a mint's `detail` that [`fmt::Display`] prints, in bytes.
const MAX_SHOWN: usize = 256;

/// A call to a mint that gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MintError {
    /// Connection refused or reset, TLS failure, HTTP 5xx or 429: try again later.
    Unreachable { mint: String, cause: String },
    /// No whole reply within the time limit: try again later.
    Timeout { mint: String, after: Duration },
    /// A reply that breaks the protocol (not JSON, wrong fields, too large, a redirect, a
    /// keyset id that is not its keys'): the mint is broken or hostile; retrying soon will
    /// not help, and nothing it said is used.
    BadReply { mint: String, cause: String },
    /// HTTP 4xx: the mint refused the request, with its NUT-00 error `{detail, code}` when it
    /// gave one (11001: already spent, 11002: pending, 12001: unknown keyset, …).
    Refused { mint: String, status: u16, code: Option<u64>, detail: String },
}

impl MintError {
    /// Short class name for logs and metrics: "unreachable", "timeout", "bad_reply", "refused".
    pub fn kind(&self) -> &'static str {
        match self {
            MintError::Unreachable { .. } => "unreachable",
            MintError::Timeout { .. } => "timeout",
            MintError::BadReply { .. } => "bad_reply",
            MintError::Refused { .. } => "refused",
        }
    }

    /// Whether the same call may succeed later unchanged.
    pub fn retry_later(&self) -> bool {
        matches!(self, MintError::Unreachable { .. } | MintError::Timeout { .. })
    }

    /// The NUT-00 error code of a refusal.
    pub fn nut_code(&self) -> Option<u64> {
        match self {
            MintError::Refused { code, .. } => *code,
            _ => None,
        }
    }

    pub fn mint(&self) -> &str {
        match self {
            MintError::Unreachable { mint, .. }
            | MintError::Timeout { mint, .. }
            | MintError::BadReply { mint, .. }
            | MintError::Refused { mint, .. } => mint,
        }
    }
}

/// `text` with control characters replaced and at most [`MAX_SHOWN`] bytes: a hostile mint's
/// words cannot forge log lines.
fn write_shown(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let mut written = 0;
    for c in text.chars() {
        if written + c.len_utf8() > MAX_SHOWN {
            return f.write_str("…");
        }
        written += c.len_utf8();
        fmt::Write::write_char(f, if c.is_control() { ' ' } else { c })?;
    }
    Ok(())
}

impl fmt::Display for MintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MintError::Unreachable { mint, cause } => {
                write!(f, "mint {mint}: unreachable: ")?;
                write_shown(f, cause)
            }
            MintError::Timeout { mint, after } => write!(f, "mint {mint}: no reply within {} ms", after.as_millis()),
            MintError::BadReply { mint, cause } => {
                write!(f, "mint {mint}: bad reply: ")?;
                write_shown(f, cause)
            }
            MintError::Refused { mint, status, code, detail } => {
                write!(f, "mint {mint}: refused (HTTP {status}")?;
                if let Some(c) = code {
                    write!(f, ", code {c}")?;
                }
                f.write_str("): ")?;
                write_shown(f, detail)
            }
        }
    }
}

impl std::error::Error for MintError {}

/// A client that cannot be built: an operator's configuration error (`nginx -t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_bounded_line() {
        let e = MintError::Refused {
            mint: "https://m.example".into(),
            status: 400,
            code: Some(11001),
            detail: format!("spent\r\nforged{}", "x".repeat(1000)),
        };
        let shown = e.to_string();
        assert!(shown.starts_with("mint https://m.example: refused (HTTP 400, code 11001): spent  forged"));
        assert!(!shown.contains('\n') && shown.len() < 340 && shown.ends_with('…'), "{shown}");
        assert_eq!((e.kind(), e.retry_later(), e.nut_code()), ("refused", false, Some(11001)));
        let t = MintError::Timeout { mint: "m".into(), after: Duration::from_millis(800) };
        assert_eq!((t.to_string().as_str(), t.retry_later()), ("mint m: no reply within 800 ms", true));
    }
}
