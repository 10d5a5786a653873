//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per metric
//! family, then its samples. Histograms' `_sum` series hold microseconds and are shown in
//! seconds; gauges are shown signed (they go down by wrapping addition).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalogue::{family_of, Kind, CATALOGUE};
use crate::table::Sample;

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders `samples` (from every table) and `extra` (gauges read at scrape time), grouped by
/// family in the catalogue's order; series of unknown families are left out.
pub fn render(samples: &[Sample], extra: &[Sample]) -> String {
    let mut families: BTreeMap<usize, Vec<&Sample>> = BTreeMap::new();
    for s in samples.iter().chain(extra) {
        let name = s.text.split('{').next().unwrap_or_default();
        if let Some((index, _)) = family_of(name) {
            families.entry(index).or_default().push(s);
        }
    }
    let mut out = String::with_capacity(4096);
    for (index, mut series) in families {
        let family = &CATALOGUE[index];
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.text());
        series.sort_by_key(|a| order_key(&a.text));
        for s in series {
            let name = s.text.split('{').next().unwrap_or_default();
            let _ = match family.kind {
                Kind::Gauge => writeln!(out, "{} {}", s.text, s.value as i64),
                Kind::Histogram if name.ends_with("_sum") => {
                    writeln!(out, "{} {}", s.text, s.value as f64 / 1_000_000.0)
                }
                _ => writeln!(out, "{} {}", s.text, s.value),
            };
        }
    }
    out
}

/// Sorts a histogram's buckets by bound (`le="0.005"` before `le="0.01"`, `+Inf` last) and
/// everything else by text.
fn order_key(text: &str) -> (String, u64) {
    match text.find("le=\"") {
        Some(at) => {
            let rest = &text[at + 4..];
            let bound = rest.split('"').next().unwrap_or_default();
            let micros = if bound == "+Inf" { u64::MAX } else { bound.parse::<f64>().map_or(u64::MAX, |b| (b * 1e6) as u64) };
            (text[..at].to_owned(), micros)
        }
        None => (text.to_owned(), 0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(text: &str, value: u64) -> Sample {
        Sample { text: text.into(), value }
    }

    #[test]
    fn families_once_each_with_types() {
        let out = render(
            &[
                s("l402_challenges_total{service=\"b\"}", 2),
                s("l402_challenges_total{service=\"a\"}", 1),
                s("l402_waiting_requests", 1u64.wrapping_neg()),
                s("l402_backend_call_seconds_bucket{backend=\"fake\",call=\"invoice\",le=\"+Inf\"}", 3),
                s("l402_backend_call_seconds_bucket{backend=\"fake\",call=\"invoice\",le=\"0.01\"}", 2),
                s("l402_backend_call_seconds_sum{backend=\"fake\",call=\"invoice\"}", 1_500_000),
                s("unknown_total", 9),
            ],
            &[],
        );
        assert_eq!(out.matches("# TYPE l402_challenges_total counter").count(), 1);
        let a = out.find("service=\"a\"").unwrap();
        assert!(a < out.find("service=\"b\"").unwrap());
        assert!(out.contains("l402_waiting_requests -1\n"), "{out}");
        assert!(out.contains("l402_backend_call_seconds_sum{backend=\"fake\",call=\"invoice\"} 1.5\n"), "{out}");
        assert!(out.find("le=\"0.01\"").unwrap() < out.find("le=\"+Inf\"").unwrap());
        assert!(!out.contains("unknown_total"));
    }
}
