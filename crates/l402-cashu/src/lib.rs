//! Cashu ecash judged offline for the paywall (docs/architecture.md, "Cashu"; the Cashu NUTs
//! cited per module): everything the paywall needs to decide on a Cashu payment without I/O.
//!
//! - [`parse_token`]: `cashuB` (V4) and `cashuA` (V3) tokens (NUT-00), capped before decoding.
//! - [`hash_to_curve`] / [`proof_y`]: a proof's `Y` (NUT-00).
//! - [`parse_keysets`], [`parse_keys`], [`MintKeys`]: a mint's keysets with their ids checked,
//!   short ids resolved and fees (NUT-01, NUT-02).
//! - [`dleq`]: offline signature validation (NUT-12).
//! - [`parse_p2pk_secret`], [`check_lock`]: proofs locked to our key (NUT-10, NUT-11).
//! - [`PaymentRequest`]: the `creqA` request of a 402 (NUT-18, NUT-24).
//! - [`precheck`] (standard mode: swap later) and [`verify_p2pk`] (P2PK mode: all offline),
//!   refusing with a [`Refusal`] whose text goes into `X-Cashu-Reason`.
//!
//! No nginx, no network, no clock (the caller passes `now`), no unsafe code.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cbor;
pub mod dleq;
mod hash_to_curve;
mod hex;
mod keyset;
mod mint_url;
mod p2pk;
mod request;
mod token;
mod verify;

pub use hash_to_curve::{hash_to_curve, proof_y, NoPoint};
pub use keyset::{
    derive_v1_id, derive_v2_id, parse_keys, parse_keysets, Keyset, KeysetError, KeysetInfo, KeysetKeys, MintKeys,
    ResolveError, MAX_INPUT_FEE_PPK, MAX_KEYS, MAX_KEYSETS, MAX_REPLY_LEN,
};
pub use mint_url::{normalise_mint_url, MAX_MINT_URL_LEN};
pub use p2pk::{check_lock, parse_p2pk_secret, Lock, LockError, P2pkSecret, SigFlag};
pub use request::{decode_request, Nut10Option, PaymentRequest, RequestError, Transport, MAX_REQUEST_LEN};
pub use secp256k1::PublicKey;
pub use token::{
    encode_v4, parse_token, Dleq, KeysetId, Proof, Token, TokenError, MAX_MEMO_LEN, MAX_PROOFS, MAX_SECRET_LEN,
    MAX_TOKEN_LEN, MAX_UNIT_LEN, MAX_WITNESS_LEN,
};
pub use verify::{precheck, sat_price, verify_p2pk, Accepted, Checked, Fault, Policy, Refusal};
