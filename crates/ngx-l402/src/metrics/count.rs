//! What the module counts: one call per decided request (from its verdict, the one source of
//! `$l402_*` and the answer), per backend call and per suspended request. Families are those of
//! `l402_metrics::catalogue`; nothing here blocks or allocates more than a series' text once.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use l402_backend::BackendError;
use l402_gate::{Policy, Verdict};
use l402_metrics::catalogue as c;
use l402_metrics::histogram::observe;
use l402_metrics::Series;
use l402_usage::UsePolicy;

use super::table;

/// Counters this thread added to lately, keyed by the addresses of the family name and the
/// label values (which live as long as the worker's configuration or the program): a hit adds
/// without hashing the series' text. Direct-mapped; a miss finds the series in the table.
const CACHE_SIZE: usize = 64;

type Key = [usize; 5];

thread_local! {
    static CACHE: RefCell<[Option<(Key, &'static AtomicU64)>; CACHE_SIZE]> =
        const { RefCell::new([None; CACHE_SIZE]) };
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Option<Key> {
    let mut k = [name.as_ptr() as usize, 0, 0, 0, 0];
    if labels.len() > 2 {
        return None;
    }
    for (i, (_, v)) in labels.iter().enumerate() {
        k[1 + 2 * i] = v.as_ptr() as usize;
        k[2 + 2 * i] = v.len();
    }
    Some(k)
}

/// Adds to a series. Label values must live as long as the worker (static text, or the
/// configuration's service names): the cache knows them by address.
fn add(name: &'static str, labels: &[(&'static str, &str)], delta: u64) {
    let series = Series { name, labels };
    let Some(k) = key(name, labels) else {
        if let Some(table) = table() {
            table.add(&series, delta);
        }
        return;
    };
    let index = k.iter().fold(0usize, |h, w| h.rotate_left(7) ^ w.wrapping_mul(0x9e37_79b9)) % CACHE_SIZE;
    // A hit needs no table: a cached counter lives in the zone, mapped until the process exits.
    let counter = CACHE.with(|c| {
        let mut c = c.try_borrow_mut().ok()?;
        if let Some((cached, counter)) = c[index] {
            if cached == k {
                return Some(counter);
            }
        }
        let counter = table()?.counter(&series)?;
        c[index] = Some((k, counter));
        Some(counter)
    });
    if let Some(counter) = counter {
        counter.fetch_add(delta, Ordering::Relaxed);
    }
}

/// A decided request. `repeat` is set when an internal redirect decides again for a token this
/// request was already admitted with, or again in a dry run (counted once).
pub fn decision(policy: &Policy<'_>, verdict: &Verdict, repeat: bool) {
    let service = ("service", policy.service);
    if policy.dry_run {
        if let (false, Some(status)) = (repeat, verdict.status()) {
            add(c::DRY_RUN, &[service, ("status", status.text())], 1);
        }
        return;
    }
    match verdict {
        Verdict::Admitted(a) if !repeat => {
            let method = ("method", a.method.text());
            add(c::PAID, &[service, method], 1);
            if a.method == l402_gate::Method::Cashu {
                add(c::REVENUE, &[service, method], a.amount_msat);
            } else if let Some(paid) = first_use_revenue(policy.uses, a) {
                add(c::REVENUE, &[service, method], paid);
            }
        }
        Verdict::Admitted(_) => {}
        Verdict::Challenge(ch) => {
            add(c::CHALLENGES, &[service], 1);
            if let Some(reason) = ch.reason {
                add(c::REFUSALS, &[service, ("reason", reason.label())], 1);
            }
        }
        Verdict::PaymentRejected { reason, .. } => add(c::REFUSALS, &[service, ("reason", reason.label())], 1),
        Verdict::Pending { .. } => add(c::PENDING_ANSWERS, &[service], 1),
        Verdict::RateLimited { .. } => add(c::RATE_LIMITED, &[service], 1),
        Verdict::Unavailable { cause, .. } => add(c::UNAVAILABLE, &[service, ("cause", cause.label())], 1),
        Verdict::Internal => add(c::UNAVAILABLE, &[service, ("cause", "internal")], 1),
        Verdict::AlreadyChallenged | Verdict::Preflight { .. } | Verdict::Session(_) => {}
    }
}

/// What a token paid, at the admission that claimed its first use. Tokens without a use limit
/// are never claimed, so their first use is not known: not counted (the README says so).
fn first_use_revenue(uses: UsePolicy, a: &l402_gate::Admitted) -> Option<u64> {
    let UsePolicy::Limited(limit) = uses else { return None };
    let first = a.claimed.is_some() && a.uses_left.is_some_and(|left| left.saturating_add(1) == limit.get());
    first.then(|| l402_core::terms::Terms::from_token_id(&a.token_id).map(|t| t.paid_msat)).flatten()
}

/// A backend call: its duration, and for an invoice its error class.
pub fn invoice(backend: &str, took: Duration, error: Option<&BackendError>) {
    if let Some(t) = table() {
        observe(&t, c::BACKEND_SECONDS, &[("backend", backend), ("call", "invoice")], took);
    }
    if let Some(e) = error {
        add(c::INVOICE_ERRORS, &[("backend", e.backend()), ("class", e.kind())], 1);
    }
}

/// A payment lookup and its result (`settled`, `open`, `gone`, `error`).
pub fn lookup(backend: &str, took: Duration, result: &str) {
    if let Some(t) = table() {
        observe(&t, c::BACKEND_SECONDS, &[("backend", backend), ("call", "lookup")], took);
    }
    add(c::LOOKUPS, &[("backend", backend), ("result", result)], 1);
}

/// A request suspended (+1) or resumed / finalized (-1) on this worker's bridge.
pub fn waiting(up: bool) {
    add(c::WAITING, &[], if up { 1 } else { 1u64.wrapping_neg() });
}
