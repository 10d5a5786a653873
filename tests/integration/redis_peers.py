"""Real Redis servers for the tests (README, "Tests"): standalone, persisted, and a 3-node
Cluster, each on free 127.0.0.1 ports in a temp dir, stopped at teardown."""
import os
import shutil
import subprocess
import tempfile
import time

from conftest import free_port, wait_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class Redis:
    """One redis-server. `persist=True` writes every command to an fsync'd AOF, so a SIGKILL
    and restart keeps the claims (what a production Redis for claims must do)."""

    def __init__(self, port=None, persist=False, extra=()):
        self.dir = tempfile.mkdtemp(prefix="l402-redis-")
        self.port = port or free_port()
        self.persist = persist
        self.extra = list(extra)
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        args = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persist else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args + self.extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        deadline = time.time() + 10
        while time.time() < deadline and self.cli("PING").strip() != "PONG":
            time.sleep(0.05)
        return self

    def kill(self):
        """SIGKILL: no shutdown, no final save."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args):
        p = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True, text=True, timeout=10)
        return p.stdout


def cluster_port():
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    import random
    import socket
    for _ in range(200):
        p = random.randint(20000, 29999)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 10000))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")


class RedisCluster:
    """Three masters, no replicas (`redis-cli --cluster create`)."""

    def __init__(self, nodes=3):
        self.nodes = [Redis(port=cluster_port(), extra=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                   "--cluster-node-timeout", "2000"]) for _ in range(nodes)]

    def start(self):
        for n in self.nodes:
            n.start()
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run([REDIS_CLI, "--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"],
                       capture_output=True, text=True, timeout=60, check=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
                return self
            time.sleep(0.1)
        raise RuntimeError("cluster did not become ok")

    @property
    def directive(self):
        return "l402_redis cluster " + " ".join(n.url for n in self.nodes) + ";"

    def stop(self):
        for n in self.nodes:
            n.stop()

    def count(self, pattern):
        total = 0
        for n in self.nodes:
            out = n.cli("--scan", "--pattern", pattern)
            total += len([l for l in out.splitlines() if l.strip()])
        return total


class RedisSentinel:
    """A master and one sentinel monitoring it as `mymaster`."""

    def __init__(self):
        self.master = Redis()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="l402-sentinel-")
        self.proc = None

    def start(self):
        self.master.start()
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {self.master.port} 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\n")
        self.proc = subprocess.Popen([REDIS, conf, "--sentinel"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    @property
    def directive(self):
        return f"l402_redis sentinel=mymaster redis://127.0.0.1:{self.port};"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.master.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
