//! The `WWW-Authenticate` values of a 402 answer (bLIP-26, "Server HTTP Authentication Headers").
//!
//! `macaroon="…", invoice="…"` come first, adjacent, in that order, because
//! Aperture's Go client, lnget and l402-requests match them with a regex;
//! `version="0"` and `token=` (same value) serve the 2026 spec text. The
//! optional `LSAT` line goes first for clients that read only the first header.

/// The header values, one per `WWW-Authenticate` line, in order:
/// `LSAT macaroon="M", invoice="I"` if `legacy_lsat`, then always
/// `L402 macaroon="M", invoice="I", version="0", token="M"`.
///
/// `macaroon_b64` is [`crate::Macaroon::to_base64`] output and `invoice` a
/// BOLT11 string: neither contains a quote, so no escaping is needed.
pub fn www_authenticate(macaroon_b64: &str, invoice: &str, legacy_lsat: bool) -> Vec<String> {
    let mut lines = Vec::with_capacity(2);
    if legacy_lsat {
        lines.push(format!(
            r#"LSAT macaroon="{macaroon_b64}", invoice="{invoice}""#
        ));
    }
    lines.push(format!(
        r#"L402 macaroon="{macaroon_b64}", invoice="{invoice}", version="0", token="{macaroon_b64}""#
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            www_authenticate("M", "I", true),
            [
                r#"LSAT macaroon="M", invoice="I""#,
                r#"L402 macaroon="M", invoice="I", version="0", token="M""#,
            ]
        );
        assert_eq!(
            www_authenticate("M", "I", false),
            [r#"L402 macaroon="M", invoice="I", version="0", token="M""#]
        );
    }
}
