"""The worker never blocks: with a slow backend and one worker, pending challenges do not slow
anything else; reload, quit and client disconnects with challenges in flight lose nothing."""
import concurrent.futures as cf
import signal
import socket
import time

import requests

from conftest import paid_config

SLOW = "l402_fake_delay 1s;"


def challenge_status(url):
    return requests.get(url + "/protected/", timeout=20).status_code


def test_pending_challenges_do_not_slow_free_location(make_nginx):
    n = make_nginx(paid_config(extra=SLOW), workers=1)
    with cf.ThreadPoolExecutor(max_workers=60) as pool:
        t0 = time.time()
        pending = [pool.submit(challenge_status, n.url) for _ in range(50)]
        time.sleep(0.2)  # all 50 are now suspended in the single worker
        latencies = []
        with requests.Session() as s:
            while time.time() - t0 < 0.9:
                t = time.time()
                r = s.get(n.url + "/", timeout=5)
                latencies.append(time.time() - t)
                assert r.status_code == 200
        statuses = [f.result() for f in pending]
        elapsed = time.time() - t0
    assert statuses == [402] * 50
    assert len(latencies) > 10
    assert max(latencies) < 0.2, max(latencies)
    # all 50 were served together, not one after another (50 x 1 s)
    assert elapsed < 5, elapsed
    print(f"free requests during 50 pending challenges: n={len(latencies)} "
          f"max={max(latencies)*1000:.1f} ms; 50 challenges done in {elapsed:.2f} s")


def test_reload_with_challenges_in_flight(make_nginx):
    n = make_nginx(paid_config(extra=SLOW), workers=2)
    with cf.ThreadPoolExecutor(max_workers=20) as pool:
        pending = [pool.submit(challenge_status, n.url) for _ in range(20)]
        time.sleep(0.3)
        n.reload()
        statuses = [f.result() for f in pending]
    assert statuses == [402] * 20
    time.sleep(0.5)
    assert requests.get(n.url + "/protected/", timeout=10).status_code == 402
    assert requests.get(n.url + "/", timeout=10).status_code == 200


def test_graceful_quit_answers_challenges_in_flight(make_nginx):
    n = make_nginx(paid_config(extra=SLOW), workers=2)
    with cf.ThreadPoolExecutor(max_workers=20) as pool:
        pending = [pool.submit(challenge_status, n.url) for _ in range(20)]
        time.sleep(0.3)
        n.signal(signal.SIGQUIT)
        statuses = [f.result() for f in pending]
    assert statuses == [402] * 20
    n.proc.wait(timeout=10)
    assert n.proc.returncode == 0


def test_client_disconnect_while_waiting(make_nginx):
    n = make_nginx(paid_config(extra=SLOW), workers=1)
    for _ in range(30):
        s = socket.create_connection(("127.0.0.1", n.port))
        s.sendall(b"GET /protected/ HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
    time.sleep(1.5)  # all jobs complete after their clients left
    assert requests.get(n.url + "/", timeout=5).status_code == 200
    assert requests.get(n.url + "/protected/", timeout=5).status_code == 402
    # the worker still holds no request: a graceful quit finishes at once
    t = time.time()
    n.signal(signal.SIGQUIT)
    n.proc.wait(timeout=10)
    assert time.time() - t < 3


def test_fast_shutdown_with_challenges_in_flight(make_nginx):
    n = make_nginx(paid_config(extra="l402_fake_delay 5s;"), workers=1)
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", n.port))
        s.sendall(b"GET /protected/ HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    time.sleep(0.3)
    n.signal(signal.SIGTERM)
    n.proc.wait(timeout=10)
    for s in socks:
        s.close()


def test_max_pending_gives_503(make_nginx):
    n = make_nginx(paid_config(extra=SLOW + " l402_max_pending 5;"), workers=1)
    with cf.ThreadPoolExecutor(max_workers=12) as pool:
        statuses = sorted(f.result() for f in [pool.submit(challenge_status, n.url)
                                               for _ in range(12)])
    assert statuses.count(402) == 5, statuses
    assert statuses.count(503) == 7, statuses


def test_http2_challenge_and_access(make_nginx):
    """Suspension works on HTTP/2 streams too (the request's connection is a fake one)."""
    import shutil
    import subprocess
    from conftest import paid_config as pc, parse_challenge
    curl = shutil.which("curl")
    assert curl, "curl is required"
    n = make_nginx(pc(extra="http2 on;" + SLOW), workers=1)
    def h2(path, *extra):
        return subprocess.run([curl, "-s", "--http2-prior-knowledge", "-o", "/dev/null",
                               "-w", "%{http_version} %{http_code}", *extra, n.url + path],
                              capture_output=True, text=True, timeout=30).stdout
    # (curl 7.88 cannot reuse an h2c connection across URLs: one invocation per request)
    assert h2("/protected/") == "2 402"
    assert h2("/") == "2 200"
    r = requests.get(n.url + "/protected/")
    mac, inv = parse_challenge(r)
    pre = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv}).text.strip()
    assert h2("/protected/", "-H", f"Authorization: L402 {mac}:{pre}") == "2 200"
