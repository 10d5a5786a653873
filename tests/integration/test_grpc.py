"""gRPC clients (Aperture's: Loop, Pool) through `grpc_pass`: an unpaid call gets the challenge
the way Aperture gives it (HTTP 200 Trailers-Only, `grpc-status` 13, the `WWW-Authenticate`
lines in the trailers); a paid call reaches the upstream, with the credential in `macaroon`
metadata (hex of the macaroon with a `preimage=` caveat) or `authorization` (issue 13, gRPC)."""
import base64
import re
from concurrent import futures

import grpc
import pytest
import requests
from pymacaroons import Macaroon

from conftest import free_port

METHOD = "/echo.Echo/Say"

SERVER = """
    l402_backend fake;
    server {{
        listen 127.0.0.1:{{port}};
        http2 on;
        location / {{
            l402 on;
            l402_amount_msat_default 2000;
            l402_token_uses unlimited;
            grpc_pass grpc://127.0.0.1:{upstream};
        }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
    server {{
        listen 127.0.0.1:{{port2}};
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
"""


class Echo(grpc.GenericRpcHandler):
    def service(self, details):
        if details.method != METHOD:
            return None
        return grpc.unary_unary_rpc_method_handler(lambda req, ctx: b"echo:" + req)


@pytest.fixture
def upstream():
    port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Echo(),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield port
    server.stop(grace=None)


def call(n, metadata=None):
    with grpc.insecure_channel(f"127.0.0.1:{n.port}") as ch:
        say = ch.unary_unary(METHOD)
        return say(b"hi", metadata=metadata, timeout=10)


def challenge(n):
    with pytest.raises(grpc.RpcError) as e:
        call(n)
    err = e.value
    trailers = dict(err.trailing_metadata() or ())
    return err, trailers


def pay(n, invoice):
    r = requests.get(f"http://127.0.0.1:{n.ports[1]}/.l402/fake/pay", params={"invoice": invoice}, timeout=10)
    assert r.status_code == 200
    return r.text.strip()


def test_unpaid_call_gets_status_13_and_the_challenge_in_trailers(make_nginx, upstream):
    n = make_nginx(SERVER.format(upstream=upstream), ports=2)
    err, trailers = challenge(n)
    assert err.code() == grpc.StatusCode.INTERNAL
    assert err.details() == "payment required"
    # Aperture's client regex on the trailers.
    m = re.search(r'(LSAT|L402) macaroon="(.*?)", invoice="(.*?)"', trailers["www-authenticate"])
    assert m and m.group(3).startswith("lnbcrt")


def test_paid_call_with_macaroon_metadata_reaches_the_upstream(make_nginx, upstream):
    n = make_nginx(SERVER.format(upstream=upstream), ports=2)
    _, trailers = challenge(n)
    m = re.search(r'L402 macaroon="(.*?)", invoice="(.*?)"', trailers["www-authenticate"])
    mac_b64, invoice = m.group(1), m.group(2)
    pre = pay(n, invoice)
    # Aperture's gRPC credential: hex(macaroon with a preimage caveat) in `macaroon` metadata.
    mac = Macaroon.deserialize(mac_b64)
    mac.add_first_party_caveat(f"preimage={pre}")
    text = mac.serialize().encode()
    raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    assert call(n, metadata=(("macaroon", raw.hex()),)) == b"echo:hi"
    assert call(n, metadata=(("authorization", f"L402 {mac_b64}:{pre}"),)) == b"echo:hi"


def test_a_wrong_credential_gets_a_fresh_challenge_with_its_reason(make_nginx, upstream):
    n = make_nginx(SERVER.format(upstream=upstream), ports=2)
    _, trailers = challenge(n)
    mac_b64 = re.search(r'L402 macaroon="(.*?)"', trailers["www-authenticate"]).group(1)
    with pytest.raises(grpc.RpcError) as e:
        call(n, metadata=(("authorization", f"L402 {mac_b64}:{'00' * 32}"),))
    assert e.value.code() == grpc.StatusCode.INTERNAL
    t = dict(e.value.trailing_metadata() or ())
    assert t["x-l402-reason"] == "preimage does not match payment hash"
    assert "L402 macaroon=" in t["www-authenticate"]


def test_backend_timeout_is_unavailable(make_nginx, upstream):
    n = make_nginx(SERVER.format(upstream=upstream).replace(
        "l402_backend fake;", "l402_backend fake; l402_fake_delay 2s; l402_backend_timeout 200ms;"), ports=2)
    with pytest.raises(grpc.RpcError) as e:
        call(n)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
