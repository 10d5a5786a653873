"""The LNURL-pay / Lightning Address backend (LUD-06, LUD-16, LUD-21) end to end through nginx,
against the repository's LNURL test server (crates/testnode-lnurl): HTTPS with a throwaway CA,
real signed invoices, LUD-21 verify, and the hostile payee's faults.

Also the multi-tenant mode: `l402_lnurl_addr` per location, each tenant paid to its own payee.
"""
import os

import pytest

from conftest import Nginx


def nginx_t(http, env=None):
    n = Nginx(http, env=env)
    try:
        return n.test_config()
    finally:
        n.cleanup()


def paid(loc, main="l402_backend fake;"):
    return f"""
        {main}
        server {{
            listen 127.0.0.1:{{port}};
            location /a/ {{ l402 on; {loc} }}
        }}
    """


@pytest.mark.parametrize("loc,needles", [
    ('l402_lnurl_addr "not an address";', ['"l402_lnurl_addr"', "not a Lightning Address"]),
    ('l402_lnurl_addr "alice@";', ['"l402_lnurl_addr"', "domain"]),
    ('l402_lnurl_addr "ftp://x.example/a";', ['"l402_lnurl_addr"']),
    ('l402_lnurl_addr "https://u:secret-pw@x.example/a";', ["user info"]),
    ('l402_lnurl_addr "lnurl1qqqqqq";', ["bech32"]),
    # Plain HTTP only with l402_lnurl_allow_http: the error names the location.
    ('l402_lnurl_addr "http://127.0.0.1:1/lnurlp/a";', ['location "/a/"', "l402_lnurl_allow_http"]),
    ('l402_lnurl_addr "a@x.example"; l402_lnurl_addr "b@x.example";', ["duplicate"]),
])
def test_bad_payees_fail_nginx_t(loc, needles):
    ok, out = nginx_t(paid(loc))
    assert not ok, out
    for needle in needles:
        assert needle in out, (needle, out)
    assert "secret-pw" not in out
    assert "panicked" not in out


@pytest.mark.parametrize("main,needle", [
    ("l402_backend lnurl;", "LNURL_ADDRESS"),
    ("l402_backend fake; l402_lnurl_network dogecoin;", '"l402_lnurl_network"'),
    ("l402_backend fake; l402_lnurl_allow_http maybe;", '"l402_lnurl_allow_http"'),
    ("l402_backend fake; l402_lnurl_document_ttl 0;", '"l402_lnurl_document_ttl"'),
    ("l402_backend fake; l402_lnurl_ca_file /nonexistent/ca.pem;", '"l402_lnurl_ca_file"'),
    ("l402_backend fake; l402_lnurl_ca_file root.key;", "no certificate"),
])
def test_bad_lnurl_settings_fail_nginx_t(main, needle):
    ok, out = nginx_t(paid("", main=main))
    assert not ok, out
    assert needle in out, out


def test_allow_http_warns_and_admits_http_payees():
    ok, out = nginx_t(paid('l402_lnurl_addr "http://127.0.0.1:1/lnurlp/a";',
                           main="l402_backend fake; l402_lnurl_allow_http on;"))
    assert ok, out
    assert "l402_lnurl_allow_http on" in out and "[warn]" in out, out


def test_seed_configuration_is_accepted():
    ok, out = nginx_t(paid("", main=""), env={"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": "alice@pay.example"})
    assert ok, out


# --- end to end against crates/testnode-lnurl over HTTPS ------------------------------------

import json  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from conftest import auth, free_port, parse_challenge  # noqa: E402
from test_backends import NodeProcess, node_binary  # noqa: E402

PRICE_MSAT = 10000


class LnurlNode(NodeProcess):
    """testnode-lnurl: the payee's HTTPS API (its CA in `ca`) and its control endpoint."""

    def parse(self, line):
        # "testnode-lnurl: api https://127.0.0.1:N control http://127.0.0.1:M"
        super().parse(line.removeprefix("testnode-lnurl: "))

    def address(self, user):
        return f"{user}@127.0.0.1:{self.api_port}"

    def post(self, path, body=None):
        r = requests.post(f"{self.control}{path}", data=None if body is None else json.dumps(body),
                          timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def settle(self, target):
        return self.post(f"/settle/{target}")["preimage"]

    def fault(self, name, on="all", user=None):
        body = {"fault": name, "on": on}
        if user:
            body["user"] = user
        self.post("/fault", body)

    def params(self, **kw):
        self.post("/params", kw)

    def invoices(self, user=None):
        r = requests.get(f"{self.control}/invoices", params={"user": user} if user else None,
                         timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def counters(self):
        return requests.get(f"{self.control}/counters", timeout=10).json()


@pytest.fixture
def payee():
    exe = node_binary("testnode-lnurl")
    port, cport = free_port(), free_port()
    n = LnurlNode(lambda d: [exe, "--port", str(port), "--control-port", str(cport), "--tls-dir", d],
                  lambda line: line.startswith("testnode-lnurl: api "))
    n.api_port = port
    assert n.lines["api"] == f"https://127.0.0.1:{port}", n.lines
    n.ca = os.path.join(n.dir, "ca.pem")
    assert os.path.exists(n.ca)
    yield n
    n.stop()


def lnurl_http(node, user="alice", loc="", locations="", settings="", backend=True):
    """An http{} text: the block's backend is the LNURL payee `user` (or fake, with
    `backend=False`); `/protected/` costs PRICE_MSAT."""
    main = (f"l402_backend lnurl; l402_lnurl_address {node.address(user)};" if backend
            else "l402_backend fake;")
    return f"""
        {main}
        l402_lnurl_ca_file {node.ca};
        l402_lnurl_network regtest;
        l402_backend_timeout 2s;
        {settings}
        server {{
            listen 127.0.0.1:{{port}};
            root {{html}};
            location / {{ }}
            location /protected/ {{
                l402 on;
                l402_amount_msat_default {PRICE_MSAT};
                {loc}
            }}
            {locations}
        }}
    """


def challenge(n, path="/protected/"):
    r = requests.get(n.url + path, timeout=10)
    assert r.status_code == 402, (r.status_code, r.headers, n.error_log()[-2000:])
    return parse_challenge(r)


def test_pay_flow_over_https(make_nginx, payee):
    n = make_nginx(lnurl_http(payee))
    mac, invoice = challenge(n)
    assert invoice.startswith("lnbcrt"), invoice
    issued = payee.invoices("alice")
    assert [i["pr"] for i in issued] == [invoice]
    assert issued[0]["amount_msat"] == PRICE_MSAT and not issued[0]["settled"]
    # Not paid: a made-up preimage is refused.
    bad = requests.get(n.url + "/protected/", headers=auth(mac, "00" * 32), timeout=10)
    assert bad.status_code == 402
    preimage = payee.settle(invoice)
    ok = requests.get(n.url + "/protected/", headers=auth(mac, preimage), timeout=10)
    assert ok.status_code == 200, (ok.status_code, ok.headers)
    assert ok.text == "paid content\n"
    # Single use by default.
    assert requests.get(n.url + "/protected/", headers=auth(mac, preimage),
                        timeout=10).status_code == 402
    log = n.error_log()
    assert preimage not in log and mac not in log


def macaroon_only(mac):
    return {"Authorization": f"L402 {mac}"}


def test_auto_detect_with_lud21_verify(make_nginx, payee):
    n = make_nginx(lnurl_http(payee, loc="l402_auto_detect_payment on;"), workers=1)
    mac, invoice = challenge(n)
    payee.post("/counters/reset")
    for _ in range(3):
        p = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
        assert p.status_code == 402, (p.status_code, p.headers)
        assert p.headers["X-L402-Reason"] == "payment not received yet"
        assert "WWW-Authenticate" not in p.headers
    c = payee.counters()
    assert c["verify"] >= 1 and c["callback"] == 0, c  # asked the payee, issued nothing new
    payee.settle(invoice)
    time.sleep(2.2)  # the "not paid" answer is cached 2 s per worker
    ok = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert ok.status_code == 200, (ok.status_code, ok.headers, n.error_log()[-2000:])
    again = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert again.status_code == 402
    assert again.headers["X-L402-Reason"] == "token has no uses left"


@pytest.mark.parametrize("setup", ["no-verify", "verify-other-host", "wrong-hash"])
def test_auto_detect_never_admits_without_a_trusted_verify(make_nginx, payee, setup):
    """No verify URL, one on another host, or a verify reply whose preimage does not match:
    a settled invoice is still not enough without the client's preimage."""
    if setup == "wrong-hash":
        payee.mode("garbage/wrong-hash")
    else:
        payee.fault(setup, on="callback")
    n = make_nginx(lnurl_http(payee, loc="l402_auto_detect_payment on;"), workers=1)
    mac, invoice = challenge(n)
    payee.settle(invoice)
    for _ in range(2):
        r = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
        assert r.status_code in (402, 503), (r.status_code, r.headers)
        time.sleep(2.2)
    if setup == "wrong-hash":
        assert payee.counters()["verify"] >= 1
    else:
        assert payee.counters()["verify"] == 0
    # The preimage still works.
    preimage = [i for i in payee.invoices() if i["pr"] == invoice][0]["preimage"]
    assert requests.get(n.url + "/protected/", headers=auth(mac, preimage),
                        timeout=10).status_code == 200


def test_multi_tenant_locations(make_nginx, payee):
    locs = f"""
        location /alice/ {{ l402 on; l402_amount_msat_default {PRICE_MSAT};
                           l402_lnurl_addr {payee.address('alice')}; }}
        location /bob/ {{ l402 on; l402_amount_msat_default {PRICE_MSAT};
                         l402_lnurl_addr {payee.address('bob')}; }}
    """
    n = make_nginx(lnurl_http(payee, locations=locs, backend=False))
    os.makedirs(os.path.join(n.dir, "html", "alice"))
    os.makedirs(os.path.join(n.dir, "html", "bob"))
    for u in ("alice", "bob"):
        with open(os.path.join(n.dir, "html", u, "index.html"), "w") as f:
            f.write(f"{u} content\n")
    mac_a, inv_a = challenge(n, "/alice/")
    mac_b, inv_b = challenge(n, "/bob/")
    assert [i["pr"] for i in payee.invoices("alice")] == [inv_a]
    assert [i["pr"] for i in payee.invoices("bob")] == [inv_b]
    # The block's own backend (fake) still serves /protected/.
    _, inv_fake = challenge(n)
    assert inv_fake not in (inv_a, inv_b)
    assert len(payee.invoices()) == 2
    pre_a = payee.settle(inv_a)
    # Alice's token does not open Bob's location…
    r = requests.get(n.url + "/bob/", headers=auth(mac_a, pre_a), timeout=10)
    assert r.status_code == 402, (r.status_code, r.headers)
    # …but does open Alice's.
    r = requests.get(n.url + "/alice/", headers=auth(mac_a, pre_a), timeout=10)
    assert r.status_code == 200 and r.text == "alice content\n"
    pre_b = payee.settle(inv_b)
    r = requests.get(n.url + "/bob/", headers=auth(mac_b, pre_b), timeout=10)
    assert r.status_code == 200 and r.text == "bob content\n"


def expect_503(n, payee, needle=None, tries=2):
    for _ in range(tries):
        r = requests.get(n.url + "/protected/", timeout=15)
        assert r.status_code == 503, (r.status_code, r.headers, n.error_log()[-2000:])
        assert int(r.headers["Retry-After"]) >= 1
    log = n.error_log()
    if "no reply within" not in (needle or ""):
        assert f"payee {payee.address('alice')}" in log, log[-2000:]
    if needle:
        assert needle in log, log[-2000:]
    return log


HOSTILE = [
    ("fault", "callback-error", "callback"),
    ("fault", "pay-request-error", "payRequest"),
    ("fault", "huge-body", None),
    ("fault", "endless-body", None),
    # A timeout is reported by the backend's name and the limit (BackendError::Timeout has no
    # room for the payee); see expect_503.
    ("fault", "slow-drip", "lnurl: no reply within 2000 ms"),
    ("fault", "redirect-other-host", None),
    ("fault", "mainnet-invoice", None),
    ("fault", "expired-invoice", None),
    ("fault", "wrong-description-hash", "description hash"),
    ("mode", "wrong-amount", None),
    ("mode", "garbage/unparsable", None),
    ("mode", "garbage/not-json", None),
    ("mode", "down", None),
]


@pytest.mark.parametrize("kind,name,needle", HOSTILE, ids=[h[1] for h in HOSTILE])
def test_hostile_payee_gets_503(make_nginx, payee, kind, name, needle):
    if kind == "fault":
        payee.fault(name)
    else:
        payee.mode(name)
    n = make_nginx(lnurl_http(payee), workers=2)
    t = time.time()
    expect_503(n, payee, needle)
    assert time.time() - t < 10  # bounded by l402_backend_timeout 2s per request
    # The free location is unaffected, and the payee back to normal gets challenges again.
    assert requests.get(n.url + "/", timeout=5).status_code == 200
    payee.post("/reset")
    deadline = time.time() + 10
    while True:
        status = requests.get(n.url + "/protected/", timeout=10).status_code
        if status == 402 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert status == 402


@pytest.mark.parametrize("params", [{"min_sendable": PRICE_MSAT + 1}, {"max_sendable": PRICE_MSAT - 1}])
def test_price_outside_sendable_range(make_nginx, payee, params):
    payee.params(**params)
    n = make_nginx(lnurl_http(payee))
    log = expect_503(n, payee, "is outside what the payee accepts")
    assert f"the price {PRICE_MSAT} msat" in log
    assert payee.counters()["callback"] == 0  # refused before asking for an invoice


def test_connections_are_reused_and_document_cached(make_nginx, payee):
    workers = 2
    n = make_nginx(lnurl_http(payee), workers=workers)
    payee.post("/counters/reset")
    # One client after the other (new client connections, so both workers take turns): each
    # worker keeps its connection to the payee and its cached payRequest document.
    answers = [requests.get(n.url + "/protected/", timeout=10) for _ in range(30)]
    assert [r.status_code for r in answers] == [402] * 30
    c = payee.counters()
    assert c["callback"] == 30, c
    assert c["connections"] <= workers + 2, c
    assert c["pay_request"] <= workers, c
    assert len({parse_challenge(r)[1] for r in answers}) == 30


def test_seed_environment_form(make_nginx, payee):
    http = lnurl_http(payee).replace(
        f"l402_backend lnurl; l402_lnurl_address {payee.address('alice')};", "").replace(
        "l402_lnurl_network regtest;", "")
    n = make_nginx(http, env={"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": payee.address("alice"),
                              "LNURL_NETWORK": "regtest"})
    mac, invoice = challenge(n)
    assert [i["pr"] for i in payee.invoices("alice")] == [invoice]
    preimage = payee.settle(invoice)
    assert requests.get(n.url + "/protected/", headers=auth(mac, preimage),
                        timeout=10).status_code == 200
