//! NUT-06 "Mint information": `GET /v1/info`, parsed strictly for what we use (name, version,
//! which NUTs the mint supports); other fields are ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Longer info replies are refused (a mint's info with contacts and a long description fits).
pub const MAX_INFO_BYTES: usize = 64 * 1024;
/// Longest name or version kept, in bytes.
const MAX_TEXT: usize = 256;

/// The NUTs a mint must support for P2PK mode: NUT-10 (spending conditions), NUT-11 (P2PK)
/// and NUT-12 (DLEQ). A mint without NUT-11 treats locked proofs as bearer proofs.
pub const P2PK_NUTS: [u8; 3] = [10, 11, 12];

/// What a mint says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintInfo {
    pub name: Option<String>,
    /// `<implementation>/<version>`, e.g. `Nutshell/0.20.2` (NUT-06).
    pub version: Option<String>,
    /// NUT number → supported.
    nuts: BTreeMap<u8, bool>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    nuts: BTreeMap<String, Value>,
}

/// NUT-06 "nuts": NUT-04/05 say `disabled`; the others `supported`, a boolean or (NUT-17 and
/// later) a list of what is supported, empty meaning nothing. Anything else: not supported.
fn supported(nut: u8, v: &Value) -> Result<bool, String> {
    let Value::Object(o) = v else { return Err(format!("NUT-{nut}: not an object")) };
    if let Some(d) = o.get("disabled") {
        return d.as_bool().map(|d| !d).ok_or_else(|| format!("NUT-{nut}: disabled is not a boolean"));
    }
    match o.get("supported") {
        None => Ok(matches!(nut, 4 | 5)),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Array(a)) => Ok(!a.is_empty()),
        Some(_) => Err(format!("NUT-{nut}: supported is neither a boolean nor a list")),
    }
}

fn text(t: Option<String>) -> Option<String> {
    t.map(|t| t.chars().filter(|c| !c.is_control()).take(MAX_TEXT).collect())
}

impl MintInfo {
    /// Parses a `/v1/info` body.
    pub fn parse(body: &[u8]) -> Result<MintInfo, String> {
        if body.len() > MAX_INFO_BYTES {
            return Err(format!("info reply is larger than {MAX_INFO_BYTES} bytes"));
        }
        let wire: Wire = serde_json::from_slice(body).map_err(|e| format!("info: {e}"))?;
        let mut nuts = BTreeMap::new();
        for (key, v) in &wire.nuts {
            // Keys are NUT numbers in decimal; others (from later specs) are not ours to judge.
            let Ok(n) = key.parse::<u8>() else { continue };
            if n.to_string() != *key {
                continue;
            }
            nuts.insert(n, supported(n, v)?);
        }
        Ok(MintInfo { name: text(wire.name), version: text(wire.version), nuts })
    }

    /// Whether the mint advertises NUT-`nut` as supported.
    pub fn supports(&self, nut: u8) -> bool {
        self.nuts.get(&nut).copied().unwrap_or(false)
    }

    /// The NUTs of [`P2PK_NUTS`] the mint does not advertise (empty: P2PK mode may use it).
    pub fn missing_for_p2pk(&self) -> Vec<u8> {
        P2PK_NUTS.iter().copied().filter(|n| !self.supports(*n)).collect()
    }

    /// `Ok` when the mint advertises NUT-10, 11 and 12; else which are missing, as text.
    pub fn check_p2pk(&self) -> Result<(), String> {
        let missing = self.missing_for_p2pk();
        if missing.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = missing.iter().map(|n| format!("NUT-{n}")).collect();
        Err(format!("the mint does not advertise {} (locked proofs would be bearer proofs)", list.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nut06_example_parses() {
        let body = br#"{"name":"Bob's Cashu mint","pubkey":"0283bf290884eed3a7ca2663fc0260de2e2064d6b355ea13f98dec004b7a7ead99",
            "version":"Nutshell/0.15.0","description":"x","contact":[{"method":"email","info":"a@b"}],
            "nuts":{"4":{"methods":[{"method":"bolt11","unit":"sat"}],"disabled":false},
                    "5":{"methods":[],"disabled":true},"7":{"supported":true},"8":{"supported":false},
                    "10":{"supported":true},"11":{"supported":true},"12":{"supported":true},
                    "17":{"supported":[{"method":"bolt11","unit":"sat","commands":["bolt11_melt_quote"]}]},
                    "20":{"supported":[]},"nut99":{"x":1}}}"#;
        let info = MintInfo::parse(body).unwrap();
        assert_eq!(info.name.as_deref(), Some("Bob's Cashu mint"));
        assert_eq!(info.version.as_deref(), Some("Nutshell/0.15.0"));
        for (n, s) in [(4, true), (5, false), (7, true), (8, false), (12, true), (17, true), (20, false), (13, false)] {
            assert_eq!(info.supports(n), s, "NUT-{n}");
        }
        assert!(info.check_p2pk().is_ok());
    }

    #[test]
    fn without_nut11_p2pk_is_refused() {
        let info = MintInfo::parse(br#"{"nuts":{"10":{"supported":true},"12":{"supported":true}}}"#).unwrap();
        assert_eq!(info.missing_for_p2pk(), vec![11]);
        assert!(info.check_p2pk().unwrap_err().contains("NUT-11"));
    }

    #[test]
    fn wrong_types_are_refused() {
        for bad in [
            &br#"{"name":"x"}"#[..],
            br#"{"nuts":[]}"#,
            br#"{"nuts":{"11":true}}"#,
            br#"{"nuts":{"11":{"supported":"yes"}}}"#,
            br#"{"nuts":{"4":{"disabled":0}}}"#,
            br#"{"name":7,"nuts":{}}"#,
            b"not json",
        ] {
            assert!(MintInfo::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(MintInfo::parse(&vec![b' '; MAX_INFO_BYTES + 1]).is_err());
    }
}
