#!/usr/bin/env bash
# The real Cashu mints the Cashu tests run against (tests/integration/cashu_peers.py), kept
# across runs under $L402_PEERS_DIR (default ~/.cache/ngx-l402/peers).
#   cashu-mints.sh install [nutshell|cdk-mintd]   installs what is missing (both by default),
#                           then checks once that it starts and answers GET /v1/info:
#                           Nutshell: PyPI cashu 0.20.2 in the venv <peers>/nutshell (its wallet
#                           library also mints the tests' tokens); cdk-mintd 0.18.3 (cargo,
#                           fakewallet + sqlite) into <peers>/cdk-mintd
#   cashu-mints.sh path nutshell|cdk-mintd        prints the executable (what L402_NUTSHELL_MINT
#                           and L402_CDK_MINTD name; scripts/test.sh)
#   cashu-mints.sh check nutshell|cdk-mintd       starts it on a free 127.0.0.1 port in a
#                           temporary directory and waits (bounded) for GET /v1/info
set -euo pipefail
peers=${L402_PEERS_DIR:-$HOME/.cache/ngx-l402/peers}
nutshell_version=0.20.2
nutshell_venv=$peers/nutshell
nutshell_exe=$nutshell_venv/bin/mint
cdk_version=0.18.3
cdk_root=$peers/cdk-mintd
cdk_exe=$cdk_root/bin/cdk-mintd

path() {
  case "$1" in
    nutshell) echo "$nutshell_exe" ;;
    cdk-mintd) echo "$cdk_exe" ;;
    *) echo "usage: cashu-mints.sh path nutshell|cdk-mintd" >&2; return 2 ;;
  esac
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

nutshell_installed() {
  [ -x "$nutshell_exe" ] &&
    [ "$("$nutshell_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("cashu"))' 2>/dev/null)" = "$nutshell_version" ]
}

cdk_installed() {
  [ -x "$cdk_exe" ] && "$cdk_exe" --version 2>/dev/null | grep -qw "$cdk_version"
}

# Starts the mint in $dir on $port in the background; prints its pid.
start_mint() {
  local what=$1 dir=$2 port=$3
  case "$what" in
    nutshell)
      : >"$dir/.env"  # else Nutshell reads ~/.cashu/.env, overriding the environment
      (cd "$dir" && exec env CASHU_DIR="$dir/home" MINT_BACKEND_BOLT11_SAT=FakeWallet \
        MINT_LISTEN_HOST=127.0.0.1 MINT_LISTEN_PORT="$port" MINT_PRIVATE_KEY=test-only-key \
        MINT_DATABASE="$dir/mintdb" FAKEWALLET_DELAY_INCOMING_PAYMENT=0 \
        FAKEWALLET_DELAY_OUTGOING_PAYMENT=0 MINT_INPUT_FEE_PPK=0 "$nutshell_exe") >"$dir/mint.log" 2>&1 &
      ;;
    cdk-mintd)
      cat >"$dir/mint.toml" <<EOF
[info]
url = "http://127.0.0.1:$port/"
listen_host = "127.0.0.1"
listen_port = $port
mnemonic = "env:CDK_MINTD_MNEMONIC"
[info.logging]
output = "stderr"
[database]
engine = "sqlite"
[payment_backend]
backend = "fakewallet"
unit = "sat"
[fake_wallet]
fee_percent = 0.0
reserve_fee_min = 0
min_delay_time = 0
max_delay_time = 0
EOF
      export CDK_MINTD_MNEMONIC="abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
      # 0.18 keeps its configuration in its database: imported once, then started.
      mkdir -p "$dir/work"
      timeout 60 "$cdk_exe" --work-dir "$dir/work" config init --new-mint --file "$dir/mint.toml" >"$dir/mint.log" 2>&1 ||
        { echo "cdk-mintd config init failed:" >&2; tail -20 "$dir/mint.log" >&2; }
      (cd "$dir" && exec "$cdk_exe" --work-dir "$dir/work") >>"$dir/mint.log" 2>&1 &
      ;;
  esac
  echo $!
}

check() {
  local what=$1 dir port pid ok=1 i
  dir=$(mktemp -d)
  port=$(free_port)
  pid=$(start_mint "$what" "$dir" "$port")
  for i in $(seq 1 300); do
    if curl -sf --max-time 1 -o "$dir/info" "http://127.0.0.1:$port/v1/info" 2>/dev/null; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ $ok = 0 ]; then
    echo "    $what: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("version"))' "$dir/info")"
  else
    echo "$what mint did not answer GET /v1/info on 127.0.0.1:$port; its log:" >&2
    tail -20 "$dir/mint.log" >&2 || true
  fi
  rm -rf "$dir"
  return $ok
}

install_nutshell() {
  local marker=$peers/.nutshell-checked
  if nutshell_installed && [ "$(cat "$marker" 2>/dev/null)" = "$nutshell_version" ]; then return 0; fi
  if ! nutshell_installed; then
    echo "==> pip install cashu==$nutshell_version (Nutshell) into $nutshell_venv"
    rm -rf "$nutshell_venv"
    mkdir -p "$peers"
    python3 -m venv "$nutshell_venv"
    # Without the two pins the mint dies at start (environs vs marshmallow 4, slowapi vs limits 5).
    "$nutshell_venv/bin/pip" install --quiet --disable-pip-version-check \
      "cashu==$nutshell_version" 'marshmallow<4' 'limits<5'
  fi
  echo "==> check that the Nutshell mint starts"
  check nutshell
  echo "$nutshell_version" >"$marker"
}

install_cdk() {
  local marker=$peers/.cdk-mintd-checked
  if cdk_installed && [ "$(cat "$marker" 2>/dev/null)" = "$cdk_version" ]; then return 0; fi
  if ! cdk_installed; then
    echo "==> cargo install cdk-mintd $cdk_version into $cdk_root (a few minutes)"
    mkdir -p "$peers"
    cargo install cdk-mintd --version "$cdk_version" --locked --no-default-features \
      --features fakewallet,sqlite --root "$cdk_root" --quiet
  fi
  echo "==> check that cdk-mintd starts"
  check cdk-mintd
  echo "$cdk_version" >"$marker"
}

case "${1:-}" in
  install)
    case "${2:-all}" in
      nutshell) install_nutshell ;;
      cdk-mintd) install_cdk ;;
      all) install_nutshell; install_cdk ;;
      *) echo "usage: cashu-mints.sh install [nutshell|cdk-mintd]" >&2; exit 2 ;;
    esac ;;
  path) path "${2:-}" ;;
  check) check "${2:?usage: cashu-mints.sh check nutshell|cdk-mintd}" ;;
  *) echo "usage: cashu-mints.sh install [nutshell|cdk-mintd] | path nutshell|cdk-mintd | check nutshell|cdk-mintd" >&2; exit 2 ;;
esac
