"""The Cashu test peers themselves (cashu_peers.py): both real mints start, a real wallet mints
V4 and V3 tokens there, P2PK-locked tokens carry a NUT-10 secret with our key and valid DLEQ
proofs, a token spends once (the second spend: 11001), a restarted mint keeps its keysets, and
input fees are configurable. No nginx: this is what the Cashu tests of the module stand on."""
import time

import pytest
import requests

from cashu_peers import (ALREADY_SPENT, MintError, cdk_mint, check_state, decode_token,  # noqa: F401
                         encode_token, make_mint, mint_keys, nutshell_mint, p2pk_keypair, p2pk_secret,
                         receive_token, send_token, token_ys, verify_dleq)

KINDS = ["nutshell", "cdk"]


@pytest.fixture(params=KINDS)
def mint(request):
    return request.getfixturevalue(f"{request.param}_mint")


def assert_dleq(mint_url, tok):
    for p in tok["proofs"]:
        assert p["dleq"] and set(p["dleq"]) == {"e", "s", "r"}, p
        assert verify_dleq(p, mint_keys(mint_url, p["id"])[p["amount"]]), p


def test_mints_advertise_what_cashu_payments_need(mint):
    info = mint.info()
    nuts = info["nuts"]
    for n in ("7", "10", "11", "12"):
        assert nuts.get(n, {}).get("supported") is True, (mint, n, nuts.get(n))
    assert info.get("version"), info
    keysets = [k for k in mint.keysets() if k["active"] and k["unit"] == "sat"]
    assert keysets, mint.keysets()
    assert all(k.get("input_fee_ppk", 0) == 0 for k in keysets), keysets


@pytest.mark.parametrize("version", ["B", "A"])
def test_token_of_21_sat(mint, version):
    text = send_token(mint.url, 21, version=version)
    assert text.startswith("cashu" + version)
    tok = decode_token(text)
    assert tok["mint"].rstrip("/") == mint.url and tok["unit"] == "sat"
    assert sum(p["amount"] for p in tok["proofs"]) == 21
    assert_dleq(mint.url, tok)
    # The round trip through our own encoder gives the same token back.
    assert decode_token(encode_token(tok, version)) == tok
    assert [s["state"] for s in check_state(mint.url, text)] == ["UNSPENT"] * len(tok["proofs"])


def test_p2pk_token_spends_once(mint):
    priv, pub = p2pk_keypair()
    text = send_token(mint.url, 21, p2pk_pubkey=pub)
    tok = decode_token(text)
    assert sum(p["amount"] for p in tok["proofs"]) == 21
    for p in tok["proofs"]:
        kind, body = p2pk_secret(p)
        assert kind == "P2PK" and body["data"] == pub and body["nonce"], body
        assert ["sigflag", "SIG_INPUTS"] in body["tags"] and not any(t[0] == "locktime" for t in body["tags"])
    assert_dleq(mint.url, tok)
    ys = token_ys(text)
    assert len(set(ys)) == len(ys)
    assert {s["state"] for s in check_state(mint.url, ys)} == {"UNSPENT"}

    with pytest.raises(MintError):  # locked: the wallet's own key cannot spend it
        receive_token(text)
    assert receive_token(text, privkey=priv) == 21
    assert {s["state"] for s in check_state(mint.url, ys)} == {"SPENT"}
    with pytest.raises(MintError) as e:
        receive_token(text, privkey=priv)
    assert e.value.code == ALREADY_SPENT, e.value


def test_p2pk_locktime_and_refund_tags(nutshell_mint):
    _, pub = p2pk_keypair()
    _, refund = p2pk_keypair()
    locktime = int(time.time()) + 3600
    tok = decode_token(send_token(nutshell_mint.url, 8, version="A", p2pk_pubkey=pub, locktime=locktime,
                                  refund_pubkeys=[refund], include_dleq=False))
    for p in tok["proofs"]:
        _, body = p2pk_secret(p)
        assert ["locktime", str(locktime)] in body["tags"] and ["refund", refund] in body["tags"], body
        assert p["dleq"] is None


def test_plain_token_spends_once(cdk_mint):
    text = send_token(cdk_mint.url, 5)
    assert receive_token(text) == 5
    with pytest.raises(MintError) as e:
        receive_token(text)
    assert e.value.code == ALREADY_SPENT, e.value


@pytest.mark.parametrize("kind", KINDS)
def test_input_fees_and_restart(make_mint, kind):
    """A mint with input fees (one mint for both checks: starts are the slow part)."""
    m = make_mint(kind, fee_ppk=100)
    before, keys = m.keysets(), m.keys()
    assert {k["input_fee_ppk"] for k in before if k["active"]} == {100}
    # 21 sat are 3 proofs (16+4+1): a swap of them costs ceil(3 * 100 / 1000) = 1 sat.
    assert receive_token(send_token(m.url, 21)) == 20
    paid_fee = send_token(m.url, 21, include_fees=True)
    assert sum(p["amount"] for p in decode_token(paid_fee)["proofs"]) == 22
    kept = send_token(m.url, 21, version="A")

    # Stopped: what "mint down -> 503" tests see; started again: same keysets, tokens still good.
    m.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(m.url + "/v1/info", timeout=2)
    m.start()
    assert m.keysets() == before and m.keys() == keys
    assert receive_token(paid_fee) == 21
    assert receive_token(kept) == 20
