//! What the operator configured for a location, as the decision needs it.

use l402_usage::{Rate, UsePolicy};

/// Where claims and rate-limit entries live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// This host's usage zone (claims are run inline by the adapter).
    Zone,
    /// Redis, shared by every instance.
    Redis,
    /// No store: a policy that counts uses cannot be honoured (answered 503).
    None,
}

/// A location's policy. Borrowed from the configuration for one request.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// The service tokens of this location are bound to.
    pub service: &'a str,
    pub uses: UsePolicy,
    pub store: Store,
    /// Read the request path's price from the store (the seed's Redis prices).
    pub store_price: bool,
    pub rate_limit: Option<Rate>,
    /// `l402_auto_detect_payment`: a macaroon alone is admitted once its invoice settled.
    pub auto_detect: bool,
    /// Token lifetime in seconds; 0 = never expires.
    pub macaroon_timeout: u64,
    pub invoice_expiry_secs: u32,
    /// Challenge lines in the old `LSAT` form too.
    pub legacy_lsat: bool,
    /// `l402_dry_run`: decide and report, never block, claim, count or create an invoice.
    pub dry_run: bool,
    /// `l402_cors_origins`: browsers of these origins may call the location.
    pub cors: Option<&'a crate::CorsOrigins>,
    /// Cashu ecash accepted here too (`l402_cashu`).
    pub cashu: Option<&'a crate::method::cashu::CashuPolicy>,
}
