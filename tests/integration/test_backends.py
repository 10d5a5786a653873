"""The Lightning node backends end to end through nginx, against the repo's protocol-faithful
test servers (crates/testnode-lnd, testnode-cln, testnode-eclair): gRPC over TLS with a macaroon,
JSON-RPC on a unix socket, HTTP with basic auth. Each issues real signed invoices and reveals the
preimage through its control endpoint (`POST /settle/<invoice>`), which stands in for a wallet.

The binaries come from $L402_TESTNODE_DIR (scripts/test.sh builds them), else the cargo target
dir, and are built here if missing.
"""
import concurrent.futures as cf
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import ROOT, free_port, parse_challenge, auth

TARGET = os.environ.get("L402_TESTNODE_DIR") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")
ECLAIR_PASSWORD = "eclair-test-password-7f3a"


def node_binary(name):
    path = os.path.join(TARGET, name)
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "--release", "-p", name], cwd=ROOT, check=True)
    return path


class NodeProcess:
    """One test server process; `control` is its control base URL."""

    def __init__(self, argv, ready):
        self.dir = tempfile.mkdtemp(prefix="l402-testnode-")
        os.chmod(self.dir, 0o755)  # nginx workers may run as "nobody"
        # umask 0: the CLN socket (made again after `down`) must be connectable by the workers.
        self.proc = subprocess.Popen(argv(self.dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, preexec_fn=lambda: os.umask(0))
        self.lines = {}
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("test node exited: " + self.proc.stderr.read())
            self.parse(line.strip())
            if ready(line.strip()):
                return
        raise RuntimeError("test node did not start")

    def parse(self, line):
        line = line.removeprefix("testnode-cln: ").removeprefix("testnode-eclair: ")
        words = line.split()
        for k, v in zip(words[::2], words[1::2]):
            self.lines[k] = v

    @property
    def control(self):
        c = self.lines["control"]
        return c if c.startswith("http") else "http://" + c

    def mode(self, m):
        r = requests.post(f"{self.control}/mode/{m}", timeout=10)
        assert r.status_code == 200, r.text

    def settle(self, invoice):
        r = requests.post(f"{self.control}/settle/{invoice}", timeout=10)
        assert r.status_code == 200, r.text
        return r.text.strip()

    def info(self):
        r = requests.get(f"{self.control}/info", timeout=10)
        out = {}
        for line in r.text.splitlines():
            k, _, v = line.partition(" ")
            out[k] = v
        return out

    def invoice_count(self):
        return int(self.info()["invoices"])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def lnd():
    exe = node_binary("testnode-lnd")
    n = NodeProcess(lambda d: [exe, "--dir", d, "--grpc-port", "0", "--control-port", "0"],
                 lambda line: line == "ready")
    n.address = n.lines["grpc"]
    n.macaroon = n.lines["macaroon"]
    n.cert = n.lines["cert"]
    yield n
    n.stop()


@pytest.fixture
def cln():
    exe = node_binary("testnode-cln")
    sock = {}

    def argv(d):
        sock["path"] = os.path.join(d, "lightning-rpc")
        return [exe, "--socket", sock["path"], "--control-port", "0"]

    n = NodeProcess(argv, lambda line: " offer " in line)
    n.socket = sock["path"]
    n.offer = n.lines["offer"]
    yield n
    n.stop()


@pytest.fixture
def eclair():
    exe = node_binary("testnode-eclair")
    port, cport = free_port(), free_port()

    def argv(d):
        pw = os.path.join(d, "password")
        with open(pw, "w") as f:
            f.write(ECLAIR_PASSWORD + "\n")
        return [exe, "--port", str(port), "--control-port", str(cport), "--password-file", pw]

    n = NodeProcess(argv, lambda line: " api " in line)
    n.address = n.lines["api"]
    n.password_file = os.path.join(n.dir, "password")
    yield n
    n.stop()


def directives(kind, node):
    if kind == "lnd":
        return (f"l402_lnd_address {node.address}; l402_lnd_macaroon_file {node.macaroon}; "
                f"l402_lnd_cert_file {node.cert};")
    if kind == "cln":
        return f"l402_cln_rpc_file {node.socket};"
    if kind == "eclair":
        return f"l402_eclair_address {node.address}; l402_eclair_password_file {node.password_file};"
    if kind == "bolt12":
        return f"l402_cln_rpc_file {node.socket}; l402_bolt12_offer {node.offer};"
    raise ValueError(kind)


def seed_env(kind, node):
    if kind == "lnd":
        return {"LN_CLIENT_TYPE": "LND", "LND_ADDRESS": node.address,
                "MACAROON_FILE_PATH": node.macaroon, "CERT_FILE_PATH": node.cert}
    if kind == "cln":
        return {"LN_CLIENT_TYPE": "CLN", "CLN_LIGHTNING_RPC_FILE_PATH": node.socket}
    if kind == "eclair":
        return {"LN_CLIENT_TYPE": "ECLAIR", "ECLAIR_ADDRESS": node.address,
                "ECLAIR_PASSWORD": ECLAIR_PASSWORD}
    if kind == "bolt12":
        return {"LN_CLIENT_TYPE": "BOLT12", "CLN_LIGHTNING_RPC_FILE_PATH": node.socket,
                "BOLT12_OFFER": node.offer}
    raise ValueError(kind)


SERVER = """
    {settings}
    l402_backend_timeout 2s;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location / {{ }}
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 10000;
            {loc}
        }}
    }}
"""


def server(settings, loc=""):
    return SERVER.format(settings=settings, loc=loc)


def backend_config(kind, node, style):
    """(http text, env) for `kind` configured by directives or by the seed's variables."""
    if style == "directives":
        return server(f"l402_backend {kind}; " + directives(kind, node)), {}
    return server(""), seed_env(kind, node)


def pay_flow(n, node):
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402, (r.status_code, r.headers, n.error_log()[-1500:])
    mac, invoice = parse_challenge(r)
    assert invoice.startswith("lnbcrt"), invoice
    preimage = node.settle(invoice)
    assert len(preimage) == 64
    ok = requests.get(n.url + "/protected/", headers=auth(mac, preimage), timeout=10)
    assert ok.status_code == 200, (ok.status_code, ok.headers)
    assert ok.text == "paid content\n"
    # Single use by default.
    again = requests.get(n.url + "/protected/", headers=auth(mac, preimage), timeout=10)
    assert again.status_code == 402
    return mac, preimage


@pytest.fixture
def node(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("node,style", [
    ("lnd", "directives"), ("lnd", "env"),
    ("cln", "directives"), ("cln", "env"),
    ("eclair", "directives"), ("eclair", "env"),
], indirect=["node"])
def test_pay_flow(make_nginx, node, style, request):
    kind = request.node.callspec.params["node"]
    http, env = backend_config(kind, node, style)
    n = make_nginx(http, env=env)
    mac, preimage = pay_flow(n, node)
    log = n.error_log()
    assert preimage not in log and mac not in log
    if kind == "eclair":
        assert ECLAIR_PASSWORD not in log


@pytest.mark.parametrize("node", ["lnd", "cln", "eclair"], indirect=True)
def test_backend_down_then_back(make_nginx, node, request):
    kind = request.node.callspec.params["node"]
    n = make_nginx(server(f"l402_backend {kind}; " + directives(kind, node)), workers=1)
    assert requests.get(n.url + "/protected/", timeout=10).status_code == 402
    node.mode("down")
    with cf.ThreadPoolExecutor(max_workers=8) as pool:
        pending = [pool.submit(requests.get, n.url + "/protected/", timeout=15) for _ in range(8)]
        latencies = []
        with requests.Session() as s:
            for _ in range(20):
                t = time.time()
                assert s.get(n.url + "/", timeout=5).status_code == 200
                latencies.append(time.time() - t)
        answers = [f.result() for f in pending]
    for r in answers:
        assert r.status_code == 503, r.status_code
        assert int(r.headers["Retry-After"]) >= 1
    assert max(latencies) < 0.2, max(latencies)
    log = n.error_log()
    assert f"cannot create an invoice: {kind}:" in log, log[-2000:]
    node.mode("normal")
    deadline = time.time() + 10
    while True:
        status = requests.get(n.url + "/protected/", timeout=10).status_code
        if status == 402 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert status == 402


def test_lnd_slow_times_out_and_free_location_stays_fast(make_nginx, lnd):
    n = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd)).replace(
        "l402_backend_timeout 2s;", "l402_backend_timeout 500ms;"), workers=1)
    lnd.mode("slow?ms=3000")
    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        pending = [pool.submit(requests.get, n.url + "/protected/", timeout=15) for _ in range(4)]
        t = time.time()
        assert requests.get(n.url + "/", timeout=5).status_code == 200
        assert time.time() - t < 0.2
        answers = [f.result() for f in pending]
    assert [r.status_code for r in answers] == [503] * 4
    assert "lnd: no reply within 500 ms" in n.error_log()


def test_failover_eclair_then_lnd(make_nginx, eclair, lnd):
    settings = "l402_backend eclair lnd; " + directives("eclair", eclair) + directives("lnd", lnd)
    n = make_nginx(server(settings), workers=1)
    before = lnd.invoice_count()
    eclair.mode("down")
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402
    mac, invoice = parse_challenge(r)
    assert lnd.invoice_count() == before + 1
    preimage = lnd.settle(invoice)
    assert requests.get(n.url + "/protected/", headers=auth(mac, preimage),
                        timeout=10).status_code == 200
    log = n.error_log()
    assert "payment backend failed, the next one is tried: eclair:" in log, log[-2000:]
    # Both down: 503, both named.
    lnd.mode("down")
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 503 and "Retry-After" in r.headers
    log = n.error_log()
    assert "cannot create an invoice: lnd:" in log
    # Eclair back: it issues again (first in the list).
    eclair.mode("normal")
    lnd.mode("normal")
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402
    _, invoice = parse_challenge(r)
    eclair.settle(invoice)


@pytest.mark.parametrize("style", ["directives", "env"])
def test_bolt12_challenge(make_nginx, cln, style):
    http, env = backend_config("bolt12", cln, style)
    n = make_nginx(http, env=env)
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402
    assert r.headers["X-L402-Invoice-Type"] == "bolt12"
    mac, invoice = parse_challenge(r)
    assert invoice.startswith("lni1"), invoice
    preimage = cln.settle(invoice)
    ok = requests.get(n.url + "/protected/", headers=auth(mac, preimage), timeout=10)
    assert ok.status_code == 200


def test_bolt11_challenge_has_no_invoice_type_header(make_nginx, cln):
    n = make_nginx(server("l402_backend cln; " + directives("cln", cln)))
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402 and "X-L402-Invoice-Type" not in r.headers


AUTO = "l402_auto_detect_payment on;"


def macaroon_only(mac, colon=False):
    return {"Authorization": f"L402 {mac}" + (":" if colon else "")}


def test_auto_detect_payment(make_nginx, lnd):
    n = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd), loc=AUTO), workers=1)
    r = requests.get(n.url + "/protected/", timeout=10)
    mac, invoice = parse_challenge(r)
    count = lnd.invoice_count()
    # Not paid yet: 402, no new invoice, however often the client polls.
    for colon in (False, True, False):
        p = requests.get(n.url + "/protected/", headers=macaroon_only(mac, colon), timeout=10)
        assert p.status_code == 402
        assert p.headers["X-L402-Reason"] == "payment not received yet"
        assert "WWW-Authenticate" not in p.headers
        assert "Retry-After" in p.headers
    assert lnd.invoice_count() == count
    lnd.settle(invoice)
    time.sleep(2.2)  # the "not paid" answer is cached 2 s per worker
    ok = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert ok.status_code == 200, (ok.status_code, ok.headers)
    # Single use still applies after detection.
    again = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert again.status_code == 402
    assert again.headers["X-L402-Reason"] == "token has no uses left"
    assert lnd.invoice_count() == count + 1  # that 402 carries a fresh challenge
    assert mac not in n.error_log()


def test_auto_detect_refuses_tampered_macaroon_without_lookup(make_nginx, lnd):
    n = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd), loc=AUTO), workers=1)
    mac, invoice = parse_challenge(requests.get(n.url + "/protected/", timeout=10))
    lnd.settle(invoice)
    # A macaroon signed by someone else for a settled invoice: never admitted.
    n2 = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd), loc=AUTO), workers=1,
                    key_file=False, env={"ROOT_KEY": "11" * 32})
    r = requests.get(n2.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "signature mismatch"
    # The right nginx admits it (first use).
    assert requests.get(n.url + "/protected/", headers=macaroon_only(mac),
                        timeout=10).status_code == 200


def test_auto_detect_off_needs_the_preimage(make_nginx, lnd):
    n = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd)), workers=1)
    mac, invoice = parse_challenge(requests.get(n.url + "/protected/", timeout=10))
    lnd.settle(invoice)
    r = requests.get(n.url + "/protected/", headers=macaroon_only(mac), timeout=10)
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "missing preimage"
    parse_challenge(r)


# --- nginx -t -------------------------------------------------------------------------------

def config_error(make_nginx, http, env=None):
    n = make_nginx(http, start=False, env=env)
    ok, out = n.test_config()
    assert not ok, out
    return out


def test_lnd_config_errors(make_nginx, lnd, tmp_path):
    good = {"addr": lnd.address, "mac": lnd.macaroon, "cert": lnd.cert}
    text = tmp_path / "hex.macaroon"
    text.write_text("0201036c6e64\n")
    cases = [
        ({"mac": str(tmp_path / "missing.macaroon")}, "l402_lnd_macaroon_file"),
        ({"mac": str(text)}, "text, not a binary macaroon"),
        ({"cert": str(tmp_path / "missing.cert")}, "l402_lnd_cert_file"),
        ({"cert": lnd.macaroon}, "l402_lnd_cert_file"),
        ({"addr": "localhost:99999"}, "l402_lnd_address"),
        ({"addr": "::1:10009"}, "brackets"),
        ({"addr": "https://localhost:10009"}, "without a scheme"),
    ]
    for change, expected in cases:
        v = dict(good, **change)
        out = config_error(make_nginx, server(
            f"l402_backend lnd; l402_lnd_address {v['addr']}; l402_lnd_macaroon_file {v['mac']}; "
            f"l402_lnd_cert_file {v['cert']};"))
        assert expected in out, (change, out)
    # IPv6 in brackets is accepted.
    n = make_nginx(server(
        f"l402_backend lnd; l402_lnd_address [::1]:10009; l402_lnd_macaroon_file {lnd.macaroon}; "
        f"l402_lnd_cert_file {lnd.cert};"), start=False)
    ok, out = n.test_config()
    assert ok, out
    # The address is required.
    out = config_error(make_nginx, server(
        f"l402_backend lnd; l402_lnd_macaroon_file {lnd.macaroon}; l402_lnd_cert_file {lnd.cert};"))
    assert "l402_lnd_address" in out and "LND_ADDRESS" in out
    # Seed variables: errors name the variable.
    out = config_error(make_nginx, server(""), env=dict(seed_env("lnd", lnd),
                                                         MACAROON_FILE_PATH="/nonexistent"))
    assert "MACAROON_FILE_PATH" in out, out


def test_relative_paths_resolve_against_conf_dir(make_nginx, lnd):
    n = make_nginx(server(
        f"l402_backend lnd; l402_lnd_address {lnd.address}; l402_lnd_macaroon_file lnd/admin.macaroon; "
        f"l402_lnd_cert_file lnd/tls.cert;"), start=False)
    os.makedirs(os.path.join(n.dir, "conf", "lnd"))
    shutil.copy(lnd.macaroon, os.path.join(n.dir, "conf", "lnd", "admin.macaroon"))
    shutil.copy(lnd.cert, os.path.join(n.dir, "conf", "lnd", "tls.cert"))
    n.start()
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402


def test_cln_config_errors(make_nginx, cln, tmp_path):
    out = config_error(make_nginx, server(
        f"l402_backend cln; l402_cln_rpc_file {tmp_path / 'no-socket'};"))
    assert "l402_cln_rpc_file" in out and "no-socket" in out
    out = config_error(make_nginx, server(
        f"l402_backend cln; l402_cln_rpc_file {tmp_path};"))
    assert "not a unix socket" in out
    out = config_error(make_nginx, server(""), env={
        "LN_CLIENT_TYPE": "CLN", "CLN_LIGHTNING_RPC_FILE_PATH": str(tmp_path / "gone")})
    assert "CLN_LIGHTNING_RPC_FILE_PATH" in out and "does not exist" in out
    out = config_error(make_nginx, server("l402_backend cln;"))
    assert "l402_cln_rpc_file" in out
    out = config_error(make_nginx, server(
        f"l402_backend bolt12; l402_cln_rpc_file {cln.socket}; l402_bolt12_offer lnbc1notanoffer;"))
    assert "l402_bolt12_offer" in out


def test_eclair_config_errors_never_echo_the_password(make_nginx, eclair, tmp_path):
    out = config_error(make_nginx, server(
        f"l402_backend eclair; l402_eclair_address ftp://x; "
        f"l402_eclair_password_file {eclair.password_file};"))
    assert "l402_eclair_address" in out
    out = config_error(make_nginx, server(
        f"l402_backend eclair; l402_eclair_address http://u:{ECLAIR_PASSWORD}@localhost:1; "
        f"l402_eclair_password_file {eclair.password_file};"))
    assert "user info" in out and ECLAIR_PASSWORD not in out
    empty = tmp_path / "empty"
    empty.write_text("\n")
    out = config_error(make_nginx, server(
        f"l402_backend eclair; l402_eclair_password_file {empty};"))
    assert "l402_eclair_password_file" in out and "empty" in out
    out = config_error(make_nginx, server("l402_backend eclair;"))
    assert "ECLAIR_PASSWORD" in out
    # The default address is http://localhost:8080.
    n = make_nginx(server(""), start=False, env={"LN_CLIENT_TYPE": "ECLAIR",
                                                 "ECLAIR_PASSWORD": ECLAIR_PASSWORD})
    ok, out = n.test_config()
    assert ok, out
    assert ECLAIR_PASSWORD not in out


# NWC is supported since the nwc merge (tests/integration/test_nwc.py).
@pytest.mark.parametrize("name", ["LNC"])
def test_other_seed_backends_not_supported_yet(make_nginx, name):
    out = config_error(make_nginx, server(""), env={"LN_CLIENT_TYPE": name})
    assert "not supported by this build yet" in out
    out = config_error(make_nginx, server(f"l402_backend {name.lower()};"))
    assert "not supported by this build yet" in out


def test_backend_list_errors(make_nginx):
    out = config_error(make_nginx, server("l402_backend fake fake;"))
    assert "twice" in out
    out = config_error(make_nginx, server("l402_backend fake bogus;"))
    assert "not a known backend" in out


def test_directives_win_over_env(make_nginx, cln, lnd):
    env = dict(seed_env("lnd", lnd), MACAROON_FILE_PATH="/nonexistent",
               CLN_LIGHTNING_RPC_FILE_PATH="/nonexistent")
    n = make_nginx(server("l402_backend cln; " + directives("cln", cln)), env=env)
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402
    _, invoice = parse_challenge(r)
    cln.settle(invoice)
