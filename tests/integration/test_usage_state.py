"""Payment-integrity item 4: claims in the usage zone survive a stop and start, a kill -9 of
every process, a zone resize and a binary upgrade, because the table lives in a usage state
file (`l402_usage_zone name:size state=path`, on by default). A damaged state file or one too
large for the configured zone fails `nginx -t` instead of being forgotten."""
import mmap
import os
import signal
import struct
import subprocess
import time

import pytest
import requests

from conftest import NGINX, auth, buy, paid_config, wait_port
from test_usage import USED_UP

NEVER = "l402_macaroon_timeout 0;"


def refused(n, mac, pre):
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10)
    return r.status_code == 402 and r.headers.get("X-L402-Reason") == USED_UP


def accepted(n, mac, pre):
    return requests.get(n.url + "/protected/", headers=auth(mac, pre), timeout=10).status_code == 200


def pids_of(n):
    """The master's pid and its workers'."""
    master = int(open(os.path.join(n.dir, "logs", "nginx.pid")).read())
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return master, [int(p) for p in out.split()]


def rewrite_zone(n, old, new):
    with open(n.conf_path) as f:
        conf = f.read()
    assert old in conf
    with open(n.conf_path, "w") as f:
        f.write(conf.replace(old, new))


def forget_expected_errors(n):
    """Empties the error log after a test provoked the [emerg]/[alert] it asserts on, so the
    teardown's check for unexpected ones passes."""
    open(os.path.join(n.dir, "logs", "error.log"), "w").close()


def state_file(n, name="l402_usage"):
    return os.path.join(n.dir, f"l402-{name}.state")


@pytest.mark.parametrize("stop", ["quit", "term"])
def test_item4_used_token_refused_after_stop_and_start(make_nginx, stop):
    n = make_nginx(paid_config(uses=None, loc=NEVER), workers=2)
    mac, pre = buy(n)
    assert accepted(n, mac, pre)
    n.stop(graceful=(stop == "quit"))
    n.start()
    assert refused(n, mac, pre)
    assert "1 live claims in state file" in n.error_log()
    # The default state file sits in the prefix, readable by the master's user only.
    assert os.stat(state_file(n)).st_mode & 0o777 == 0o600


def test_item4_n_use_count_kept_across_restart(make_nginx):
    n = make_nginx(paid_config(uses="3", loc=NEVER))
    mac, pre = buy(n)
    assert accepted(n, mac, pre) and accepted(n, mac, pre)
    n.stop()
    n.start()
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 200 and r.headers["X-L402-Uses-Remaining"] == "0"
    assert refused(n, mac, pre)


def test_item4_kill_9_of_every_process_loses_no_claim(make_nginx):
    n = make_nginx(paid_config(uses=None, loc=NEVER), workers=2)
    tokens = [buy(n) for _ in range(20)]
    for mac, pre in tokens:
        assert accepted(n, mac, pre)
    master, workers = pids_of(n)
    for pid in [master] + workers:
        os.kill(pid, signal.SIGKILL)
    n.proc.wait(timeout=10)
    n.start()
    for mac, pre in tokens:
        assert refused(n, mac, pre)


def test_item4_lock_left_by_a_dead_process_is_cleared(make_nginx):
    """A lock word left set (a worker killed inside the critical section) neither hangs the
    next start (cleared when no process maps the file) nor a running nginx (taken over)."""
    n = make_nginx(paid_config(uses=None, loc=NEVER))
    mac, pre = buy(n)
    assert accepted(n, mac, pre)
    n.stop()
    dead = 4_000_000  # above any pid_max: never a live process
    with open(state_file(n), "r+b") as f:
        f.seek(24)
        f.write(struct.pack("=Q", dead))
    n.start()
    assert refused(n, mac, pre)
    # Now set it under a running nginx: the next claim takes the lock over and says so.
    with open(state_file(n), "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        m[24:32] = struct.pack("=Q", dead)
    t = time.monotonic()
    mac2, pre2 = buy(n)
    assert accepted(n, mac2, pre2)
    assert time.monotonic() - t < 3
    assert refused(n, mac, pre) and refused(n, mac2, pre2)
    log = n.error_log()
    assert f"took over the usage table lock from process {dead}" in log
    forget_expected_errors(n)


@pytest.mark.parametrize("state", ["", " state=off"])
def test_item4_resize_and_reload_keeps_claims(make_nginx, state):
    n = make_nginx(paid_config(uses=None, loc=NEVER, extra=f"l402_usage_zone grow:1m{state};"), workers=2)
    tokens = [buy(n) for _ in range(30)]
    for mac, pre in tokens:
        assert accepted(n, mac, pre)
    for size in ("2m", "64k"):
        rewrite_zone(n, "l402_usage_zone grow:", f"l402_usage_zone grow:{size}{state}; #")
        ok, out = n.test_config()
        assert ok, out
        n.reload()
        deadline = time.time() + 10
        while time.time() < deadline and len(pids_of(n)[1]) != 2:
            time.sleep(0.1)
        time.sleep(1.0)
        for mac, pre in tokens:
            assert refused(n, mac, pre), size
    log = n.error_log()
    if state:
        assert "carried 30 claims into the new zone" in log
    else:
        assert "resized from" in log and "30 live claims kept" in log


def test_item4_zone_too_small_for_the_state_fails_nginx_t(make_nginx):
    n = make_nginx(paid_config(uses=None, loc=NEVER, extra="l402_usage_zone big:128k;"))
    s = requests.Session()
    for _ in range(1100):
        mac, pre = buy(n)
        assert s.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    n.stop()
    rewrite_zone(n, "l402_usage_zone big:128k;", "l402_usage_zone big:32k;")
    ok, out = n.test_config()
    assert not ok
    assert "too small for the 1100 live claims" in out and "make it at least" in out
    forget_expected_errors(n)
    # The state file is untouched: the larger zone still refuses every used token.
    rewrite_zone(n, "l402_usage_zone big:32k;", "l402_usage_zone big:128k;")
    n.start()
    assert refused(n, mac, pre)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty-header"])
def test_item4_damaged_state_file_fails_nginx_t_with_a_clear_message(make_nginx, damage):
    n = make_nginx(paid_config(uses=None, loc=NEVER))
    mac, pre = buy(n)
    assert accepted(n, mac, pre)
    n.stop()
    path = state_file(n)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write({"garbage": b"not a table" * 100, "truncated": data[: len(data) // 2],
                 "empty-header": b"\0" * 64 + data[64:]}[damage])
    ok, out = n.test_config()
    assert not ok
    assert path in out and "move it away" in out, out
    proc = subprocess.run([NGINX, "-p", n.dir, "-g", "daemon off;"], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode != 0
    forget_expected_errors(n)
    # Moved away, nginx starts with an empty table, as the message says.
    os.rename(path, path + ".bad")
    n.start()


def test_item4_state_off_is_warned_and_the_default_is_not(make_nginx):
    n = make_nginx(paid_config(uses=None), start=False)
    ok, out = n.test_config()
    assert ok and "state=off" not in out, out
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone z:1m state=off;"), start=False)
    ok, out = n.test_config()
    assert ok and "state=off: its claims are lost when nginx stops" in out, out
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone z:1m stat=x;"), start=False)
    ok, out = n.test_config()
    assert not ok and "unknown parameter" in out, out


def test_item4_unwritable_state_directory_fails_nginx_t(make_nginx):
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone z:1m state=/proc/l402/z.state;"),
                   start=False)
    ok, out = n.test_config()
    assert not ok and "/proc/l402" in out and "cannot be created" in out, out


def wait_gone(pid, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_item4_binary_upgrade_shares_one_table(make_nginx):
    """USR2 starts a second generation on the same state file: both share one table and one
    lock, so a token used on either is refused on both; after WINCH and QUIT of the old
    master, the new one still refuses it. (nginx only upgrades a daemonised master.)"""
    n = make_nginx(paid_config(uses=None, loc=NEVER), workers=2, start=False)
    ok, out = n.test_config()
    assert ok, out
    subprocess.run([NGINX, "-p", n.dir], env=n.env, check=True, timeout=30)
    wait_port(n.port)
    pid_path = os.path.join(n.dir, "logs", "nginx.pid")
    old_master = int(open(pid_path).read())
    new_master = None
    try:
        before = buy(n)
        assert accepted(n, *before)
        os.kill(old_master, signal.SIGUSR2)
        deadline = time.time() + 15
        while time.time() < deadline and new_master is None:
            if os.path.exists(pid_path + ".oldbin") and os.path.exists(pid_path):
                try:
                    new_master = int(open(pid_path).read())
                except ValueError:
                    pass
            time.sleep(0.1)
        assert new_master and new_master != old_master, n.error_log()[-2000:]
        time.sleep(1.0)
        assert "shared with the processes still using it" in n.error_log()
        # Both generations accept connections now; every token is claimed once. (Each
        # generation's fake backend has its own node key, so a token is bought from one worker.)
        s = requests.Session()
        during = [buy(n, session=requests.Session()) for _ in range(20)]
        for mac, pre in during:
            assert s.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
        for tok in [before] + during:
            for _ in range(3):
                assert refused(n, *tok)
        os.kill(old_master, signal.SIGWINCH)
        time.sleep(1.0)
        os.kill(old_master, signal.SIGQUIT)
        assert wait_gone(old_master)
        for tok in [before] + during:
            assert refused(n, *tok)
    finally:
        for pid in (new_master, old_master):
            if pid:
                try:
                    os.kill(pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
                wait_gone(pid)
    assert not n.bad_log_lines(), n.bad_log_lines()


def test_item4_state_file_deleted_while_running_is_rewritten_on_reload(make_nginx):
    n = make_nginx(paid_config(uses=None, loc=NEVER))
    mac, pre = buy(n)
    assert accepted(n, mac, pre)
    os.unlink(state_file(n))
    n.reload()
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(state_file(n)):
        time.sleep(0.1)
    assert "1 claims carried over" in n.error_log()
    n.stop()
    n.start()
    assert refused(n, mac, pre)


def test_item4_state_path_that_is_a_symlink_is_refused(make_nginx, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    n = make_nginx(paid_config(uses=None, extra="l402_usage_zone z:1m state=z.state;"), start=False)
    os.symlink(victim, os.path.join(n.dir, "z.state"))
    ok, out = n.test_config()
    assert not ok and "z.state" in out, out
    assert victim.read_bytes() == b""
