//! LNURL-pay / Lightning Address payment backend (LUD-06, LUD-16, LUD-21).
//!
//! The payee is a third party: a Lightning Address (`user@domain`), a bech32 LNURL or an
//! LNURL-pay URL ([`Payee`]). An invoice is asked for in two GETs — the payRequest document
//! (cached per payee, refreshed in the background) and its callback with `amount` — and is
//! offered only after it is checked: signature, amount, network, expiry, the amount within
//! `minSendable..=maxSendable`, and the description hash against the metadata (LUD-06).
//!
//! Without LUD-21 only the client's preimage proves payment. With it, the invoice's
//! [`l402_backend::LookupRef`] carries the `verify` URL (only if it is on the payee's host or
//! the callback's), and [`LnurlBackend`]'s lookup asks it.
//!
//! Every payee of a worker shares one [`Transport`]: one HTTP/1.1 connection pool with TLS
//! session resumption.

mod backend;
pub mod document;
mod payee;
mod transport;

pub use backend::{LnurlBackend, LnurlConfig, Network, DEFAULT_DOCUMENT_TTL, NAME};
pub use payee::{Payee, PayeeError, MAX_PAYEE_LEN};
pub use transport::{Transport, TransportConfig, MAX_REPLY_BYTES};
