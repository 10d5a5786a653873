//! The payment-method seam. A method recognises its carriers among the request's facts,
//! verifies what it recognises, and makes its offer for a price; a challenge merges the offers
//! of every enabled method, L402 first.
//!
//! Adding a method (docs/architecture.md, "Adding a payment method"): a variant here, a module
//! beside [`l402`] with its `recognise`, `verify` and `offer`, the I/O it needs in
//! [`crate::Io`] (executed by the adapter), and its branch in the machine's `start` and
//! challenge. The L402 module is not touched.

pub mod cashu;
pub mod l402;

/// A payment method (`$l402_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Lightning: macaroon + preimage (bLIP-26 / the L402 protocol specification).
    L402,
    /// Cashu ecash (NUT-24).
    Cashu,
}

impl Method {
    pub fn text(&self) -> &'static str {
        match self {
            Method::L402 => "l402",
            Method::Cashu => "cashu",
        }
    }
}
