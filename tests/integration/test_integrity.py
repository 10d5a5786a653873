"""Payment integrity: each attack of the payment-integrity issue, reproduced from outside against a
real nginx (and a real Redis where it applies). Tests are named after the issue's items."""
import base64
import os
import re
import subprocess
import time

import pytest
import requests
from pymacaroons import Macaroon

from conftest import NGINX, auth, buy, paid_config, parse_challenge
from redis_peers import Redis
from test_pricing import invoice_msat
from test_backends import cln, directives, lnd, server  # noqa: F401 (cln, lnd are fixtures)
from test_usage import USED_UP

UNDERPAID = "token paid less than this request costs"
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def attenuate(mac, caveat):
    """The macaroon with one more first-party caveat, as any holder may add (standard base64)."""
    m = Macaroon.deserialize(mac)
    m.add_first_party_caveat(caveat)
    raw = m.serialize()
    return base64.b64encode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))).decode()


def token_id_hex(mac):
    ident = Macaroon.deserialize(mac).identifier_bytes
    assert len(ident) == 66
    return ident[34:].hex()


def service_of(mac):
    for c in Macaroon.deserialize(mac).first_party_caveats():
        cid = c.caveat_id if isinstance(c.caveat_id, str) else c.caveat_id.decode()
        if cid.startswith("services="):
            return cid.split("=", 1)[1].split(":")[0]
    raise AssertionError("no services caveat")


class Clock:
    """nginx's wall clock, moved forward through libfaketime (monotonic time is left alone, so
    nginx's timers keep working)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "faketime")
        self.set(0)

    def env(self):
        return {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": self.path,
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    def set(self, offset_secs):
        with open(self.path, "w") as f:
            f.write(f"+{offset_secs}\n")


@pytest.fixture
def redis():
    r = Redis().start()
    yield r
    r.stop()


# --- item 1: replay by shortening the claim -------------------------------------------------

@pytest.mark.parametrize("timeout", ["0", "3600"])
def test_item1_client_shortened_expiry_does_not_shorten_the_claim(make_nginx, tmp_path, timeout):
    """A client adds `<svc>_valid_until=now+2`, uses the token once, waits past the claim's old
    lifetime (valid_until + 300 s): the original token must still be used up."""
    clock = Clock(str(tmp_path))
    n = make_nginx(paid_config(uses=None, loc=f"l402_macaroon_timeout {timeout};"), env=clock.env())
    mac, pre = buy(n)
    short = attenuate(mac, f"{service_of(mac)}_valid_until={int(time.time()) + 2}")
    assert requests.get(n.url + "/protected/", headers=auth(short, pre)).status_code == 200
    clock.set(400)
    time.sleep(0.3)
    again = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert again.status_code == 402, "the original token was accepted again"
    assert again.headers["X-L402-Reason"] == USED_UP


@pytest.mark.parametrize("timeout", ["0", "3600"])
def test_item1_redis_claim_lives_as_long_as_the_minted_token(make_nginx, redis, timeout):
    n = make_nginx(paid_config(uses=None, extra=f"l402_redis {redis.url};",
                               loc=f"l402_macaroon_timeout {timeout};"))
    mac, pre = buy(n)
    short = attenuate(mac, f"{service_of(mac)}_valid_until={int(time.time()) + 2}")
    assert requests.get(n.url + "/protected/", headers=auth(short, pre)).status_code == 200
    ttl = int(redis.cli("TTL", f"l402:use:{token_id_hex(mac)}").strip())
    if timeout == "0":
        assert ttl == -1, f"a claim on a never-expiring token must never expire (TTL {ttl})"
    else:
        assert ttl > 3600, f"the claim must outlive the minted token (TTL {ttl})"
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP


# --- item 2: tokens bound to what they paid for ---------------------------------------------

TIERS = """
    l402_backend fake;
    map $arg_tier $tier_price { default 1000; premium 9000000; }
    map $request_method $method_price { default 1000; PUT 7000000; }
    server {
        listen 127.0.0.1:{port};
        root {html};
        location /protected/ {
            l402 on;
            l402_token_uses unlimited;
            l402_amount_msat_default $tier_price;
        }
        location /by-method/ {
            alias {html}/protected/;
            l402 on;
            l402_token_uses unlimited;
            l402_amount_msat_default $method_price;
        }
        location = /.l402/fake/pay { l402_fake_pay; }
    }
"""


def test_item2_token_bought_for_the_default_tier_does_not_open_premium(make_nginx):
    n = make_nginx(TIERS)
    mac, pre = buy(n, "/protected/")
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    r = requests.get(n.url + "/protected/?tier=premium", headers=auth(mac, pre))
    assert r.status_code == 402, "a 1000 msat token opened a 9000000 msat request"
    assert r.headers["X-L402-Reason"] == UNDERPAID
    _, inv = parse_challenge(r)
    assert invoice_msat(inv) == 9000000
    # A token bought at the higher price covers the cheaper request.
    rich_mac, rich_pre = buy(n, "/protected/?tier=premium")
    assert requests.get(n.url + "/protected/?tier=premium", headers=auth(rich_mac, rich_pre)).status_code == 200
    assert requests.get(n.url + "/protected/", headers=auth(rich_mac, rich_pre)).status_code == 200


def test_item2_get_priced_token_does_not_pass_a_put(make_nginx):
    n = make_nginx(TIERS)
    mac, pre = buy(n, "/by-method/")
    assert requests.get(n.url + "/by-method/", headers=auth(mac, pre)).status_code == 200
    r = requests.put(n.url + "/by-method/", headers=auth(mac, pre), data=b"x")
    assert r.status_code == 402, f"a GET-priced token passed a PUT ({r.status_code})"
    assert r.headers["X-L402-Reason"] == UNDERPAID
    assert invoice_msat(parse_challenge(r)[1]) == 7000000


def write_file(n, rel, text):
    with open(os.path.join(n.dir, "html", rel), "w") as f:
        f.write(text)


@pytest.mark.parametrize("uses", ["unlimited", "3"])
def test_item2_redis_path_price_binds_the_token(make_nginx, redis, uses):
    n = make_nginx(paid_config(uses=uses, extra=f"l402_redis {redis.url};"))
    write_file(n, "protected/expensive.txt", "expensive\n")
    redis.cli("SET", "/protected/expensive.txt", "8000000")
    mac, pre = buy(n, "/protected/")
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    r = requests.get(n.url + "/protected/expensive.txt", headers=auth(mac, pre))
    assert r.status_code == 402, "a token bought on the cheap path opened the expensive one"
    assert r.headers["X-L402-Reason"] == UNDERPAID
    assert invoice_msat(parse_challenge(r)[1]) == 8000000
    # Twice: the second time the price comes from this worker's cache, on the main thread.
    r = requests.get(n.url + "/protected/expensive.txt", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == UNDERPAID
    if uses == "3":
        # The refused requests claimed nothing: two uses are left.
        ok = requests.get(n.url + "/protected/", headers=auth(mac, pre))
        assert ok.status_code == 200 and ok.headers["X-L402-Uses-Remaining"] == "1"
    big_mac, big_pre = buy(n, "/protected/expensive.txt")
    r = requests.get(n.url + "/protected/expensive.txt", headers=auth(big_mac, big_pre))
    assert r.status_code == 200 and r.text == "expensive\n"
    # The price went up after the token was bought: the token no longer covers it.
    redis.cli("SET", "/protected/expensive.txt", "9000000")
    time.sleep(2.2)
    r = requests.get(n.url + "/protected/expensive.txt", headers=auth(big_mac, big_pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == UNDERPAID


def test_item2_no_challenge_at_a_guessed_price_while_redis_is_down(make_nginx, redis):
    n = make_nginx(paid_config(extra=f"l402_redis {redis.url} timeout=200ms connect_timeout=200ms;"))
    redis.cli("SET", "/protected/", "8000000")
    r = requests.get(n.url + "/protected/")
    assert r.status_code == 402 and invoice_msat(parse_challenge(r)[1]) == 8000000
    mac, pre = buy(n)
    redis.kill()
    time.sleep(2.2)  # past the worker's price cache
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 503, "a challenge was made at the configured (cheaper) price"
    assert "Retry-After" in r.headers
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
    assert r.status_code == 503
    assert "cannot read the price from Redis" in n.error_log()


# --- item 5: memory amplification -----------------------------------------------------------

def worker_rss_kb(n):
    with open(os.path.join(n.dir, "logs", "nginx.pid")) as f:
        master = f.read().strip()
    pids = subprocess.run(["ps", "-o", "pid=", "--ppid", master], capture_output=True,
                          text=True).stdout.split()
    assert len(pids) == 1, pids
    with open(f"/proc/{pids[0]}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_item5_junk_candidates_do_not_grow_the_worker(make_nginx):
    """A paid token followed by a different ~7 KB junk candidate each time: before, every
    request left a 7 KB memo entry (17 000 requests took a worker from 7 to 137 MB)."""
    n = make_nginx(paid_config(uses="unlimited"))
    mac, pre = buy(n)
    s = requests.Session()
    assert s.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    before = worker_rss_kb(n)
    pad = "A" * 7000
    for i in range(4000):
        junk = base64.b64encode(f"{i:08d}".encode()).decode() + pad
        r = s.get(n.url + "/protected/", headers={"Authorization": f"L402 {mac},{junk}:{pre}"})
        assert r.status_code == 200
    grown_mb = (worker_rss_kb(n) - before) / 1024
    assert grown_mb < 12, f"the worker grew {grown_mb:.1f} MB over 4000 requests (28 MB of junk)"


def test_item5_long_unique_paths_do_not_grow_the_price_cache(make_nginx, redis):
    n = make_nginx(paid_config(extra=f"l402_redis {redis.url};"))
    s = requests.Session()
    assert s.get(n.url + "/protected/warm").status_code == 402
    before = worker_rss_kb(n)
    pad = "p" * 6000
    for i in range(3000):
        assert s.get(f"{n.url}/protected/{i}{pad}").status_code == 402
    grown_mb = (worker_rss_kb(n) - before) / 1024
    assert grown_mb < 10, f"the worker grew {grown_mb:.1f} MB over 3000 paths (18 MB of paths)"


# --- item 6: payment detection makes the macaroon a bearer token ----------------------------

def test_item6_detection_admits_the_macaroon_alone_once_and_the_readme_says_so(make_nginx, lnd):
    """Documented behaviour: with l402_auto_detect_payment on, whoever holds the macaroon after
    the invoice is paid takes the payer's use; it is still one use, and only after payment."""
    n = make_nginx(server("l402_backend lnd; " + directives("lnd", lnd), loc="l402_auto_detect_payment on;"))
    r = requests.get(n.url + "/protected/", timeout=10)
    mac, inv = parse_challenge(r)
    bearer = {"Authorization": f"L402 {mac}"}
    assert requests.get(n.url + "/protected/", headers=bearer, timeout=10).status_code == 402
    pre = lnd.settle(inv)
    time.sleep(2.2)  # the worker remembers "not paid" for 2 s
    assert requests.get(n.url + "/protected/", headers=bearer, timeout=10).status_code == 200
    if pre:
        payer = requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
        assert payer.status_code == 402 and payer.headers["X-L402-Reason"] == USED_UP
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme[readme.index("`l402_auto_detect_payment on"):][:3000]
    assert "bearer" in section, "the README must say the macaroon becomes a bearer token"


# --- item 8: subrequests skip the paywall ---------------------------------------------------

SUBREQUESTS = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location / { ssi on; }
        location /gated/ { auth_request /protected/index.html; alias {html}/; }
        location /protected/ { l402 on; }
        location /open/ { alias {html}/protected/; l402 on; l402_allow_subrequests on; }
    }
"""


def test_item8_ssi_include_of_a_paid_location_is_refused(make_nginx):
    n = make_nginx(SUBREQUESTS)
    write_file(n, "page.html", 'before <!--# include virtual="/protected/index.html" --> after\n')
    write_file(n, "open.html", 'before <!--# include virtual="/open/index.html" --> after\n')
    r = requests.get(n.url + "/page.html")
    assert "paid content" not in r.text, "SSI included the paid content without payment"
    assert "subrequest into a paid location was refused" in n.error_log()
    # The operator's opt-in serves it.
    assert "paid content" in requests.get(n.url + "/open.html").text


def test_item8_auth_request_into_a_paid_location_is_refused(make_nginx):
    n = make_nginx(SUBREQUESTS)
    r = requests.get(n.url + "/gated/index.html")
    assert r.status_code == 403, f"auth_request passed through a paid location ({r.status_code})"
    # The main request into the paid location is still challenged as usual.
    assert requests.get(n.url + "/protected/").status_code == 402


# --- item 9: error_page 402 into a paid location ---------------------------------------------

@pytest.mark.parametrize("recursive", ["off", "on"])
def test_item9_error_page_402_reuses_the_first_challenge(make_nginx, recursive):
    n = make_nginx(paid_config(loc=f"error_page 402 /protected/402.html; recursive_error_pages {recursive};"))
    write_file(n, "protected/402.html", "please pay\n")
    r = requests.get(n.url + "/protected/")
    assert r.status_code == 402
    assert r.text == "please pay\n"
    lines = r.raw.headers.getlist("WWW-Authenticate")
    assert len(lines) == 2, f"one invoice per request expected, got {lines!r}"
    mac, inv = parse_challenge(r)
    pre = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv}).text.strip()
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).text == "paid content\n"


# --- item 11: nginx's debug log prints credentials ------------------------------------------

def test_item11_release_build_has_no_debug_log(make_nginx):
    v = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
    assert "--with-debug" not in v, "the default build must not have nginx's debug log"
    n = make_nginx(paid_config(), main="")
    conf = open(n.conf_path).read().replace("error_log logs/error.log info;", "error_log logs/error.log debug;")
    open(n.conf_path, "w").write(conf)
    n.reload()
    time.sleep(1)
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    requests.get(n.url + "/protected/", headers=auth(mac, "00" * 32))
    log = n.error_log()
    assert mac[:40] not in log and pre not in log


# --- item 7: header injection from a malicious node ------------------------------------------

def raw_get(port, path):
    """The raw bytes of a response, read from a socket (no HTTP library repairs them)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_item7_bolt12_invoice_with_crlf_cannot_inject_headers(make_nginx, cln):
    n = make_nginx(server("l402_backend bolt12; " + directives("bolt12", cln)))
    cln.mode("garbage/header-injection")
    raw = raw_get(n.port, "/protected/")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"X-Injected" not in head, "a node wrote a header of its own"
    for line in head.split(b"\r\n"):
        assert all(b >= 0x20 or b == 0x09 for b in line), line
    status = head.split(b"\r\n", 1)[0]
    # The backend decodes the invoice (BOLT12 allows the continuation); only its normalised
    # text is sent.
    assert b" 402 " in status, status
    m = re.search(rb'L402 macaroon="[^"]+", invoice="(lni1[a-z0-9]+)"', head)
    assert m, head


def test_item7_control_bytes_never_reach_a_header(make_nginx, cln):
    """A BOLT11 node returning CR LF inside its invoice: 503 and an error line, no injection."""
    n = make_nginx(server("l402_backend cln; " + directives("cln", cln)))
    cln.mode("garbage/unparsable-invoice")
    raw = raw_get(n.port, "/protected/")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 503"), head[:40]


# --- item 3: derived service names collide -------------------------------------------------

EXACT_AND_PREFIX = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location = /protected/index.html { l402 on; l402_token_uses unlimited; }
        location /protected/ { l402 on; l402_token_uses unlimited; }
        location = /.l402/fake/pay { l402_fake_pay; }
    }
"""


def test_item3_exact_and_prefix_locations_derive_different_services(make_nginx):
    n = make_nginx(EXACT_AND_PREFIX)
    write_file(n, "protected/other.html", "other\n")
    mac, pre = buy(n, "/protected/index.html")
    assert requests.get(n.url + "/protected/index.html", headers=auth(mac, pre)).status_code == 200
    r = requests.get(n.url + "/protected/other.html", headers=auth(mac, pre))
    assert r.status_code == 402, "a token of `location =` opened the prefix location"
    assert r.headers["X-L402-Reason"] == "token not valid for this service"


TWO_UNNAMED_SERVERS = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location /protected/ { l402 on; l402_token_uses unlimited; }
        location = /.l402/fake/pay { l402_fake_pay; }
    }
    server {
        listen 127.0.0.1:{port2};
        root {html};
        location /protected/ { l402 on; l402_token_uses unlimited; }
    }
"""


def name_second_service(conf):
    head, tail = conf.rsplit("location /protected/ { l402 on;", 1)
    return head + "location /protected/ { l402 on; l402_service other;" + tail


def test_item3_two_server_blocks_without_server_name_fail_nginx_t_until_named(make_nginx):
    """Listen addresses are not part of a derived name (instances on other ports or hosts must
    derive the same names), so two unnamed server blocks with the same paid location cannot be
    told apart: nginx -t says so and asks for l402_service."""
    ok, out = make_nginx(TWO_UNNAMED_SERVERS, ports=2, start=False).test_config()
    assert not ok
    assert "cannot be told apart" in out and 'set "l402_service"' in out, out
    assert "nginx.conf:" in out  # names the server blocks by file and line
    n = make_nginx(name_second_service(TWO_UNNAMED_SERVERS), ports=2)
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    r = requests.get(f"http://127.0.0.1:{n.ports[1]}/protected/", headers=auth(mac, pre))
    assert r.status_code == 402, "a token of one server block opened the other"
    assert r.headers["X-L402-Reason"] == "token not valid for this service"


def test_item3_server_blocks_with_different_names_derive_different_services(make_nginx):
    conf = TWO_UNNAMED_SERVERS.replace("{port2}", "{port}").replace(
        "        root {html};", "        server_name SERVER;        root {html};")
    conf = conf.replace("SERVER", "cheap.test", 1).replace("SERVER", "dear.test", 1)
    n = make_nginx(conf)
    mac, pre = buy(n)  # no Host match: the default (first) server, cheap.test
    r = requests.get(n.url + "/protected/", headers={**auth(mac, pre), "Host": "dear.test"})
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "token not valid for this service"
    assert requests.get(n.url + "/protected/", headers={**auth(mac, pre), "Host": "cheap.test"}).status_code == 200


def test_item3_regex_case_variants_with_the_same_pattern_fail_nginx_t(make_nginx):
    conf = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location ~ \\.txt$ { l402 on; l402_amount_msat_default 1000; }
        location ~* \\.txt$ { l402 on; l402_amount_msat_default 9000000; }
    }
"""
    ok, out = make_nginx(conf, start=False).test_config()
    assert not ok and "cannot be told apart" in out, out


NESTED_REGEX = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location /a/ { location ~ \\.txt$ { l402 on; l402_token_uses unlimited; } }
        location /b/ { location ~ \\.txt$ { l402 on; l402_token_uses unlimited; } }
        location /protected/ {
            l402 on;
            l402_token_uses unlimited;
            if ($arg_tag) { add_header X-Tagged $arg_tag; }
        }
        location = /.l402/fake/pay { l402_fake_pay; }
    }
"""


def test_item3_same_nested_regex_under_two_prefixes_derive_different_services(make_nginx):
    n = make_nginx(NESTED_REGEX)
    for d in ("a", "b"):
        os.makedirs(os.path.join(n.dir, "html", d), exist_ok=True)
        write_file(n, f"{d}/x.txt", d + "\n")
    mac, pre = buy(n, "/a/x.txt")
    assert requests.get(n.url + "/a/x.txt", headers=auth(mac, pre)).text == "a\n"
    r = requests.get(n.url + "/b/x.txt", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "token not valid for this service"


def test_item3_if_block_uses_its_locations_service(make_nginx):
    n = make_nginx(NESTED_REGEX)
    mac, pre = buy(n)
    r = requests.get(n.url + "/protected/?tag=t1", headers=auth(mac, pre))
    assert r.status_code == 200 and r.headers["X-Tagged"] == "t1"
    mac2, pre2 = buy(n, "/protected/?tag=t2")
    assert requests.get(n.url + "/protected/", headers=auth(mac2, pre2)).status_code == 200


# --- item 10: foot-guns that make a paid location free ----------------------------------------

REGEX_OVER_PREFIX = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        location PREFIX { l402 on; }
        location ~* \\.(txt|css)$ { }
    }
"""


def test_item10_nginx_t_warns_when_a_free_regex_wins_over_a_paid_prefix(make_nginx):
    n = make_nginx(REGEX_OVER_PREFIX.replace("PREFIX", "/protected/"), start=False)
    ok, out = n.test_config()
    assert ok, out
    assert "free regex location" in out and "location ^~ /protected/" in out, out
    # The pitfall is real: the regex location serves the paid directory's .txt for free.
    n.start()
    write_file(n, "protected/x.txt", "paid text\n")
    assert requests.get(n.url + "/protected/x.txt").status_code == 200
    assert requests.get(n.url + "/protected/").status_code == 402


def test_item10_no_warning_for_a_caret_tilde_prefix(make_nginx):
    n = make_nginx(REGEX_OVER_PREFIX.replace("PREFIX", "^~ /protected/"), start=False)
    ok, out = n.test_config()
    assert ok, out
    assert "free regex location" not in out, out
    n.start()
    write_file(n, "protected/x.txt", "paid text\n")
    assert requests.get(n.url + "/protected/x.txt").status_code == 402


RETURN_IN_PAID = """
    l402_backend fake;
    server {
        listen 127.0.0.1:{port};
        root {html};
        SERVER
        location /protected/ {
            l402 on;
            LOCATION
        }
        location /free/ { return 200 "free\\n"; }
    }
"""


@pytest.mark.parametrize("where, line, warned", [
    ("location", 'return 200 "secret\\n";', "the paid location \"/protected/\" answers with \"return\""),
    ("location", 'if ($request_method = GET) { return 200 "secret\\n"; }', "the paid location \"/protected/\""),
    ("server", 'if ($arg_x) { return 200 "secret\\n"; }', "answers with \"return\" at server level"),
    ("location", "return 301 /elsewhere;", None),
    ("location", "return 404;", None),
    ("location", "", None),
])
def test_nginx_t_warns_when_a_return_answers_before_the_paywall(make_nginx, where, line, warned):
    http = RETURN_IN_PAID.replace("SERVER", line if where == "server" else "").replace(
        "LOCATION", line if where == "location" else "")
    n = make_nginx(http, start=False)
    ok, out = n.test_config()
    assert ok, out
    if warned:
        assert warned in out and "without payment" in out, out
    else:
        assert "answers with \"return\"" not in out, out
    # A free location's return is not the paywall's business.
    assert "\"/free/\"" not in out, out
    if warned and where == "location":
        # The pitfall is real: the text is served without payment.
        n.start()
        r = requests.get(n.url + "/protected/")
        assert (r.status_code, r.text) == (200, "secret\n")
