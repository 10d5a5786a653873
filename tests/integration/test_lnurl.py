"""The LNURL-pay / Lightning Address backend (LUD-06, LUD-16, LUD-21) end to end through nginx,
against the repository's LNURL test server (crates/testnode-lnurl): HTTPS with a throwaway CA,
real signed invoices, LUD-21 verify, and the hostile payee's faults.

Also the multi-tenant mode: `l402_lnurl_addr` per location, each tenant paid to its own payee.
"""
import os

import pytest

from conftest import Nginx


def nginx_t(http, env=None):
    n = Nginx(http, env=env)
    try:
        return n.test_config()
    finally:
        n.cleanup()


def paid(loc, main="l402_backend fake;"):
    return f"""
        {main}
        server {{
            listen 127.0.0.1:{{port}};
            location /a/ {{ l402 on; {loc} }}
        }}
    """


@pytest.mark.parametrize("loc,needles", [
    ('l402_lnurl_addr "not an address";', ['"l402_lnurl_addr"', "not a Lightning Address"]),
    ('l402_lnurl_addr "alice@";', ['"l402_lnurl_addr"', "domain"]),
    ('l402_lnurl_addr "ftp://x.example/a";', ['"l402_lnurl_addr"']),
    ('l402_lnurl_addr "https://u:secret-pw@x.example/a";', ["user info"]),
    ('l402_lnurl_addr "lnurl1qqqqqq";', ["bech32"]),
    # Plain HTTP only with l402_lnurl_allow_http: the error names the location.
    ('l402_lnurl_addr "http://127.0.0.1:1/lnurlp/a";', ['location "/a/"', "l402_lnurl_allow_http"]),
    ('l402_lnurl_addr "a@x.example"; l402_lnurl_addr "b@x.example";', ["duplicate"]),
])
def test_bad_payees_fail_nginx_t(loc, needles):
    ok, out = nginx_t(paid(loc))
    assert not ok, out
    for needle in needles:
        assert needle in out, (needle, out)
    assert "secret-pw" not in out
    assert "panicked" not in out


@pytest.mark.parametrize("main,needle", [
    ("l402_backend lnurl;", "LNURL_ADDRESS"),
    ("l402_backend fake; l402_lnurl_network dogecoin;", '"l402_lnurl_network"'),
    ("l402_backend fake; l402_lnurl_allow_http maybe;", '"l402_lnurl_allow_http"'),
    ("l402_backend fake; l402_lnurl_document_ttl 0;", '"l402_lnurl_document_ttl"'),
    ("l402_backend fake; l402_lnurl_ca_file /nonexistent/ca.pem;", '"l402_lnurl_ca_file"'),
    ("l402_backend fake; l402_lnurl_ca_file root.key;", "no certificate"),
])
def test_bad_lnurl_settings_fail_nginx_t(main, needle):
    ok, out = nginx_t(paid("", main=main))
    assert not ok, out
    assert needle in out, out


def test_allow_http_warns_and_admits_http_payees():
    ok, out = nginx_t(paid('l402_lnurl_addr "http://127.0.0.1:1/lnurlp/a";',
                           main="l402_backend fake; l402_lnurl_allow_http on;"))
    assert ok, out
    assert "l402_lnurl_allow_http on" in out and "[warn]" in out, out


def test_seed_configuration_is_accepted():
    ok, out = nginx_t(paid("", main=""), env={"LN_CLIENT_TYPE": "LNURL", "LNURL_ADDRESS": "alice@pay.example"})
    assert ok, out
