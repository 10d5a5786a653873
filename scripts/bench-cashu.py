#!/usr/bin/env python3
"""make bench-cashu: the Cashu P2PK paid request through nginx against plain nginx serving the
same file, in one run, with the same client. A real Nutshell mint (FakeWallet) and a real
wallet (tests/integration/cashu_wallet.py) make N P2PK-locked tokens of one proof each first
(every request needs fresh proofs); then N requests with C keep-alive connections go to the
plain location and N, each with its own token, to the paid one. Prints req/s of both and the
ratio (goal of issue 11: >= 0.5).
  N (default 600), C (default 8)
"""
import http.client
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from cashu_peers import CashuWallet, NutshellMint, p2pk_keypair  # noqa: E402
from conftest import Nginx  # noqa: E402

N = int(os.environ.get("N", "600"))
C = int(os.environ.get("C", "8"))

CONFIG = """
    l402_backend fake;
    l402_cashu_mode p2pk;
    l402_cashu_mints {mint};
    l402_cashu_allow_http on;
    l402_cashu_p2pk_key_file {key_file};
    l402_cashu_db {db};
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        root {{html}};
        location /plain/ {{ alias {{html}}/protected/; }}
        location /protected/ {{ l402 on; l402_amount_msat_default 1000; }}
    }}
"""


def run(port, path, headers_list):
    """Sends one request per entry of headers_list over C keep-alive connections."""
    lock = threading.Lock()
    queue = list(enumerate(headers_list))
    codes = {}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                i, headers = queue.pop()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            codes[r.status] = codes.get(r.status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(C)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(headers_list) / (time.perf_counter() - t0), codes


def main():
    mint = NutshellMint()
    mint.start()
    wallet = CashuWallet()
    work = tempfile.mkdtemp(prefix="l402-bench-cashu-")
    os.chmod(work, 0o777)
    priv, pub = p2pk_keypair()
    key_file = os.path.join(work, "cashu.key")
    with open(key_file, "w") as f:
        f.write(priv)
    os.chmod(key_file, 0o600)
    n = Nginx(CONFIG.format(mint=mint.url, key_file=key_file, db=os.path.join(work, "cashu.db")), workers=2)
    try:
        t0 = time.time()
        wallet.fund(mint.url, N + 10)
        tokens = [wallet.send_token(mint.url, 1, p2pk_pubkey=pub, locktime=int(time.time()) + 7200) for _ in range(N)]
        made = time.time() - t0
        n.start()
        deadline = time.time() + 20
        while time.time() < deadline and n.error_log().count("keysets loaded") < 2:
            time.sleep(0.1)
        run(n.port, "/plain/", [{}] * 50)  # warm-up
        plain, plain_codes = run(n.port, "/plain/", [{}] * N)
        paid, paid_codes = run(n.port, "/protected/", [{"X-Cashu": t} for t in tokens])
        assert plain_codes == {200: N} and paid_codes == {200: N}, (plain_codes, paid_codes)
        print(f"tokens made: {N} in {made:.1f} s (one proof each, by the wallet)")
        print(f"plain nginx (same file)            {plain:9.0f} req/s")
        print(f"Cashu P2PK paid request (1 proof)  {paid:9.0f} req/s")
        print(f"ratio P2PK / plain: {paid / plain:.3f} (goal >= 0.5)  N={N} C={C}, 2 workers, Nutshell {mint.info().get('version')}")
    finally:
        n.stop()
        wallet.close()
        mint.stop()
        mint.cleanup()


if __name__ == "__main__":
    main()
