"""Every bad directive value makes `nginx -t` fail, naming the directive and the problem."""
import os

import pytest

from conftest import ROOT_KEY_HEX, Nginx


def conf(loc="", main="l402_backend fake;", **kw):
    return Nginx(f"""
        {main}
        server {{
            listen 127.0.0.1:{{port}};
            location / {{ l402 on; {loc} }}
        }}
    """, **kw)


def check_fails(n, *needles):
    try:
        ok, out = n.test_config()
        assert not ok, out
        assert "[emerg]" in out, out
        for needle in needles:
            assert needle in out, (needle, out)
        assert "panicked" not in out
    finally:
        n.cleanup()


@pytest.mark.parametrize("value,needle", [
    ("0", "at least 1"), ("-5", "whole number"), ("abc", "whole number"),
    ("1.5", "whole number"), ("99999999999999999999999", "whole number"),
    ("1844674407370955162", "BOLT11"),
])
def test_bad_amount(value, needle):
    check_fails(conf(f"l402_amount_msat_default {value};"), '"l402_amount_msat_default"', needle)


@pytest.mark.parametrize("value", ["abc", "-1", "1x", "''"])
def test_bad_macaroon_timeout(value):
    check_fails(conf(f"l402_macaroon_timeout {value};"), '"l402_macaroon_timeout"')


@pytest.mark.parametrize("line,directive", [
    ("l402 maybe;", '"l402"'),
    ("l402_service a:b;", '"l402_service"'),
    ("l402_service 'a b';", '"l402_service"'),
    ("l402_invoice_expiry 0;", '"l402_invoice_expiry"'),
    ("l402_amount_msat_default 5; l402_amount_msat_default 6;", "duplicate"),
])
def test_bad_location_values(line, directive):
    check_fails(conf(line), directive)


@pytest.mark.parametrize("main,needle", [
    ("l402_backend nosuch;", "not a known backend"),
    ("l402_backend lnc;", "not supported by this build yet"),
    ("l402_backend lnd;", "LND_ADDRESS"),
    ("l402_backend fake; l402_backend_timeout 0;", '"l402_backend_timeout"'),
    ("l402_backend fake; l402_backend_timeout forever;", '"l402_backend_timeout"'),
    ("l402_backend fake; l402_fake_delay 1y;", '"l402_fake_delay"'),
    ("l402_backend fake; l402_fake_network mainnet;", '"l402_fake_network"'),
    ("l402_backend fake; l402_max_pending 0;", '"l402_max_pending"'),
    ("l402_backend fake; l402_root_key_file /nonexistent/key;", "cannot read"),
    ("l402_backend fake; l402_root_key deadbeef;", "is not supported"),
])
def test_bad_main_values(main, needle):
    check_fails(conf(main=main), needle)


def test_no_root_key():
    check_fails(conf(key_file=False), "no root key")


def test_no_backend():
    check_fails(conf(main=""), "no payment backend")


def test_short_key_file(tmp_path):
    n = conf(key_file=False)
    with open(os.path.join(n.dir, "conf", "short.key"), "w") as f:
        f.write("abcd\n")
    n.conf = n.conf.replace("l402_backend fake;", "l402_backend fake; l402_root_key_file short.key;")
    with open(n.conf_path, "w") as f:
        f.write(n.conf)
    check_fails(n, "short.key", "too short")


@pytest.mark.parametrize("env,needle", [
    ({"LN_CLIENT_TYPE": "LNURL"}, "LNURL_ADDRESS"),
    ({"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": "not-an-address"}, "environment variable LNURL_ADDRESS: payee is not"),
    ({"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": "http://pay.example/lnurlp/a"}, "l402_lnurl_allow_http"),
    ({"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": "a@pay.example", "LNURL_NETWORK": "dogecoin"}, "LNURL network"),
    ({"LN_CLIENT_TYPE": "LND"}, "LND_ADDRESS"),
    ({"LN_CLIENT_TYPE": "bogus"}, "not a known backend"),
    ({"ROOT_KEY": "short"}, "ROOT_KEY"),
])
def test_bad_environment(env, needle):
    check_fails(conf(main="", env=env, key_file="LN" in "".join(env)), needle)


def test_environment_configures_seed_style():
    n = conf(main="", key_file=False, env={"LN_CLIENT_TYPE": "FAKE", "ROOT_KEY": ROOT_KEY_HEX})
    ok, out = n.test_config()
    n.cleanup()
    assert ok, out


def test_fake_pay_needs_l402_configured():
    n = Nginx("""
        server { listen 127.0.0.1:{port}; location /pay { l402_fake_pay; } }
    """, key_file=False)
    check_fails(n, "no root key")


def test_unused_module_needs_no_configuration():
    n = Nginx("server { listen 127.0.0.1:{port}; location / { } }", key_file=False)
    ok, out = n.test_config()
    n.cleanup()
    assert ok, out
