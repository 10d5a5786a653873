//! NUT-07 "Token state check": `POST /v1/checkstate {"Ys": [...]}` → one state per `Y`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// At most this many Ys per request (larger lists are sent in several; mints cap requests).
pub const MAX_YS_PER_CHECK: usize = 100;
/// Longer witnesses in a reply are refused (as [`l402_cashu::MAX_WITNESS_LEN`] for tokens).
const MAX_WITNESS: usize = l402_cashu::MAX_WITNESS_LEN;

/// NUT-07 proof states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unspent,
    /// In a transaction that has not completed (a melt waiting for its payment).
    Pending,
    Spent,
}

/// One proof's state as the mint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofState {
    pub y: [u8; 33],
    pub state: State,
    /// The witness the proof was spent with, if the mint tells it.
    pub witness: Option<String>,
}

#[derive(Deserialize)]
struct Wire {
    states: Vec<WireState>,
}

#[derive(Deserialize)]
struct WireState {
    #[serde(rename = "Y")]
    y: String,
    state: String,
    #[serde(default)]
    witness: Option<String>,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex33(s: &str) -> Option<[u8; 33]> {
    let s = s.as_bytes();
    if s.len() != 66 {
        return None;
    }
    let mut out = [0u8; 33];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        let d = |c: u8| (c as char).to_digit(16);
        out[i] = u8::try_from(d(pair[0])? * 16 + d(pair[1])?).ok()?;
    }
    Some(out)
}

/// The request body for `ys`.
pub(crate) fn request(ys: &[[u8; 33]]) -> Vec<u8> {
    let list: Vec<String> = ys.iter().map(|y| hex(y)).collect();
    serde_json::json!({ "Ys": list }).to_string().into_bytes()
}

/// Parses a reply to [`request`]`(ys)`: exactly one state for each `Y` asked for, nothing
/// else; returned in the order of `ys`.
pub(crate) fn parse(body: &[u8], ys: &[[u8; 33]]) -> Result<Vec<ProofState>, String> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| format!("checkstate: {e}"))?;
    let mut by_y: BTreeMap<[u8; 33], ProofState> = BTreeMap::new();
    for s in wire.states {
        let y = unhex33(&s.y).ok_or("checkstate: a Y is not a compressed point in hex")?;
        let state = match s.state.as_str() {
            "UNSPENT" => State::Unspent,
            "PENDING" => State::Pending,
            "SPENT" => State::Spent,
            _ => return Err("checkstate: unknown state (NUT-07: UNSPENT, PENDING, SPENT)".into()),
        };
        if s.witness.as_ref().is_some_and(|w| w.len() > MAX_WITNESS) {
            return Err("checkstate: witness too long".into());
        }
        if by_y.insert(y, ProofState { y, state, witness: s.witness }).is_some() {
            return Err("checkstate: a Y answered twice".into());
        }
    }
    let out: Vec<ProofState> = ys.iter().filter_map(|y| by_y.remove(y)).collect();
    if out.len() != ys.len() || !by_y.is_empty() {
        return Err(format!("checkstate: {} states for {} Ys asked, or Ys not asked for", out.len() + by_y.len(), ys.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_in_request_order() {
        let a = [0x02; 33];
        let b = [0x03; 33];
        let body = format!(
            r#"{{"states":[{{"Y":"{}","state":"SPENT","witness":"w"}},{{"Y":"{}","state":"UNSPENT","witness":null}}]}}"#,
            hex(&b),
            hex(&a)
        );
        let got = parse(body.as_bytes(), &[a, b]).unwrap();
        assert_eq!((got[0].state, got[1].state), (State::Unspent, State::Spent));
        assert_eq!(got[1].witness.as_deref(), Some("w"));
        assert!(parse(body.as_bytes(), &[a]).is_err(), "an extra Y");
        assert!(parse(body.as_bytes(), &[a, b, [0x02; 33]]).is_err());
        assert!(parse(br#"{"states":[{"Y":"02","state":"SPENT"}]}"#, &[a]).is_err());
        let odd = format!(r#"{{"states":[{{"Y":"{}","state":"BURNT"}}]}}"#, hex(&a));
        assert!(parse(odd.as_bytes(), &[a]).is_err());
        assert_eq!(request(&[a]), format!(r#"{{"Ys":["{}"]}}"#, hex(&a)).into_bytes());
    }
}
