//! `l402_log_format json`: one JSON line per decided request in the error log (at `info`), in the
//! existing ngx_l402 module's shape, so its users' log queries keep working: `event`
//! (`l402_verify`, `l402_challenge`, `l402_challenge_error`, `l402_rate_limited`), `route`,
//! `backend`, `client_ip`, and per event `auth_state`, `method`, `price_msat`, `price_source`,
//! `error`, `window_secs`, `latency_ms`. Built from the verdict; never a credential.

use crate::{Cause, Policy, Verdict};
use serde_json::{json, Value};

/// What the line says besides the verdict.
pub struct Context<'a> {
    pub route: &'a [u8],
    pub client_ip: &'a [u8],
    pub backend: &'a str,
    /// `static` or `variable`.
    pub price_source: &'static str,
    pub latency_ms: u64,
}

/// The JSON line of `verdict`, or `None` for verdicts the format has no event for.
pub fn line(policy: &Policy<'_>, verdict: &Verdict, cx: &Context<'_>) -> Option<String> {
    let mut v = match verdict {
        Verdict::Admitted(a) if a.method == crate::Method::Cashu => {
            json!({ "event": "cashu_verify", "auth_state": "valid", "method": "cashu" })
        }
        Verdict::Admitted(_) => json!({ "event": "l402_verify", "auth_state": "valid", "method": "lightning" }),
        Verdict::PaymentRejected { reason, .. } => json!({
            "event": "cashu_verify",
            "auth_state": "invalid",
            "method": "cashu",
            "reason": reason.label(),
        }),
        Verdict::Challenge(c) if c.reason.is_some() => json!({
            "event": "l402_verify",
            "auth_state": "invalid",
            "method": "lightning",
            "reason": c.reason.map(|r| r.label()),
        }),
        Verdict::Challenge(c) => json!({
            "event": "l402_challenge",
            "price_msat": c.amount_msat,
            "price_source": cx.price_source,
        }),
        Verdict::Pending { .. } => json!({ "event": "l402_verify", "auth_state": "pending", "method": "lightning" }),
        Verdict::RateLimited { .. } => json!({
            "event": "l402_rate_limited",
            "window_secs": policy.rate_limit.map_or(0, |r| r.period_ms / 1000),
        }),
        Verdict::Unavailable { cause, .. } => json!({
            "event": "l402_challenge_error",
            "error": match cause {
                Cause::BackendTimeout => "timeout",
                Cause::Backend => "backend",
                other => other.label(),
            },
        }),
        Verdict::Internal => json!({ "event": "l402_challenge_error", "error": "internal" }),
        Verdict::AlreadyChallenged | Verdict::Preflight { .. } | Verdict::Session(_) => return None,
    };
    if let Value::Object(map) = &mut v {
        map.insert("route".into(), String::from_utf8_lossy(cx.route).into());
        map.insert("service".into(), policy.service.into());
        map.insert("backend".into(), cx.backend.into());
        map.insert("client_ip".into(), String::from_utf8_lossy(cx.client_ip).into());
        map.insert("latency_ms".into(), cx.latency_ms.into());
        if policy.dry_run {
            map.insert("dry_run".into(), true.into());
        }
    }
    Some(v.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Challenge, Reason, Store};
    use l402_usage::UsePolicy;

    fn policy() -> Policy<'static> {
        Policy {
            service: "api",
            uses: UsePolicy::SINGLE,
            store: Store::Zone,
            store_price: false,
            rate_limit: None,
            auto_detect: false,
            macaroon_timeout: 0,
            invoice_expiry_secs: 600,
            legacy_lsat: false,
            dry_run: false,
            cors: None,
            cashu: None,
        }
    }

    fn cx() -> Context<'static> {
        Context { route: b"/api/\"x\"\n", client_ip: b"203.0.113.7", backend: "lnd", price_source: "static", latency_ms: 4 }
    }

    #[test]
    fn a_refusal_is_an_invalid_verify_with_escaped_route() {
        let c = Challenge { reason: Some(Reason::UsedUp), offers: Vec::new(), amount_msat: 10, token_id: None, payment_hash: None };
        let text = line(&policy(), &Verdict::Challenge(c), &cx()).unwrap();
        assert!(!text.contains('\n'));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["event"], "l402_verify");
        assert_eq!(v["auth_state"], "invalid");
        assert_eq!(v["reason"], "used_up");
        assert_eq!(v["route"], "/api/\"x\"\n");
        assert_eq!(v["client_ip"], "203.0.113.7");
        assert_eq!(v["backend"], "lnd");
    }

    #[test]
    fn a_challenge_states_its_price_and_a_timeout_its_error() {
        let c = Challenge { reason: None, offers: Vec::new(), amount_msat: 10_000, token_id: None, payment_hash: None };
        let v: Value = serde_json::from_str(&line(&policy(), &Verdict::Challenge(c), &cx()).unwrap()).unwrap();
        assert_eq!((v["event"].as_str(), v["price_msat"].as_u64()), (Some("l402_challenge"), Some(10_000)));
        let u = Verdict::Unavailable { cause: Cause::BackendTimeout, retry_after: std::time::Duration::from_secs(1) };
        let v: Value = serde_json::from_str(&line(&policy(), &u, &cx()).unwrap()).unwrap();
        assert_eq!((v["event"].as_str(), v["error"].as_str()), (Some("l402_challenge_error"), Some("timeout")));
        assert!(line(&policy(), &Verdict::AlreadyChallenged, &cx()).is_none());
    }
}
