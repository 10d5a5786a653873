//! Telling BOLT11 from BOLT12 invoices in [`l402_backend::Invoice::bolt11`], which holds
//! an `lni1…` string when the invoice came from [`crate::Bolt12Backend`].

/// Which kind of payment request a string is, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    /// A BOLT11 invoice (`lnbc…`, `lntb…`, `lntbs…`, `lnbcrt…`).
    Bolt11,
    /// A BOLT12 invoice (`lni1…`): only BOLT12-capable wallets can pay it.
    Bolt12,
    /// Neither.
    Unknown,
}

/// The kind of `invoice`, from its prefix (case-insensitive; a `lightning:` URI prefix
/// is ignored). Does not validate the rest.
pub fn invoice_kind(invoice: &str) -> InvoiceKind {
    let s = invoice.trim();
    let lower = s
        .get(..s.len().min(16))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let lower = lower.strip_prefix("lightning:").unwrap_or(&lower);
    if lower.starts_with("lni1") {
        InvoiceKind::Bolt12
    } else if ["lnbcrt", "lntbs", "lntb", "lnbc", "lnsb"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        InvoiceKind::Bolt11
    } else {
        InvoiceKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(invoice_kind("lnbcrt10n1p…"), InvoiceKind::Bolt11);
        assert_eq!(invoice_kind("LNBC1…"), InvoiceKind::Bolt11);
        assert_eq!(invoice_kind("lni1qqq"), InvoiceKind::Bolt12);
        assert_eq!(invoice_kind("LNI1QQQ"), InvoiceKind::Bolt12);
        assert_eq!(invoice_kind("lno1qqq"), InvoiceKind::Unknown);
        assert_eq!(invoice_kind(""), InvoiceKind::Unknown);
        assert_eq!(invoice_kind("☃☃☃☃☃☃"), InvoiceKind::Unknown);
    }
}
