"""The existing module's remaining directives: `l402_realm` (tokens shared by the locations of
one realm, our `l402_service`) and `l402_log_format json` (one JSON line per decided request)."""
import json
import re

import requests

from conftest import auth, buy

SERVER = """
    l402_backend fake;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location /protected/ {{
            l402 on;
            l402_realm shared-realm;
            l402_token_uses unlimited;
            {loc}
        }}
        location /also/ {{
            l402 on;
            l402_realm shared-realm;
            l402_token_uses unlimited;
            alias {{html}}/protected/;
        }}
        location /elsewhere/ {{
            l402 on;
            l402_token_uses unlimited;
            alias {{html}}/protected/;
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


def test_realm_shares_tokens_between_its_locations_only(make_nginx):
    n = make_nginx(SERVER.format(loc=""))
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10).status_code == 200
    assert requests.get(n.url + "/also/", headers=auth(mac, pre), timeout=10).status_code == 200
    r = requests.get(n.url + "/elsewhere/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "token not valid for this service"


def test_realm_and_service_together_are_refused(make_nginx):
    n = make_nginx(SERVER.format(loc="l402_service other;"), start=False)
    ok, out = n.test_config()
    assert not ok and "duplicate" in out


def json_lines(n):
    out = []
    for line in n.error_log().splitlines():
        m = re.search(r"\] \d+#\d+: \*\d+ (\{.*\}), client:", line)
        if m:
            out.append(json.loads(m.group(1)))
    return out


def test_log_format_json_writes_one_event_per_decision(make_nginx):
    n = make_nginx(SERVER.format(loc="l402_log_format json;"))
    mac, pre = buy(n)
    requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
    requests.get(n.url + "/protected/", headers=auth(mac, "00" * 32), timeout=10)
    requests.get(n.url + "/also/", timeout=10)  # text format there: no JSON line
    events = json_lines(n)
    kinds = [(e["event"], e.get("auth_state")) for e in events]
    assert kinds[0] == ("l402_challenge", None)
    # One line per request, internal redirects (the index file) included.
    assert kinds == [("l402_challenge", None), ("l402_verify", "valid"), ("l402_verify", "invalid")], kinds
    assert all(e["route"].startswith("/protected/") for e in events), events
    challenge = events[0]
    assert challenge["price_msat"] > 0 and challenge["price_source"] == "static"
    assert challenge["backend"] == "fake" and challenge["client_ip"] == "127.0.0.1"
    assert challenge["service"] == "shared-realm"
    assert all(isinstance(e["latency_ms"], int) for e in events)
    text = n.error_log()
    assert mac not in text and pre not in text


def test_log_format_takes_json_or_text(make_nginx):
    n = make_nginx(SERVER.format(loc="l402_log_format yaml;"), start=False)
    ok, out = n.test_config()
    assert not ok and "json" in out and "l402_log_format" in out
