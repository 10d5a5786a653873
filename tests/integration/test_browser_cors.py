"""CORS end to end in a real browser: headless Chromium runs @getalby/lightning-tools'
`fetchWithL402` on a page of one origin against a paid location of another. With the page's
origin in `l402_cors_origins` the client reads the challenge, pays and gets the content (the
preflight of its credentialed retry answered without an invoice); without it, the browser
refuses the answer and nothing is paid (issue 13, CORS)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INTEROP = os.path.join(ROOT, "tests", "interop")
UMD = os.path.join(INTEROP, "node_modules", "@getalby", "lightning-tools", "dist", "lightning-tools.umd.js")

SERVER = """
    l402_backend fake;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 5000;
            {cors}
        }}
        location = /.l402/fake/pay {{
            l402_fake_pay;
            add_header Access-Control-Allow-Origin * always;
        }}
    }}
    server {{
        listen 127.0.0.1:{{port2}};
        location = /app.html {{ default_type text/html; return 200 '<!doctype html><script src="/lt.js"></script>'; }}
        location = /lt.js {{ default_type application/javascript; alias {umd}; }}
    }}
"""


def run_in_browser(n):
    if not CHROMIUM or not os.path.exists(UMD):
        if os.environ.get("L402_REQUIRE_INTEROP"):
            pytest.fail("chromium or the npm packages are missing (scripts/test.sh installs them)")
        pytest.skip("chromium or tests/interop node_modules missing")
    page = f"http://127.0.0.1:{n.ports[1]}/app.html"
    target = f"http://127.0.0.1:{n.port}/protected/"
    pay = f"http://127.0.0.1:{n.port}/.l402/fake/pay"
    p = subprocess.run(["node", "browser_fetch.js", CHROMIUM, page, target, pay], cwd=INTEROP,
                       capture_output=True, text=True, timeout=90)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1])


def test_fetch_with_l402_from_a_listed_origin_pays_and_gets_the_content(make_nginx):
    cors = "l402_cors_origins http://127.0.0.1:{port2};"
    n = make_nginx(SERVER.format(cors=cors, umd=UMD), ports=2)
    result = run_in_browser(n)
    assert result == {"status": 200, "body": "paid content\n", "paid": 1}, result
    log = n.error_log()
    assert "CORS preflight from an origin not in" not in log


def test_an_unlisted_origin_cannot_read_the_challenge_and_pays_nothing(make_nginx):
    n = make_nginx(SERVER.format(cors="l402_cors_origins https://other.example;", umd=UMD), ports=2)
    result = run_in_browser(n)
    assert "error" in result and result["paid"] == 0, result
