//! Histograms as plain series of a [`Table`]: cumulative `_bucket{le}` counters, `_count`, and
//! `_sum` in microseconds (the exposition shows it in seconds).

use std::time::Duration;

use crate::table::{Series, Table};

/// Upper bounds of the buckets, in seconds (and as written in `le`).
pub const BUCKETS: [(f64, &str); 11] = [
    (0.001, "0.001"),
    (0.005, "0.005"),
    (0.01, "0.01"),
    (0.025, "0.025"),
    (0.05, "0.05"),
    (0.1, "0.1"),
    (0.25, "0.25"),
    (0.5, "0.5"),
    (1.0, "1"),
    (2.5, "2.5"),
    (10.0, "10"),
];

/// Records one observation of `took` in the histogram `family` with `labels`.
pub fn observe(table: &Table<'_>, family: &str, labels: &[(&str, &str)], took: Duration) {
    let secs = took.as_secs_f64();
    let mut with_le: Vec<(&str, &str)> = Vec::with_capacity(labels.len() + 1);
    with_le.extend_from_slice(labels);
    with_le.push(("le", "+Inf"));
    let bucket = format!("{family}_bucket");
    let last = with_le.len() - 1;
    for (bound, text) in BUCKETS {
        if secs <= bound {
            with_le[last] = ("le", text);
            table.add(&Series { name: &bucket, labels: &with_le }, 1);
        }
    }
    with_le[last] = ("le", "+Inf");
    table.add(&Series { name: &bucket, labels: &with_le }, 1);
    table.add(&Series { name: &format!("{family}_count"), labels }, 1);
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    table.add(&Series { name: &format!("{family}_sum"), labels }, micros);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::table::words_for;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn buckets_are_cumulative() {
        let w: Vec<AtomicU64> = (0..words_for(64)).map(|_| AtomicU64::new(0)).collect();
        let t = Table::open(&w).unwrap();
        let l = [("backend", "fake")];
        observe(&t, "h_seconds", &l, Duration::from_millis(20));
        observe(&t, "h_seconds", &l, Duration::from_secs(20));
        let get = |le: &str| t.get(&Series { name: "h_seconds_bucket", labels: &[("backend", "fake"), ("le", le)] });
        assert_eq!((get("0.01"), get("0.025"), get("10"), get("+Inf")), (0, 1, 1, 2));
        assert_eq!(t.get(&Series { name: "h_seconds_count", labels: &l }), 2);
        assert_eq!(t.get(&Series { name: "h_seconds_sum", labels: &l }), 20_020_000);
    }
}
