"""The recorded verdict: `$l402_*` variables in a real access_log and in headers an upstream
receives, after `error_page` and `try_files`, and `l402_dry_run` (issue 9, item 7)."""
import os
import time

import requests
from pymacaroons import Macaroon

from conftest import auth, buy, parse_challenge

FIELDS = ["status", "reason", "method", "service", "amount_msat", "token_id", "payment_hash", "uses_left"]
LOG_FORMAT = "log_format l402 '" + "|".join(f"$l402_{f}" for f in FIELDS) + " $uri';"

CONFIG = LOG_FORMAT + """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        access_log logs/l402.log l402;
        location / { }
        location /protected/ {
            l402 on;
            l402_service vars;
            l402_amount_msat_default 10000;
            l402_token_uses 2;
            error_page 402 /payment-needed.txt;
        }
        location = /payment-needed.txt { internal; return 200 "please pay $l402_status\\n"; }
        location /tf/ {
            l402 on;
            l402_service vars;
            l402_amount_msat_default 10000;
            l402_token_uses unlimited;
            try_files $uri /protected/index.html;
        }
        location /upstream/ {
            l402 on;
            l402_service vars;
            l402_amount_msat_default 10000;
            l402_token_uses unlimited;
            proxy_set_header X-Status $l402_status;
            proxy_set_header X-Method $l402_method;
            proxy_set_header X-Token $l402_token_id;
            proxy_pass http://127.0.0.1:{port2}/echo/;
        }
        location /dry/ {
            alias {html}/protected/;
            l402 on;
            l402_dry_run on;
            l402_amount_msat_default 10000;
            l402_token_uses 1;
            add_header X-Would $l402_status always;
        }
        location = /.l402/fake/pay { l402_fake_pay; }
    }
    server {
        listen 127.0.0.1:{port2};
        location /echo/ { return 200 "$http_x_status|$http_x_method|$http_x_token\\n"; }
    }
"""


def ids(mac):
    ident = Macaroon.deserialize(mac).identifier_bytes
    return ident[2:34].hex(), ident[34:66].hex()


def log_lines(n, count, timeout=5.0):
    """The next `count` access-log lines (after those an earlier call returned) as dicts; waits
    until all of them are written (the lines of one exchange may land a moment apart)."""
    path = os.path.join(n.dir, "logs", "l402.log")
    seen = getattr(n, "log_lines_seen", 0)
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        if os.path.exists(path):
            lines = open(path).read().splitlines()
            if len(lines) >= seen + count:
                break
        time.sleep(0.05)
    assert len(lines) >= seen + count, f"expected {count} new access-log lines, got {lines[seen:]}"
    n.log_lines_seen = seen + count
    out = []
    for line in lines[seen:seen + count]:
        values, uri = line.rsplit(" ", 1)
        d = dict(zip(FIELDS, values.split("|")))
        d["uri"] = uri
        out.append(d)
    return out


def nginx_with_vars(make_nginx):
    return make_nginx(CONFIG, ports=2)


def test_variables_in_the_access_log_through_a_tokens_life(make_nginx):
    n = nginx_with_vars(make_nginx)
    requests.get(n.url + "/", timeout=10)
    [free] = log_lines(n, 1)
    assert free["status"] == "free" and free["service"] == "" and free["token_id"] == ""

    mac, pre = buy(n, "/tf/")  # logs: the 402 (via try_files' location), then the fake pay
    challenged, _pay = log_lines(n, 2)
    hash_hex, token_hex = ids(mac)
    assert challenged["status"] == "challenged", challenged
    assert challenged["reason"] == "" and challenged["method"] == ""
    assert challenged["service"] == "vars" and challenged["amount_msat"] == "10000"
    assert (challenged["token_id"], challenged["payment_hash"]) == (token_hex, hash_hex)

    for expected_left in ("1", "0"):
        r = requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
        assert r.status_code == 200 and r.text == "paid content\n"
        [paid] = log_lines(n, 1)
        assert paid["status"] == "paid" and paid["method"] == "l402", paid
        assert paid["uses_left"] == expected_left and paid["token_id"] == token_hex
        assert paid["payment_hash"] == hash_hex and paid["amount_msat"] == "10000"

    # Used up: refused with a fresh challenge; error_page 402 serves the page under it.
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 402 and r.text == "please pay refused\n"
    assert r.headers["X-L402-Reason"] == "token has no uses left"
    [refused] = log_lines(n, 1)
    assert refused["status"] == "refused" and refused["reason"] == "token has no uses left"
    assert refused["uri"] == "/payment-needed.txt"  # the record survived the redirect
    new_mac, _ = parse_challenge(r)
    assert refused["token_id"] == ids(new_mac)[1] != token_hex


def test_variables_after_try_files_and_in_headers_sent_upstream(make_nginx):
    n = nginx_with_vars(make_nginx)
    mac, pre = buy(n, "/tf/")
    r = requests.get(n.url + "/tf/missing", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 200 and r.text == "paid content\n"
    _challenge, _pay, paid = log_lines(n, 3)
    assert paid["status"] == "paid" and paid["uri"] == "/protected/index.html"
    r = requests.get(n.url + "/upstream/x", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 200
    assert r.text == f"paid|l402|{ids(mac)[1]}\n"


def test_bad_credential_is_refused_with_its_reason_in_the_log(make_nginx):
    n = nginx_with_vars(make_nginx)
    r = requests.get(n.url + "/tf/", headers={"Authorization": "L402 %%%:00"}, timeout=10)
    assert r.status_code == 402
    [refused] = log_lines(n, 1)
    assert refused["status"] == "refused"
    assert refused["reason"] == r.headers["X-L402-Reason"] != ""


def test_dry_run_serves_everything_and_says_what_would_have_happened(make_nginx):
    n = nginx_with_vars(make_nginx)
    r = requests.get(n.url + "/dry/", timeout=10)
    assert r.status_code == 200 and r.text == "paid content\n"
    assert r.headers["X-Would"] == "challenged"
    assert "WWW-Authenticate" not in r.headers
    [would] = log_lines(n, 1)
    assert would["status"] == "challenged" and would["payment_hash"] == "" and would["token_id"] == ""
    assert "dry run: would challenge" in n.error_log()

    # A bad credential: served, recorded as refused.
    r = requests.get(n.url + "/dry/", headers={"Authorization": "L402 %%%:00"}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Would"] == "refused"
    assert "dry run: would refuse:" in n.error_log()

    # A single-use token bought elsewhere is for another service: would refuse.
    mac, pre = buy(n, "/tf/")
    r = requests.get(n.url + "/dry/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 200 and r.headers["X-Would"] == "refused"
    assert "dry run: would refuse: token not valid for this service" in n.error_log()


def test_dry_run_claims_no_use(make_nginx):
    """A single-use token presented three times in a dry-run location: admitted each time,
    no uses-remaining header, and its use is still there afterwards."""
    cfg = CONFIG.replace("l402_token_uses 1;", "l402_token_uses 1; l402_service dryshared;")
    cfg = cfg.replace("l402_service vars;", "l402_service dryshared;")
    cfg = cfg.replace("l402_token_uses unlimited;\n            try_files", "l402_token_uses 1;\n            try_files")
    n = make_nginx(cfg, ports=2)
    mac, pre = buy(n, "/tf/")
    for _ in range(3):
        # (the file itself: "/dry/" would run the access phase twice, before and after index)
        r = requests.get(n.url + "/dry/index.html", headers=auth(mac, pre), timeout=10)
        assert r.status_code == 200 and r.headers["X-Would"] == "paid"
        assert "X-L402-Uses-Remaining" not in r.headers
    assert n.error_log().count("dry run: would admit") == 3
    # The one use is still unclaimed: the paid location accepts the token once, then not.
    r = requests.get(n.url + "/tf/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 200 and r.headers["X-L402-Uses-Remaining"] == "0"
    r = requests.get(n.url + "/tf/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 402


def test_dry_run_is_warned_at_nginx_t(make_nginx):
    n = make_nginx(CONFIG, ports=2, start=False)
    ok, out = n.test_config()
    assert ok, out
    assert '"l402_dry_run on": requests here are decided and logged but never refused' in out
    n2 = make_nginx(CONFIG.replace("l402_dry_run on;", ""), ports=2, start=False)
    ok, out = n2.test_config()
    assert ok and "l402_dry_run" not in out, out


def test_no_variable_and_no_log_line_holds_a_secret(make_nginx):
    """Attack: read everything the variables and logs expose after a token's whole life
    (challenge, paid, used, refused, dry run, bad credential): neither the preimage nor the
    macaroon ever appears."""
    n = nginx_with_vars(make_nginx)
    mac, pre = buy(n, "/tf/")
    for path in ("/protected/", "/protected/", "/protected/", "/dry/index.html", "/upstream/x"):
        requests.get(n.url + path, headers=auth(mac, pre), timeout=10)
    requests.get(n.url + "/tf/", headers=auth(mac, "00" * 32), timeout=10)
    log_lines(n, 8)  # the purchase (2) and the 6 requests above
    access = open(os.path.join(n.dir, "logs", "l402.log")).read()
    errors = n.error_log()
    for secret in (pre, mac, mac[:40]):
        assert secret not in access
        assert secret not in errors
