"""Prices from nginx variables (`l402_amount_msat_default $price`) and, with Redis, from the
key equal to the request path (issue 3). A bad price never makes a request free."""
import re

import requests

from conftest import parse_challenge

UNITS = {"m": 10**8, "u": 10**5, "n": 10**2, "p": 10**-1}  # msat per unit of BTC prefix


def invoice_msat(bolt11):
    """Amount of a BOLT11 invoice from its human-readable part (BOLT11 'Human-Readable Part')."""
    hrp = bolt11[: bolt11.rindex("1")]
    m = re.fullmatch(r"ln(?:bcrt|bc|tbs|tb)(\d+)([munp]?)", hrp)
    assert m, hrp
    n, unit = int(m.group(1)), m.group(2)
    return n * 10**11 if not unit else int(n * UNITS[unit])


MAPPED = """
    l402_backend fake;
    map $arg_tier $price {
        default 1000;
        gold    250000;
        text    abc;
        zero    0;
        neg     -5;
        huge    99999999999999999999999;
        frac    1.5;
        empty   "";
    }
    server {
        listen 127.0.0.1:{port};
        root {html};
        location /protected/ {
            l402 on;
            l402_amount_msat_default $price;
        }
        location /by-method/ {
            l402 on;
            l402_amount_msat_default $request_method_price;
        }
    }
    map $request_method $request_method_price { GET 2000; POST 9000; default 5000; }
"""


def test_price_from_a_map(make_nginx):
    n = make_nginx(MAPPED)
    for tier, msat in ((None, 1000), ("gold", 250000)):
        r = requests.get(n.url + "/protected/", params={"tier": tier} if tier else None)
        assert r.status_code == 402
        _, inv = parse_challenge(r)
        assert invoice_msat(inv) == msat


def test_price_by_method(make_nginx):
    n = make_nginx(MAPPED)
    for method, msat in (("GET", 2000), ("POST", 9000), ("PUT", 5000)):
        r = requests.request(method, n.url + "/by-method/")
        assert r.status_code == 402
        assert invoice_msat(parse_challenge(r)[1]) == msat


def test_hostile_variable_prices_are_refused_with_503(make_nginx):
    n = make_nginx(MAPPED)
    for tier in ("text", "zero", "neg", "huge", "frac", "empty"):
        r = requests.get(n.url + "/protected/", params={"tier": tier})
        assert r.status_code == 503, tier
        assert "WWW-Authenticate" not in r.headers
        assert r.headers["Retry-After"].isdigit()
    log = n.error_log()
    assert log.count('"l402_amount_msat_default" gave') == 6
    # The worker is fine afterwards.
    assert requests.get(n.url + "/protected/").status_code == 402


def test_fixed_price_config_errors(make_nginx):
    for bad in ("0", "-1", "abc", "99999999999999999999999"):
        n = make_nginx(MAPPED.replace("$request_method_price", bad), start=False)
        ok, out = n.test_config()
        assert not ok and "l402_amount_msat_default" in out, (bad, out)
