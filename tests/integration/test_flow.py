"""The L402 flow end to end through a real nginx: challenge shape, pay, access, reuse, expiry,
refusals and binding of tokens to the location/server where they were bought."""
import base64
import hashlib
import re
import time

import requests

from conftest import auth, buy, paid_config, parse_challenge

# The regexes clients use: Aperture's l402/client_interceptor.go and l402-requests (PyPI).
APERTURE_RE = re.compile(r'(LSAT|L402) macaroon="(.*?)", invoice="(.*?)"')
L402_REQUESTS_RE = re.compile(r'(?:L402|LSAT)\s+macaroon="([^"]+)"\s*,\s*invoice="([^"]+)"')


def test_free_location_untouched(make_nginx):
    n = make_nginx(paid_config())
    r = requests.get(n.url + "/")
    assert r.status_code == 200
    assert r.text == "free\n"
    assert "WWW-Authenticate" not in r.headers


def test_challenge_shape(make_nginx):
    n = make_nginx(paid_config())
    r = requests.get(n.url + "/protected/")
    assert r.status_code == 402
    lines = r.raw.headers.getlist("WWW-Authenticate")
    assert len(lines) == 2
    assert lines[0].startswith("LSAT macaroon=")
    assert lines[1].startswith("L402 macaroon=")
    values = []
    for line in lines:
        m = APERTURE_RE.match(line)
        assert m, line
        assert L402_REQUESTS_RE.match(line), line
        values.append((m.group(2), m.group(3)))
    assert values[0] == values[1], "both lines must carry identical values"
    mac, inv = values[1]
    assert f'version="0", token="{mac}"' in lines[1]
    assert lines[1] == f'L402 macaroon="{mac}", invoice="{inv}", version="0", token="{mac}"'
    # standard alphabet, padded
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", mac) and len(mac) % 4 == 0
    raw = base64.b64decode(mac, validate=True)
    assert raw[0] == 2, "V2 binary macaroon"
    assert inv.startswith("lnbcrt100n1"), inv  # 10000 msat = 100 nBTC, regtest
    assert r.headers["Cache-Control"] == "no-store"
    assert "X-L402-Reason" not in r.headers


def test_legacy_lsat_line_can_be_switched_off(make_nginx):
    n = make_nginx(paid_config(extra="l402_legacy_lsat_challenge off;"))
    r = requests.get(n.url + "/protected/")
    lines = r.raw.headers.getlist("WWW-Authenticate")
    assert len(lines) == 1 and lines[0].startswith("L402 ")


def test_pay_then_access_and_reuse(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    assert re.fullmatch(r"[0-9a-f]{64}", pre)
    for _ in range(3):
        r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
        assert r.status_code == 200
        assert r.text == "paid content\n"


def test_preimage_matches_invoice_hash(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    raw = base64.b64decode(mac)
    # identifier field: 02 42 <66 bytes>; payment hash at identifier[2:34]
    i = raw.index(b"\x02\x42")
    ident = raw[i + 2:i + 2 + 66]
    assert ident[:2] == b"\x00\x00"
    assert ident[2:34] == hashlib.sha256(bytes.fromhex(pre)).digest()


def test_accepted_credential_forms(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    urlsafe = mac.replace("+", "-").replace("/", "_").rstrip("=")
    forms = [
        {"Authorization": f"L402 {mac}:{pre}"},
        {"Authorization": f"LSAT {mac}:{pre}"},
        {"Authorization": f"l402   {mac}:{pre.upper()}"},
        {"Authorization": f"L402 LSAT {mac}:{pre}"},  # pyl402's doubled prefix
        {"Authorization": f"L402 {urlsafe}:{pre}"},
        {"Authorization": f"L402 notamacaroon,{mac}:{pre}"},
    ]
    for h in forms:
        r = requests.get(n.url + "/protected/", headers=h)
        assert r.status_code == 200, (h, r.headers.get("X-L402-Reason"))


def test_expiry(make_nginx):
    n = make_nginx(paid_config(loc="l402_macaroon_timeout 1;"))
    mac, pre = buy(n)
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200
    time.sleep(2.2)
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre))
    assert r.status_code == 402
    assert r.headers["X-L402-Reason"] == "token expired"
    parse_challenge(r)  # a fresh challenge comes with it


def test_no_expiry_when_timeout_is_zero(make_nginx):
    n = make_nginx(paid_config(loc="l402_macaroon_timeout 0;"))
    mac, pre = buy(n)
    raw = base64.b64decode(mac)
    assert b"_valid_until=" not in raw
    assert requests.get(n.url + "/protected/", headers=auth(mac, pre)).status_code == 200


def test_wrong_preimage(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    wrong = ("0" if pre[0] != "0" else "1") + pre[1:]
    r = requests.get(n.url + "/protected/", headers=auth(mac, wrong))
    assert r.status_code == 402
    assert r.headers["X-L402-Reason"] == "preimage does not match payment hash"
    assert pre not in n.error_log() and mac not in n.error_log()


def test_tampered_macaroon(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    raw = bytearray(base64.b64decode(mac))
    for pos in (len(raw) - 1, len(raw) // 2, 90):
        t = bytearray(raw)
        t[pos] ^= 0x01
        r = requests.get(n.url + "/protected/",
                         headers=auth(base64.b64encode(bytes(t)).decode(), pre))
        assert r.status_code == 402, pos
        assert "X-L402-Reason" in r.headers


def test_48_byte_preimage_refused(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre + "00" * 16))
    assert r.status_code == 402
    assert "preimage" in r.headers["X-L402-Reason"]


def test_junk_after_preimage_refused(make_nginx):
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    r = requests.get(n.url + "/protected/", headers=auth(mac, pre + "zz"))
    assert r.status_code == 402


TWO_PLACES = """
    l402_backend fake;
    l402_token_uses unlimited;
    server {{
        listen 127.0.0.1:{{port}};
        server_name a.test;
        root {{html}};
        location /protected/ {{ l402 on; {svc_a} }}
        location /other/ {{ l402 on; {svc_b} }}
        location = /.l402/fake/pay {{ l402_fake_pay; }}
    }}
    server {{
        listen 127.0.0.1:{{port}};
        server_name b.test;
        root {{html}};
        location /protected/ {{ l402 on; {svc_c} }}
    }}
"""


def test_token_bound_to_location_and_server(make_nginx):
    n = make_nginx(TWO_PLACES.format(svc_a="", svc_b="", svc_c=""))
    r = requests.get(n.url + "/protected/", headers={"Host": "a.test"})
    mac, inv = parse_challenge(r)
    pre = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv},
                       headers={"Host": "a.test"}).text.strip()
    ok = requests.get(n.url + "/protected/", headers={"Host": "a.test", **auth(mac, pre)})
    assert ok.status_code == 200
    other_loc = requests.get(n.url + "/other/x", headers={"Host": "a.test", **auth(mac, pre)})
    assert other_loc.status_code == 402
    assert other_loc.headers["X-L402-Reason"] == "token not valid for this service"
    other_srv = requests.get(n.url + "/protected/", headers={"Host": "b.test", **auth(mac, pre)})
    assert other_srv.status_code == 402
    assert other_srv.headers["X-L402-Reason"] == "token not valid for this service"


def test_shared_service_name(make_nginx):
    svc = "l402_service shared-api;"
    n = make_nginx(TWO_PLACES.format(svc_a=svc, svc_b="", svc_c=svc))
    r = requests.get(n.url + "/protected/", headers={"Host": "a.test"})
    mac, inv = parse_challenge(r)
    pre = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv},
                       headers={"Host": "a.test"}).text.strip()
    assert b"services=shared-api:0" in base64.b64decode(mac)
    h = auth(mac, pre)
    assert requests.get(n.url + "/protected/", headers={"Host": "b.test", **h}).status_code == 200
    assert requests.get(n.url + "/other/x", headers={"Host": "a.test", **h}).status_code == 402


def test_nested_off_overrides_on(make_nginx):
    n = make_nginx("""
        l402_backend fake;
        server {
            listen 127.0.0.1:{port};
            root {html};
            l402 on;
            location /protected/ { }
            location /protected/free/ { l402 off; return 200 "free inside\\n"; }
        }
    """)
    assert requests.get(n.url + "/protected/").status_code == 402
    r = requests.get(n.url + "/protected/free/")
    assert r.status_code == 200 and r.text == "free inside\n"


def test_other_auth_schemes_get_a_challenge(make_nginx):
    n = make_nginx(paid_config())
    r = requests.get(n.url + "/protected/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 402
    assert "X-L402-Reason" not in r.headers


def test_fake_pay_refuses_foreign_and_garbage(make_nginx):
    n = make_nginx(paid_config())
    for inv in ["", "lnbc1", "x" * 5000, "lnbcrt100n1garbage"]:
        r = requests.get(n.url + "/.l402/fake/pay", params={"invoice": inv})
        assert r.status_code == 400, inv[:20]
        assert r.headers.get("X-L402-Reason")
    r = requests.get(n.url + "/.l402/fake/pay")
    assert r.status_code == 400


def test_invoice_from_another_instance_is_not_payable(make_nginx):
    a = make_nginx(paid_config())
    b = make_nginx(paid_config())
    _, inv = parse_challenge(requests.get(a.url + "/protected/"))
    r = requests.get(b.url + "/.l402/fake/pay", params={"invoice": inv})
    assert r.status_code == 400


def test_backend_timeout_gives_503(make_nginx):
    n = make_nginx(paid_config(extra="l402_fake_delay 3s; l402_backend_timeout 300ms;"))
    t = time.time()
    r = requests.get(n.url + "/protected/", timeout=10)
    assert r.status_code == 503
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["X-L402-Reason"] == "payment backend unavailable"
    assert time.time() - t < 2.5
    assert "no reply within 300 ms" in n.error_log()


def test_hex_macaroon_headers_grpc_style(make_nginx):
    """Aperture's gRPC client sends no Authorization, only `macaroon: hex(mac + preimage caveat)`."""
    from pymacaroons import Macaroon
    n = make_nginx(paid_config())
    mac, pre = buy(n)
    paid = Macaroon.deserialize(mac)
    paid.add_first_party_caveat(f"preimage={pre}")
    hexmac = base64.urlsafe_b64decode(paid.serialize() + "==").hex()
    for name in ("Macaroon", "Grpc-Metadata-Macaroon", "Token"):
        r = requests.get(n.url + "/protected/", headers={name: hexmac})
        assert r.status_code == 200, (name, r.headers.get("X-L402-Reason"))
    # without the preimage caveat the hex form carries no proof of payment
    bare = base64.b64decode(mac).hex()
    r = requests.get(n.url + "/protected/", headers={"Macaroon": bare})
    assert r.status_code == 402 and r.headers.get("X-L402-Reason")
