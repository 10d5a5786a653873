"""Cashu P2PK payments through a real nginx, with tokens minted by a real wallet at real
mints (Nutshell and cdk-mintd, cashu_peers.py): the 402's X-Cashu offer (NUT-18), payment by
X-Cashu and by `Authorization: Cashu`, V4 and V3 tokens, every refusal a 400 with
X-Cashu-Reason, the same token accepted exactly once across two workers, proofs stored
for redemption, a mint down not stopping P2PK payments, no proof or key in the log."""
import base64
import concurrent.futures
import os
import sqlite3
import tempfile
import time

import cbor2
import pytest
import requests

from test_redis import cluster, redis  # noqa: F401 (fixtures)
from cashu_peers import (cdk_mint, decode_token, encode_token, nutshell_mint, p2pk_keypair,  # noqa: F401
                         send_token, token_ys)

PRICE_MSAT = 10_000  # 10 sat

CONFIG = """
    l402_backend fake;
    l402_cashu_mode p2pk;
    l402_cashu_mints {mints};
    l402_cashu_allow_http on;
    l402_cashu_p2pk_key_file {key_file};
    l402_cashu_db {db};
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        root {{html}};
        location / {{ }}
        location /protected/ {{
            l402 on;
            l402_amount_msat_default {price};
        }}
        location /lightning-only/ {{
            l402 on;
            l402_cashu off;
            alias {{html}}/protected/;
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
        location = /metrics {{ l402_metrics; }}
    }}
"""

KINDS = ["nutshell", "cdk"]


@pytest.fixture(params=KINDS)
def mint(request):
    return request.getfixturevalue(f"{request.param}_mint")


@pytest.fixture(scope="module")
def keys():
    return p2pk_keypair()


def start(make_nginx, tmp_path, mints, keys, workers=1, price=PRICE_MSAT, extra="", db=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    key_file = tmp_path / "cashu.key"
    key_file.write_text(keys[0] + "\n")
    os.chmod(key_file, 0o600)
    # The workers (user nobody when nginx starts as root) create the store there: a directory
    # they can reach (pytest's tmp_path is under a 0700 directory).
    if db is None:
        store_dir = tempfile.mkdtemp(prefix="l402-cashu-store-")
        os.chmod(store_dir, 0o777)
        db = os.path.join(store_dir, "cashu.db")
    http = extra + CONFIG.format(mints=" ".join(m.url for m in mints), key_file=key_file, db=db, price=price)
    n = make_nginx(http, workers=workers)
    # The workers load the keysets in the background after they start.
    deadline = time.time() + 20
    while time.time() < deadline and n.error_log().count("keysets loaded") < workers * len(mints):
        time.sleep(0.1)
    assert n.error_log().count("keysets loaded") >= workers * len(mints), n.error_log()
    return n, db


def pay(n, token, how="x-cashu", path="/protected/"):
    headers = {"X-Cashu": token} if how == "x-cashu" else {"Authorization": f"Cashu {token}"}
    return requests.get(n.url + path, headers=headers, timeout=20)


def locked(mint, keys, amount=10, **kw):
    kw.setdefault("locktime", int(time.time()) + 3 * 3600)
    return send_token(mint.url, amount, p2pk_pubkey=keys[1], **kw)


def creq(text):
    assert text.startswith("creqA"), text
    raw = text[5:]
    return cbor2.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def test_the_402_offers_cashu_locked_to_our_key(make_nginx, tmp_path, nutshell_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 402
    assert r.headers["WWW-Authenticate"].startswith(("LSAT", "L402"))  # L402 still first
    req = creq(r.headers["X-Cashu"])
    assert (req["a"], req["u"], req["m"]) == (10, "sat", [nutshell_mint.url.rstrip("/")])
    assert req["nut10"]["k"] == "P2PK" and req["nut10"]["d"] == keys[1]
    # A location with Cashu off offers Lightning only.
    r = requests.get(n.url + "/lightning-only/", timeout=10)
    assert r.status_code == 402 and "X-Cashu" not in r.headers


@pytest.mark.parametrize("version, how", [("B", "x-cashu"), ("A", "authorization")])
def test_a_locked_token_pays_once(make_nginx, tmp_path, mint, keys, version, how):
    n, db = start(make_nginx, tmp_path, [mint], keys)
    token = locked(mint, keys, version=version)
    r = pay(n, token, how)
    assert (r.status_code, r.text) == (200, "paid content\n"), (r.status_code, r.headers)
    again = pay(n, token, how)
    assert again.status_code == 400, again.headers
    assert again.headers["X-Cashu-Reason"] == "proof already spent"
    # Stored for redemption, each proof once.
    with sqlite3.connect(db) as c:
        rows = c.execute("select count(*) from proofs").fetchone()[0]
    assert rows == len(token_ys(token)) > 0
    log = n.error_log()
    for y in token_ys(token):
        assert y not in log
    assert token not in log and keys[0] not in log


def test_client_mistakes_are_400_with_a_reason(make_nginx, tmp_path, nutshell_mint, cdk_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    other_key = p2pk_keypair()
    cases = [
        ("not locked", send_token(nutshell_mint.url, 10), "proof not locked"),
        ("locked to another key", send_token(nutshell_mint.url, 10, p2pk_pubkey=other_key[1]), "proof locked to another key"),
        ("lock expires too soon", locked(nutshell_mint, keys, locktime=int(time.time()) + 60), "lock expires too soon"),
        ("too little", locked(nutshell_mint, keys, amount=4), "amount too low"),
        ("an unlisted mint", locked(cdk_mint, keys), "mint not accepted"),
        ("garbage", "cashuBnotatoken", "malformed token"),
    ]
    for what, token, reason in cases:
        r = pay(n, token)
        assert r.status_code == 400, (what, r.status_code, r.headers)
        assert r.headers["X-Cashu-Reason"] == reason, (what, r.headers["X-Cashu-Reason"])
    # The unlisted mint was never asked anything about that token (no checkstate, no keys).
    assert "/v1/checkstate" not in cdk_mint.log_tail(200)


def test_a_forged_proof_is_refused(make_nginx, tmp_path, nutshell_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    tok = decode_token(locked(nutshell_mint, keys))
    # A fabricated C (the DLEQ no longer verifies), and no DLEQ at all.
    forged = dict(tok, proofs=[dict(p, C=tok["proofs"][0]["C"][:-2] + ("00" if tok["proofs"][0]["C"][-2:] != "00" else "01"))
                               for p in tok["proofs"]])
    r = pay(n, encode_token(forged))
    assert r.status_code == 400 and "dleq" in r.headers["X-Cashu-Reason"], r.headers
    bare = dict(tok, proofs=[{k: v for k, v in p.items() if k != "dleq"} for p in tok["proofs"]])
    r = pay(n, encode_token(bare))
    assert r.status_code == 400 and r.headers["X-Cashu-Reason"] == "missing dleq proof", r.headers
    # The genuine token still pays: nothing of it was marked spent by the refusals.
    assert pay(n, encode_token(tok)).status_code == 200


def test_one_token_across_two_workers_is_accepted_once(make_nginx, tmp_path, nutshell_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys, workers=2)
    token = locked(nutshell_mint, keys)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: pay(n, token).status_code, range(32)))
    assert sorted(set(codes)) == [200, 400] and codes.count(200) == 1, codes


def test_p2pk_payments_go_on_while_the_mint_is_down(make_nginx, tmp_path, nutshell_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    token = locked(nutshell_mint, keys)
    nutshell_mint.stop()
    try:
        t0 = time.time()
        r = pay(n, token)
        assert r.status_code == 200 and time.time() - t0 < 2, r.headers
        assert requests.get(n.url + "/", timeout=5).status_code == 200
    finally:
        nutshell_mint.start()


def test_a_store_the_workers_cannot_write_is_said_at_start(make_nginx, tmp_path, nutshell_mint, keys):
    key_file = tmp_path / "cashu.key"
    key_file.write_text(keys[0] + "\n")
    os.chmod(key_file, 0o600)
    store_dir = tempfile.mkdtemp(prefix="l402-cashu-ro-")
    os.chmod(store_dir, 0o755)  # the master's (root's), not the workers' (nobody)
    http = CONFIG.format(mints=nutshell_mint.url, key_file=key_file, db=os.path.join(store_dir, "cashu.db"),
                         price=PRICE_MSAT)
    n = make_nginx(http)
    deadline = time.time() + 10
    while time.time() < deadline and "proof store cannot be used" not in n.error_log():
        time.sleep(0.1)
    if os.geteuid() != 0:
        pytest.skip("the workers run as this user: the directory is writable for them")
    assert "directory must be writable by the worker user" in n.error_log()
    r = pay(n, locked(nutshell_mint, keys))
    assert r.status_code == 503 and "Retry-After" in r.headers



@pytest.mark.parametrize("store", ["standalone", "cluster"])
def test_one_token_across_two_instances_sharing_redis(make_nginx, tmp_path, nutshell_mint, keys, request, store):
    """Two nginx instances (two hosts: each its own proof store) with two workers each share
    Redis: 32 concurrent presentations of one token spread over both give exactly one 200, and
    the token is refused on both afterwards."""
    directive = f"l402_redis {request.getfixturevalue('redis').url};" if store == "standalone" else \
        request.getfixturevalue("cluster").directive
    a, _ = start(make_nginx, tmp_path / "a", [nutshell_mint], keys, workers=2, extra=directive)
    b, _ = start(make_nginx, tmp_path / "b", [nutshell_mint], keys, workers=2, extra=directive)
    token = locked(nutshell_mint, keys)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: pay(a if i % 2 else b, token).status_code, range(32)))
    assert codes.count(200) == 1 and set(codes) == {200, 400}, codes
    for n in (a, b):
        r = pay(n, token)
        assert r.status_code == 400 and r.headers["X-Cashu-Reason"] == "proof already spent"
    if store == "standalone":
        # Each proof is remembered until the token's lock ends (3 h from now), not for ever.
        for y in token_ys(token):
            ttl = int(request.getfixturevalue("redis").cli("TTL", "l402:{proofs}:" + y))
            assert 3 * 3600 - 120 < ttl <= 3 * 3600, ttl


def test_metrics_count_cashu_payments_and_refusals(make_nginx, tmp_path, nutshell_mint, keys):
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    token = locked(nutshell_mint, keys)
    assert pay(n, token).status_code == 200
    assert pay(n, token).status_code == 400
    text = requests.get(n.url + "/metrics", timeout=5).text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    paid = [v for k, v in samples.items() if k.startswith("l402_paid_requests_total{") and 'method="cashu"' in k]
    revenue = [v for k, v in samples.items() if k.startswith("l402_revenue_msat_total{") and 'method="cashu"' in k]
    spent = [v for k, v in samples.items() if k.startswith("l402_refusals_total{") and 'reason="cashu_spent"' in k]
    assert (paid, revenue, spent) == ([1.0], [float(PRICE_MSAT)], [1.0]), text


def test_spent_proofs_stay_spent_across_a_restart_and_a_reload(make_nginx, tmp_path, nutshell_mint, keys):
    """The zone's state file keeps spent proofs like token claims: a replay after a reload or
    a stop and start is still refused."""
    n, _ = start(make_nginx, tmp_path, [nutshell_mint], keys)
    token = locked(nutshell_mint, keys)
    assert pay(n, token).status_code == 200
    n.reload()
    time.sleep(1)
    assert pay(n, token).status_code == 400
    n.stop()
    n.start()
    deadline = time.time() + 20
    while time.time() < deadline and n.error_log().count("keysets loaded") < 2:
        time.sleep(0.1)
    r = pay(n, token)
    assert r.status_code == 400 and r.headers["X-Cashu-Reason"] == "proof already spent", r.headers
