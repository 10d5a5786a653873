#!/usr/bin/env bash
# Installs the system packages a step needs, only when something is missing.
#   install-deps.sh build   compilers and headers for nginx + bindgen
#   install-deps.sh test    + redis, wrk, python venv, chromium, promtool, node packages for interop tests
#   install-deps.sh bench   + valgrind
set -euo pipefail
what=${1:-build}
# protobuf-compiler: protoc for the LND gRPC code (crates/l402-lnd/build.rs).
# faketime: the tests move nginx's clock forward (claims that must outlive a token's caveats).
pkgs=(clang libclang-dev libpcre2-dev libssl-dev zlib1g-dev pkg-config make gcc protobuf-compiler)
[ "$what" = test ] || [ "$what" = bench ] && pkgs+=(redis-server wrk python3-venv curl bc openssl faketime)
# chromium: the browser tests (tests/integration/test_browser_cors.py, headless).
[ "$what" = test ] && pkgs+=(chromium)
# valgrind: make bench-instructions counts instructions per request under callgrind.
[ "$what" = bench ] && pkgs+=(valgrind)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A real Nostr relay for the NWC tests (crates/l402-nwc): installed once under ~/.cache and
# checked to start (scripts/nostr-relay.sh); the tests find it through L402_NOSTR_RELAY
# (scripts/test.sh).
if [ "$what" = test ] || [ "$what" = bench ]; then
  "$(dirname "$0")/nostr-relay.sh" install
fi

# Real Cashu mints for the Cashu tests (Nutshell from PyPI, cdk-mintd from cargo): installed once
# under ~/.cache and checked to start (scripts/cashu-mints.sh); the tests find them through
# L402_NUTSHELL_MINT and L402_CDK_MINTD (scripts/test.sh).
if [ "$what" = test ]; then
  "$(dirname "$0")/cashu-mints.sh" install
fi

# promtool, to check the module's Prometheus output (tests/integration/test_metrics.py): taken
# out of Debian's prometheus package without installing it (no service, no user, no port).
if [ "$what" = test ]; then
  promtool=${L402_PEERS_DIR:-$HOME/.cache/ngx-l402/peers}/promtool/promtool
  if ! "$promtool" --version >/dev/null 2>&1; then
    echo "==> promtool from Debian's prometheus package"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb x)
    mkdir -p "$(dirname "$promtool")"
    cp "$tmp/x/usr/bin/promtool" "$promtool"
    rm -rf "$tmp"
  fi
fi
