//! L402 protocol core for the nginx L402 paywall module.
//!
//! Pure protocol, no I/O: no files, no network, no clock and no randomness.
//! Callers pass the current time (`now_unix`) and fresh random token ids.
//!
//! Layout, following bLIP-26 ("L402: The Lightning HTTP 402 Protocol") and libmacaroons:
//! - [`macaroon`]: the libmacaroons V2 binary codec (V1 on input) and the HMAC chain
//!   (libmacaroons `doc/format.txt`, "Binary Format"; bLIP-26, "Macaroon Verification");
//! - [`identifier`]: the 66-byte L402 identifier, version 0 (bLIP-26, "Macaroon Identifier");
//! - [`caveat`]: `condition=value` caveats and their attenuation rules
//!   (bLIP-26, "Attenuation Through Caveats");
//! - [`keys`]: operator root keys, per-token key derivation, key rotation;
//! - [`mint`]: minting a token for a service;
//! - [`terms`]: what a token was sold for (price, lifetime), bound into its token id;
//! - [`credential`]: parsing the `Authorization` header and hex carriers
//!   (bLIP-26, "Client HTTP Authentication Headers");
//! - [`verify`]: checking a credential (bLIP-26, "Macaroon Verification"; Aperture's order);
//! - [`challenge`]: the `WWW-Authenticate` values of a 402 answer
//!   (bLIP-26, "Server HTTP Authentication Headers").
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod caveat;
pub mod challenge;
pub mod credential;
mod crypto;
mod encoding;
pub mod identifier;
pub mod keys;
pub mod limits;
pub mod macaroon;
pub mod mint;
pub mod terms;
pub mod verify;

pub use challenge::www_authenticate;
pub use credential::{parse_authorization, parse_authorization_unpaid, parse_hex_macaroon, Credential, CredentialError};
pub use crypto::sha256;
pub use encoding::hex_encode;
pub use identifier::{Identifier, IdentifierError};
pub use keys::{KeyError, KeyRing, RootKey};
pub use macaroon::{Caveat, DecodeError, Macaroon};
pub use mint::{is_valid_capability_list, is_valid_service_name, MintParams};
pub use terms::Terms;
pub use verify::{verify_with_token_key, Rejection, Unpaid, Verified};
