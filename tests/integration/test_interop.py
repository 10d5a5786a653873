"""Interoperability: third-party L402 and macaroon libraries against our real nginx.

- PyPI `l402-requests` 0.9.0: an auto-paying L402 client completes the whole flow.
- PyPI `pymacaroons` 0.13.0: parses our macaroon, attenuates it, and we accept/refuse correctly.
- npm `lsat-js` 2.0.6: parses our challenge (single lines and the folded form fetch() produces)
  and builds an `LSAT mac:preimage` token that we accept.
- npm `macaroon` 3.0.4 (js-macaroon): imports and re-exports our macaroon byte-for-byte, and a
  caveat it adds is accepted.

The npm libraries live in tests/interop (`npm ci` there). Without tests/interop/node_modules
the JS tests skip, unless L402_REQUIRE_INTEROP is set (CI sets it), in which case they fail.
"""
import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import httpx
import pytest
import requests
from pymacaroons import Macaroon

from l402_requests import (
    AsyncL402Client,
    BudgetController,
    BudgetExceededError,
    L402Client,
    PaymentFailedError,
    WalletBase,
)

from conftest import ROOT, paid_config, parse_challenge

INTEROP_DIR = os.path.join(ROOT, "tests", "interop")
PROTECTED = "/protected/"
PAID_BODY = "paid content\n"


# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def paid(make_nginx):
    """nginx with the paid config; its prefix dir made traversable.

    tempfile.mkdtemp() creates the prefix 0700; when the tests run as root, nginx workers run as
    `nobody` and would answer 403 for the static "paid content" file behind a valid credential.
    """
    n = make_nginx(paid_config())
    os.chmod(n.dir, 0o755)
    return n


def challenge(n, path=PROTECTED):
    """GET a protected path without credentials: (response, L402 macaroon, invoice)."""
    r = requests.get(n.url + path, timeout=10)
    assert r.status_code == 402, (r.status_code, r.headers)
    mac, inv = parse_challenge(r)
    return r, mac, inv


def fake_pay(n, invoice):
    p = requests.get(n.url + "/.l402/fake/pay", params={"invoice": invoice}, timeout=10)
    assert p.status_code == 200, (p.status_code, p.text)
    assert re.fullmatch(r"[0-9a-f]{64}\n", p.text), repr(p.text)
    return p.text.strip()


def get_with(n, authorization, path=PROTECTED):
    return requests.get(n.url + path, headers={"Authorization": authorization}, timeout=10)


def sha256_hex(preimage_hex):
    return hashlib.sha256(bytes.fromhex(preimage_hex)).hexdigest()


def b64decode_any(s):
    """Standard or URL-safe base64, padded or not."""
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def bolt11_payment_hash(invoice):
    """The `p` tag of a BOLT11 invoice (hex), read independently of the server and the libraries.

    Checks the bech32 checksum; does not check the node signature.
    """
    inv = invoice.lower()
    pos = inv.rfind("1")
    hrp, data = inv[:pos], [_BECH32.index(c) for c in inv[pos + 1:]]
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    assert _bech32_polymod(hrp_exp + data) == 1, "bad bech32 checksum in invoice"
    words = data[:-6]  # strip checksum
    words = words[7:-104]  # strip timestamp and signature
    found = []
    i = 0
    while i < len(words):
        tag, length = words[i], words[i + 1] * 32 + words[i + 2]
        field = words[i + 3:i + 3 + length]
        i += 3 + length
        if tag == 1 and length == 52:  # 'p'
            bits = "".join(format(w, "05b") for w in field)[:256]
            found.append(int(bits, 2).to_bytes(32, "big").hex())
    assert len(found) == 1, f"expected one payment hash tag, found {found}"
    return found[0]


def mac_caveats(m):
    return [c.caveat_id_bytes.decode() for c in m.caveats]


def service_and_expiry(caveats):
    """(service name, valid_until) from our minted caveats; asserts their exact shape."""
    svc_cavs = [c for c in caveats if c.startswith("services=")]
    assert len(svc_cavs) == 1, caveats
    m = re.fullmatch(r"services=([A-Za-z0-9._-]+):0", svc_cavs[0])
    assert m, svc_cavs[0]
    svc = m.group(1)
    vu_cavs = [c for c in caveats if c.startswith(svc + "_valid_until=")]
    assert len(vu_cavs) == 1, caveats
    m = re.fullmatch(re.escape(svc) + r"_valid_until=([0-9]+)", vu_cavs[0])
    assert m, vu_cavs[0]
    return svc, int(m.group(1))


def require_node_modules():
    """Skip (or, with L402_REQUIRE_INTEROP set, fail) when the npm libraries are not installed."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("`node` is not on PATH")
    for pkg in ("lsat-js", "macaroon"):
        if not os.path.isfile(os.path.join(INTEROP_DIR, "node_modules", pkg, "package.json")):
            missing.append(f"tests/interop/node_modules/{pkg} is missing")
    if missing:
        msg = "; ".join(missing) + " (run `npm ci` in tests/interop)"
        if os.environ.get("L402_REQUIRE_INTEROP"):
            pytest.fail("L402_REQUIRE_INTEROP is set but " + msg)
        pytest.skip(msg)
    return node


def run_node(script, payload):
    node = require_node_modules()
    p = subprocess.run([node, os.path.join(INTEROP_DIR, script)], input=json.dumps(payload),
                       capture_output=True, text=True, cwd=INTEROP_DIR, timeout=60)
    assert p.returncode == 0, f"{script} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout)


# ---------------------------------------------------------------------------------------------
# 1. l402-requests (PyPI 0.9.0)


class FakePayWallet(WalletBase):
    """An l402-requests wallet that pays through our fake backend's pay endpoint."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.paid = []

    async def pay_invoice(self, bolt11: str) -> str:
        self.paid.append(bolt11)
        async with httpx.AsyncClient(timeout=10) as c:
            r = await c.get(self.base_url + "/.l402/fake/pay", params={"invoice": bolt11})
        if r.status_code != 200:
            raise PaymentFailedError(f"fake pay answered {r.status_code}", bolt11)
        return r.text.strip()


def budget(max_per_request=100):
    return BudgetController(max_sats_per_request=max_per_request, max_sats_per_hour=1000,
                            max_sats_per_day=1000, allowed_domains={"127.0.0.1"})


def test_l402_requests_pays_and_reuses_token(paid):
    wallet = FakePayWallet(paid.url)
    seen = []  # (Authorization sent, status, WWW-Authenticate lines) for every exchange

    def hook(resp):
        seen.append((resp.request.headers.get("authorization"), resp.status_code,
                     resp.headers.get_list("www-authenticate")))

    client = L402Client(wallet=wallet, budget=budget(), timeout=10,
                        event_hooks={"response": [hook]})

    r = client.get(paid.url + PROTECTED)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.text == PAID_BODY

    # Exactly: unauthenticated 402 with our challenge, one payment, one paid retry.
    assert [(a is None, s) for a, s, _ in seen] == [(True, 402), (False, 200)], seen
    m = re.search(r'L402 macaroon="([^"]+)", invoice="([^"]+)"', " | ".join(seen[0][2]))
    assert m, seen[0][2]
    mac, inv = m.groups()
    assert wallet.paid == [inv]
    auth = seen[1][0]
    am = re.fullmatch(r"L402 ([A-Za-z0-9+/=]+):([0-9a-f]{64})", auth)
    assert am, auth
    assert am.group(1) == mac
    assert sha256_hex(am.group(2)) == bolt11_payment_hash(inv)

    # The library priced our invoice (lnbcrt100n...) at 10 sats and logged one payment.
    recs = client.spending_log.records
    assert [(x.amount_sats, x.success, x.macaroon) for x in recs] == [(10, True, mac)]

    # l402-requests caches the credential (key: host + up to two leading path segments, so
    # "/protected/" -> "/protected") and sends it up front next time: no 402, no new payment.
    r2 = client.get(paid.url + PROTECTED)
    assert (r2.status_code, r2.text) == (200, PAID_BODY)
    assert [(a, s) for a, s, _ in seen[2:]] == [(auth, 200)], seen[2:]
    assert len(wallet.paid) == 1
    assert len(client.spending_log.records) == 1


def test_l402_requests_async_client(paid):
    wallet = FakePayWallet(paid.url)

    async def run():
        async with AsyncL402Client(wallet=wallet, budget=budget(), timeout=10) as client:
            first = await client.get(paid.url + PROTECTED)
            second = await client.get(paid.url + PROTECTED)
            return first, second, client.spending_log.total_spent()

    first, second, spent = asyncio.run(run())
    assert (first.status_code, first.text) == (200, PAID_BODY)
    assert (second.status_code, second.text) == (200, PAID_BODY)
    assert len(wallet.paid) == 1
    assert spent == 10


def test_l402_requests_budget_sees_our_price(paid):
    """Our invoice carries 10 sats; a 9-sat per-request budget must refuse before paying."""
    wallet = FakePayWallet(paid.url)
    client = L402Client(wallet=wallet, budget=budget(max_per_request=9), timeout=10)
    with pytest.raises(BudgetExceededError) as e:
        client.get(paid.url + PROTECTED)
    assert (e.value.limit_type, e.value.invoice_sats) == ("per_request", 10)
    assert wallet.paid == []


# ---------------------------------------------------------------------------------------------
# 2. pymacaroons 0.13.0


def test_pymacaroons_parses_our_macaroon(paid):
    _, mac, inv = challenge(paid)
    # Our wire form: standard alphabet, padded.
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", mac) and len(mac) % 4 == 0, mac
    raw = base64.b64decode(mac, validate=True)

    m = Macaroon.deserialize(mac)
    assert m.version == 2
    assert m.location == "lsat"
    ident = m.identifier_bytes
    assert len(ident) == 66, ident.hex()
    assert ident[:2] == b"\x00\x00", ident.hex()

    pre = fake_pay(paid, inv)
    payment_hash = bolt11_payment_hash(inv)
    assert sha256_hex(pre) == payment_hash
    assert ident[2:34].hex() == payment_hash
    assert ident[34:] != bytes(32)

    caveats = mac_caveats(m)
    assert 2 <= len(caveats) <= 3, caveats  # npm macaroon 3.0.4 cannot export 4+
    assert all(c.first_party() for c in m.caveats)
    svc, valid_until = service_and_expiry(caveats)
    now = time.time()
    assert now < valid_until < now + 10 * 365 * 86400, (valid_until, now)

    # pymacaroons re-serializes the same bytes (only the base64 alphabet/padding differ).
    out = m.serialize()
    assert "=" not in out
    assert b64decode_any(out) == raw

    # A second challenge has a different token id and payment hash.
    _, mac2, _ = challenge(paid)
    ident2 = Macaroon.deserialize(mac2).identifier_bytes
    assert ident2[2:34] != ident[2:34] and ident2[34:] != ident[34:]


def test_pymacaroons_attenuated_token_is_accepted(paid):
    _, mac, inv = challenge(paid)
    pre = fake_pay(paid, inv)
    m = Macaroon.deserialize(mac)
    m.add_first_party_caveat("client_ip=1.2.3.4")
    m.add_first_party_caveat("preimage=" + pre)
    out = m.serialize()
    # What pymacaroons emits: URL-safe, unpadded; so this also checks that we read that form.
    assert re.fullmatch(r"[A-Za-z0-9_-]+", out), out
    assert out != mac.rstrip("=")
    assert mac_caveats(Macaroon.deserialize(out))[-2:] == ["client_ip=1.2.3.4", "preimage=" + pre]

    r = get_with(paid, f"L402 {out}:{pre}")
    assert (r.status_code, r.text) == (200, PAID_BODY)

    # The attenuated signature really is checked: the same token with a caveat swapped is not
    # accepted, and neither is a preimage caveat that disagrees with the header preimage.
    forged = Macaroon.deserialize(out)
    forged.caveats[-2]._caveat_id = b"client_ip=5.6.7.8"
    r = get_with(paid, f"L402 {forged.serialize()}:{pre}")
    assert r.status_code == 402, r.status_code
    wrong = Macaroon.deserialize(mac)
    wrong.add_first_party_caveat("preimage=" + "00" * 32)
    r = get_with(paid, f"L402 {wrong.serialize()}:{pre}")
    assert r.status_code == 402, r.status_code


def test_pymacaroons_wider_valid_until_is_refused(paid):
    _, mac, inv = challenge(paid)
    pre = fake_pay(paid, inv)
    base = Macaroon.deserialize(mac)
    svc, valid_until = service_and_expiry(mac_caveats(base))

    wider = Macaroon.deserialize(mac)
    wider.add_first_party_caveat(f"{svc}_valid_until={valid_until + 3600}")
    r = get_with(paid, f"L402 {wider.serialize()}:{pre}")
    assert r.status_code == 402, (r.status_code, r.text)
    assert any(l.startswith("L402 ") for l in r.raw.headers.getlist("WWW-Authenticate"))

    # Control: the same construction with an earlier expiry is fine, so the refusal above is
    # about widening, not about how pymacaroons encoded the token.
    narrower = Macaroon.deserialize(mac)
    narrower.add_first_party_caveat(f"{svc}_valid_until={valid_until - 60}")
    r = get_with(paid, f"L402 {narrower.serialize()}:{pre}")
    assert (r.status_code, r.text) == (200, PAID_BODY)


# ---------------------------------------------------------------------------------------------
# 3. lsat-js 2.0.6 (npm)


@pytest.mark.parametrize("form", ["lsat_line", "l402_line", "folded", "fetch"])
def test_lsat_js_parses_challenge_and_builds_token(paid, form):
    require_node_modules()
    r, mac, inv = challenge(paid)
    lines = r.raw.headers.getlist("WWW-Authenticate")
    if form == "fetch":
        # Node's fetch() folds the repeated header lines into one value itself.
        payload = {"url": paid.url + PROTECTED}
    else:
        header = {
            "lsat_line": next(l for l in lines if l.startswith("LSAT ")),
            "l402_line": next(l for l in lines if l.startswith("L402 ")),
            "folded": ", ".join(lines),
        }[form]
        payload = {"header": header}
    parsed = run_node("lsat_client.js", payload)

    if form == "fetch":
        assert parsed["status"] == 402
        assert parsed["header"].startswith("LSAT macaroon=") and ", L402 macaroon=" in parsed["header"]
        m = re.search(r'L402 macaroon="([^"]+)", invoice="([^"]+)"', parsed["header"])
        mac, inv = m.groups()
    assert parsed["baseMacaroon"] == mac
    assert parsed["invoice"] == inv
    assert parsed["invoiceAmount"] == 10
    assert parsed["isPending"] is True
    assert parsed["caveats"] == mac_caveats(Macaroon.deserialize(mac))

    pre = fake_pay(paid, inv)
    assert parsed["paymentHash"] == sha256_hex(pre) == bolt11_payment_hash(inv)

    # lsat-js checks the preimage against the hash, then builds its `LSAT mac:preimage` token.
    paid_tok = run_node("lsat_client.js", dict(payload, preimage=pre) if form != "fetch"
                        else {"header": parsed["header"], "preimage": pre})
    assert paid_tok["isSatisfied"] is True
    assert paid_tok["token"] == f"LSAT {mac}:{pre}"
    r = get_with(paid, paid_tok["token"])
    assert (r.status_code, r.text) == (200, PAID_BODY)


# ---------------------------------------------------------------------------------------------
# 4. npm macaroon 3.0.4 (js-macaroon)


def test_js_macaroon_imports_exports_and_attenuates(paid):
    require_node_modules()
    _, mac, inv = challenge(paid)
    pre = fake_pay(paid, inv)
    raw = base64.b64decode(mac, validate=True)
    pym = Macaroon.deserialize(mac)

    results = [run_node("macaroon_tool.js", {"macaroon": mac, "bytes": as_bytes,
                                             "add_caveats": ["client_ip=1.2.3.4"]})
               for as_bytes in (False, True)]
    for js in results:
        assert js["version"] == 2
        assert js["location"] == "lsat"
        assert js["identifierHex"] == pym.identifier_bytes.hex()
        assert js["identifierHex"][:4] == "0000"
        assert js["identifierHex"][4:68] == sha256_hex(pre)
        assert js["signatureHex"] == pym.signature
        assert [c["identifier"] for c in js["caveats"]] == mac_caveats(pym)
        assert not any(c["thirdParty"] for c in js["caveats"])
        # exportBinary (which crashes on 4+ caveats in 3.0.4) gives back our exact bytes.
        assert base64.b64decode(js["exportBinaryB64"]) == raw

        # js-macaroon's attenuation: same HMAC chain as pymacaroons', and we accept it.
        att = js["attenuated"]
        assert [c["identifier"] for c in att["caveats"]] == mac_caveats(pym) + ["client_ip=1.2.3.4"]
        py_att = Macaroon.deserialize(mac)
        py_att.add_first_party_caveat("client_ip=1.2.3.4")
        assert att["signatureHex"] == py_att.signature
        r = get_with(paid, f"L402 {js['attenuatedB64']}:{pre}")
        assert (r.status_code, r.text) == (200, PAID_BODY)
    assert results[0] == results[1]
