"""`l402_metrics`: Prometheus counters in shared memory, summed over both workers and kept across
`reload`, checked against the traffic sent, parsed by the reference client library's parser and
by `promtool check metrics` (issue 13, Metrics)."""
import os
import signal
import subprocess
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import auth, buy, parse_challenge

PROMTOOL = os.environ.get("L402_PROMTOOL", "")

SERVER = """
    l402_backend fake;
    {extra}
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        root {{html}};
        add_header X-Worker $pid always;
        location / {{ }}
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 10000;
            l402_service paid;
        }}
        location /trial/ {{
            l402 on;
            l402_dry_run on;
            l402_service trial;
            alias {{html}}/protected/;
        }}
        location /slow/ {{
            l402 on;
            l402_service slow;
            alias {{html}}/protected/;
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
        location = /metrics {{
            l402_metrics;
            allow 127.0.0.1;
            deny all;
        }}
        location = /metrics-closed {{
            l402_metrics;
            deny all;
        }}
    }}
"""


def config(extra=""):
    return SERVER.format(extra=extra)


def scrape(n):
    r = requests.get(n.url + "/metrics", timeout=10)
    assert r.status_code == 200, r.status_code
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def samples(text):
    """{(name, frozenset(labels)): value} as the Prometheus client library parses the text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed, name, **labels):
    return parsed.get((name, frozenset(labels.items())), 0)


def fresh_connection_get(url, **kw):
    with requests.Session() as s:
        return s.get(url, timeout=10, **kw)


def test_counts_summed_over_both_workers_and_checked_by_parsers(make_nginx):
    n = make_nginx(config(), workers=2)
    workers = set()
    challenges = 0
    for _ in range(30):
        r = fresh_connection_get(n.url + "/protected/")
        assert r.status_code == 402
        workers.add(r.headers["X-Worker"])
        challenges += 1
    tokens = []
    for _ in range(6):
        with requests.Session() as s:
            tokens.append(buy(n, session=s))
        challenges += 1
    paid = 0
    for mac, pre in tokens:
        r = fresh_connection_get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 200
        workers.add(r.headers["X-Worker"])
        paid += 1
    used_up = 0
    for mac, pre in tokens[:4]:
        r = fresh_connection_get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 402 and r.headers["X-L402-Reason"] == "token has no uses left"
        used_up += 1
        challenges += 1
    mac, pre = tokens[0]
    wrong = fresh_connection_get(n.url + "/protected/", headers=auth(mac, "00" * 32))
    assert wrong.status_code == 402
    garbage = fresh_connection_get(n.url + "/protected/", headers={"Authorization": "L402 !!!"})
    assert garbage.status_code == 402
    challenges += 2
    for _ in range(3):
        assert fresh_connection_get(n.url + "/trial/").status_code == 200
    assert len(workers) == 2, f"traffic reached only worker(s) {workers}"

    text = scrape(n)
    p = samples(text)
    assert value(p, "l402_challenges_total", service="paid") == challenges
    assert value(p, "l402_paid_requests_total", service="paid", method="l402") == paid
    assert value(p, "l402_revenue_msat_total", service="paid", method="l402") == paid * 10000
    assert value(p, "l402_refusals_total", service="paid", reason="used_up") == used_up
    assert value(p, "l402_refusals_total", service="paid", reason="wrong_preimage") == 1
    assert value(p, "l402_refusals_total", service="paid", reason="malformed") == 1
    assert value(p, "l402_dry_run_decisions_total", service="trial", status="challenged") == 3
    # Nothing is enforced, minted or invoiced in a dry run.
    assert value(p, "l402_challenges_total", service="trial") == 0
    # One invoice per challenge, each timed.
    assert value(p, "l402_backend_call_seconds_count", backend="fake", call="invoice") == challenges
    assert value(p, "l402_backend_call_seconds_bucket", backend="fake", call="invoice", le="+Inf") == challenges
    assert value(p, "l402_waiting_requests") == 0
    assert value(p, "l402_usage_zone_entries") >= paid
    assert value(p, "l402_usage_zone_capacity") > 0
    assert value(p, "l402_metrics_series_dropped_total") == 0
    # Each family once, with HELP and TYPE.
    assert text.count("# TYPE l402_challenges_total counter") == 1
    assert "# TYPE l402_backend_call_seconds histogram" in text
    if PROMTOOL:
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
    elif os.environ.get("L402_REQUIRE_INTEROP"):
        pytest.fail("L402_PROMTOOL is not set (scripts/install-deps.sh test installs promtool)")


def test_counters_survive_reload(make_nginx):
    n = make_nginx(config(), workers=2)
    for _ in range(5):
        assert fresh_connection_get(n.url + "/protected/").status_code == 402
    before = value(samples(scrape(n)), "l402_challenges_total", service="paid")
    assert before == 5
    old = {fresh_connection_get(n.url + "/").headers["X-Worker"] for _ in range(10)}
    n.reload()
    deadline = time.time() + 10
    while time.time() < deadline:
        now = {fresh_connection_get(n.url + "/").headers["X-Worker"] for _ in range(10)}
        if not now & old:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the reload did not replace the workers")
    assert fresh_connection_get(n.url + "/protected/").status_code == 402
    assert value(samples(scrape(n)), "l402_challenges_total", service="paid") == before + 1


def test_backend_errors_and_timeouts_are_counted(make_nginx):
    n = make_nginx(config(extra="l402_fake_delay 2s; l402_backend_timeout 200ms;"))
    for _ in range(3):
        assert fresh_connection_get(n.url + "/slow/").status_code == 503
    p = samples(scrape(n))
    assert value(p, "l402_invoice_errors_total", backend="fake", **{"class": "timeout"}) == 3
    assert value(p, "l402_unavailable_total", service="slow", cause="backend") == 3
    assert value(p, "l402_backend_call_seconds_bucket", backend="fake", call="invoice", le="0.1") == 0
    assert value(p, "l402_backend_call_seconds_bucket", backend="fake", call="invoice", le="0.25") == 3
    sum_seconds = value(p, "l402_backend_call_seconds_sum", backend="fake", call="invoice")
    assert 0.5 <= sum_seconds < 2.0
    assert value(p, "l402_waiting_requests") == 0


def test_access_is_the_operators_and_only_get_is_served(make_nginx):
    n = make_nginx(config())
    assert requests.get(n.url + "/metrics-closed", timeout=10).status_code == 403
    assert requests.post(n.url + "/metrics", data=b"x", timeout=10).status_code == 405
    head = requests.head(n.url + "/metrics", timeout=10)
    assert head.status_code == 200 and head.text == ""
    # The scrape never holds a credential: no macaroon, invoice or preimage text.
    mac, pre = buy(n)
    requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
    text = scrape(n)
    assert mac not in text and pre not in text and "lnbc" not in text and "lnbcrt" not in text


def test_metrics_only_configuration_serves_an_empty_table(make_nginx):
    n = make_nginx("""
    server {
        listen 127.0.0.1:{port};
        location = /metrics { l402_metrics; }
    }
    """, key_file=False)
    text = scrape(n)
    assert value(samples(text), "l402_metrics_series_dropped_total") == 0
    assert "l402_challenges_total" not in text


def test_metrics_outside_a_location_is_refused(make_nginx):
    n = make_nginx("""
    l402_metrics;
    server { listen 127.0.0.1:{port}; }
    """, start=False, key_file=False)
    ok, out = n.test_config()
    assert not ok and "l402_metrics" in out
