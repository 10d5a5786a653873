//! The 402 as a page for a browser: the amount, the invoice as text and as a QR code, a WebLN
//! button where the browser has a wallet (WebLN, `webln.sendPayment`), a field for a preimage
//! paid elsewhere, and a status poll where the server can detect the payment itself.
//!
//! The page never grants access. Its script asks the module, in the same location, to check a
//! credential without spending it ([`SESSION_HEADER`]); the module answers 204 with the
//! credential in an `HttpOnly` cookie, and the page reloads: that reload is an ordinary request,
//! decided like any other, which spends the use. Everything dynamic is HTML-escaped and lives in
//! attributes; the script and the style are constants allowed by their hashes in [`csp`].

use std::sync::LazyLock;

use base64::Engine;
use sha2::{Digest, Sha256};

/// The header the page's script sends (with `POST` and the credential in `Authorization`) to
/// have the credential checked without being spent and stored in the cookie.
pub const SESSION_HEADER: &str = "X-L402-Session";
/// Its value.
pub const SESSION_VALUE: &str = "cookie";

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub service: &'a str,
    pub amount_msat: u64,
    /// The payment request (BOLT11 or BOLT12 text).
    pub invoice: &'a str,
    /// The macaroon of the offer, base64.
    pub macaroon: &'a str,
    /// Why the credential the browser presented was refused, if it presented one.
    pub refused: Option<&'a str>,
    /// The server can tell when the invoice is paid (`l402_auto_detect_payment` and a backend
    /// that looks invoices up): the page polls.
    pub poll: bool,
    /// Seconds until the invoice expires (the poll stops then).
    pub expires_in_secs: u32,
}

/// The whole document.
pub fn render(input: &Input<'_>) -> String {
    let qr = crate::qr::svg(input.invoice).unwrap_or_default();
    let refused = match input.refused {
        Some(reason) => format!("<p class=\"refused\">The credential presented was refused: {}.</p>", escape(reason)),
        None => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>Payment required</title><style>{STYLE}</style></head>\
         <body><main id=\"l402\" data-invoice=\"{invoice}\" data-macaroon=\"{macaroon}\" data-poll=\"{poll}\" \
         data-expires=\"{expires}\">\
         <h1>Payment required</h1>\
         <p class=\"amount\"><strong>{amount}</strong> for <span class=\"service\">{service}</span></p>\
         {refused}\
         <div class=\"qr\">{qr}</div>\
         <p><a id=\"open\" href=\"lightning:{invoice}\">Open in a Lightning wallet</a></p>\
         <textarea id=\"invoice\" readonly rows=\"4\" aria-label=\"Lightning invoice\">{invoice}</textarea>\
         <p class=\"actions\"><button id=\"copy\" type=\"button\">Copy invoice</button> \
         <button id=\"pay-webln\" type=\"button\" hidden>Pay with WebLN</button></p>\
         <form id=\"manual\"><label>Paid from another wallet? Its preimage: \
         <input id=\"preimage\" autocomplete=\"off\" spellcheck=\"false\" size=\"40\" \
         pattern=\"[0-9a-fA-F]{{64}}\" required></label> <button type=\"submit\">Unlock</button></form>\
         <p id=\"status\" role=\"status\" aria-live=\"polite\">{waiting}</p>\
         <noscript><p>Without JavaScript: pay the invoice, then send the request with \
         <code>Authorization: L402 &lt;macaroon&gt;:&lt;preimage&gt;</code>; the macaroon is in this \
         answer's <code>WWW-Authenticate</code> header.</p></noscript>\
         </main><script>{SCRIPT}</script></body></html>\n",
        invoice = escape(input.invoice),
        macaroon = escape(input.macaroon),
        poll = u8::from(input.poll),
        expires = input.expires_in_secs,
        amount = escape(&amount(input.amount_msat)),
        service = escape(input.service),
        waiting = if input.poll { "Waiting for the payment…" } else { "Pay the invoice to continue." },
    )
}

/// The page's `Content-Security-Policy`: nothing loads but the page itself; only its own
/// script and style run (by hash); its requests go to this origin only; it is never framed.
pub fn csp() -> &'static str {
    &CSP
}

static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; img-src data:; connect-src 'self'; \
         form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        hash(SCRIPT),
        hash(STYLE),
    )
});

/// A CSP hash source (CSP Level 3, "hash-source").
fn hash(text: &str) -> String {
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// `21 sats`, `1 sat`, or `1500 msat` when the amount is not whole satoshis.
pub fn amount(msat: u64) -> String {
    match (msat % 1_000, msat / 1_000) {
        (0, 1) => "1 sat".to_owned(),
        (0, sats) => format!("{sats} sats"),
        _ => format!("{msat} msat"),
    }
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.5rem}.amount{font-size:1.2rem}.refused{color:#a40000}\
.qr svg{max-width:100%;height:auto;border:1px solid #ddd}\
textarea{width:100%;font-family:monospace;font-size:.8rem;word-break:break-all}\
button{font-size:1rem;padding:.4rem .9rem}#status{font-weight:bold}";

/// Sends `Authorization` with [`SESSION_HEADER`]; 204 means the cookie is set: reload. (No
/// element id may be a name the script reads from `window`: ids are `window` properties.)
const SCRIPT: &str = r#"(function(){
var d=document.getElementById("l402").dataset,st=document.getElementById("status");
var until=Date.now()+1000*Number(d.expires||0);
function say(t){st.textContent=t;}
function session(cred){
return fetch(location.href,{method:"POST",credentials:"same-origin",cache:"no-store",
headers:{"Authorization":"L402 "+cred,"X-L402-Session":"cookie"}}).then(function(r){
if(r.status===204){say("Paid. Loading\u2026");location.reload();return true;}
return false;});}
document.getElementById("copy").addEventListener("click",function(){
var t=document.getElementById("invoice");t.select();
if(navigator.clipboard){navigator.clipboard.writeText(d.invoice);}else{document.execCommand("copy");}
say("Invoice copied.");});
var w=document.getElementById("pay-webln");
if(window.webln){w.hidden=false;w.addEventListener("click",function(){
say("Waiting for the wallet\u2026");
Promise.resolve(window.webln.enable()).then(function(){return window.webln.sendPayment(d.invoice);})
.then(function(res){return session(d.macaroon+":"+res.preimage);})
.then(function(ok){if(!ok){say("The wallet's payment was not accepted.");}})
.catch(function(e){say("Wallet: "+(e&&e.message?e.message:e));});});}
document.getElementById("manual").addEventListener("submit",function(ev){
ev.preventDefault();
var p=document.getElementById("preimage").value.trim();
session(d.macaroon+":"+p).then(function(ok){if(!ok){say("That preimage does not pay this invoice.");}})
.catch(function(){say("Could not reach the server.");});});
if(d.poll==="1"){(function tick(){
if(Date.now()>until){say("The invoice expired. Reload the page for a new one.");return;}
session(d.macaroon).then(function(ok){if(!ok){setTimeout(tick,2000);}},function(){setTimeout(tick,5000);});
})();}
})();"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Input<'static> {
        Input {
            service: "api",
            amount_msat: 21_000,
            invoice: "lnbcrt210n1ptest",
            macaroon: "AgEEbHNhdAJC+/=",
            refused: None,
            poll: true,
            expires_in_secs: 600,
        }
    }

    #[test]
    fn shows_the_offer() {
        let html = render(&input());
        assert!(html.contains("<strong>21 sats</strong>"));
        assert!(html.contains("data-invoice=\"lnbcrt210n1ptest\""));
        assert!(html.contains("data-macaroon=\"AgEEbHNhdAJC+/=\""));
        assert!(html.contains("href=\"lightning:lnbcrt210n1ptest\""));
        assert!(html.contains("<svg"));
        assert!(html.contains("data-poll=\"1\""));
        assert!(!html.contains("class=\"refused\""));
    }

    #[test]
    fn hostile_text_is_escaped() {
        let html = render(&Input {
            service: "<script>alert(1)</script>",
            invoice: "lnbc1\"><img src=x onerror=alert(1)>",
            refused: Some("a<b"),
            ..input()
        });
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("refused: a&lt;b."));
        assert_eq!(html.matches("<script>").count(), 1, "only the page's own script");
    }

    #[test]
    fn csp_allows_exactly_the_page_script_and_style() {
        let csp = csp();
        assert!(csp.starts_with("default-src 'none'; script-src 'sha256-"));
        assert!(csp.contains(&hash(SCRIPT)));
        assert!(csp.contains(&hash(STYLE)));
        assert!(!csp.contains("unsafe"));
        let html = render(&input());
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")), "the hashed text is the sent text");
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn amounts() {
        assert_eq!(amount(1_000), "1 sat");
        assert_eq!(amount(21_000), "21 sats");
        assert_eq!(amount(1_500), "1500 msat");
        assert_eq!(amount(0), "0 sats");
    }

    #[test]
    fn script_uses_the_session_header() {
        assert!(SCRIPT.contains(&format!("\"{SESSION_HEADER}\":\"{SESSION_VALUE}\"")));
    }
}
