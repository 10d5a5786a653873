//! How the test node answers: normally, or with one chosen fault.

use std::fmt;
use std::time::Duration;

/// The test node's behaviour, switched at run time ([`crate::TestNode::set_mode`], or
/// `POST /mode/<name>` on the control endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Answers like LND.
    #[default]
    Normal,
    /// Answers like LND after waiting this long (every RPC).
    Slow(Duration),
    /// `AddInvoice` returns an `r_hash` that is not the invoice's payment hash;
    /// `LookupInvoice` returns an invoice with another `r_hash`.
    WrongHash,
    /// `AddInvoice` returns a `payment_request` that is not BOLT11; `LookupInvoice` returns
    /// an `Invoice.state` outside the enum.
    Garbage,
    /// `AddInvoice` returns a valid, signed invoice for 1000 msat more than asked.
    WrongAmount,
    /// `LookupInvoice` returns settled invoices with a preimage that does not match.
    WrongPreimage,
    /// The gRPC listener is closed and open connections are dropped: connections are
    /// refused until another mode is set.
    Down,
}

impl Mode {
    /// Parses a control-endpoint mode name: `normal`, `slow` (with `ms`), `wrong-hash`,
    /// `garbage`, `wrong-amount`, `wrong-preimage`, `down`.
    pub fn parse(name: &str, ms: Option<u64>) -> Result<Mode, String> {
        Ok(match name {
            "normal" => Mode::Normal,
            "slow" => Mode::Slow(Duration::from_millis(
                ms.ok_or_else(|| "slow needs ?ms=N".to_owned())?,
            )),
            "wrong-hash" => Mode::WrongHash,
            "garbage" => Mode::Garbage,
            "wrong-amount" => Mode::WrongAmount,
            "wrong-preimage" => Mode::WrongPreimage,
            "down" => Mode::Down,
            other => return Err(format!("unknown mode {other:?}")),
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Normal => f.write_str("normal"),
            Mode::Slow(d) => write!(f, "slow ms={}", d.as_millis()),
            Mode::WrongHash => f.write_str("wrong-hash"),
            Mode::Garbage => f.write_str("garbage"),
            Mode::WrongAmount => f.write_str("wrong-amount"),
            Mode::WrongPreimage => f.write_str("wrong-preimage"),
            Mode::Down => f.write_str("down"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(
            Mode::parse("slow", Some(250)).unwrap(),
            Mode::Slow(Duration::from_millis(250))
        );
        assert!(Mode::parse("slow", None).is_err());
        assert!(Mode::parse("sideways", None).is_err());
        for m in [
            Mode::Normal,
            Mode::WrongHash,
            Mode::Garbage,
            Mode::WrongAmount,
        ] {
            assert_eq!(Mode::parse(&m.to_string(), None).unwrap(), m);
        }
        assert_eq!(Mode::parse("down", None).unwrap(), Mode::Down);
        assert_eq!(
            Mode::parse("wrong-preimage", None).unwrap(),
            Mode::WrongPreimage
        );
    }
}
