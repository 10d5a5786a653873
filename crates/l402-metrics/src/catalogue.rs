//! Every metric family the module exports, with its type and help text: the one list the
//! exposition, the README and the tests read. Names follow Prometheus conventions (`_total` for
//! counters, base units: millisatoshis, seconds).

/// A family's type, as `# TYPE` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn text(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    /// Its labels, in the order they are written.
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

pub const CHALLENGES: &str = "l402_challenges_total";
pub const PAID: &str = "l402_paid_requests_total";
pub const REFUSALS: &str = "l402_refusals_total";
pub const REVENUE: &str = "l402_revenue_msat_total";
pub const RATE_LIMITED: &str = "l402_rate_limited_total";
pub const UNAVAILABLE: &str = "l402_unavailable_total";
pub const PENDING_ANSWERS: &str = "l402_payment_pending_total";
pub const DRY_RUN: &str = "l402_dry_run_decisions_total";
pub const INVOICE_ERRORS: &str = "l402_invoice_errors_total";
pub const LOOKUPS: &str = "l402_payment_lookups_total";
pub const BACKEND_SECONDS: &str = "l402_backend_call_seconds";
pub const WAITING: &str = "l402_waiting_requests";
pub const ZONE_ENTRIES: &str = "l402_usage_zone_entries";
pub const ZONE_CAPACITY: &str = "l402_usage_zone_capacity";
pub const DROPPED: &str = "l402_metrics_series_dropped_total";

pub static CATALOGUE: &[Family] = &[
    Family { name: CHALLENGES, kind: Kind::Counter, labels: &["service"], help: "402 challenges issued (each with a fresh invoice and token)." },
    Family { name: PAID, kind: Kind::Counter, labels: &["service", "method"], help: "Requests admitted with a valid payment credential." },
    Family { name: REFUSALS, kind: Kind::Counter, labels: &["service", "reason"], help: "Credentials refused (answered with a fresh challenge), by reason." },
    Family { name: REVENUE, kind: Kind::Counter, labels: &["service", "method"], help: "Millisatoshis paid: L402 tokens at each token's first admitted use (tokens with a use limit; unlimited tokens are not counted), Cashu payments at each (the request's price)." },
    Family { name: RATE_LIMITED, kind: Kind::Counter, labels: &["service"], help: "Challenges refused by l402_invoice_rate_limit (429)." },
    Family { name: UNAVAILABLE, kind: Kind::Counter, labels: &["service", "cause"], help: "Requests answered 503 because a dependency could not answer." },
    Family { name: PENDING_ANSWERS, kind: Kind::Counter, labels: &["service"], help: "Macaroons presented before their invoice was paid (payment detection: 402 without a new invoice)." },
    Family { name: DRY_RUN, kind: Kind::Counter, labels: &["service", "status"], help: "Decisions taken under l402_dry_run (nothing was enforced)." },
    Family { name: INVOICE_ERRORS, kind: Kind::Counter, labels: &["backend", "class"], help: "Failed invoice requests by backend and error class (unavailable, timeout, invalid_reply, rejected)." },
    Family { name: LOOKUPS, kind: Kind::Counter, labels: &["backend", "result"], help: "Payment lookups (payment detection) by backend and result (settled, open, gone, error)." },
    Family { name: BACKEND_SECONDS, kind: Kind::Histogram, labels: &["backend", "call"], help: "Duration of payment backend calls (call: invoice, lookup)." },
    Family { name: WAITING, kind: Kind::Gauge, labels: &[], help: "Requests suspended while the backend or the store answers, all workers." },
    Family { name: ZONE_ENTRIES, kind: Kind::Gauge, labels: &[], help: "Entries (claims and rate entries) in the usage zone." },
    Family { name: ZONE_CAPACITY, kind: Kind::Gauge, labels: &[], help: "Slots of the usage zone." },
    Family { name: DROPPED, kind: Kind::Counter, labels: &[], help: "Series that could not be stored (metrics table full): their counts are lost." },
];

/// The family of a series name (a histogram's `_bucket`, `_sum`, `_count` series included) and
/// its index in [`CATALOGUE`].
pub fn family_of(series_name: &str) -> Option<(usize, &'static Family)> {
    CATALOGUE.iter().enumerate().find(|(_, f)| {
        series_name == f.name
            || (f.kind == Kind::Histogram
                && series_name
                    .strip_prefix(f.name)
                    .is_some_and(|rest| matches!(rest, "_bucket" | "_sum" | "_count")))
    })
}
