"""Fixtures that start the real thing: nginx 1.28 with our module, on free loopback ports.

Every nginx started here has its error log checked at teardown: any [alert], [emerg], [crit],
Rust panic or "exited on signal" fails the test that started it.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = os.environ.get("L402_NGINX", os.path.join(ROOT, "build/nginx/sbin/nginx"))
MODULE = os.environ.get("L402_MODULE", os.path.join(ROOT, "build/modules/ngx_http_l402_module.so"))
ROOT_KEY_HEX = "8b1c2a7e1f0d4c3b9a8e7f6d5c4b3a29181716151413121110f0e0d0c0b0a090"

BAD_LOG = re.compile(r"\[(alert|emerg|crit)\]|panicked|exited on signal")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Nginx:
    """One nginx instance with a generated config in its own prefix directory.

    `http` is the text inside `http {}`; `{port}` (and `{port2}`…) placeholders are
    replaced by free ports. `main` is extra text at the top level.
    """

    def __init__(self, http, workers=1, main="", env=None, key_file=True, ports=1):
        self.dir = tempfile.mkdtemp(prefix="l402-nginx-")
        os.chmod(self.dir, 0o755)  # workers may run as "nobody"
        self.ports = [free_port() for _ in range(ports)]
        self.port = self.ports[0]
        os.makedirs(os.path.join(self.dir, "logs"))
        os.makedirs(os.path.join(self.dir, "conf"))
        html = os.path.join(self.dir, "html")
        os.makedirs(os.path.join(html, "protected"))
        with open(os.path.join(html, "index.html"), "w") as f:
            f.write("free\n")
        with open(os.path.join(html, "protected", "index.html"), "w") as f:
            f.write("paid content\n")
        with open(os.path.join(self.dir, "conf", "root.key"), "w") as f:
            f.write(ROOT_KEY_HEX + "\n")
        subs = {"port": self.ports[0], "html": html}
        for i, p in enumerate(self.ports[1:], start=2):
            subs[f"port{i}"] = p
        body = http
        for k, v in subs.items():
            body = body.replace("{" + k + "}", str(v))
        key_line = "l402_root_key_file root.key;" if key_file else ""
        self.conf = f"""
load_module {MODULE};
worker_processes {workers};
error_log logs/error.log info;
pid logs/nginx.pid;
worker_shutdown_timeout 30s;
{main}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type text/plain;
    {key_line}
    {body}
}}
"""
        self.conf_path = os.path.join(self.dir, "conf", "nginx.conf")
        with open(self.conf_path, "w") as f:
            f.write(self.conf)
        self.env = dict(os.environ)
        for k in ("ROOT_KEY", "LN_CLIENT_TYPE", "REDIS_URL", "LND_ADDRESS", "MACAROON_FILE_PATH",
                  "CERT_FILE_PATH", "CLN_LIGHTNING_RPC_FILE_PATH", "ECLAIR_ADDRESS",
                  "ECLAIR_PASSWORD", "BOLT12_OFFER", "LNURL_ADDRESS", "LNURL_NETWORK", "NWC_URI",
                  "CASHU_ECASH_SUPPORT", "CASHU_P2PK_MODE", "CASHU_P2PK_PRIVATE_KEY",
                  "CASHU_WHITELISTED_MINTS", "CASHU_DB_PATH", "CASHU_WALLET_SECRET"):
            self.env.pop(k, None)
        self.env.update(env or {})
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def test_config(self):
        """Runs `nginx -t`; returns (ok, output)."""
        p = subprocess.run([NGINX, "-p", self.dir, "-t"], env=self.env,
                           capture_output=True, text=True, timeout=30)
        return p.returncode == 0, p.stdout + p.stderr

    def start(self):
        ok, out = self.test_config()
        assert ok, out
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-g", "daemon off;"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for p in self.ports:
            wait_port(p)
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    def stop(self, graceful=True, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if graceful else signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("nginx did not stop in time")

    def error_log(self):
        with open(os.path.join(self.dir, "logs", "error.log"), errors="replace") as f:
            return f.read()

    def bad_log_lines(self):
        return [l for l in self.error_log().splitlines() if BAD_LOG.search(l)]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def make_nginx():
    """Factory: make_nginx(http_text, **kw) -> started Nginx. Checked and stopped at teardown."""
    started = []

    def factory(http, start=True, **kw):
        n = Nginx(http, **kw)
        started.append(n)
        return n.start() if start else n

    yield factory
    problems = []
    for n in started:
        try:
            n.stop()
        except AssertionError as e:
            problems.append(str(e))
        if n.proc is not None:
            bad = n.bad_log_lines()
            if bad:
                problems.append("error log of %s:\n%s" % (n.dir, "\n".join(bad)))
        if not problems:
            n.cleanup()
    assert not problems, "\n".join(problems)


PAID_SERVER = """
    l402_backend fake;
    {extra}
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location / {{ }}
        location /protected/ {{
            l402 on;
            l402_amount_msat_default 10000;
            {uses}
            {loc}
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


def paid_config(extra="", loc="", uses="unlimited"):
    """The standard paid server. Tests of verification reuse one token, so by default its
    location allows unlimited uses; `uses=None` keeps the module's default (single use)."""
    line = f"l402_token_uses {uses};" if uses else ""
    return PAID_SERVER.format(extra=extra, loc=loc, uses=line)


CHALLENGE_RE = re.compile(r'(LSAT|L402) macaroon="([^"]+)", invoice="([^"]+)"')


def parse_challenge(resp):
    """The (macaroon, invoice) of the L402 line of a 402 response."""
    lines = resp.raw.headers.getlist("WWW-Authenticate")
    for line in lines:
        m = CHALLENGE_RE.match(line)
        if m and m.group(1) == "L402":
            return m.group(2), m.group(3)
    raise AssertionError(f"no L402 challenge in {lines!r}")


def auth(mac, pre, scheme="L402"):
    return {"Authorization": f"{scheme} {mac}:{pre}"}


def buy(n, path="/protected/", session=None):
    """Get a challenge at `path`, pay it with the fake wallet; returns (macaroon, preimage_hex).
    With a `session`, both requests go over one connection (one worker)."""
    http = session or requests
    r = http.get(n.url + path, timeout=10)
    assert r.status_code == 402, r.status_code
    mac, inv = parse_challenge(r)
    p = http.get(n.url + "/.l402/fake/pay", params={"invoice": inv}, timeout=10)
    assert p.status_code == 200, (p.status_code, p.headers)
    return mac, p.text.strip()
