//! [`MintClient`]: the calls to one mint, each bounded in time, its reply bounded in size and
//! parsed strictly (NUT-01, NUT-02, NUT-06, NUT-07), errors classified ([`MintError`]).

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::Uri;
use l402_cashu::{normalise_mint_url, parse_keys, parse_keysets, KeysetId, KeysetInfo, KeysetKeys, MintKeys};
use serde::Deserialize;

use crate::error::{ConfigError, MintError};
use crate::info::{MintInfo, MAX_INFO_BYTES};
use crate::state::{self, ProofState, MAX_YS_PER_CHECK};
use crate::transport::{Failure, Reply, Transport, TransportOptions, MAX_REPLY_BYTES};

/// The unit whose keysets [`MintClient::load_keys`] loads (prices are in sat).
pub const KEYS_UNIT: &str = "sat";

/// How a client reaches its mint.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Bounds each call as a whole: connect, request, the last byte of the reply.
    pub timeout: Duration,
    pub transport: TransportOptions,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions { timeout: Duration::from_secs(5), transport: TransportOptions::default() }
    }
}

/// One mint, by the URL it was built with (from the operator's allow-list). It never
/// contacts another URL: not a token's, not a redirect's. Cheap to clone.
#[derive(Clone)]
pub struct MintClient {
    url: String,
    transport: Transport,
    timeout: Duration,
}

impl std::fmt::Debug for MintClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintClient").field("url", &self.url).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// NUT-00 "Errors": `{"detail": text, "code": number}`.
#[derive(Deserialize)]
struct NutError {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    code: Option<u64>,
}

impl MintClient {
    /// A client with its own transport.
    pub fn new(url: &str, options: &ClientOptions) -> Result<MintClient, ConfigError> {
        MintClient::with_transport(url, Transport::new(&options.transport)?, options.timeout)
    }

    /// A client on a worker's shared transport (one pool for every mint).
    pub fn with_transport(url: &str, transport: Transport, timeout: Duration) -> Result<MintClient, ConfigError> {
        let url = normalise_mint_url(url).ok_or_else(|| ConfigError(format!("{url:?} is not a mint URL")))?;
        if url.starts_with("http://") && !transport.allows_http() {
            return Err(ConfigError(format!("{url}: plain http is not allowed for mints")));
        }
        url.parse::<Uri>().map_err(|e| ConfigError(format!("{url}: {e}")))?;
        Ok(MintClient { url, transport, timeout })
    }

    /// The mint's URL, normalised as [`l402_cashu::Token::mint`] is.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn bad(&self, cause: impl Into<String>) -> MintError {
        MintError::BadReply { mint: self.url.clone(), cause: cause.into() }
    }

    /// Bounds `call` by the client's timeout.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T, MintError>>) -> Result<T, MintError> {
        let after = self.timeout;
        tokio::time::timeout(after, call).await.unwrap_or_else(|_| Err(MintError::Timeout { mint: self.url.clone(), after }))
    }

    /// One request to `path` of the mint; the body of a 2xx reply.
    async fn call(&self, what: &str, path: &str, json: Option<Vec<u8>>, limit: usize) -> Result<bytes::Bytes, MintError> {
        let uri: Uri = format!("{}{path}", self.url).parse().map_err(|_| self.bad(format!("{what}: bad path")))?;
        let Reply { status, body } = self.bounded(async {
            self.transport.call(uri, json, limit).await.map_err(|f| match f {
                Failure::Unreachable(c) => MintError::Unreachable { mint: self.url.clone(), cause: format!("{what}: {c}") },
                Failure::Bad(c) => self.bad(format!("{what}: {c}")),
            })
        })
        .await?;
        if status.is_success() {
            return Ok(body);
        }
        let nut: Option<NutError> = serde_json::from_slice(&body).ok();
        let (code, detail) = match nut {
            Some(NutError { detail, code }) => (code, detail.unwrap_or_default()),
            None => (None, String::new()),
        };
        if status.is_client_error() && status.as_u16() != 429 {
            // Nutshell and cdk answer protocol refusals (spent, unknown keyset) with 400.
            Err(MintError::Refused { mint: self.url.clone(), status: status.as_u16(), code, detail: format!("{what}: {detail}") })
        } else {
            Err(MintError::Unreachable { mint: self.url.clone(), cause: format!("{what}: HTTP {} {detail}", status.as_u16()) })
        }
    }

    /// NUT-06 `GET /v1/info`.
    pub async fn info(&self) -> Result<MintInfo, MintError> {
        let body = self.call("info", "/v1/info", None, MAX_INFO_BYTES).await?;
        MintInfo::parse(&body).map_err(|e| self.bad(e))
    }

    /// NUT-02 `GET /v1/keysets`: every keyset, active or not, of every unit.
    pub async fn keysets(&self) -> Result<Vec<KeysetInfo>, MintError> {
        let body = self.call("keysets", "/v1/keysets", None, MAX_REPLY_BYTES).await?;
        let text = std::str::from_utf8(&body).map_err(|_| self.bad("keysets: not UTF-8"))?;
        parse_keysets(text).map_err(|e| self.bad(format!("keysets: {e}")))
    }

    /// NUT-01 `GET /v1/keys/{id}`: that keyset's keys (the reply must hold exactly it).
    pub async fn keys(&self, id: &KeysetId) -> Result<KeysetKeys, MintError> {
        let what = format!("keys {}", id.to_hex());
        let body = self.call(&what, &format!("/v1/keys/{}", id.to_hex()), None, MAX_REPLY_BYTES).await?;
        let text = std::str::from_utf8(&body).map_err(|_| self.bad(format!("{what}: not UTF-8")))?;
        let mut sets = parse_keys(text).map_err(|e| self.bad(format!("{what}: {e}")))?;
        match (sets.pop(), sets.is_empty()) {
            (Some(k), true) if k.id == *id => Ok(k),
            _ => Err(self.bad(format!("{what}: the reply is not that one keyset"))),
        }
    }

    /// Every keyset of unit [`KEYS_UNIT`] the mint still redeems, each checked
    /// ([`MintKeys::insert`]: its id derived from its keys, NUT-02).
    ///
    /// Inactive keysets are loaded too: NUT-02 lets a mint stop signing with a keyset while
    /// still accepting its proofs, and a token may carry proofs minted before the rotation.
    /// Keysets past their `final_expiry` are left out: the mint no longer redeems them. One
    /// keyset that fails its check fails the whole load: a mint lying about one keyset is
    /// broken, and the previous keys (if any) stay in use.
    pub async fn load_keys(&self) -> Result<MintKeys, MintError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut mint_keys = MintKeys::new(&self.url).ok_or_else(|| self.bad("not a mint URL"))?;
        for info in self.keysets().await? {
            if info.unit != KEYS_UNIT || info.final_expiry.is_some_and(|t| t != 0 && t <= now) {
                continue;
            }
            let keys = self.keys(&info.id).await?;
            mint_keys.insert(&info, keys).map_err(|e| self.bad(format!("keyset {}: {e}", info.id.to_hex())))?;
        }
        if mint_keys.is_empty() {
            return Err(self.bad(format!("no keyset of unit {KEYS_UNIT}")));
        }
        Ok(mint_keys)
    }

    /// NUT-07 `POST /v1/checkstate`: the state of each `Y`, in the order given (sent in
    /// requests of at most [`MAX_YS_PER_CHECK`]).
    pub async fn check_state(&self, ys: &[[u8; 33]]) -> Result<Vec<ProofState>, MintError> {
        let mut out = Vec::with_capacity(ys.len());
        for chunk in ys.chunks(MAX_YS_PER_CHECK) {
            let body = self.call("checkstate", "/v1/checkstate", Some(state::request(chunk)), MAX_REPLY_BYTES).await?;
            out.extend(state::parse(&body, chunk).map_err(|e| self.bad(e))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_at_construction() {
        let o = ClientOptions::default();
        assert_eq!(MintClient::new("https://Mint.Example/", &o).unwrap().url(), "https://mint.example");
        assert!(MintClient::new("http://mint.example", &o).is_err(), "plain http needs allow_http");
        assert!(MintClient::new("https://user@mint.example", &o).is_err());
        let http = ClientOptions { transport: TransportOptions { allow_http: true, ..Default::default() }, ..o };
        assert!(MintClient::new("http://127.0.0.1:3338", &http).is_ok());
    }
}
