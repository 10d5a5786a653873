//! The L402 method: `Authorization: L402 <macaroons>:<preimage>` (or `LSAT`), a hex macaroon in
//! `Macaroon`/`Token`/`Grpc-Metadata-*` headers, and the `WWW-Authenticate: L402 …` offer (the
//! L402 protocol specification, "Authentication flow"; bLIP-26).

use l402_core::credential::{is_l402_scheme, parse_authorization, parse_authorization_unpaid, parse_hex_macaroon};
use l402_core::verify::{CredentialSource, VerifiedCache};
use l402_core::{KeyRing, MintParams, Terms, Unpaid, Verified};

use crate::facts::Carriers;
use crate::io::Invoiced;
use crate::method::Method;
use crate::reason::Reason;
use crate::verdict::{Offer, Payable};

/// Header of a 402 whose invoice is BOLT12 (`lni1…`), which BOLT11-only wallets cannot pay.
pub const INVOICE_TYPE_HEADER: &str = "X-L402-Invoice-Type";

/// An L402 credential the request carries, untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    pub source: CredentialSource,
    pub raw: &'a [u8],
}

/// The L402 credential among the carriers: `Authorization` with the `L402`/`LSAT` scheme
/// first (other schemes, Basic or Bearer, are not ours), then a hex macaroon header.
pub fn recognise<'a>(carriers: &Carriers<'a>) -> Option<Presented<'a>> {
    if let Some(raw) = carriers.authorization.filter(|v| is_l402_scheme(v)) {
        return Some(Presented { source: CredentialSource::Authorization, raw });
    }
    carriers.hex_macaroon.map(|raw| Presented { source: CredentialSource::HexHeader, raw })
}

/// The worker's memo of verified credentials, each with its token's claim key.
pub type Memo = VerifiedCache<[u8; 16]>;

/// A verified token and the key of its claims in the usage store (derived once, then memoized
/// with the verification: the hot path hashes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub verified: Verified,
    pub claim_key: [u8; 16],
}

impl Token {
    pub fn new(verified: Verified) -> Token {
        Token { claim_key: l402_usage::keys::claim_key(&verified.token_id), verified }
    }
}

/// Verifies a presented credential for `service` at `now`, on connection number `connection`.
/// Successes are memoized in `memo` when given; the memo never replaces the claim.
pub fn verify(
    keys: &KeyRing,
    memo: Option<&mut Memo>,
    p: Presented<'_>,
    service: &str,
    now: u64,
    connection: u64,
) -> Result<Token, Reason> {
    let mut memo = memo;
    if let Some((verified, claim_key)) = memo.as_deref_mut().and_then(|m| m.get_on(connection, p.source, service, p.raw, now)) {
        return Ok(Token { verified, claim_key });
    }
    let credential = match p.source {
        CredentialSource::Authorization => parse_authorization(p.raw),
        CredentialSource::HexHeader => parse_hex_macaroon(p.raw),
    }
    .map_err(Reason::Credential)?;
    let token = Token::new(keys.verify(&credential, service, now).map_err(Reason::Rejected)?);
    if let Some(m) = memo {
        m.insert_on(connection, p.source, service, p.raw, token.verified, token.claim_key);
    }
    Ok(token)
}

/// Verifies a macaroon presented without preimage (payment detection): everything but the
/// preimage, so a forged or expired macaroon never reaches the backend.
pub fn verify_unpaid(keys: &KeyRing, p: Presented<'_>, service: &str, now: u64) -> Result<Unpaid, Reason> {
    let credential = parse_authorization_unpaid(p.raw).map_err(Reason::Credential)?;
    keys.verify_unpaid(&credential, service, now).map_err(Reason::Rejected)
}

/// What an L402 offer binds a token to.
pub struct OfferTerms<'a> {
    pub service: &'a str,
    pub amount_msat: u64,
    /// The minted lifetime; `None` = never expires.
    pub valid_until: Option<u64>,
    pub legacy_lsat: bool,
}

/// The offer for `invoice`: a macaroon bound to its payment hash, the service, the minted
/// lifetime and the price paid (`l402_core::Terms` in the token id). Returns the offer and the
/// new token's id.
pub fn offer(keys: &KeyRing, t: &OfferTerms<'_>, invoice: &Invoiced) -> (Offer, [u8; 32]) {
    let terms = Terms { paid_msat: t.amount_msat, valid_until: t.valid_until };
    let token_id = terms.token_id(invoice.nonce);
    let macaroon = keys.mint(&MintParams {
        payment_hash: invoice.payment_hash,
        token_id,
        service: t.service,
        valid_until: t.valid_until,
        capabilities: None,
        lookup: invoice.lookup.as_deref(),
    });
    let b64 = macaroon.to_base64();
    let mut headers: Vec<(&'static str, String)> = l402_core::challenge::www_authenticate(&b64, &invoice.text, t.legacy_lsat)
        .into_iter()
        .map(|line| ("WWW-Authenticate", line))
        .collect();
    if invoice.bolt12 {
        headers.push((INVOICE_TYPE_HEADER, "bolt12".to_owned()));
    }
    let payable = Payable { macaroon: b64, invoice: invoice.text.clone() };
    (Offer { method: Method::L402, headers, payable: Some(payable) }, token_id)
}
