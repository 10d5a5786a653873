//! What the adapter tells the gate about one request: plain data, borrowed from the request.

/// The headers (and later query parameters) that may carry a credential, untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct Carriers<'a> {
    /// The `Authorization` value, whatever its scheme.
    pub authorization: Option<&'a [u8]>,
    /// The first of the hex macaroon headers that is present (`Macaroon`, `Token`,
    /// `Grpc-Metadata-Macaroon`, `Grpc-Metadata-Token`), for clients that cannot set
    /// `Authorization` (gRPC metadata).
    pub hex_macaroon: Option<&'a [u8]>,
    /// The `X-Cashu` header (NUT-24), read only where Cashu is enabled.
    pub x_cashu: Option<&'a [u8]>,
}

/// The location's price for this request, as the adapter evaluated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceFact {
    /// Millisatoshis.
    Msat(u64),
    /// The operator's price expression could not be evaluated at all (answered 500).
    Unevaluable,
    /// The expression gave something that is not a price; `log` says what (answered 503: a
    /// request is never free because of a wrong expression).
    Invalid { log: String },
}

/// One request, as the decision sees it.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub carriers: Carriers<'a>,
    /// The client address nginx computed (`$remote_addr`: the realip module decides).
    pub client_addr: &'a [u8],
    /// The normalised request path (the key of a Redis price).
    pub path: &'a [u8],
    pub price: PriceFact,
    /// This request already holds a use of the token with this claim key (an internal
    /// redirect re-runs the access phase): it is not claimed twice.
    pub claimed: Option<[u8; 16]>,
    /// This request was already answered 402 and an `error_page 402` led it here: the error
    /// page is served under that answer, never a second invoice.
    pub already_challenged: bool,
    /// The `Origin` header, if any (CORS).
    pub origin: Option<&'a [u8]>,
    /// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
    pub preflight: bool,
    /// The payment page's script asks for its credential to be proven and kept in a cookie
    /// (`POST` with `X-L402-Session: cookie`, only where `l402_payment_html` is on): the
    /// answer is [`crate::Verdict::Session`] instead of a claim.
    pub session: bool,
    /// The connection's number (nginx's `$connection`): the memo finds a credential repeated on
    /// a keep-alive connection without hashing it again.
    pub connection: u64,
    /// Milliseconds since the Unix epoch: the one clock of the decision.
    pub now_ms: u64,
}

impl Facts<'_> {
    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.now_ms / 1_000
    }
}
