"""`l402_manifest`: the discovery document at /.well-known/l402-services, in the existing
module's shape, listing every priced location of the server and nothing hidden (issue 13,
Discovery)."""
import requests

from conftest import parse_challenge

SERVER = """
    l402_backend fake;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location / {{ }}
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 10000;
            l402_service api;
            l402_macaroon_timeout 3600;
            l402_invoice_rate_limit 2r/m;
            location /protected/deep/ {{
                l402_amount_msat_default 25000;
                l402_token_uses 5;
            }}
        }}
        location = /exact {{
            l402 on;
            l402_indefinite_access on;
            l402_macaroon_timeout 0;
            l402_auto_detect_payment on;
        }}
        location ~ ^/re/[a-z]+$ {{
            l402 on;
            set $p 3000;
            l402_amount_msat_default $p;
        }}
        location /internal-paid/ {{
            l402 on;
            l402_manifest_hide;
            l402_service secret-service-name;
        }}
        location /hidden-tree/ {{
            l402_manifest_hide;
            location /hidden-tree/paid/ {{ l402 on; l402_service hidden-child; }}
        }}
        location /trying/ {{
            l402 on;
            l402_dry_run on;
            l402_service dry-run-service;
        }}
        location /tenant/ {{
            l402 on;
            l402_lnurl_addr "https://pay.example.com/lnurlp/t?token=sekrit";
        }}
        location @named {{ l402 on; }}
        location = /.well-known/l402-services {{
            l402_manifest;
            {access}
        }}
    }}
    server {{
        listen 127.0.0.1:{{port2}};
        location /other-server/ {{ l402 on; l402_service other-server; }}
        location = /.well-known/l402-services {{ l402_manifest; }}
    }}
"""


def config(access=""):
    return SERVER.format(access=access)


def manifest(n, port=None):
    url = f"http://127.0.0.1:{port or n.port}/.well-known/l402-services"
    r = requests.get(url, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    return r.json(), r.text


def routes_by_path(doc):
    return {r["path"]: r for r in doc["routes"]}


def test_every_priced_location_with_its_terms(make_nginx):
    n = make_nginx(config(), ports=2, env={"L402_SERVICE_NAME": "Example API",
                                           "L402_SERVICE_CONTACT": "ops@example.com"})
    doc, text = manifest(n)
    assert doc["version"] == "1"
    assert doc["service"] == {"name": "Example API", "contact": "ops@example.com"}
    assert doc["payment_methods"] == [{"type": "lightning", "scheme": "L402", "backend": "FAKE"}]
    routes = routes_by_path(doc)
    assert set(routes) == {"/protected/", "/protected/deep/", "/exact", "^/re/[a-z]+$", "/tenant/"}
    p = routes["/protected/"]
    assert p["match"] == "prefix" and p["service"] == "api"
    assert p["price"] == {"type": "static", "amount_msat": 10000}
    assert p["token_uses"] == 1
    assert p["macaroon_timeout_secs"] == 3600
    assert p["rate_limit"] == {"max_requests": 2, "window_secs": 60}
    assert p["caveats_required"] == ["services=api:0", "api_valid_until=<unix seconds>"]
    assert p["methods"] == ["l402"]
    deep = routes["/protected/deep/"]
    assert deep["price"]["amount_msat"] == 25000 and deep["token_uses"] == 5 and deep["service"] == "api"
    e = routes["/exact"]
    assert e["match"] == "exact" and e["token_uses"] == "unlimited"
    assert "macaroon_timeout_secs" not in e and e["auto_detect_payment"] is True
    assert routes["^/re/[a-z]+$"]["match"] == "regex"
    assert routes["^/re/[a-z]+$"]["price"] == {"type": "dynamic"}
    # A payee URL's query string (which may hold a secret) never reaches the document.
    assert routes["/tenant/"]["lnurl_addr"] == "https://pay.example.com/lnurlp/t"
    assert "sekrit" not in text
    # Hidden, dry-run, named and other servers' locations do not leak, not even their names.
    for leak in ("internal-paid", "secret-service-name", "hidden-child", "hidden-tree", "dry-run-service",
                 "trying", "named", "other-server"):
        assert leak not in text, leak


def test_the_document_matches_what_a_client_is_charged(make_nginx):
    n = make_nginx(config(), ports=2)
    doc, _ = manifest(n)
    r = requests.get(n.url + "/protected/deep/", timeout=10)
    assert r.status_code == 402
    parse_challenge(r)
    advertised = routes_by_path(doc)["/protected/deep/"]["price"]["amount_msat"]
    # The fake backend's invoice amount is in the BOLT11 human-readable part: 25000 msat = 250n.
    _, invoice = parse_challenge(r)
    assert advertised == 25000 and invoice.startswith("lnbcrt250n")


def test_each_server_lists_its_own_locations(make_nginx):
    n = make_nginx(config(), ports=2)
    doc, text = manifest(n, n.ports[1])
    assert [r["path"] for r in doc["routes"]] == ["/other-server/"]
    assert "/protected/" not in text


def test_access_control_and_methods(make_nginx):
    n = make_nginx(config(access="deny all;"), ports=2)
    assert requests.get(n.url + "/.well-known/l402-services", timeout=10).status_code == 403
    m = make_nginx(config(), ports=2)
    assert requests.post(m.url + "/.well-known/l402-services", data=b"x", timeout=10).status_code == 405


def test_without_paid_locations_the_document_is_empty(make_nginx):
    n = make_nginx("""
    server {
        listen 127.0.0.1:{port};
        location = /.well-known/l402-services { l402_manifest; }
    }
    """, key_file=False)
    doc, _ = manifest(n)
    assert doc["routes"] == [] and doc["payment_methods"] == []


def test_manifest_hide_takes_no_argument(make_nginx):
    n = make_nginx("""
    l402_backend fake;
    server { listen 127.0.0.1:{port}; location / { l402 on; l402_manifest_hide on; } }
    """, start=False)
    ok, out = n.test_config()
    assert not ok and "l402_manifest_hide" in out
