//! [`EclairBackend`]: the [`Backend`] that talks to Eclair's HTTP API.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use l402_backend::{
    check_invoice, check_preimage, with_timeout, Backend, BackendError, BoxFuture, Capabilities,
    Invoice, InvoiceRequest, LookupRef, Settlement, MAX_INVOICE_AMOUNT_MSAT,
};
use serde_json::Value;

use crate::config::{ConfigError, EclairConfig};
use crate::reply::{parse_created, parse_received, to_hex, Status};

/// [`Backend::name`] of the Eclair backend.
pub const NAME: &str = "eclair";

/// Largest reply body read, in bytes. An invoice reply is a few KiB.
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An Eclair node behind its HTTP API. Cheap to build: no socket is opened until the first
/// call, and connections are pooled and reused afterwards.
pub struct EclairBackend {
    config: EclairConfig,
    client: HttpClient,
    /// `Basic base64(":" + password)`, marked sensitive.
    authorization: HeaderValue,
}

fn unavailable(cause: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: NAME,
        cause: cause.into(),
    }
}

fn invalid(cause: impl Into<String>) -> BackendError {
    BackendError::InvalidReply {
        backend: NAME,
        cause: cause.into(),
    }
}

fn rejected(cause: impl Into<String>) -> BackendError {
    BackendError::Rejected {
        backend: NAME,
        cause: cause.into(),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    l402_https::error_chain(e)
}

/// The `error` text of an Eclair error reply, or the start of the body, for messages.
fn error_text(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(200).collect()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An HTTP reply: status and (size-bounded) body.
struct Reply {
    status: StatusCode,
    body: Bytes,
}

impl EclairBackend {
    /// A backend for `config`. Opens no socket (it may be built before an nginx worker
    /// forks or starts its runtime); fails only if TLS cannot be set up.
    pub fn new(config: EclairConfig) -> Result<EclairBackend, ConfigError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.timeout));
        let builder = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| ConfigError::Tls(e.to_string()))?;
        let connector = if config.is_https() {
            builder.https_only().enable_http1().wrap_connector(http)
        } else {
            builder.https_or_http().enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        let credentials = format!(":{}", config.password().expose());
        let encoded = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes()),
        );
        drop(zeroize::Zeroizing::new(credentials));
        let mut authorization = HeaderValue::from_str(&format!("Basic {}", encoded.as_str()))
            .map_err(|_| ConfigError::Password("cannot be sent in an HTTP header".to_owned()))?;
        authorization.set_sensitive(true);
        Ok(EclairBackend {
            config,
            client,
            authorization,
        })
    }

    /// The settings this backend was built with.
    pub fn config(&self) -> &EclairConfig {
        &self.config
    }

    /// `POST {address}/{method}` with form parameters; returns the status and body.
    /// Network failures are [`BackendError::Unavailable`]; a body over
    /// [`MAX_REPLY_BYTES`] is [`BackendError::InvalidReply`].
    async fn post(&self, method: &str, params: &[(&str, &str)]) -> Result<Reply, BackendError> {
        let uri: Uri = format!("{}/{method}", self.config.address())
            .parse()
            .map_err(|e| rejected(format!("cannot build the request URL: {e}")))?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| rejected(format!("cannot build the request: {e}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unavailable(format!("{method}: {}", chain(&e))))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    invalid(format!(
                        "{method}: reply is larger than {MAX_REPLY_BYTES} bytes"
                    ))
                } else {
                    unavailable(format!(
                        "{method}: reading the reply failed: {}",
                        chain(&*e)
                    ))
                }
            })?
            .to_bytes();
        Ok(Reply { status, body })
    }

    /// Classifies a non-2xx status. 401/403: wrong password (the message never contains
    /// it); other 4xx: the request was refused; 5xx: the node (or a proxy) cannot answer now.
    fn status_error(method: &str, reply: &Reply) -> BackendError {
        let status = reply.status;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            rejected(format!(
                "{method}: authentication failed (HTTP {}): check the Eclair API password",
                status.as_u16()
            ))
        } else if status.is_client_error() {
            rejected(format!(
                "{method}: HTTP {}: {}",
                status.as_u16(),
                error_text(&reply.body)
            ))
        } else if status.is_server_error() {
            unavailable(format!(
                "{method}: HTTP {}: {}",
                status.as_u16(),
                error_text(&reply.body)
            ))
        } else {
            invalid(format!("{method}: unexpected HTTP {}", status.as_u16()))
        }
    }

    fn json(method: &str, reply: &Reply) -> Result<Value, BackendError> {
        serde_json::from_slice(&reply.body)
            .map_err(|e| invalid(format!("{method}: reply is not JSON ({e})")))
    }

    async fn create(&self, req: InvoiceRequest) -> Result<Invoice, BackendError> {
        if req.amount_msat == 0 {
            return Err(rejected("amount must be at least 1 msat"));
        }
        if req.amount_msat > MAX_INVOICE_AMOUNT_MSAT {
            return Err(rejected(format!(
                "amount {} msat cannot be encoded in a BOLT11 invoice",
                req.amount_msat
            )));
        }
        if req.expiry_secs == 0 {
            return Err(rejected("expiry must be at least 1 second"));
        }
        let amount = req.amount_msat.to_string();
        let expiry = req.expiry_secs.to_string();
        let now = now_unix();
        let reply = self
            .post(
                "createinvoice",
                &[
                    ("description", req.memo.as_str()),
                    ("amountMsat", &amount),
                    ("expireIn", &expiry),
                ],
            )
            .await?;
        if !reply.status.is_success() {
            return Err(Self::status_error("createinvoice", &reply));
        }
        let created = parse_created(&Self::json("createinvoice", &reply)?)
            .map_err(|e| invalid(format!("createinvoice: {e}")))?;
        if let Some(reported) = created.amount_msat {
            if reported != req.amount_msat {
                return Err(invalid(format!(
                    "createinvoice: reply reports {reported} msat, {} msat were requested",
                    req.amount_msat
                )));
            }
        }
        check_invoice(NAME, &created.bolt11, &req, created.payment_hash, now)
    }

    async fn lookup(&self, payment_hash: [u8; 32]) -> Result<Settlement, BackendError> {
        const METHOD: &str = "getreceivedinfo";
        let hash_hex = to_hex(&payment_hash);
        let reply = self.post(METHOD, &[("paymentHash", &hash_hex)]).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(Settlement::Unknown);
        }
        if !reply.status.is_success() {
            // Some versions answer an unknown hash with an error whose text says so.
            let text = error_text(&reply.body).to_ascii_lowercase();
            if reply.status.is_client_error()
                && reply.status != StatusCode::UNAUTHORIZED
                && reply.status != StatusCode::FORBIDDEN
                && text.contains("not found")
            {
                return Ok(Settlement::Unknown);
            }
            return Err(Self::status_error(METHOD, &reply));
        }
        let info = parse_received(&Self::json(METHOD, &reply)?)
            .map_err(|e| invalid(format!("{METHOD}: {e}")))?;
        if let Some(reported) = info.payment_hash {
            if reported != payment_hash {
                return Err(invalid(format!(
                    "{METHOD}: reply is about another payment hash"
                )));
            }
        }
        match info.status {
            Status::Pending => Ok(Settlement::Open),
            Status::Expired => Ok(Settlement::Expired),
            Status::Received => {
                if let (Some(got), Some(want)) = (info.received_msat, info.invoice_msat) {
                    if got < want {
                        return Err(invalid(format!(
                            "{METHOD}: received {got} msat for an invoice of {want} msat"
                        )));
                    }
                }
                if let Some(preimage) = &info.preimage {
                    check_preimage(NAME, &payment_hash, preimage)?;
                }
                Ok(Settlement::Settled {
                    preimage: info.preimage,
                })
            }
        }
    }
}

impl Backend for EclairBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn create_invoice(&self, req: InvoiceRequest) -> BoxFuture<'_, Result<Invoice, BackendError>> {
        Box::pin(with_timeout(NAME, self.config.timeout, self.create(req)))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::FULL
    }

    fn lookup_invoice<'a>(
        &'a self,
        lookup: &'a LookupRef,
    ) -> BoxFuture<'a, Result<Settlement, BackendError>> {
        let payment_hash = lookup.payment_hash();
        Box::pin(with_timeout(
            NAME,
            self.config.timeout,
            self.lookup(payment_hash),
        ))
    }
}

impl fmt::Debug for EclairBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EclairBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
