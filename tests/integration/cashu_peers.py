"""Real Cashu mints and a real Cashu wallet for the tests (README, "Tests").

Mints (installed once by scripts/cashu-mints.sh under ~/.cache/ngx-l402/peers; scripts/test.sh
exports L402_NUTSHELL_MINT and L402_CDK_MINTD):
  NutshellMint(fee_ppk=0)   PyPI `cashu` (Nutshell) with its FakeWallet backend
  CdkMint(fee_ppk=0)        cdk-mintd 0.18.3 with its fakewallet backend and sqlite
Both: free 127.0.0.1 port, own temporary directory, `.start()` waits until GET /v1/info answers,
`.stop()` (SIGTERM, then SIGKILL: bounded), `.kill()` (SIGKILL), `.restart()` (same port, same
database: same keysets), `.url`, `.info()`, `.keysets()`, `.keys(keyset_id=None)`,
`.cleanup()`. Invoices of mint quotes settle by themselves; melts succeed.

Fixtures (import them into a test module: `from cashu_peers import nutshell_mint, cdk_mint,
make_mint, cashu_wallet  # noqa: F401`):
  nutshell_mint, cdk_mint   one mint of each kind per test module, no fees
  make_mint(kind, **kw)     a fresh NutshellMint ("nutshell") or CdkMint ("cdk") per call,
                            started; stopped and removed at teardown (use for fees, restarts)
  cashu_wallet              a fresh CashuWallet, closed at teardown

Tokens (a real wallet: the Nutshell wallet library run by the Nutshell venv's Python,
tests/integration/cashu_wallet.py, one long-lived process per wallet):
  send_token(mint_url, amount, version="B", p2pk_pubkey=None, locktime=None,
             refund_pubkeys=None, include_dleq=True, extra_tags=None, sigflag="SIG_INPUTS",
             include_fees=False, memo=None) -> "cashuB…" / "cashuA…"
  receive_token(token, privkey=None) -> amount received; raises MintError (.code 11001 when
             already spent)
  fund(mint_url, amount) -> balance
These module functions use one wallet shared by the test session; CashuWallet() has the same
methods for a wallet of one's own.

Offline helpers (the tests' venv: coincurve, cbor2):
  p2pk_keypair() -> (private key hex, compressed public key hex)
  decode_token(text) -> {"mint", "unit", "memo", "proofs": [{"id", "amount", "secret", "C",
             "dleq": {"e", "s", "r"} | None, "witness"}]}
  encode_token(decoded, version="B") -> text (to build tampered tokens)
  hash_to_curve(secret) -> Y (compressed hex, NUT-00); token_ys(text) -> [Y]
  check_state(mint_url, token_or_ys) -> [{"Y", "state": "UNSPENT"|"PENDING"|"SPENT", "witness"}]
  p2pk_secret(proof) -> (kind, {"nonce", "data", "tags"}) of a NUT-10 secret
  mint_keys(mint_url, keyset_id) -> {amount: mint public key hex} (full or short keyset id)
  verify_dleq(proof, mint_pubkey) -> bool (NUT-12, checked here with coincurve)
"""
import atexit
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.environ.get("L402_PEERS_DIR", os.path.join(os.path.expanduser("~"), ".cache", "ngx-l402", "peers"))
NUTSHELL_MINT = os.environ.get("L402_NUTSHELL_MINT", os.path.join(PEERS, "nutshell", "bin", "mint"))
NUTSHELL_PYTHON = os.path.join(os.path.dirname(NUTSHELL_MINT), "python")
CDK_MINTD = os.environ.get("L402_CDK_MINTD", os.path.join(PEERS, "cdk-mintd", "bin", "cdk-mintd"))
WALLET_SCRIPT = os.path.join(HERE, "cashu_wallet.py")

# cdk-mintd's mnemonic (CDK_MINTD_MNEMONIC): a fresh one per CdkMint unless given (or set in
# L402_CDK_MNEMONIC), so no two test mints share keys; this one when Nutshell's venv is missing.
CDK_FALLBACK_MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                         "abandon about")


def new_mnemonic():
    """A fresh BIP-39 mnemonic (12 words), made by the `mnemonic` package of Nutshell's venv."""
    try:
        p = subprocess.run([NUTSHELL_PYTHON, "-c", "from mnemonic import Mnemonic; print(Mnemonic('english').generate())"],
                           capture_output=True, text=True, timeout=30)
        words = p.stdout.split()
        if p.returncode == 0 and len(words) == 12:
            return " ".join(words)
    except OSError:
        pass
    return CDK_FALLBACK_MNEMONIC


ALREADY_SPENT = 11001
PENDING = 11002


class MintError(Exception):
    """A request the mint refused; `code` is the NUT error code (11001: already spent)."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def need_mints(*kinds):
    """Fail (or skip, with L402_ALLOW_SKIP set) when these mints ("nutshell", "cdk"; default
    both) are not installed."""
    exes = {"nutshell": NUTSHELL_MINT, "cdk": CDK_MINTD}
    missing = [exes[k] for k in (kinds or exes) if not os.access(exes[k], os.X_OK)]
    if missing:
        msg = "Cashu test mints missing (scripts/cashu-mints.sh install): " + ", ".join(missing)
        if os.environ.get("L402_ALLOW_SKIP"):
            pytest.skip(msg)
        pytest.fail(msg)


# --- mints -----------------------------------------------------------------------------------

class _Mint:
    kind = "?"

    def __init__(self, fee_ppk=0, port=None, env=None):
        self.dir = tempfile.mkdtemp(prefix=f"l402-{self.kind}-")
        self.port = port or free_port()
        self.fee_ppk = int(fee_ppk)
        self.extra_env = dict(env or {})
        self.proc = None
        self.log_path = os.path.join(self.dir, "mint.log")
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _command(self):
        raise NotImplementedError

    def _env(self):
        raise NotImplementedError

    def start(self, timeout=30.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        cmd = self._command()
        env = self._env()
        env.update(self.extra_env)
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n==> start {self.starts}: {' '.join(cmd)}\n".encode())
        log.flush()
        # Its own process group: stop() ends whatever it may have spawned.
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} mint exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                r = requests.get(self.url + "/v1/info", timeout=1)
                if r.status_code == 200 and r.json():
                    return self
            except (requests.RequestException, ValueError):
                pass
            if time.time() > deadline:
                self.kill()
                raise RuntimeError(f"{self.kind} mint: no /v1/info after {timeout} s; log:\n{self.log_tail()}")
            time.sleep(0.05)

    def _signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout` s. The port is free when it returns."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # anything left in its group

    def kill(self):
        """SIGKILL: no shutdown."""
        if self.proc is not None:
            self._signal_group(signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def restart(self, timeout=30.0):
        self.stop()
        return self.start(timeout=timeout)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # -- the mint's public API --
    def get(self, path):
        r = requests.get(self.url + path, timeout=10)
        r.raise_for_status()
        return r.json()

    def info(self):
        return self.get("/v1/info")

    def keysets(self):
        return self.get("/v1/keysets")["keysets"]

    def keys(self, keyset_id=None):
        return self.get("/v1/keys" + (f"/{keyset_id}" if keyset_id else ""))["keysets"]

    def __repr__(self):
        return f"<{type(self).__name__} {self.url} fee_ppk={self.fee_ppk}>"


class NutshellMint(_Mint):
    """Nutshell (PyPI `cashu`), FakeWallet backend: mint quotes are paid at once."""
    kind = "nutshell"

    def __init__(self, fee_ppk=0, port=None, env=None, private_key=None):
        super().__init__(fee_ppk=fee_ppk, port=port, env=env)
        # Its keys derive from it: one per mint (kept across restarts), so no two test mints
        # accept each other's proofs.
        self.private_key = private_key or "test-only-" + os.urandom(16).hex()
        # Nutshell reads ./.env, or else ~/.cashu/.env (overriding our environment): an empty
        # one in its working directory keeps a developer's settings out.
        open(os.path.join(self.dir, ".env"), "w").close()

    def _command(self):
        return [NUTSHELL_MINT]

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINT_", "FAKEWALLET_", "CASHU_"))}
        env.update({
            "CASHU_DIR": os.path.join(self.dir, "home"),
            "MINT_BACKEND_BOLT11_SAT": "FakeWallet",
            "MINT_LISTEN_HOST": "127.0.0.1",
            "MINT_LISTEN_PORT": str(self.port),
            "MINT_URL": self.url,
            "MINT_PRIVATE_KEY": self.private_key,
            "MINT_DATABASE": os.path.join(self.dir, "mintdb"),
            "MINT_INPUT_FEE_PPK": str(self.fee_ppk),
            "FAKEWALLET_DELAY_INCOMING_PAYMENT": "0",
            "FAKEWALLET_DELAY_OUTGOING_PAYMENT": "0",
            "MINT_RATE_LIMIT": "FALSE",
            "DEBUG": "FALSE",
            "LOG_LEVEL": "INFO",
            "TOR": "FALSE",
        })
        return env


class CdkMint(_Mint):
    """cdk-mintd 0.18.3 (cargo), fakewallet backend, sqlite; its mnemonic comes from the
    environment (CDK_MINTD_MNEMONIC), never from the configuration file."""
    kind = "cdk"

    def __init__(self, fee_ppk=0, port=None, env=None, mnemonic=None):
        super().__init__(fee_ppk=fee_ppk, port=port, env=env)
        self.mnemonic = mnemonic or os.environ.get("L402_CDK_MNEMONIC") or new_mnemonic()
        self.work_dir = os.path.join(self.dir, "work")
        os.makedirs(self.work_dir)
        with open(os.path.join(self.dir, "mint.toml"), "w") as f:
            f.write(self.config())

    def config(self):
        return f"""
[info]
url = "{self.url}/"
listen_host = "127.0.0.1"
listen_port = {self.port}
mnemonic = "env:CDK_MINTD_MNEMONIC"
input_fee_ppk = {self.fee_ppk}

[info.logging]
output = "stderr"
console_level = "info"

[mint_info]
name = "l402 test mint"
description = "cdk-mintd for the ngx_l402 tests"

[database]
engine = "sqlite"

[payment_backend]
backend = "fakewallet"
unit = "sat"

[fake_wallet]
supported_units = ["sat"]
fee_percent = 0.0
reserve_fee_min = 0
min_delay_time = 0
max_delay_time = 0
"""

    def start(self, timeout=30.0):
        # 0.18 keeps its configuration in its database: imported once, before the first start.
        if self.starts == 0:
            cmd = [CDK_MINTD, "--work-dir", self.work_dir, "config", "init", "--new-mint",
                   "--file", os.path.join(self.dir, "mint.toml")]
            p = subprocess.run(cmd, cwd=self.dir, env=self._env(), capture_output=True, text=True, timeout=60)
            with open(self.log_path, "a") as f:
                f.write(f"==> {' '.join(cmd)}\n{p.stdout}{p.stderr}")
            if p.returncode != 0:
                raise RuntimeError(f"cdk-mintd config init failed ({p.returncode}):\n{p.stdout}{p.stderr}")
        return super().start(timeout=timeout)

    def _command(self):
        return [CDK_MINTD, "--work-dir", self.work_dir]

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_MINTD_")}
        env["CDK_MINTD_MNEMONIC"] = self.mnemonic
        return env


MINT_KINDS = {"nutshell": NutshellMint, "cdk": CdkMint}


# --- offline helpers: keys, tokens, Y, checkstate ---------------------------------------------

def p2pk_keypair():
    """A fresh secp256k1 key pair: (private key hex, compressed public key hex)."""
    from coincurve import PrivateKey

    k = PrivateKey()
    return k.secret.hex(), k.public_key.format(compressed=True).hex()


def hash_to_curve(secret):
    """NUT-00 hash_to_curve: Y of a proof's secret (text), compressed hex."""
    from coincurve import PublicKey

    msg_hash = hashlib.sha256(b"Secp256k1_HashToCurve_Cashu_" + secret.encode()).digest()
    for counter in range(2 ** 16):
        h = hashlib.sha256(msg_hash + counter.to_bytes(4, "little")).digest()
        try:
            return PublicKey(b"\x02" + h).format(compressed=True).hex()
        except ValueError:
            continue
    raise ValueError("no point found")


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _b64url_encode(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def decode_token(text):
    """A cashuA (V3, JSON) or cashuB (V4, CBOR) token as one normalised dict (hex strings)."""
    import cbor2

    text = text.strip()
    if text.startswith("cashuA"):
        raw = json.loads(_b64url_decode(text[6:]))
        entries = raw["token"]
        mints = {e.get("mint") for e in entries}
        proofs = []
        for e in entries:
            for p in e["proofs"]:
                proofs.append({"id": p["id"], "amount": p["amount"], "secret": p["secret"], "C": p["C"],
                               "dleq": p.get("dleq"), "witness": p.get("witness"), "mint": e.get("mint")})
        return {"version": "A", "mint": entries[0].get("mint") if len(mints) == 1 else None,
                "mints": sorted(m for m in mints if m), "unit": raw.get("unit"), "memo": raw.get("memo"),
                "proofs": proofs}
    if text.startswith("cashuB"):
        raw = cbor2.loads(_b64url_decode(text[6:]))
        proofs = []
        for t in raw["t"]:
            for p in t["p"]:
                d = p.get("d")
                proofs.append({"id": t["i"].hex(), "amount": p["a"], "secret": p["s"], "C": p["c"].hex(),
                               "dleq": {"e": d["e"].hex(), "s": d["s"].hex(), "r": d["r"].hex()} if d else None,
                               "witness": p.get("w"), "mint": raw["m"]})
        return {"version": "B", "mint": raw["m"], "mints": [raw["m"]], "unit": raw.get("u"),
                "memo": raw.get("d"), "proofs": proofs}
    raise ValueError("not a cashuA/cashuB token")


def encode_token(tok, version="B"):
    """The inverse of decode_token (any field may have been changed: tampered tokens)."""
    import cbor2

    if version == "A":
        by_mint = {}
        for p in tok["proofs"]:
            q = {"id": p["id"], "amount": p["amount"], "secret": p["secret"], "C": p["C"]}
            if p.get("dleq"):
                q["dleq"] = p["dleq"]
            if p.get("witness"):
                q["witness"] = p["witness"]
            by_mint.setdefault(p.get("mint") or tok["mint"], []).append(q)
        raw = {"token": [{"mint": m, "proofs": ps} for m, ps in by_mint.items()]}
        if tok.get("unit"):
            raw["unit"] = tok["unit"]
        if tok.get("memo"):
            raw["memo"] = tok["memo"]
        return "cashuA" + _b64url_encode(json.dumps(raw, separators=(",", ":")).encode())
    groups = {}
    for p in tok["proofs"]:
        q = {"a": p["amount"], "s": p["secret"], "c": bytes.fromhex(p["C"])}
        if p.get("dleq"):
            q["d"] = {k: bytes.fromhex(p["dleq"][k]) for k in ("e", "s", "r")}
        if p.get("witness"):
            q["w"] = p["witness"]
        groups.setdefault(p["id"], []).append(q)
    raw = {"m": tok["mint"], "u": tok.get("unit") or "sat"}
    if tok.get("memo"):
        raw["d"] = tok["memo"]
    raw["t"] = [{"i": bytes.fromhex(i), "p": ps} for i, ps in groups.items()]
    return "cashuB" + _b64url_encode(cbor2.dumps(raw))


def p2pk_secret(proof):
    """(kind, body) of a proof's NUT-10 secret `[kind, {nonce, data, tags}]`; ValueError if
    the secret is a plain (random) one."""
    try:
        v = json.loads(proof["secret"])
    except ValueError:
        raise ValueError("not a NUT-10 secret")
    if not (isinstance(v, list) and len(v) == 2 and isinstance(v[1], dict)):
        raise ValueError("not a NUT-10 secret")
    return v[0], v[1]


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def verify_dleq(proof, mint_pubkey):
    """NUT-12: does the proof's DLEQ {e, s, r} prove that the mint key `mint_pubkey` (the
    keyset's key for the proof's amount, compressed hex) signed it?
    C' = C + r*A, B' = Y + r*G, R1 = s*G - e*A, R2 = s*B' - e*C', e == SHA256(R1 R2 A C')."""
    from coincurve import PrivateKey, PublicKey

    d = proof.get("dleq")
    if not d:
        return False
    e, s, r = (int(d[k], 16) for k in ("e", "s", "r"))
    if not all(0 < x < SECP256K1_N for x in (e, s, r)):
        return False

    def mul(point, k):
        return point.multiply((k % SECP256K1_N).to_bytes(32, "big"))

    def g(k):
        return PrivateKey((k % SECP256K1_N).to_bytes(32, "big")).public_key

    try:
        a = PublicKey(bytes.fromhex(mint_pubkey))
        c = PublicKey(bytes.fromhex(proof["C"]))
        y = PublicKey(bytes.fromhex(hash_to_curve(proof["secret"])))
        c_ = PublicKey.combine_keys([c, mul(a, r)])
        b_ = PublicKey.combine_keys([y, g(r)])
        r1 = PublicKey.combine_keys([g(s), mul(a, -e)])
        r2 = PublicKey.combine_keys([mul(b_, s), mul(c_, -e)])
    except ValueError:
        return False
    h = hashlib.sha256("".join(p.format(compressed=False).hex() for p in (r1, r2, a, c_)).encode()).digest()
    return int.from_bytes(h, "big") == e


def mint_keys(mint_url, keyset_id):
    """{amount: pubkey hex} of a keyset, its id given in full or short (8-byte, V4 tokens)."""
    base = mint_url.rstrip("/")
    sets = requests.get(base + "/v1/keysets", timeout=10).json()["keysets"]
    full = [k["id"] for k in sets if k["id"].startswith(keyset_id)]
    if len(full) != 1:
        raise ValueError(f"keyset {keyset_id}: {len(full)} matches at {mint_url}")
    ks = requests.get(f"{base}/v1/keys/{full[0]}", timeout=10).json()["keysets"][0]
    return {int(a): k for a, k in ks["keys"].items()}


def token_ys(token):
    return [hash_to_curve(p["secret"]) for p in decode_token(token)["proofs"]]


def check_state(mint_url, token_or_ys):
    """NUT-07 POST /v1/checkstate: the states of a token's proofs (or of a list of Ys)."""
    ys = token_ys(token_or_ys) if isinstance(token_or_ys, str) else list(token_or_ys)
    r = requests.post(mint_url.rstrip("/") + "/v1/checkstate", json={"Ys": ys}, timeout=10)
    r.raise_for_status()
    return r.json()["states"]


# --- the wallet --------------------------------------------------------------------------------

class CashuWallet:
    """A real Nutshell wallet in its own directory, driven through a long-lived
    `cashu_wallet.py --serve` process (one JSON request and answer per line)."""

    def __init__(self, timeout=60.0):
        self.dir = tempfile.mkdtemp(prefix="l402-cashu-wallet-")
        open(os.path.join(self.dir, ".env"), "w").close()
        self.timeout = timeout
        self.proc = None
        self.lock = threading.Lock()

    def _ensure(self):
        if self.proc is not None and self.proc.poll() is None:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINT_", "CASHU_", "WALLET_"))}
        env.update({"CASHU_DIR": self.dir, "DEBUG": "FALSE", "TOR": "FALSE"})
        if getattr(self, "stderr", None):
            self.stderr.close()
        self.stderr = open(os.path.join(self.dir, "wallet.log"), "ab")
        self.proc = subprocess.Popen([NUTSHELL_PYTHON, WALLET_SCRIPT, "--serve"], cwd=self.dir, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, start_new_session=True)

    def call(self, op, **req):
        """One request; the answer dict (raises MintError when the wallet reports a failure)."""
        with self.lock:
            self._ensure()
            req["op"] = op
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            answer = [None]
            t = threading.Thread(target=lambda: answer.__setitem__(0, self.proc.stdout.readline()), daemon=True)
            t.start()
            t.join(self.timeout)
            if t.is_alive() or not answer[0]:
                self._kill()
                raise RuntimeError(f"cashu wallet: no answer to {op} within {self.timeout} s; log:\n{self.log_tail()}")
            out = json.loads(answer[0])
        if not out.get("ok"):
            raise MintError(f"{op}: {out.get('error')}", out.get("code"))
        return out

    def fund(self, mint_url, amount):
        """Mints `amount` at mint_url (its FakeWallet pays the quote); returns the balance there."""
        return self.call("fund", mint=mint_url, amount=int(amount))["balance"]

    def balance(self, mint_url):
        return self.call("balance", mint=mint_url)["balance"]

    def send_token(self, mint_url, amount, version="B", p2pk_pubkey=None, locktime=None, refund_pubkeys=None,
                   include_dleq=True, extra_tags=None, sigflag="SIG_INPUTS", include_fees=False, memo=None):
        """Fresh proofs of exactly `amount` from mint_url (funding the wallet when needed) as a
        cashuB (version="B") or cashuA ("A") token. With p2pk_pubkey, every proof's secret is a
        NUT-11 P2PK secret locked to it, with tags sigflag, and `locktime` (unix time) /
        `refund` / `extra_tags` ([[key, value, …]], e.g. [["n_sigs", "1"], ["pubkeys", k]])
        when given. include_fees adds the receiver's input fee to the amount."""
        if version not in ("A", "B"):
            raise ValueError("version is 'A' or 'B'")
        return self.call("send", mint=mint_url, amount=int(amount), version=version, p2pk_pubkey=p2pk_pubkey,
                         locktime=locktime, refund_pubkeys=refund_pubkeys, include_dleq=include_dleq,
                         extra_tags=extra_tags, sigflag=sigflag, include_fees=include_fees, memo=memo)["token"]

    def receive_token(self, token, privkey=None):
        """Swaps the token's proofs into this wallet (signing P2PK proofs with privkey); returns
        the amount received. MintError(code=11001) when a proof is already spent."""
        return self.call("receive", token=token, privkey=privkey)["amount"]

    def _kill(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=10)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self._kill()
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=30):
        try:
            with open(os.path.join(self.dir, "wallet.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


_shared = None


def shared_wallet():
    """The session's wallet behind the module functions (closed at exit)."""
    global _shared
    if _shared is None:
        _shared = CashuWallet()
        atexit.register(_shared.close)
    return _shared


def send_token(mint_url, amount, version="B", p2pk_pubkey=None, locktime=None, refund_pubkeys=None,
               include_dleq=True, **kw):
    return shared_wallet().send_token(mint_url, amount, version=version, p2pk_pubkey=p2pk_pubkey,
                                      locktime=locktime, refund_pubkeys=refund_pubkeys,
                                      include_dleq=include_dleq, **kw)


def receive_token(token, privkey=None):
    return shared_wallet().receive_token(token, privkey=privkey)


def fund(mint_url, amount):
    return shared_wallet().fund(mint_url, amount)


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nutshell_mint():
    need_mints("nutshell")
    m = NutshellMint().start()
    yield m
    m.cleanup()


@pytest.fixture(scope="module")
def cdk_mint():
    need_mints("cdk")
    m = CdkMint().start()
    yield m
    m.cleanup()


@pytest.fixture
def make_mint():
    """Factory: make_mint("nutshell" | "cdk", fee_ppk=0, start=True, **kw) -> mint."""
    made = []

    def factory(kind="nutshell", start=True, **kw):
        need_mints(kind)
        m = MINT_KINDS[kind](**kw)
        made.append(m)
        return m.start() if start else m

    yield factory
    for m in made:
        m.cleanup()


@pytest.fixture
def cashu_wallet():
    need_mints("nutshell")
    w = CashuWallet()
    yield w
    w.close()
