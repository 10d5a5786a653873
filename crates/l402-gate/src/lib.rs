//! The access decision of the paywall, with no nginx and no I/O (docs/architecture.md,
//! "The request pipeline").
//!
//! A request goes in as plain [`Facts`] under a location's [`Policy`]. [`start`] and [`resume`]
//! return a [`Step`]: either run one [`Io`] and hand its [`IoResult`] back to [`resume`]
//! together with the [`Pending`] state, or [`Step::Done`] with the [`Verdict`]. The caller (the
//! nginx adapter) extracts facts, executes I/O (the usage zone inline, everything else off the
//! event loop) and renders the verdict; it decides nothing itself.
//!
//! Payment methods sit behind one seam ([`method`]): each recognises its carriers, verifies
//! what it recognises and makes its offer for a price; a challenge merges the offers of every
//! enabled method, L402 first.
//!
//! Guarantees (tested in `tests/`): no sequence of I/O results admits a request whose policy
//! counts uses without a successful claim; a failed store, backend or price never admits; every
//! run ends in a verdict within [`MAX_STEPS`] steps; the same facts and results give the same
//! verdict.

pub mod cors;
mod facts;
mod io;
pub mod grpc;
pub mod log_line;
mod machine;
pub mod method;
mod policy;
mod reason;
mod verdict;

pub use cors::CorsOrigins;
pub use facts::{Carriers, Facts, PriceFact};
pub use io::{CashuRejected, Failure, Invoiced, Io, IoResult, Payment};
pub use machine::{resume, start, Env, Pending, Step, MAX_STEPS};
pub use method::l402::Memo;
pub use method::Method;
pub use policy::{Policy, Store};
pub use reason::Reason;
pub use verdict::{Admitted, Cause, Challenge, Event, Level, Offer, Payable, Session, Status, Verdict};
