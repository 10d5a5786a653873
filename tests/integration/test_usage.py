"""Token usage policies against a real nginx and its shared memory zone (issue 3):
single use by default, N uses, unlimited, atomic claims across workers, claims that survive
a reload, a full zone that refuses rather than forgets, and the invoice rate limit."""
import concurrent.futures
import signal
import threading
import time

import requests

from conftest import auth, buy, paid_config, parse_challenge

USED_UP = "token has no uses left"


def present_concurrently(url, headers, n, threads=100):
    """`n` requests presenting the same credential, released together; returns status codes."""
    barrier = threading.Barrier(min(threads, n))

    def one(_):
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        return requests.get(url, headers=headers, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(n)))


def test_single_use_is_the_default(make_nginx):
    n = make_nginx(paid_config(uses=None))
    mac, pre = buy(n)
    first = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert first.status_code == 200
    assert first.text == "paid content\n"
    assert first.headers["X-L402-Uses-Remaining"] == "0"
    second = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert second.status_code == 402
    assert second.headers["X-L402-Reason"] == USED_UP
    fresh_mac, _ = parse_challenge(second)
    assert fresh_mac != mac


def test_n_uses_count_down_then_challenge(make_nginx):
    n = make_nginx(paid_config(uses="3"))
    mac, pre = buy(n)
    left = []
    for _ in range(3):
        r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 200
        left.append(r.headers["X-L402-Uses-Remaining"])
    assert left == ["2", "1", "0"]
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP


def test_indefinite_access_is_unlimited(make_nginx):
    n = make_nginx(paid_config(uses=None, loc="l402_indefinite_access on;"))
    mac, pre = buy(n)
    for _ in range(20):
        r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 200
        assert "X-L402-Uses-Remaining" not in r.headers


def test_attenuated_copy_shares_the_claim(make_nginx):
    """A client cannot get a second use by adding a caveat: the claim is on the token id."""
    import base64
    from pymacaroons import Macaroon
    n = make_nginx(paid_config(uses=None))
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    m = Macaroon.deserialize(mac)
    m.add_first_party_caveat("note=another copy")
    copy = base64.b64encode(base64.urlsafe_b64decode(m.serialize() + "==")).decode()
    r = requests.get(n.url + "/protected/", headers=auth(copy, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP


def test_race_single_use_two_workers(make_nginx):
    n = make_nginx(paid_config(uses=None), workers=2)
    mac, pre = buy(n)
    codes = present_concurrently(n.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 1, codes
    assert codes.count(402) == 199, codes


def test_race_n_uses_two_workers(make_nginx):
    n = make_nginx(paid_config(uses="7"), workers=2)
    mac, pre = buy(n)
    codes = present_concurrently(n.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 7, codes
    assert codes.count(402) == 193, codes


def test_claims_survive_reload(make_nginx):
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone kept:1m;"))
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    n.reload()
    time.sleep(1.0)
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP


def test_never_expiring_single_use_token(make_nginx):
    n = make_nginx(paid_config(uses=None, loc="l402_macaroon_timeout 0;"))
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP


def test_full_zone_refuses_new_claims_and_never_replays(make_nginx):
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone tiny:32k;"))
    s = requests.Session()
    accepted = []
    refused = None
    for _ in range(5000):
        mac, pre = buy(n)
        r = s.get(n.url + "/protected/", headers=auth(mac, pre))
        if r.status_code == 200:
            accepted.append((mac, pre))
            continue
        assert r.status_code == 503, r.status_code
        assert r.headers["Retry-After"].isdigit()
        refused = (mac, pre)
        break
    assert refused is not None, "the zone never filled"
    assert len(accepted) > 100
    # Nothing accepted before is accepted again, and the refused token is still refused.
    for mac, pre in accepted:
        r = s.get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP
    assert s.get(n.url + "/protected/", headers=auth(*refused)).status_code == 503
    assert "usage zone is full" in n.error_log()
    print(f"tiny 32k zone: {len(accepted)} single-use tokens before the first refusal")


RATE = """
    l402_backend fake;
    {extra}
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        {server}
        location /protected/ {{ l402 on; l402_invoice_rate_limit 3r/m; }}
        location /other/ {{ l402 on; }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


def test_invoice_rate_limit_and_spoofed_forwarded_for(make_nginx):
    n = make_nginx(RATE.format(extra="", server=""))
    codes = [requests.get(n.url + "/protected/").status_code for _ in range(3)]
    assert codes == [402, 402, 402]
    r = requests.get(n.url + "/protected/")
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 20
    assert r.headers["X-L402-Reason"] == "too many invoice requests"
    assert "WWW-Authenticate" not in r.headers
    # Without realip, X-Forwarded-For is just a header: it does not make a new client.
    for i in range(5):
        r = requests.get(n.url + "/protected/", headers={"X-Forwarded-For": f"10.9.8.{i}"})
        assert r.status_code == 429
    # Other locations have their own (here: no) limit.
    assert requests.get(n.url + "/other/").status_code == 402


def test_rate_limit_follows_realip(make_nginx):
    """With realip trusting 127.0.0.1, $remote_addr comes from X-Forwarded-For, so each
    forwarded client has its own budget."""
    n = make_nginx(RATE.format(extra="", server="set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;"))
    for client in ("10.0.0.1", "10.0.0.2"):
        h = {"X-Forwarded-For": client}
        codes = [requests.get(n.url + "/protected/", headers=h).status_code for _ in range(4)]
        assert codes == [402, 402, 402, 429], (client, codes)


def test_paid_requests_are_not_rate_limited(make_nginx):
    n = make_nginx(RATE.format(extra="l402_token_uses unlimited;", server=""))
    mac, pre = buy(n)
    for _ in range(10):
        assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200


def test_invoice_rate_limit_config_errors(make_nginx):
    for bad in ("10", "10r/d", "0r/s", "abc", "-1r/s"):
        n = make_nginx(RATE.replace("3r/m", bad).format(extra="", server=""), start=False)
        ok, out = n.test_config()
        assert not ok and "l402_invoice_rate_limit" in out, (bad, out)


def test_internal_redirect_into_paid_location_is_checked_and_claims_once(make_nginx):
    n = make_nginx("""
        l402_backend fake;
        server {
            listen 127.0.0.1:{port};
            root {html};
            location /free/ { try_files /nonexistent /protected/index.html; }
            location /protected/ { l402 on; l402_token_uses 2; }
            location = /.l402/fake/pay { l402_fake_pay; }
        }
    """)
    assert requests.get(n.url + "/free/x").status_code == 402
    mac, pre = buy(n)
    # /protected/ goes through an index redirect, /free/x through try_files: one use each.
    r1 = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    r2 = requests.get(n.url + "/free/x", headers=auth(mac, pre))
    assert (r1.status_code, r1.headers["X-L402-Uses-Remaining"]) == (200, "1")
    assert (r2.status_code, r2.headers["X-L402-Uses-Remaining"]) == (200, "0")
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 402


def test_an_internal_redirect_into_another_paid_location_is_decided_again(make_nginx):
    """The admission of a request stands across an internal redirect only back into the same
    location with a fixed price (access.rs `readmits`): into another service, or under a price
    that depends on the URI, it is decided again."""
    n = make_nginx("""
        l402_backend fake;
        map $uri $price { volatile; ~^/priced/index 30000; default 10000; }
        server {
            listen 127.0.0.1:{port};
            root {html};
            location /protected/ { l402 on; l402_token_uses unlimited; error_page 404 = /other/index.html; }
            location /other/ { l402 on; l402_token_uses unlimited; alias {html}/protected/; }
            location /priced/ { l402 on; l402_token_uses unlimited; l402_amount_msat_default $price;
                                alias {html}/protected/; }
            location = /.l402/fake/pay { l402_fake_pay; }
        }
    """)
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    # A 404 in /protected/ redirects into /other/: another service, so this token is refused.
    r = requests.get(n.url + "/protected/missing", headers=auth(mac, pre))
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == "token not valid for this service", r.headers
    # /priced/ costs 10000 for /priced/ itself, 30000 for its index file (a volatile map: nginx
    # caches other variables for the whole request): a token bought for
    # 10000 there is refused after the index redirect.
    r = requests.get(n.url + "/priced/")
    assert r.status_code == 402
    mac2, inv2 = parse_challenge(r)
    pre2 = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv2}).text.strip()
    r = requests.get(n.url + "/priced/", headers=auth(mac2, pre2))
    assert r.status_code == 402 and "paid less" in r.headers["X-L402-Reason"], r.headers
