"""A real Cashu wallet for the tests: the Nutshell wallet library (PyPI `cashu`), run by the
Python of the Nutshell venv that scripts/cashu-mints.sh installs, never by the tests' venv.

cashu_peers.py runs it as `<nutshell venv>/bin/python cashu_wallet.py --serve`, writes one JSON
request per line on its stdin and reads one JSON answer per line on its stdout (without
--serve: one request on stdin, one answer) ({"ok": true, ...} or {"ok": false, "error": text,
"code": NUT error code or null}). The wallet's state (its mnemonic, proofs, keysets) lives in
CASHU_DIR, one directory per wallet, so several calls share one wallet.

Requests:
  {"op": "fund", "mint": url, "amount": n}
      mint quote -> the mint's FakeWallet pays it -> mint; answers {"balance": n}
  {"op": "send", "mint": url, "amount": n, "version": "B"|"A", "include_dleq": bool,
   "p2pk_pubkey": hex|null, "locktime": unix time|null, "refund_pubkeys": [hex]|null,
   "extra_tags": [[key, value...]]|null, "sigflag": "SIG_INPUTS"|"SIG_ALL",
   "include_fees": bool, "memo": text|null}
      funds the wallet when its balance is short, swaps at the mint for fresh proofs of
      exactly `amount` (locked with a NUT-10 P2PK secret when p2pk_pubkey is given) and
      answers {"token": "cashuB…" | "cashuA…"}
  {"op": "receive", "token": text, "privkey": hex|null}
      swaps the token's proofs into this wallet (signing P2PK proofs with privkey);
      answers {"amount": n}, or ok=false with the mint's error code (11001: already spent)
  {"op": "balance", "mint": url}
"""
import asyncio
import json
import os
import re
import sys
import time


def _quiet_logs():
    import cashu.wallet.wallet  # noqa: F401  (imports set up their own logging first)
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=os.environ.get("L402_CASHU_WALLET_LOG", "ERROR"))


_WALLETS = {}  # (mint url, unit) -> Wallet, reused by the requests of one --serve process


async def _wallet(mint_url, unit="sat"):
    from cashu.core.settings import settings
    from cashu.wallet.wallet import Wallet

    key = (mint_url, unit)
    w = _WALLETS.get(key)
    if w is None:
        w = await Wallet.with_db(mint_url, os.path.join(settings.cashu_dir, "wallet"), name="wallet", unit=unit)
        _WALLETS[key] = w
    await w.load_mint()  # keysets and fees as the mint has them now
    await w.load_proofs(reload=True)
    return w


def _available(w):
    from cashu.core.helpers import sum_proofs

    return sum_proofs([p for p in w.active_proofs(w.proofs) if not p.reserved])


async def _fund(w, amount):
    """Mint `amount` at the wallet's mint; the FakeWallet backend pays the invoice itself
    (Nutshell at once, cdk-mintd after its delay), so the quote is polled until paid."""
    from cashu.core.base import MintQuoteState

    quote = await w.request_mint(amount)
    deadline = time.time() + 15
    while True:
        q = await w.get_mint_quote(quote.quote)
        if q.state in (MintQuoteState.paid, MintQuoteState.issued):
            break
        if time.time() > deadline:
            raise RuntimeError(f"mint quote {quote.quote} not paid after 15 s (state {q.state})")
        await asyncio.sleep(0.1)
    await w.mint(amount, quote_id=quote.quote)
    await w.load_proofs(reload=True)


async def op_fund(req):
    w = await _wallet(req["mint"], req.get("unit", "sat"))
    await _fund(w, int(req["amount"]))
    return {"balance": _available(w)}


async def op_balance(req):
    w = await _wallet(req["mint"], req.get("unit", "sat"))
    return {"balance": _available(w)}


def _receive_fee(amount, fee_ppk):
    """ceil(n * fee_ppk / 1000) for the n proofs (powers of 2) of amount + that fee."""
    fee = 0
    for _ in range(64):
        n = bin(amount + fee).count("1")
        f = (n * fee_ppk + 999) // 1000
        if f == fee:
            break
        fee = f
    return fee


async def op_send(req):
    from cashu.core.p2pk import P2PKSecret
    from cashu.core.secret import SecretKind, Tags

    amount = int(req["amount"])
    w = await _wallet(req["mint"], req.get("unit", "sat"))
    # Enough for the amount, the swap's input fees and (include_fees) the receiver's.
    need = amount * 2 + 64
    if _available(w) < need:
        await _fund(w, max(need - _available(w), 256))

    secret_lock = None
    if req.get("p2pk_pubkey"):
        tags = Tags()
        if req.get("locktime") is not None:
            tags["locktime"] = str(int(req["locktime"]))
        if req.get("refund_pubkeys"):
            tags["refund"] = list(req["refund_pubkeys"])
        for t in req.get("extra_tags") or []:
            tags.root.append([str(x) for x in t])
        tags["sigflag"] = req.get("sigflag") or "SIG_INPUTS"
        secret_lock = P2PKSecret(kind=SecretKind.P2PK.value, data=req["p2pk_pubkey"], tags=tags)

    if req.get("include_fees"):
        # What the receiver's swap of these proofs costs (NUT-02), added to the amount. Not
        # Nutshell's own include_fees: its swap_to_send then selects too little ("Amounts do
        # not sum to -1").
        amount += _receive_fee(amount, w.keysets[w.keyset_id].input_fee_ppk or 0)
    proofs = w.active_proofs([p for p in w.proofs if not p.reserved])
    _, send_proofs = await w.swap_to_send(proofs, amount, secret_lock=secret_lock, set_reserved=True)
    token = await w.serialize_proofs(
        send_proofs, include_dleq=bool(req.get("include_dleq", True)),
        legacy=req.get("version", "B") == "A", memo=req.get("memo"),
    )
    return {"token": token}


async def op_receive(req):
    from cashu.core.crypto.secp import PrivateKey
    from cashu.core.helpers import sum_proofs
    from cashu.wallet.helpers import deserialize_token_from_string

    token = deserialize_token_from_string(req["token"])
    w = await _wallet(token.mint, token.unit or "sat")
    own_key = w.private_key
    if req.get("privkey"):
        w.private_key = PrivateKey(bytes.fromhex(req["privkey"]))
    try:
        proofs = token.proofs
        await w._expand_short_keyset_ids(proofs)
        kept, _ = await w.redeem(proofs)
    finally:
        w.private_key = own_key
    return {"amount": sum_proofs(kept)}


OPS = {"fund": op_fund, "send": op_send, "receive": op_receive, "balance": op_balance}


def _answer(loop, req):
    try:
        out = loop.run_until_complete(OPS[req["op"]](req))
        out["ok"] = True
    except Exception as e:  # the answer carries it; the caller decides
        msg = str(e) or type(e).__name__
        m = re.search(r"\(Code: (\d+)\)", msg)
        out = {"ok": False, "error": msg, "code": int(m.group(1)) if m else None}
    return out


def main():
    _quiet_logs()
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # the library prints (a new mnemonic, "Received …"): not our answer
    loop = asyncio.new_event_loop()
    if sys.argv[1:] == ["--serve"]:
        # One request per line on stdin, one answer per line on stdout, until stdin closes.
        for line in sys.stdin:
            if line.strip():
                real_stdout.write(json.dumps(_answer(loop, json.loads(line))) + "\n")
                real_stdout.flush()
    else:
        real_stdout.write(json.dumps(_answer(loop, json.loads(sys.stdin.read()))) + "\n")


if __name__ == "__main__":
    main()
