//! Verifying an L402 credential (bLIP-26, "Macaroon Verification"), in the order of
//! Aperture's `Mint::VerifyL402` (`mint/mint.go`):
//! `sha256(preimage) == payment_hash` from the identifier, then the per-token
//! root key, then the HMAC chain, then the caveats for the requested service.

use std::fmt;

use crate::caveat::{check_rules, preimage_caveats};
use crate::credential::Credential;
use crate::crypto::{ct_eq, sha256};
use crate::identifier::Identifier;
use crate::keys::KeyRing;
use crate::macaroon::{Caveat, Macaroon};
use crate::terms::Terms;

/// What a verified token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The payment hash from the identifier (= `sha256(preimage)`).
    pub payment_hash: [u8; 32],
    /// The token id from the identifier.
    pub token_id: [u8; 32],
    /// The effective (last, strictest) `<service>_valid_until`, if any. Clients may lower it
    /// with a caveat of their own, so it bounds what is accepted, never how long a claim is
    /// remembered (that is [`Terms::valid_until`]).
    pub valid_until: Option<u64>,
    /// What the server sold, from the signed token id; `None` for tokens not minted with terms
    /// (the caller decides whether those are acceptable).
    pub terms: Option<Terms>,
}

/// Why a credential does not grant access. All of these call for a fresh 402
/// challenge (bLIP-26, "Reusing Credentials": the server issues a new challenge; clients
/// re-pay only on 402).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No candidate macaroon has a version-0 L402 identifier.
    NotL402Identifier,
    /// Neither the header nor a `preimage=` caveat gives a preimage.
    MissingPreimage,
    /// `sha256(preimage)` differs from the identifier's payment hash.
    PreimageMismatch,
    /// The HMAC chain does not verify under any key.
    SignatureMismatch,
    /// The macaroon has a third-party caveat, which L402 does not use.
    ThirdPartyCaveat,
    /// A `preimage=` caveat differs from the preimage, or is malformed.
    PreimageCaveatDisagrees,
    /// A later caveat is less strict than an earlier one of the same condition.
    CaveatWidens,
    /// A known caveat has a malformed value.
    MalformedCaveat,
    /// No `services` caveat, or the last one does not list the service.
    WrongService,
    /// `now >= <service>_valid_until`.
    Expired,
}

impl Rejection {
    /// A short lowercase phrase for a response header or a log line; never input.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotL402Identifier => "not an L402 identifier",
            Self::MissingPreimage => "missing preimage",
            Self::PreimageMismatch => "preimage does not match payment hash",
            Self::SignatureMismatch => "signature mismatch",
            Self::ThirdPartyCaveat => "third-party caveat not supported",
            Self::PreimageCaveatDisagrees => "preimage caveat disagrees",
            Self::CaveatWidens => "caveat widens an earlier one",
            Self::MalformedCaveat => "malformed caveat",
            Self::WrongService => "token not valid for this service",
            Self::Expired => "token expired",
        }
    }

    /// Whether the token was good once and has only run out of time.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Rejection {}

impl KeyRing {
    /// Verifies `cred` for `service` at `now_unix`. Picks the first candidate
    /// macaroon with a valid L402 v0 identifier; checks the preimage against its
    /// payment hash first, then the HMAC chain under the per-token key derived
    /// from each ring key, then the caveats.
    pub fn verify(
        &self,
        cred: &Credential,
        service: &str,
        now_unix: u64,
    ) -> Result<Verified, Rejection> {
        verify_with(cred, service, now_unix, |mac, identifier| {
            self.token_root_keys(&identifier.token_id)
                .any(|token_root_key| mac.verify_signature(&token_root_key))
        })
    }
}

/// A token whose signature and caveats verified but whose payment is not proven: the client
/// presented no preimage ([`crate::credential::parse_authorization_unpaid`]). It grants nothing
/// until the payment backend reports [`Unpaid::payment_hash`] settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpaid(Verified, Option<Box<[u8]>>);

impl Unpaid {
    /// The invoice to look up.
    pub fn payment_hash(&self) -> [u8; 32] {
        self.0.payment_hash
    }

    /// The backend's own reference to the invoice, minted into the token
    /// ([`crate::caveat::minted_lookup`]); `None` when the payment hash is all there is.
    pub fn lookup(&self) -> Option<&[u8]> {
        self.1.as_deref()
    }

    /// The token id (for caches keyed by token).
    pub fn token_id(&self) -> [u8; 32] {
        self.0.token_id
    }

    /// The effective `<service>_valid_until`, if any.
    pub fn valid_until(&self) -> Option<u64> {
        self.0.valid_until
    }

    /// The grant, once the payment backend has reported the payment hash settled. Calling
    /// this without that answer would admit an unpaid client.
    pub fn settled(&self) -> Verified {
        self.0
    }
}

impl KeyRing {
    /// Verifies a credential without a preimage: the same identifier, HMAC chain and caveat
    /// checks as [`KeyRing::verify`], only `sha256(preimage) == payment_hash` is left to the
    /// caller, who must ask the payment backend ([`Unpaid::settled`]).
    ///
    /// A credential that does carry a preimage (after the `:` or in a `preimage=` caveat) is
    /// verified by [`KeyRing::verify`] in full: a wrong preimage is never skipped.
    pub fn verify_unpaid(
        &self,
        cred: &Credential,
        service: &str,
        now_unix: u64,
    ) -> Result<Unpaid, Rejection> {
        let has_caveat_preimage = cred
            .macaroons
            .iter()
            .any(|mac| preimage_caveats(&mac.caveats).next().is_some());
        // The macaroon verify_inner judges: the first with an L402 identifier.
        let lookup = cred
            .macaroons
            .iter()
            .find(|mac| Identifier::decode(&mac.identifier).is_ok())
            .and_then(|mac| crate::caveat::minted_lookup(&mac.caveats));
        if cred.preimage.is_some() || has_caveat_preimage {
            return self.verify(cred, service, now_unix).map(|v| Unpaid(v, lookup));
        }
        verify_inner(cred, service, now_unix, PreimageCheck::LeftToCaller, |mac, identifier| {
            self.token_root_keys(&identifier.token_id)
                .any(|token_root_key| mac.verify_signature(&token_root_key))
        })
        .map(|v| Unpaid(v, lookup))
    }
}

/// Whether [`verify_inner`] checks the preimage.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PreimageCheck {
    Required,
    /// Only through [`KeyRing::verify_unpaid`], which returns [`Unpaid`].
    LeftToCaller,
}

/// The same checks as [`KeyRing::verify`] against an explicit per-token root
/// key (what Aperture stores per token; used by interoperability vectors).
pub fn verify_with_token_key(
    cred: &Credential,
    token_root_key: &[u8],
    service: &str,
    now_unix: u64,
) -> Result<Verified, Rejection> {
    verify_with(cred, service, now_unix, |mac, _| {
        mac.verify_signature(token_root_key)
    })
}

fn verify_with(
    cred: &Credential,
    service: &str,
    now_unix: u64,
    signature_ok: impl Fn(&Macaroon, &Identifier) -> bool,
) -> Result<Verified, Rejection> {
    verify_inner(cred, service, now_unix, PreimageCheck::Required, signature_ok)
}

fn verify_inner(
    cred: &Credential,
    service: &str,
    now_unix: u64,
    preimage_check: PreimageCheck,
    signature_ok: impl Fn(&Macaroon, &Identifier) -> bool,
) -> Result<Verified, Rejection> {
    let (mac, identifier) = cred
        .macaroons
        .iter()
        .find_map(|mac| Identifier::decode(&mac.identifier).ok().map(|id| (mac, id)))
        .ok_or(Rejection::NotL402Identifier)?;
    let preimage = match preimage_check {
        PreimageCheck::Required => {
            let preimage = effective_preimage(cred.preimage, &mac.caveats)?;
            if !ct_eq(&sha256(&preimage), &identifier.payment_hash) {
                return Err(Rejection::PreimageMismatch);
            }
            Some(preimage)
        }
        PreimageCheck::LeftToCaller => None,
    };
    if !mac.caveats.iter().all(Caveat::is_first_party) {
        return Err(Rejection::ThirdPartyCaveat);
    }
    if !signature_ok(mac, &identifier) {
        return Err(Rejection::SignatureMismatch);
    }
    for caveat_preimage in preimage_caveats(&mac.caveats) {
        // Without a preimage (LeftToCaller) no preimage caveat can agree.
        let agrees = caveat_preimage
            .is_ok_and(|value| preimage.is_some_and(|p| ct_eq(&value, &p)));
        if !agrees {
            return Err(Rejection::PreimageCaveatDisagrees);
        }
    }
    let valid_until = check_rules(&mac.caveats, service, now_unix)?;
    let terms = Terms::from_token_id(&identifier.token_id);
    // The minted expiry holds even if the caveat that states it were missing.
    if terms.and_then(|t| t.valid_until).is_some_and(|until| now_unix >= until) {
        return Err(Rejection::Expired);
    }
    Ok(Verified {
        payment_hash: identifier.payment_hash,
        token_id: identifier.token_id,
        valid_until,
        terms,
    })
}

/// The header preimage, or else the chosen macaroon's last `preimage=` caveat.
fn effective_preimage(header: Option<[u8; 32]>, caveats: &[Caveat]) -> Result<[u8; 32], Rejection> {
    if let Some(preimage) = header {
        return Ok(preimage);
    }
    match crate::caveat::last_preimage(caveats) {
        Ok(Some(preimage)) => Ok(preimage),
        Ok(None) => Err(Rejection::MissingPreimage),
        Err(_) => Err(Rejection::PreimageCaveatDisagrees),
    }
}

mod cache;
pub use cache::{CredentialSource, VerifiedCache};

#[cfg(test)]
mod tests;
