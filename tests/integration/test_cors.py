"""`l402_cors_origins`: browser apps on another origin can use a paid location. A preflight is
answered without a challenge and without an invoice; answers to allowed origins expose the
headers an L402 client reads; other origins get nothing they can read (issue 13, CORS)."""
import requests

from conftest import auth, buy, parse_challenge

APP = "https://app.example"

SERVER = """
    l402_backend fake;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        add_header X-L402-Status $l402_status always;
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 10000;
            l402_token_uses unlimited;
            {cors}
        }}
        location /plain-paid/ {{
            l402 on;
            alias {{html}}/protected/;
        }}
        location = /metrics {{ l402_metrics; }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


def config(cors=f"l402_cors_origins {APP} http://localhost:3000;"):
    return SERVER.format(cors=cors)


def preflight(n, path, origin=APP, headers="authorization"):
    return requests.options(n.url + path, headers={
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": headers,
    }, timeout=10)


def challenges(n):
    """Challenges issued so far (each one an invoice), from the metrics."""
    text = requests.get(n.url + "/metrics", timeout=10).text
    return sum(int(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith("l402_challenges_total{"))


def test_preflight_from_an_allowed_origin_gets_204_and_no_invoice(make_nginx):
    n = make_nginx(config())
    r = preflight(n, "/protected/", headers="authorization, x-custom-thing")
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert r.headers["Vary"] == "Origin"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    allowed = [h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")]
    assert "authorization" in allowed and "x-custom-thing" in allowed
    assert int(r.headers["Access-Control-Max-Age"]) > 0
    assert "WWW-Authenticate" not in r.headers
    assert r.headers["X-L402-Status"] == "preflight"
    assert challenges(n) == 0


def test_preflight_from_another_origin_is_refused_without_an_invoice(make_nginx):
    n = make_nginx(config())
    for origin in ("https://evil.example", "https://app.example.evil.example", "null"):
        r = preflight(n, "/protected/", origin=origin)
        assert r.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "WWW-Authenticate" not in r.headers
    assert challenges(n) == 0
    assert "CORS preflight from an origin not in" in n.error_log()


def test_hostile_request_headers_are_not_echoed(make_nginx):
    n = make_nginx(config())
    r = preflight(n, "/protected/", headers="authorization, x-a\tb, x-ok, <script>")
    assert r.status_code == 204
    allowed = r.headers["Access-Control-Allow-Headers"]
    assert "x-ok" in allowed and "script" not in allowed and "x-a" not in allowed


def test_a_402_exposes_the_challenge_to_an_allowed_origin_and_payment_works(make_nginx):
    n = make_nginx(config())
    r = requests.get(n.url + "/protected/", headers={"Origin": APP}, timeout=10)
    assert r.status_code == 402
    assert r.headers["Access-Control-Allow-Origin"] == APP
    exposed = [h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")]
    assert "WWW-Authenticate" in exposed and "X-L402-Reason" in exposed
    mac, inv = parse_challenge(r)
    pre = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv}, timeout=10).text.strip()
    ok = requests.get(n.url + "/protected/", headers={"Origin": APP, **auth(mac, pre)}, timeout=10)
    assert ok.status_code == 200 and ok.text == "paid content\n"
    assert ok.headers["Access-Control-Allow-Origin"] == APP


def test_a_402_to_another_origin_carries_no_cors_headers(make_nginx):
    n = make_nginx(config())
    r = requests.get(n.url + "/protected/", headers={"Origin": "https://evil.example"}, timeout=10)
    assert r.status_code == 402
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Expose-Headers" not in r.headers


def test_without_an_allow_list_nothing_changes(make_nginx):
    n = make_nginx(config())
    r = preflight(n, "/plain-paid/")
    assert r.status_code == 402
    assert "Access-Control-Allow-Origin" not in r.headers


def test_a_preflight_with_a_credential_claims_nothing(make_nginx):
    n = make_nginx(config().replace("l402_token_uses unlimited;", ""))
    mac, pre = buy(n)
    r = requests.options(n.url + "/protected/", headers={
        "Origin": APP, "Access-Control-Request-Method": "GET", **auth(mac, pre)}, timeout=10)
    assert r.status_code == 204
    # The single use is still there.
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10).status_code == 200


def test_bad_origins_fail_nginx_t(make_nginx):
    for bad in ("app.example", "https://app.example/path"):
        n = make_nginx(config(cors=f"l402_cors_origins {bad};"), start=False)
        ok, out = n.test_config()
        assert not ok and bad in out and "l402_cors_origins" in out
