//! The module's Prometheus metrics without nginx: a [`Table`] of counters in shared words (one
//! per host, every worker adds to it, it survives `reload`), histograms over it, the
//! [`catalogue`] of families, and the text [`exposition`].

pub mod catalogue;
pub mod exposition;
pub mod histogram;
mod table;

pub use table::{words_for, Sample, Series, Table, MAGIC, MAX_TEXT, SLOT_WORDS};
