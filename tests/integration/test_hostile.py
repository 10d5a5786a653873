"""Hostile credentials: never a 5xx, never a crash, never a credential in the log."""
import base64
import socket

import requests

from conftest import buy, paid_config

BIG_HEADERS = "large_client_header_buffers 4 128k;"


def raw_request(port, header_bytes):
    """Sends a request with arbitrary header bytes; returns the status code (or None)."""
    req = (b"GET /protected/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + header_bytes +
           b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data:
        return None
    return int(data.split(b" ", 2)[1])


def hostile_values(mac, pre):
    junk_mac = base64.b64encode(b"\x02" + b"\xff" * 300).decode()
    return [
        b"L402", b"L402 ", b"L402 :", b"L402 ::::", b"LSAT abc", b"L402 :" + pre.encode(),
        b"L402 " + mac.encode() + b":", b"L402 " + mac.encode(),
        b"L402 " + b"," * 5000 + b":" + pre.encode(),
        b"L402 " + (mac.encode() + b",") * 200 + b":" + pre.encode(),
        b"L402 " + b"A" * 65536 + b":" + pre.encode(),
        b"L402 " + bytes(range(128, 256)) * 10 + b":" + pre.encode(),
        b"L402 " + junk_mac.encode() + b":" + pre.encode(),
        b"L402 " + mac.encode() + b":" + b"g" * 64,
        b"L402 " + mac.encode() + b":" + pre.encode() * 40,
        b"L402\t" + mac.encode() + b":" + pre.encode() + b"\x01",
        b"LSAT LSAT LSAT " + mac.encode() + b":" + pre.encode(),
        b"L402 " + base64.b64encode(b"\x02\x01\xff\xff\xff\xff\x0f").decode().encode() + b":" + pre.encode(),
        b"L402 " + base64.b64encode(b"\x02" + b"\x02\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01").decode().encode() + b":" + pre.encode(),
    ]


def test_hostile_authorization_values(make_nginx):
    n = make_nginx(paid_config(extra=BIG_HEADERS))
    mac, pre = buy(n)
    for value in hostile_values(mac, pre):
        status = raw_request(n.port, b"Authorization: " + value)
        assert status in (400, 402), (value[:60], status)
    for name in (b"Macaroon", b"Token", b"Grpc-Metadata-Macaroon", b"Grpc-Metadata-Token"):
        for value in (b"", b"zz", b"00" * 40000, b"02" * 100, bytes(range(128, 256))):
            status = raw_request(n.port, name + b": " + value)
            assert status in (400, 402), (name, value[:20], status)
    # still healthy and still correct afterwards
    r = requests.get(n.url + "/protected/", headers={"Authorization": f"L402 {mac}:{pre}"})
    assert r.status_code == 200
    log = n.error_log()
    assert pre not in log and mac[:40] not in log


def test_two_authorization_headers_rejected_by_nginx(make_nginx):
    n = make_nginx(paid_config())
    status = raw_request(n.port, b"Authorization: L402 a:b\r\nAuthorization: L402 c:d")
    assert status == 400


def test_default_header_limits_give_400_not_5xx(make_nginx):
    n = make_nginx(paid_config())
    status = raw_request(n.port, b"Authorization: L402 " + b"A" * 65536)
    assert status in (400, 494)
