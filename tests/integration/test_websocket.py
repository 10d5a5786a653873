"""WebSocket clients through `proxy_pass`: browsers cannot set `Authorization` on a WebSocket, so
a location may take the credential from a query parameter (`l402_query_credential`); the access
log can use `$l402_request_uri_redacted`, which never holds it (issue 13, WebSocket)."""
import threading
import urllib.parse

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import serve

from conftest import buy, free_port

SERVER = """
    l402_backend fake;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    log_format redacted '$l402_request_uri_redacted $status $l402_status';
    server {{
        listen 127.0.0.1:{{port}};
        root {{html}};
        access_log logs/access.log redacted;
        location /ws/ {{
            l402 on;
            l402_amount_msat_default 1000;
            l402_token_uses unlimited;
            {query}
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


@pytest.fixture
def upstream():
    port = free_port()

    def echo(ws):
        for message in ws:
            ws.send("echo:" + message)

    server = serve(echo, "127.0.0.1", port)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield port
    server.shutdown()
    t.join(timeout=5)


def config(upstream, query="l402_query_credential l402;"):
    return SERVER.format(upstream=upstream, query=query)


def token(n):
    mac, pre = buy(n, path="/ws/")
    return f"{mac}:{pre}"


def test_unpaid_upgrade_gets_402(make_nginx, upstream):
    n = make_nginx(config(upstream))
    with pytest.raises(InvalidStatus) as e:
        connect(f"ws://127.0.0.1:{n.port}/ws/", open_timeout=10)
    assert e.value.response.status_code == 402
    assert any("L402 macaroon=" in h for h in e.value.response.headers.get_all("WWW-Authenticate"))


def test_credential_in_the_query_opens_the_socket_and_never_reaches_the_log(make_nginx, upstream):
    n = make_nginx(config(upstream))
    cred = token(n)
    q = urllib.parse.quote(cred, safe="")
    with connect(f"ws://127.0.0.1:{n.port}/ws/?room=1&l402={q}", open_timeout=10) as ws:
        ws.send("hi")
        assert ws.recv(timeout=10) == "echo:hi"
    # Authorization works as well (non-browser clients).
    with connect(f"ws://127.0.0.1:{n.port}/ws/", additional_headers={"Authorization": f"L402 {cred}"},
                 open_timeout=10) as ws:
        ws.send("yo")
        assert ws.recv(timeout=10) == "echo:yo"
    n.stop()
    log = open(f"{n.dir}/logs/access.log").read()
    assert "/ws/?room=1&l402=REDACTED 101 paid" in log, log
    mac, pre = cred.rsplit(":", 1)
    assert pre not in log and mac[:40] not in log and q[:40] not in log
    assert pre not in n.error_log()


def test_the_query_parameter_is_refused_where_not_opted_in(make_nginx, upstream):
    n = make_nginx(config(upstream, query=""))
    q = urllib.parse.quote(token(n), safe="")
    with pytest.raises(InvalidStatus) as e:
        connect(f"ws://127.0.0.1:{n.port}/ws/?l402={q}", open_timeout=10)
    assert e.value.response.status_code == 402


def test_a_bad_query_credential_gets_a_fresh_challenge(make_nginx, upstream):
    n = make_nginx(config(upstream))
    for bad in ("%zz", "nonsense", "a" * 5000):
        r = requests.get(f"{n.url}/ws/?l402={bad}", timeout=10)
        assert r.status_code == 402, bad


def test_query_parameter_name_is_checked(make_nginx, upstream):
    n = make_nginx(config(upstream, query='l402_query_credential "a b";'), start=False)
    ok, out = n.test_config()
    assert not ok and "l402_query_credential" in out
