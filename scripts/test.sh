#!/usr/bin/env bash
# make test: installs what is missing, builds nginx + the module, runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" test
# The Nostr relay install-deps.sh installed, for the NWC backend tests.
export L402_NOSTR_RELAY=${L402_NOSTR_RELAY:-$("$root/scripts/nostr-relay.sh" path)}
# The Cashu mints install-deps.sh installed (tests/integration/cashu_peers.py).
export L402_NUTSHELL_MINT=${L402_NUTSHELL_MINT:-$("$root/scripts/cashu-mints.sh" path nutshell)}
export L402_CDK_MINTD=${L402_CDK_MINTD:-$("$root/scripts/cashu-mints.sh" path cdk-mintd)}
# promtool, which install-deps.sh took from Debian's prometheus package (test_metrics.py).
export L402_PROMTOOL=${L402_PROMTOOL:-${L402_PEERS_DIR:-$HOME/.cache/ngx-l402/peers}/promtool/promtool}

echo "==> build (release)"
"$root/scripts/build.sh"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

echo "==> backend test servers (LND gRPC, CLN JSON-RPC, Eclair HTTP, LNURL payee, NWC wallet)"
cargo build --release --quiet -p testnode-lnd -p testnode-cln -p testnode-eclair -p testnode-lnurl -p testnode-nwc
export L402_TESTNODE_DIR=$CARGO_TARGET_DIR/release

echo "==> unit and property tests (crates without nginx)"
cargo test --workspace --exclude ngx-l402 --quiet

echo "==> clippy"
NGINX_BUILD_DIR=$root/build/nginx-src/objs cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> test clients (PyPI, npm)"
venv=$root/tests/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
if [ -f tests/interop/package.json ]; then
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi

echo "==> integration tests (real nginx)"
L402_REQUIRE_INTEROP=1 "$venv/bin/pytest" tests/integration -q "$@"
