//! The discovery document a server publishes at `/.well-known/l402-services` (RFC 8615 well-known
//! location; the README, "Discovery"): who runs the service, how it can be paid, and every priced
//! route with the terms its tokens are sold under. The shape is the one the existing ngx_l402
//! module serves (`version`, `service`, `payment_methods`, `routes[].path`, `.price`,
//! `.caveats_required`, `.macaroon_timeout_secs`, `.rate_limit`, `.lnurl_addr`,
//! `.auto_detect_payment`), so its users' tooling keeps working; the fields it lacks (`match`,
//! `service`, `token_uses`, `methods`) are added, which such tooling ignores.
//!
//! Built once per configuration, never from request input: the document is a pure function of
//! the configuration.

use serde_json::{json, Map, Value};

/// Schema version of the document.
pub const VERSION: &str = "1";

/// `service`: operator-supplied description (the seed's `L402_SERVICE_*` variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    pub name: Option<String>,
    pub description: Option<String>,
    pub operator: Option<String>,
    pub contact: Option<String>,
}

/// One way to pay, as `payment_methods[]` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// L402 over Lightning: the backend's name as `LN_CLIENT_TYPE` spells it (`LND`, `LNURL`, …)
    /// and, for LNURL, the default payee.
    Lightning { backend: String, address: Option<String> },
}

/// How a route's price is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Price {
    /// `l402_amount_msat_default N`.
    Static(u64),
    /// From a variable per request, or a Redis price by path with this default.
    Dynamic { default_msat: Option<u64> },
}

/// How many requests a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUses {
    Limited(u32),
    Unlimited,
}

/// One priced location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The location's name as written (a path, or a regular expression).
    pub path: String,
    /// `prefix`, `exact`, `prefix_no_regex` (`^~`), `regex` (`~` and `~*`).
    pub match_kind: &'static str,
    /// The service tokens of this route are bound to.
    pub service: String,
    pub price: Price,
    pub token_uses: TokenUses,
    /// Token lifetime; `None` = never expires.
    pub macaroon_timeout_secs: Option<u64>,
    /// `l402_invoice_rate_limit`: requests per window.
    pub rate_limit: Option<(u32, u64)>,
    pub auto_detect_payment: bool,
    /// The route's own LNURL payee, shown without any query string.
    pub lnurl_addr: Option<String>,
    /// Payment methods the route's 402 offers (`l402` today).
    pub methods: Vec<&'static str>,
}

/// The whole document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub service: ServiceInfo,
    pub payment_methods: Vec<PaymentMethod>,
    pub routes: Vec<Route>,
}

impl Manifest {
    /// The JSON text served (compact, keys in a fixed order).
    pub fn to_json(&self) -> String {
        let mut doc = Map::new();
        doc.insert("version".into(), VERSION.into());
        let mut service = Map::new();
        for (key, value) in [
            ("name", &self.service.name),
            ("description", &self.service.description),
            ("operator", &self.service.operator),
            ("contact", &self.service.contact),
        ] {
            if let Some(v) = value {
                service.insert(key.into(), v.clone().into());
            }
        }
        if !service.is_empty() {
            doc.insert("service".into(), Value::Object(service));
        }
        doc.insert("payment_methods".into(), self.payment_methods.iter().map(method_json).collect());
        doc.insert("routes".into(), self.routes.iter().map(route_json).collect());
        Value::Object(doc).to_string()
    }
}

fn method_json(m: &PaymentMethod) -> Value {
    match m {
        PaymentMethod::Lightning { backend, address } => {
            let mut o = json!({ "type": "lightning", "scheme": "L402", "backend": backend });
            if let (Some(a), Some(map)) = (address, o.as_object_mut()) {
                map.insert("address".into(), a.clone().into());
            }
            o
        }
    }
}

fn route_json(r: &Route) -> Value {
    let mut o = Map::new();
    o.insert("path".into(), r.path.clone().into());
    o.insert("match".into(), r.match_kind.into());
    o.insert("service".into(), r.service.clone().into());
    o.insert(
        "price".into(),
        match r.price {
            Price::Static(msat) => json!({ "type": "static", "amount_msat": msat }),
            Price::Dynamic { default_msat: Some(msat) } => json!({ "type": "dynamic", "amount_msat": msat }),
            Price::Dynamic { default_msat: None } => json!({ "type": "dynamic" }),
        },
    );
    o.insert(
        "token_uses".into(),
        match r.token_uses {
            TokenUses::Limited(n) => n.into(),
            TokenUses::Unlimited => "unlimited".into(),
        },
    );
    // What the macaroon of this route carries (Aperture's caveat forms).
    let mut caveats = vec![Value::from(format!("services={}:0", r.service))];
    if r.macaroon_timeout_secs.is_some() {
        caveats.push(format!("{}_valid_until=<unix seconds>", r.service).into());
    }
    o.insert("caveats_required".into(), Value::Array(caveats));
    if let Some(secs) = r.macaroon_timeout_secs {
        o.insert("macaroon_timeout_secs".into(), secs.into());
    }
    if let Some((max, window)) = r.rate_limit {
        o.insert("rate_limit".into(), json!({ "max_requests": max, "window_secs": window }));
    }
    if r.auto_detect_payment {
        o.insert("auto_detect_payment".into(), true.into());
    }
    if let Some(a) = &r.lnurl_addr {
        o.insert("lnurl_addr".into(), a.clone().into());
    }
    o.insert("methods".into(), r.methods.iter().map(|m| Value::from(*m)).collect());
    Value::Object(o)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            path: "/protected".into(),
            match_kind: "prefix",
            service: "api".into(),
            price: Price::Static(10_000),
            token_uses: TokenUses::Limited(1),
            macaroon_timeout_secs: Some(3600),
            rate_limit: Some((2, 60)),
            auto_detect_payment: false,
            lnurl_addr: None,
            methods: vec!["l402"],
        }
    }

    #[test]
    fn the_existing_modules_fields_are_where_its_tooling_reads_them() {
        let m = Manifest {
            service: ServiceInfo { name: Some("Example API".into()), ..Default::default() },
            payment_methods: vec![PaymentMethod::Lightning { backend: "LNURL".into(), address: Some("a@b.c".into()) }],
            routes: vec![route()],
        };
        let v: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(v["version"], "1");
        assert_eq!(v["service"]["name"], "Example API");
        assert!(v["service"].get("contact").is_none());
        assert_eq!(v["payment_methods"][0]["type"], "lightning");
        assert_eq!(v["payment_methods"][0]["backend"], "LNURL");
        assert_eq!(v["payment_methods"][0]["address"], "a@b.c");
        let r = &v["routes"][0];
        assert_eq!(r["path"], "/protected");
        assert_eq!(r["price"]["type"], "static");
        assert_eq!(r["price"]["amount_msat"], 10_000);
        assert_eq!(r["macaroon_timeout_secs"], 3600);
        assert_eq!(r["rate_limit"]["max_requests"], 2);
        assert_eq!(r["rate_limit"]["window_secs"], 60);
        assert_eq!(r["token_uses"], 1);
        assert_eq!(r["caveats_required"][0], "services=api:0");
        assert!(r.get("auto_detect_payment").is_none());
    }

    #[test]
    fn optional_parts_are_left_out_and_text_is_escaped() {
        let mut r = route();
        r.path = "~ ^/a\"b\\c$".into();
        r.macaroon_timeout_secs = None;
        r.rate_limit = None;
        r.token_uses = TokenUses::Unlimited;
        r.price = Price::Dynamic { default_msat: None };
        let m = Manifest { routes: vec![r], ..Default::default() };
        let v: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert!(v.get("service").is_none());
        let r = &v["routes"][0];
        assert_eq!(r["path"], "~ ^/a\"b\\c$");
        assert_eq!(r["token_uses"], "unlimited");
        assert_eq!(r["price"], json!({ "type": "dynamic" }));
        assert!(r.get("macaroon_timeout_secs").is_none() && r.get("rate_limit").is_none());
        assert_eq!(r["caveats_required"].as_array().unwrap().len(), 1);
    }
}
