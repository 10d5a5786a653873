//! The invoice as a QR code, drawn on the server as inline SVG (no script, no image request):
//! `LIGHTNING:<INVOICE>` in upper case, which QR encodes in its compact alphanumeric mode
//! (BOLT11 and BOLT12 strings are bech32, case-insensitive; the `lightning:` URI scheme is
//! what wallets scan, BOLT11 "Payment request encoding").

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on each side (the QR specification's quiet zone).
const QUIET: usize = 4;

/// The SVG element of `invoice`'s QR code; `None` when it does not fit in a QR code.
pub fn svg(invoice: &str) -> Option<String> {
    let text = format!("LIGHTNING:{}", invoice.to_ascii_uppercase());
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let mut path = String::with_capacity(width * width * 3);
    for y in 0..width {
        let row = &colors[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            if row[x] == Color::Dark {
                let start = x;
                while x < width && row[x] == Color::Dark {
                    x += 1;
                }
                path.push_str(&format!("M{} {}h{}v1h-{}z", start + QUIET, y + QUIET, x - start, x - start));
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" height=\"{px}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code of the invoice\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        px = size * 4,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_invoice() {
        let invoice = "lnbcrt10n1pjexample0000000000000000000000000000000000000000000000000000000000000";
        let svg = svg(invoice).unwrap_or_default();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<path fill=\"#000\" d=\"M4 4h7v1h-7z"), "finder pattern at the top left");
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn too_long_is_none() {
        assert!(svg(&"a".repeat(8_000)).is_none());
    }
}
