"""The browser payment page (`l402_payment_html`, docs/payment-page.md): a navigation that
prefers HTML gets the 402 as a page; API clients never do. The page never grants access: its
script has the module prove a credential without spending it (`POST` + `X-L402-Session`), the
module keeps it in an HttpOnly cookie, and the page's reload is an ordinary paid request. End
to end in headless Chromium with the fake backend (WebLN, status poll, typed preimage)."""
import json
import os
import re
import shutil
import subprocess

import PIL.Image
import pytest
import requests
import zxingcpp

from conftest import ROOT, auth, buy, paid_config, parse_challenge

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INTEROP = os.path.join(ROOT, "tests", "interop")
PUPPETEER = os.path.join(INTEROP, "node_modules", "puppeteer-core")

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}
SESSION = {"X-L402-Session": "cookie"}
COOKIE_RE = re.compile(r"^(l402_[0-9a-f]{12})=([^;]*); Path=/protected/; Max-Age=(\d+); HttpOnly; SameSite=Lax$")


def page_config(loc="", uses=None):
    return paid_config(loc="l402_payment_html on; " + loc, uses=uses)


def test_browsers_get_a_page_and_api_clients_the_plain_402(make_nginx):
    n = make_nginx(page_config())
    r = requests.get(n.url + "/protected/", headers=BROWSER, timeout=10)
    assert r.status_code == 402
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    mac, inv = parse_challenge(r)  # the challenge headers are still there
    assert f'data-macaroon="{mac}"' in r.text and f'data-invoice="{inv}"' in r.text
    assert "<strong>10 sats</strong>" in r.text and "<svg" in r.text
    csp = r.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # No external resource: every src/href is the page's own or a lightning: link.
    assert not re.search(r'(src|href)="(https?:)?//', r.text)
    for accept in ["*/*", "application/json", "application/json, text/html;q=0.5", None]:
        headers = {"Accept": accept} if accept else {}
        r = requests.get(n.url + "/protected/", headers=headers, timeout=10)
        assert r.status_code == 402
        assert "Content-Security-Policy" not in r.headers and "data-macaroon" not in r.text, accept
    # HEAD: the page's headers, no body.
    r = requests.head(n.url + "/protected/", headers=BROWSER, timeout=10)
    assert r.status_code == 402 and r.headers["Content-Type"].startswith("text/html") and r.content == b""


def test_the_page_is_off_unless_configured(make_nginx):
    n = make_nginx(paid_config())
    r = requests.get(n.url + "/protected/", headers=BROWSER, timeout=10)
    assert r.status_code == 402 and "data-macaroon" not in r.text
    # Without the page, the session header is nothing special: the token is spent and served.
    mac, pre = buy(n)
    r = requests.post(n.url + "/protected/", headers={**auth(mac, pre), **SESSION}, timeout=10)
    assert r.status_code != 204 and "Set-Cookie" not in r.headers


def test_a_session_request_keeps_the_credential_without_spending_it(make_nginx):
    n = make_nginx(page_config())  # single-use tokens (the default)
    mac, pre = buy(n)
    r = requests.post(n.url + "/protected/", headers={**auth(mac, pre), **SESSION}, timeout=10)
    assert r.status_code == 204, (r.status_code, r.headers)
    m = COOKIE_RE.match(r.headers["Set-Cookie"])
    assert m, r.headers["Set-Cookie"]
    assert m.group(2) == f"{mac}:{pre}"
    assert 0 < int(m.group(3)) <= 3600  # the token's lifetime (l402_macaroon_timeout default)
    # Proving it twice spends nothing either; the use is still there for the cookie.
    assert requests.post(n.url + "/protected/", headers={**auth(mac, pre), **SESSION}, timeout=10).status_code == 204
    cookies = {m.group(1): m.group(2)}
    r = requests.get(n.url + "/protected/", headers=BROWSER, cookies=cookies, timeout=10)
    assert (r.status_code, r.text) == (200, "paid content\n")
    assert r.headers["X-L402-Uses-Remaining"] == "0"
    # Spent: a fresh page that says why, and the stale cookie is removed.
    r = requests.get(n.url + "/protected/", headers=BROWSER, cookies=cookies, timeout=10)
    assert r.status_code == 402 and 'class="refused"' in r.text
    assert r.headers["Set-Cookie"].startswith(f"{m.group(1)}=; Path=/protected/; Max-Age=0;")
    # An Authorization header wins over the cookie.
    mac2, pre2 = buy(n)
    r = requests.get(n.url + "/protected/", headers=auth(mac2, pre2), cookies=cookies, timeout=10)
    assert r.status_code == 200


def test_the_page_never_grants_access_itself(make_nginx):
    n = make_nginx(page_config(uses="unlimited"))
    r = requests.get(n.url + "/protected/", headers=BROWSER, timeout=10)
    mac, inv = parse_challenge(r)
    cases = [
        ("no credential", {}),
        ("macaroon alone, no payment detection", {"Authorization": f"L402 {mac}"}),
        ("a wrong preimage", auth(mac, "00" * 32)),
        ("a forged macaroon", auth(mac[:-8] + "AAAAAAA=", "00" * 32)),
        ("not our scheme", {"Authorization": "Bearer x"}),
    ]
    for what, headers in cases:
        r = requests.post(n.url + "/protected/", headers={**headers, **SESSION}, timeout=10)
        assert r.status_code == 402 and "Set-Cookie" not in r.headers, (what, r.status_code)
        r = requests.get(n.url + "/protected/", headers={**headers, **BROWSER}, timeout=10)
        assert r.status_code == 402, what
    # Under the location's cookie name, a value that is not a credential is refused like a
    # header would be (the name comes from a real session of another token).
    mac2, pre2 = buy(n)
    r = requests.post(n.url + "/protected/", headers={**auth(mac2, pre2), **SESSION}, timeout=10)
    name = COOKIE_RE.match(r.headers["Set-Cookie"]).group(1)
    for cookie in ["garbage", f"{mac}:{'00' * 32}", mac, f"{mac2}:{'00' * 32}"]:
        r = requests.get(n.url + "/protected/", headers=BROWSER, cookies={name: cookie}, timeout=10)
        assert r.status_code == 402, cookie


def test_a_cookie_opens_only_its_own_location(make_nginx):
    http = paid_config(loc="l402_payment_html on;", uses="unlimited").replace(
        "location = /.l402/fake/pay",
        "location /other/ { l402 on; l402_payment_html on; l402_token_uses unlimited; alias {html}/protected/; }\n"
        "        location = /.l402/fake/pay",
    )
    n = make_nginx(http)
    mac, pre = buy(n)
    r = requests.post(n.url + "/protected/", headers={**auth(mac, pre), **SESSION}, timeout=10)
    m = COOKIE_RE.match(r.headers["Set-Cookie"])
    # Sent to the other location anyway (a client may): another service's cookie name, so
    # ignored; and the token would be refused there too (bound to its service).
    r = requests.get(n.url + "/other/", headers=BROWSER, cookies={m.group(1): m.group(2)}, timeout=10)
    assert r.status_code == 402 and 'class="refused"' not in r.text
    r = requests.post(n.url + "/other/", headers={**auth(mac, pre), **SESSION}, timeout=10)
    assert r.status_code == 402 and "Set-Cookie" not in r.headers


def test_over_tls_the_cookie_is_secure(make_nginx, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    http = page_config().replace("listen 127.0.0.1:{port};",
                                 f"listen 127.0.0.1:{{port}} ssl; ssl_certificate {cert}; ssl_certificate_key {key};")
    n = make_nginx(http)
    url = n.url.replace("http://", "https://")
    r = requests.get(url + "/protected/", verify=False, timeout=10)
    mac, inv = parse_challenge(r)
    pre = requests.get(url + "/.l402/fake/pay", params={"invoice": inv}, verify=False, timeout=10).text.strip()
    r = requests.post(url + "/protected/", headers={**auth(mac, pre), **SESSION}, verify=False, timeout=10)
    assert r.status_code == 204 and r.headers["Set-Cookie"].endswith("; HttpOnly; SameSite=Lax; Secure")


def run_page(n, mode, qr_png, shots=None):
    if not CHROMIUM or not os.path.exists(PUPPETEER):
        if os.environ.get("L402_REQUIRE_INTEROP"):
            pytest.fail("chromium or the npm packages are missing (scripts/test.sh installs them)")
        pytest.skip("chromium or tests/interop node_modules missing")
    args = ["node", "payment_page.js", CHROMIUM, n.url + "/protected/", n.url + "/.l402/fake/pay", mode, str(qr_png)]
    if shots:
        args.append(shots)
    p = subprocess.run(args, cwd=INTEROP, capture_output=True, text=True, timeout=90)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1])


@pytest.mark.parametrize("mode", ["webln", "poll", "manual"])
def test_in_chromium_page_pay_then_the_paid_content(make_nginx, mode, tmp_path):
    loc = "l402_auto_detect_payment on;" if mode == "poll" else ""
    n = make_nginx(page_config(loc=loc))
    shots = os.environ.get("L402_SCREENSHOTS")
    out = run_page(n, mode, tmp_path / "qr.png", shots)
    assert "error" not in out, out
    first = out["first"]
    assert first["status"] == 402 and first["type"].startswith("text/html"), first
    assert first["csp"] and "L402 macaroon=" in first["challenge"] and first["qr"] > 100
    assert first["amount"] == "10 sats"
    assert first["webln_button"] is (mode == "webln")
    assert out["paid"] == 1
    # The QR code the browser drew decodes (zxing-cpp) to the invoice, as wallets scan it.
    [code] = zxingcpp.read_barcodes(PIL.Image.open(tmp_path / "qr.png"))
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == "LIGHTNING:" + out["invoice"].upper()
    assert out["second"] == {"status": 200, "body": "paid content"}, out
    [cookie] = out["cookies"]
    assert cookie["name"].startswith("l402_") and cookie["path"] == "/protected/"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["session"]
    assert out["document_cookie"] == "", "HttpOnly: no script reads the credential"
    # The page ran under its CSP with nothing refused and no script error.
    assert not [c for c in out["console"] if "Content Security Policy" in c or "pageerror" in c], out["console"]
    # Single use: the next load is a fresh page that says why, and the cookie is gone.
    assert out["third"]["status"] == 402 and out["third"]["refused"], out["third"]
    assert out["cookies_after"] == []
    log = n.error_log()
    for secret in [cookie["name"] + "="]:
        assert secret not in log
