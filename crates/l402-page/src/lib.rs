//! The browser payment page of an L402 server (`l402_payment_html`): which requests get it
//! ([`accept::prefers_html`]), the page itself with its QR code and `Content-Security-Policy`
//! ([`page`], [`qr`]), and the credential cookie it leaves ([`cookie`]). No nginx, no I/O.
//! How the module uses them: docs/payment-page.md.

pub mod accept;
pub mod cookie;
pub mod page;
pub mod qr;
