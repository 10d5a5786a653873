"""The configuration the Docker image ships (packaging/docker/nginx.conf) loads and serves with
the module, with its paths pointed at a temporary prefix (Docker itself is not available on the
test machines; the image builds with the same scripts/build.sh as these tests)."""
import os
import subprocess

import requests

from conftest import MODULE, NGINX, ROOT, ROOT_KEY_HEX, free_port, wait_port


def test_the_docker_configuration_serves_a_paid_location(tmp_path):
    port, upstream = free_port(), free_port()
    text = open(os.path.join(ROOT, "packaging/docker/nginx.conf")).read()
    for old, new in [
        ("/src/build/modules/ngx_http_l402_module.so", MODULE),
        ("user nginx;\n", ""),
        ("/src/build/nginx/logs", str(tmp_path)),
        ("/var/lib/ngx-l402", str(tmp_path)),
        ("http://upstream:8000", f"http://127.0.0.1:{upstream}"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("allow 10.0.0.0/8;", "allow 127.0.0.1;"),
        ("error_log /dev/stderr notice;", f"error_log {tmp_path}/error.log notice;"),
        ("access_log /dev/stdout;", "access_log off;"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    env = dict(os.environ, ROOT_KEY=ROOT_KEY_HEX, LN_CLIENT_TYPE="FAKE")
    t = subprocess.run([NGINX, "-p", str(tmp_path), "-c", str(conf), "-t"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert t.returncode == 0, t.stderr
    p = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert r.status_code == 402 and "L402 macaroon=" in r.headers["WWW-Authenticate"]
        assert requests.get(f"http://127.0.0.1:{port}/.well-known/l402-services", timeout=10).json()["routes"]
        assert "l402_challenges_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        p.terminate()
        p.wait(timeout=30)
    log = (tmp_path / "error.log").read_text()
    assert "[alert]" not in log and "[emerg]" not in log, log
