//! What a request gets, as data: rendered by the adapter (HTTP today), recorded for variables,
//! logs and metrics.

use std::time::Duration;

use crate::method::Method;
use crate::reason::Reason;

/// Why a dependency could not serve the decision (the text of `X-L402-Reason` on a 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Backend,
    BackendTimeout,
    Store,
    StoreFull,
    Price,
    /// A Cashu mint (unreachable in standard mode, or its keysets not loaded yet).
    Mint,
}

impl Cause {
    /// A metric label value.
    pub fn label(&self) -> &'static str {
        match self {
            Cause::Backend => "backend",
            Cause::BackendTimeout => "backend_timeout",
            Cause::Store => "store",
            Cause::StoreFull => "store_full",
            Cause::Price => "price",
            Cause::Mint => "mint",
        }
    }

    pub fn text(&self) -> &'static str {
        match self {
            Cause::Backend => "payment backend unavailable",
            Cause::BackendTimeout => "payment backend timed out",
            Cause::Store => "usage store unavailable",
            Cause::StoreFull => "usage store full",
            Cause::Price => "price unavailable",
            Cause::Mint => "cashu mint unavailable",
        }
    }
}

/// A served request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    pub method: Method,
    pub token_id: [u8; 32],
    pub payment_hash: [u8; 32],
    /// The price of this request.
    pub amount_msat: u64,
    /// Uses left on the token after this request; `None` when uses are not counted.
    pub uses_left: Option<u32>,
    /// The claim this request now holds (so a redirect does not claim again).
    pub claimed: Option<[u8; 16]>,
    /// Until when the credential is valid (the earliest of the minted lifetime and any caveat
    /// the client added); `None` = no expiry.
    pub valid_until: Option<u64>,
}

/// One method's offer in a challenge: response headers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub method: Method,
    pub headers: Vec<(&'static str, String)>,
    /// What a payment page shows of it (`None` for a method a page cannot pay).
    pub payable: Option<Payable>,
}

/// An L402 offer as the browser payment page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payable {
    /// The macaroon, base64 (the text of the `macaroon="…"` parameter).
    pub macaroon: String,
    /// The payment request text.
    pub invoice: String,
}

/// A credential proven valid for this location without spending a use (the payment page's
/// session request): the adapter stores it in the location's cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub token_id: [u8; 32],
    /// When the token stops being valid as minted; `None` = never.
    pub valid_until: Option<u64>,
}

/// A 402 with a fresh offer from every enabled method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Why the presented credential was refused; `None` when none was presented.
    pub reason: Option<Reason>,
    /// L402 first.
    pub offers: Vec<Offer>,
    pub amount_msat: u64,
    /// Of the token just offered (empty in a dry run, where nothing is minted).
    pub token_id: Option<[u8; 32]>,
    pub payment_hash: Option<[u8; 32]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Admitted(Admitted),
    Challenge(Challenge),
    /// The macaroon's invoice is not paid yet: 402 without a new invoice.
    Pending { token_id: [u8; 32], payment_hash: [u8; 32], amount_msat: u64 },
    /// Too many invoice requests from this client: 429.
    RateLimited { retry_after: Duration },
    /// A dependency failed: 503 (never admits).
    Unavailable { cause: Cause, retry_after: Duration },
    /// No answer can be given: a price expression that cannot be evaluated, or an executor that
    /// answered the wrong I/O: 500 (never admits).
    Internal,
    /// An `error_page 402` led an answered request here: serve the error page under the
    /// challenge already sent.
    AlreadyChallenged,
    /// A CORS preflight under `l402_cors_origins`: 204 with the CORS headers for an allowed
    /// origin, 403 otherwise; never a challenge.
    Preflight { allowed: bool },
    /// A payment that does not pay, by a method whose protocol answers 400 (Cashu, NUT-24:
    /// `X-Cashu-Reason`). Never a 5xx for a client's mistake.
    PaymentRejected { method: Method, reason: Reason },
    /// The payment page's script proved a credential (`Facts::session`): 204 with the
    /// credential in the location's cookie. Nothing is served and no use is spent.
    Session(Session),
}

/// `$l402_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Free,
    Challenged,
    Paid,
    Refused,
    Pending,
    RateLimited,
    Unavailable,
    Preflight,
    Session,
}

impl Status {
    pub fn text(&self) -> &'static str {
        match self {
            Status::Free => "free",
            Status::Challenged => "challenged",
            Status::Paid => "paid",
            Status::Refused => "refused",
            Status::Pending => "pending",
            Status::RateLimited => "rate_limited",
            Status::Unavailable => "unavailable",
            Status::Preflight => "preflight",
            Status::Session => "session",
        }
    }
}

impl Verdict {
    /// `$l402_status` of this verdict; `None` for [`Verdict::AlreadyChallenged`] (the first
    /// answer's record stands).
    pub fn status(&self) -> Option<Status> {
        Some(match self {
            Verdict::Admitted(_) => Status::Paid,
            Verdict::Challenge(c) if c.reason.is_some() => Status::Refused,
            Verdict::Challenge(_) => Status::Challenged,
            Verdict::Pending { .. } => Status::Pending,
            Verdict::RateLimited { .. } => Status::RateLimited,
            Verdict::Unavailable { .. } | Verdict::Internal => Status::Unavailable,
            Verdict::AlreadyChallenged => return None,
            Verdict::Preflight { .. } => Status::Preflight,
            Verdict::Session(_) => Status::Session,
            Verdict::PaymentRejected { .. } => Status::Refused,
        })
    }

    /// Why, for `$l402_reason` and `X-L402-Reason`.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Verdict::Challenge(c) => c.reason,
            Verdict::Pending { .. } => Some(Reason::PaymentPending),
            Verdict::RateLimited { .. } => Some(Reason::RateLimited),
            Verdict::PaymentRejected { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A log line the adapter writes (never a secret: reasons and peer errors only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub level: Level,
    pub message: String,
}
