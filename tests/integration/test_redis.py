"""Shared state in a real Redis (issue 3): claims atomic across workers and instances, a
3-node Cluster, Redis killed mid-test (fail closed, recover), dynamic prices, rate limits."""
import time

import pytest
import requests

from conftest import auth, buy, paid_config, parse_challenge
from redis_peers import Redis, RedisCluster, RedisSentinel
from test_pricing import invoice_msat
from test_usage import USED_UP, present_concurrently


@pytest.fixture
def redis():
    r = Redis(persist=True)
    try:
        r.start()
        yield r
    finally:
        r.stop()


@pytest.fixture(scope="module")
def cluster():
    c = RedisCluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()


def redis_config(directive, uses=None, loc=""):
    return paid_config(extra=directive, uses=uses, loc=loc)


def use(n, mac, pre):
    return requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)


def test_single_use_in_redis(make_nginx, redis):
    n = make_nginx(redis_config(f"l402_redis {redis.url};"))
    mac, pre = buy(n)
    first = use(n, mac, pre)
    assert first.status_code == 200 and first.headers["X-L402-Uses-Remaining"] == "0"
    second = use(n, mac, pre)
    assert second.status_code == 402 and second.headers["X-L402-Reason"] == USED_UP
    keys = redis.cli("--scan", "--pattern", "l402:use:*").split()
    assert len(keys) == 1
    # Token lifetime 3600 s + 300 s grace.
    assert 3500 < int(redis.cli("TTL", keys[0])) <= 3900


def test_seed_redis_url_environment(make_nginx, redis):
    n = make_nginx(paid_config(uses=None), env={"REDIS_URL": redis.url})
    mac, pre = buy(n)
    assert use(n, mac, pre).status_code == 200
    assert use(n, mac, pre).status_code == 402
    assert len(redis.cli("--scan", "--pattern", "l402:use:*").split()) == 1


def test_race_across_workers(make_nginx, redis):
    n = make_nginx(redis_config(f"l402_redis {redis.url};"), workers=2)
    mac, pre = buy(n)
    codes = present_concurrently(n.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 1 and codes.count(402) == 199, codes
    n7 = make_nginx(redis_config(f"l402_redis {redis.url};", uses="7"), workers=2)
    mac, pre = buy(n7)
    codes = present_concurrently(n7.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 7 and codes.count(402) == 193, codes


def test_two_instances_share_claims(make_nginx, redis):
    conf = redis_config(f"l402_redis {redis.url};")
    a, b = make_nginx(conf), make_nginx(conf)
    mac, pre = buy(a)
    assert use(a, mac, pre).status_code == 200
    r = use(b, mac, pre)
    assert r.status_code == 402 and r.headers["X-L402-Reason"] == USED_UP
    # N uses counted across both, and a race over both instances at once.
    conf3 = redis_config(f"l402_redis {redis.url};", uses="3")
    a3, b3 = make_nginx(conf3), make_nginx(conf3)
    mac, pre = buy(a3)
    got = [use(x, mac, pre).headers.get("X-L402-Uses-Remaining") for x in (a3, b3, a3)]
    assert got == ["2", "1", "0"]
    assert use(b3, mac, pre).status_code == 402
    mac, pre = buy(b3)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda x: present_concurrently(x.url + "/protected/", auth(mac, pre), 100, threads=50), (a3, b3)))
    codes = results[0] + results[1]
    assert codes.count(200) == 3, codes


def test_cluster(make_nginx, cluster):
    conf = redis_config(cluster.directive)
    a, b = make_nginx(conf, workers=2), make_nginx(conf)
    tokens = [buy(a) for _ in range(12)]
    for mac, pre in tokens:
        assert use(a, mac, pre).status_code == 200
        assert use(b, mac, pre).status_code == 402
    assert cluster.count("l402:use:*") >= 12
    mac, pre = buy(a)
    codes = present_concurrently(a.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 1, codes
    n5 = make_nginx(redis_config(cluster.directive, uses="5"), workers=2)
    mac, pre = buy(n5)
    codes = present_concurrently(n5.url + "/protected/", auth(mac, pre), 200)
    assert codes.count(200) == 5, codes


def test_redis_killed_fails_closed_and_recovers(make_nginx, redis):
    n = make_nginx(redis_config(f"l402_redis {redis.url} timeout=300ms connect_timeout=300ms;"), workers=2)
    used_mac, used_pre = buy(n)
    assert use(n, used_mac, used_pre).status_code == 200
    fresh_mac, fresh_pre = buy(n)
    redis.kill()
    for _ in range(20):
        for mac, pre in ((used_mac, used_pre), (fresh_mac, fresh_pre)):
            r = use(n, mac, pre)
            assert r.status_code == 503, r.status_code
            assert int(r.headers["Retry-After"]) >= 1
    # Workers stay up and other locations are served at once.
    t0 = time.time()
    assert requests.get(n.url + "/", timeout=5).status_code == 200
    assert time.time() - t0 < 0.5
    # No challenge at a guessed price either, once the workers' cached price is 2 s old
    # (payment-integrity item 2: tokens are bound to the price they paid).
    time.sleep(2.2)
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
    redis.start()  # same port, same AOF: the claim made before the kill is still there

    def once_reconnected(mac, pre):
        # Each worker reconnects on its own schedule: 503 until the one serving us has.
        deadline = time.time() + 10
        while True:
            r = use(n, mac, pre)
            if r.status_code != 503 or time.time() > deadline:
                return r.status_code
            time.sleep(0.2)

    assert once_reconnected(fresh_mac, fresh_pre) == 200
    assert once_reconnected(used_mac, used_pre) == 402
    assert once_reconnected(fresh_mac, fresh_pre) == 402
    log = n.error_log()
    assert "cannot admit a token through Redis" in log


DYNAMIC = """
    l402_backend fake;
    l402_redis {url};
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location /protected/ {{ l402 on; l402_amount_msat_default 10000; {loc} }}
    }}
"""


def price_of(n, path="/protected/"):
    r = requests.get(n.url + path, timeout=10)
    assert r.status_code == 402, r.status_code
    return invoice_msat(parse_challenge(r)[1])


def test_dynamic_price_from_redis_without_reload(make_nginx, redis):
    redis.cli("SET", "/protected/", "15000")
    n = make_nginx(DYNAMIC.format(url=redis.url, loc=""))
    assert price_of(n) == 15000
    redis.cli("SET", "/protected/", "20000")
    time.sleep(2.2)  # the per-worker cache keeps a price 2 s
    assert price_of(n) == 20000
    redis.cli("DEL", "/protected/")
    time.sleep(2.2)
    assert price_of(n) == 10000


def test_hostile_redis_prices_fall_back_to_configured(make_nginx, redis):
    n = make_nginx(DYNAMIC.format(url=redis.url, loc=""))
    for bad in ("abc", "0", "-5", "1.5", "99999999999999999999999", "", " 100"):
        redis.cli("SET", "/protected/", bad)
        time.sleep(2.1)
        assert price_of(n) == 10000, bad
    redis.cli("HSET", "/protected/", "a", "1")  # wrong type: an error reply, not a price
    time.sleep(2.1)
    assert price_of(n) == 10000
    assert "the Redis price under \"/protected/\" is invalid" in n.error_log()


def test_redis_price_can_be_switched_off(make_nginx, redis):
    redis.cli("SET", "/protected/", "15000")
    n = make_nginx(DYNAMIC.format(url=redis.url, loc="l402_redis_price off;"))
    assert price_of(n) == 10000


RATE = """
    l402_backend fake;
    l402_redis {url} timeout=300ms connect_timeout=300ms;
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        location /protected/ {{ l402 on; l402_invoice_rate_limit 3r/m; }}
    }}
"""


def test_rate_limit_shared_across_instances_and_fails_closed(make_nginx, redis):
    a = make_nginx(RATE.format(url=redis.url))
    b = make_nginx(RATE.format(url=redis.url))
    codes = [requests.get(x.url + "/protected/").status_code for x in (a, b, a, b)]
    assert codes == [402, 402, 402, 429], codes
    r = requests.get(a.url + "/protected/", headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 20
    redis.kill()
    r = requests.get(a.url + "/protected/")
    assert r.status_code == 503, r.status_code
    assert "cannot check the invoice rate limit in Redis" in a.error_log()


def test_redis_config_errors(make_nginx):
    for bad in ("http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:0", "cluster", "sentinel= redis://127.0.0.1:1"):
        n = make_nginx(paid_config(extra=f"l402_redis {bad};"), start=False)
        ok, out = n.test_config()
        assert not ok and "l402_redis" in out, (bad, out)
    n = make_nginx(paid_config(), start=False, env={"REDIS_URL": "not a url"})
    ok, out = n.test_config()
    assert not ok and "REDIS_URL" in out, out


def test_redis_password_never_logged(make_nginx):
    r = Redis(extra=["--requirepass", "s3cret-pw"]).start()
    try:
        n = make_nginx(redis_config(f"l402_redis redis://:wrong-pw@127.0.0.1:{r.port};"))
        # Redis refuses us: no price can be read, so no challenge is made (and nothing served).
        assert requests.get(n.url + "/protected/", timeout=10).status_code == 503
        log = n.error_log()
        assert "wrong-pw" not in log and "s3cret-pw" not in log
        assert "cannot read the price from Redis" in log
    finally:
        r.stop()


def test_sentinel(make_nginx):
    s = RedisSentinel()
    try:
        s.start()
        n = make_nginx(redis_config(s.directive), workers=2)
        mac, pre = buy(n)
        codes = present_concurrently(n.url + "/protected/", auth(mac, pre), 50)
        assert codes.count(200) == 1, codes
        assert len(s.master.cli("--scan", "--pattern", "l402:use:*").split()) == 1
    finally:
        s.stop()
