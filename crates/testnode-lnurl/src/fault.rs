//! LNURL-specific misbehaviour of a hostile payee ([`Fault`]), on top of the conformance
//! suite's [`crate::Mode`]s. A fault is set globally or for one user and applies to later
//! requests.

use std::fmt;

/// The LNURL endpoint kinds, as far as a transport fault is aimed at one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every LNURL endpoint (payRequest, callback, verify).
    All,
    /// The payRequest document (`/.well-known/lnurlp/<user>` and `/lnurlp/<user>`).
    PayRequest,
    /// The callback (`/lnurlp/<user>/callback`).
    Callback,
    /// The LUD-21 verify URL (`/lnurlp/<user>/verify/<hash>`).
    Verify,
}

impl Target {
    pub(crate) fn covers(self, endpoint: Endpoint) -> bool {
        matches!(
            (self, endpoint),
            (Target::All, _)
                | (Target::PayRequest, Endpoint::PayRequest)
                | (Target::Callback, Endpoint::Callback)
                | (Target::Verify, Endpoint::Verify)
        )
    }

    /// The name used by the control endpoint: `all`, `pay-request`, `callback`, `verify`.
    pub fn name(self) -> &'static str {
        match self {
            Target::All => "all",
            Target::PayRequest => "pay-request",
            Target::Callback => "callback",
            Target::Verify => "verify",
        }
    }

    /// Parses [`Target::name`] (`_` may stand for `-`).
    pub fn parse(name: &str) -> Option<Target> {
        match name.replace('_', "-").as_str() {
            "all" => Some(Target::All),
            "pay-request" | "payrequest" => Some(Target::PayRequest),
            "callback" => Some(Target::Callback),
            "verify" => Some(Target::Verify),
            _ => None,
        }
    }
}

/// The endpoint a request was routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    PayRequest,
    Callback,
    Verify,
}

/// How the payee misbehaves. Transport faults carry the [`Target`] they hit; the others act
/// on the one document they concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fault {
    /// Behaves correctly.
    #[default]
    None,
    /// payRequest answers `{"status":"ERROR","reason":"Unknown user"}` (an unknown user).
    PayRequestError,
    /// The callback answers `{"status":"ERROR","reason":"Payee refuses to issue an invoice"}`.
    CallbackError,
    /// The reply is the normal JSON preceded by 10 MiB of JSON whitespace (with Content-Length).
    HugeBody(Target),
    /// A chunked body that never ends: `{` and then whitespace for ever.
    EndlessBody(Target),
    /// The normal reply, chunked, one byte every 500 ms.
    SlowDrip(Target),
    /// `302 Found` to the same path and query on `<scheme>://127.0.0.2:<port>` (another host;
    /// nothing listens there, so following it is refused).
    RedirectOtherHost(Target),
    /// `302 Found` to `<base>/redirected<path>?<query>` on the same host, which serves the
    /// normal reply (no fault applies below `/redirected`).
    RedirectSameHost(Target),
    /// The callback's invoice is a mainnet one (`lnbc…`, Bitcoin currency).
    MainnetInvoice,
    /// The callback's invoice was issued two hours ago with a 60 s expiry.
    ExpiredInvoice,
    /// The callback's invoice commits to the hash of another metadata string.
    WrongDescriptionHash,
    /// The callback's reply has no `verify` field.
    NoVerify,
    /// The callback's `verify` URL is on `127.0.0.2` (same scheme, port and path).
    VerifyOtherHost,
    /// The payRequest's `callback` URL is on `127.0.0.2` (same scheme, port and path).
    CallbackOtherHost,
}

/// Number of bytes of padding of [`Fault::HugeBody`].
pub const HUGE_BODY_PADDING: usize = 10 * 1024 * 1024;

impl Fault {
    /// The name used by the control endpoint (see [`crate::control`]).
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::PayRequestError => "pay-request-error",
            Fault::CallbackError => "callback-error",
            Fault::HugeBody(_) => "huge-body",
            Fault::EndlessBody(_) => "endless-body",
            Fault::SlowDrip(_) => "slow-drip",
            Fault::RedirectOtherHost(_) => "redirect-other-host",
            Fault::RedirectSameHost(_) => "redirect-same-host",
            Fault::MainnetInvoice => "mainnet-invoice",
            Fault::ExpiredInvoice => "expired-invoice",
            Fault::WrongDescriptionHash => "wrong-description-hash",
            Fault::NoVerify => "no-verify",
            Fault::VerifyOtherHost => "verify-other-host",
            Fault::CallbackOtherHost => "callback-other-host",
        }
    }

    /// The endpoint kinds a transport fault hits, if this is one.
    pub fn target(self) -> Option<Target> {
        match self {
            Fault::HugeBody(t)
            | Fault::EndlessBody(t)
            | Fault::SlowDrip(t)
            | Fault::RedirectOtherHost(t)
            | Fault::RedirectSameHost(t) => Some(t),
            _ => None,
        }
    }

    /// Parses [`Fault::name`] (`_` may stand for `-`); `target` is used by transport faults.
    pub fn parse(name: &str, target: Target) -> Option<Fault> {
        Some(match name.replace('_', "-").as_str() {
            "none" | "normal" => Fault::None,
            "pay-request-error" | "unknown-user" => Fault::PayRequestError,
            "callback-error" => Fault::CallbackError,
            "huge-body" => Fault::HugeBody(target),
            "endless-body" => Fault::EndlessBody(target),
            "slow-drip" => Fault::SlowDrip(target),
            "redirect-other-host" => Fault::RedirectOtherHost(target),
            "redirect-same-host" => Fault::RedirectSameHost(target),
            "mainnet-invoice" => Fault::MainnetInvoice,
            "expired-invoice" => Fault::ExpiredInvoice,
            "wrong-description-hash" => Fault::WrongDescriptionHash,
            "no-verify" => Fault::NoVerify,
            "verify-other-host" => Fault::VerifyOtherHost,
            "callback-other-host" => Fault::CallbackOtherHost,
            _ => return None,
        })
    }

    /// Every fault name [`Fault::parse`] knows.
    pub const NAMES: [&'static str; 14] = [
        "none",
        "pay-request-error",
        "callback-error",
        "huge-body",
        "endless-body",
        "slow-drip",
        "redirect-other-host",
        "redirect-same-host",
        "mainnet-invoice",
        "expired-invoice",
        "wrong-description-hash",
        "no-verify",
        "verify-other-host",
        "callback-other-host",
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target() {
            Some(t) => write!(f, "{} on {}", self.name(), t.name()),
            None => f.write_str(self.name()),
        }
    }
}
