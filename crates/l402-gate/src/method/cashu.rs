//! The Cashu method (NUT-24, "HTTP 402 Payment Required"): a 402 also carries
//! `X-Cashu: creqA…` (a NUT-18 payment request for the price, the allowed mints and, in P2PK
//! mode, the NUT-10 lock to our key); a client pays with `X-Cashu: cashuB…` (or `cashuA…`), or
//! with `Authorization: Cashu <token>` (the existing module's form). A payment that is wrong
//! (mint, unit, amount, lock, proofs) is answered 400 with `X-Cashu-Reason` (NUT-24).
//!
//! The token is parsed and prechecked here (bounded, no I/O: a mint not on the allow-list is
//! refused before anything is asked of anyone). The mint's signatures (DLEQ, NUT-12) are
//! verified by the executor off the event loop (a few hundred microseconds per proof), then
//! the proofs are stored and marked spent, all or none, in the store every worker and instance
//! shares (`crate::Io`).

use l402_cashu::{parse_token, precheck, sat_price, PaymentRequest, PublicKey, Refusal, Token};

use crate::facts::Carriers;
use crate::method::Method;
use crate::verdict::Offer;

/// The header of both the offer and the payment (NUT-24).
pub const HEADER: &str = "X-Cashu";
/// The header of a 400's reason (NUT-24).
pub const REASON_HEADER: &str = "X-Cashu-Reason";

/// How a location takes Cashu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashuPolicy {
    /// The mints whose tokens are accepted (normalised URLs); never empty (`nginx -t`).
    pub mints: Vec<String>,
    /// The unit of the offer and of accepted tokens (`sat`).
    pub unit: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Every token is swapped at its mint (which decides), one round trip per payment.
    Standard,
    /// Tokens locked to our key (NUT-11) are judged offline; they are redeemed later.
    P2pk {
        key: PublicKey,
        /// A lock must hold at least this long from now (until redemption).
        window_secs: u64,
    },
}

/// The Cashu token the request carries, untouched: `X-Cashu`, else `Authorization: Cashu …`.
pub fn recognise<'a>(carriers: &Carriers<'a>) -> Option<&'a [u8]> {
    if let Some(v) = carriers.x_cashu {
        return Some(v.trim_ascii());
    }
    let auth = carriers.authorization?.trim_ascii_start();
    let (scheme, rest) = auth.split_at_checked(6)?;
    (scheme.eq_ignore_ascii_case(b"Cashu ")).then(|| rest.trim_ascii())
}

/// A token that is worth checking further: parsed, from an allowed mint, of our unit, with
/// enough in it (fees are counted once the mint's keysets are known).
pub fn precheck_token(raw: &[u8], policy: &CashuPolicy, price_msat: u64, now: u64) -> Result<Token, Refusal> {
    let text = std::str::from_utf8(raw).map_err(|_| Refusal::Token(l402_cashu::TokenError::Malformed))?;
    let token = parse_token(text)?;
    precheck(&token, &terms(policy, price_msat, now), None)?;
    Ok(token)
}

/// The terms `l402_cashu` judges a token against.
pub fn terms(policy: &CashuPolicy, price_msat: u64, now: u64) -> l402_cashu::Policy<'_> {
    l402_cashu::Policy { allowed_mints: &policy.mints, unit: &policy.unit, price: sat_price(price_msat), now }
}

/// The offer of a 402: `X-Cashu: creqA…` for the price in the location's unit.
pub fn offer(policy: &CashuPolicy, price_msat: u64) -> Offer {
    let lock = match &policy.mode {
        Mode::P2pk { key, .. } => Some(key),
        Mode::Standard => None,
    };
    let request = PaymentRequest::for_402(sat_price(price_msat), &policy.unit, &policy.mints, lock);
    Offer { method: Method::Cashu, headers: vec![(HEADER, request.encode())], payable: None }
}

/// An id for an accepted Cashu payment (`$l402_token_id`): SHA-256 over its proofs' `Y`s.
pub fn payment_id(ys: &[[u8; 33]]) -> [u8; 32] {
    let bytes: Vec<u8> = ys.iter().flatten().copied().collect();
    l402_core::sha256(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carriers<'a>(auth: Option<&'a [u8]>, x: Option<&'a [u8]>) -> Carriers<'a> {
        Carriers { authorization: auth, x_cashu: x, ..Carriers::default() }
    }

    #[test]
    fn both_carriers() {
        assert_eq!(recognise(&carriers(None, Some(b" cashuBxyz "))), Some(&b"cashuBxyz"[..]));
        assert_eq!(recognise(&carriers(Some(b"Cashu cashuAabc"), None)), Some(&b"cashuAabc"[..]));
        assert_eq!(recognise(&carriers(Some(b"cashu   cashuAabc"), None)), Some(&b"cashuAabc"[..]));
        assert_eq!(recognise(&carriers(Some(b"L402 mac:pre"), None)), None);
        assert_eq!(recognise(&carriers(Some(b"Cash"), None)), None);
        // X-Cashu wins over Authorization.
        assert_eq!(recognise(&carriers(Some(b"Cashu a"), Some(b"b"))), Some(&b"b"[..]));
    }
}
