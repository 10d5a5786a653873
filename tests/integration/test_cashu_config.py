"""Cashu configuration at `nginx -t` (conf/cashu.rs): the directives and the seed's CASHU_*
variables, each bad value named, never a key shown; a mint allow-list always required."""
import os
import stat

import pytest

from conftest import paid_config

KEY = "7f" * 32


def cashu_config(tmp_path, extra, key_mode=0o600, key=KEY):
    key_file = tmp_path / "cashu.key"
    key_file.write_text(key + "\n")
    os.chmod(key_file, key_mode)
    lines = extra.replace("KEYFILE", str(key_file)).replace("DB", str(tmp_path / "cashu.db"))
    return paid_config(extra=lines)


GOOD = "l402_cashu_mode p2pk; l402_cashu_mints https://mint.example; l402_cashu_p2pk_key_file KEYFILE; l402_cashu_db DB;"


def test_a_complete_p2pk_configuration_passes(make_nginx, tmp_path):
    n = make_nginx(cashu_config(tmp_path, GOOD), start=False)
    ok, out = n.test_config()
    assert ok, out


@pytest.mark.parametrize("extra, message", [
    ("l402_cashu_mode p2pk; l402_cashu_p2pk_key_file KEYFILE; l402_cashu_db DB;", "needs a mint allow-list"),
    ("l402_cashu_mints https://mint.example; l402_cashu_p2pk_key_file KEYFILE; l402_cashu_db DB;", "standard mode"),
    ("l402_cashu_mode p2pk; l402_cashu_mints not-a-url; l402_cashu_p2pk_key_file KEYFILE; l402_cashu_db DB;", "is not a mint URL"),
    ("l402_cashu_mode p2pk; l402_cashu_mints http://127.0.0.1:3338; l402_cashu_p2pk_key_file KEYFILE; l402_cashu_db DB;", "plain http"),
    ("l402_cashu_mode p2pk; l402_cashu_mints https://mint.example; l402_cashu_db DB;", "needs our private key"),
    ("l402_cashu_mode p2pk; l402_cashu_mints https://mint.example; l402_cashu_p2pk_key_file KEYFILE;", "needs a proof store"),
    (GOOD.replace("l402_cashu_db DB", "l402_cashu_db /nonexistent-dir/cashu.db"), "/nonexistent-dir"),
    (GOOD + " l402_cashu_lock_window 5s;", "from 1m to 30d"),
    (GOOD.replace("p2pk;", "magic;"), "must be \"p2pk\" or \"standard\""),
])
def test_bad_cashu_configuration_fails_nginx_t(make_nginx, tmp_path, extra, message):
    n = make_nginx(cashu_config(tmp_path, extra), start=False)
    ok, out = n.test_config()
    assert not ok and message in out, out
    assert KEY not in out


def test_the_key_file_must_be_private_and_a_key(make_nginx, tmp_path):
    n = make_nginx(cashu_config(tmp_path, GOOD, key_mode=0o644), start=False)
    ok, out = n.test_config()
    assert not ok and "readable by others" in out, out
    n = make_nginx(cashu_config(tmp_path, GOOD, key="zz" * 32), start=False)
    ok, out = n.test_config()
    assert not ok and "not a secp256k1 private key" in out and "zz" * 32 not in out, out


def test_the_seed_environment_works(make_nginx, tmp_path):
    env = {
        "CASHU_ECASH_SUPPORT": "true",
        "CASHU_P2PK_MODE": "true",
        "CASHU_P2PK_PRIVATE_KEY": KEY,
        "CASHU_WHITELISTED_MINTS": "https://mint1.example, https://mint2.example",
        "CASHU_DB_PATH": str(tmp_path / "cashu_tokens.db"),
    }
    n = make_nginx(paid_config(), start=False, env=env)
    ok, out = n.test_config()
    assert ok, out
    bad = dict(env, CASHU_P2PK_PRIVATE_KEY="12")
    n = make_nginx(paid_config(), start=False, env=bad)
    ok, out = n.test_config()
    assert not ok and "CASHU_P2PK_PRIVATE_KEY: not a secp256k1 private key" in out, out
    bad = dict(env, CASHU_WHITELISTED_MINTS="")
    del bad["CASHU_WHITELISTED_MINTS"]
    n = make_nginx(paid_config(), start=False, env=bad)
    ok, out = n.test_config()
    assert not ok and "needs a mint allow-list" in out, out
