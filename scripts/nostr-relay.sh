#!/usr/bin/env bash
# The real Nostr relay the NWC backend tests run against (crates/l402-nwc/tests, through
# testnode_nwc::relay), kept across runs under $L402_PEERS_DIR (default ~/.cache/ngx-l402/peers).
#   nostr-relay.sh install   installs it when missing (PyPI nostr-relay 1.14 in a venv; if that
#                            fails, cargo nostr-rs-relay 0.8.12), then checks that it starts
#   nostr-relay.sh path      prints the executable (what L402_NOSTR_RELAY names; scripts/test.sh)
#   nostr-relay.sh check EXE starts EXE on a free 127.0.0.1 port with a temporary data
#                            directory and checks that it accepts a WebSocket connection
#   nostr-relay.sh start DIR PORT  starts the installed relay on 127.0.0.1:PORT in the
#                            background with its data and log (relay.log) in DIR; prints its pid
set -euo pipefail
peers=${L402_PEERS_DIR:-$HOME/.cache/ngx-l402/peers}
py_venv=$peers/nostr-relay
py_exe=$py_venv/bin/nostr-relay
rs_root=$peers/nostr-rs-relay
rs_exe=$rs_root/bin/nostr-rs-relay

path() {
  if "$py_exe" --help >/dev/null 2>&1; then echo "$py_exe"
  elif [ -x "$rs_exe" ]; then echo "$rs_exe"
  else echo "$py_exe"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Writes the relay's configuration into $dir and runs it there in the background.
start_relay() {
  local exe=$1 dir=$2 port=$3
  case "$(basename "$exe")" in
    nostr-rs-relay)
      cat >"$dir/config.toml" <<EOF
[network]
address = "127.0.0.1"
port = $port
[database]
engine = "sqlite"
data_directory = "$dir"
EOF
      (cd "$dir" && exec "$exe" --config "$dir/config.toml") >"$dir/relay.log" 2>&1 &
      ;;
    *)
      cat >"$dir/config.yaml" <<EOF
DEBUG: false
storage:
  sqlalchemy.url: sqlite+aiosqlite:///$dir/nostr.sqlite3
gunicorn:
  bind: 127.0.0.1:$port
  workers: 1
  loglevel: warning
  reload: false
authentication:
  enabled: false
EOF
      (cd "$dir" && exec "$exe" -c "$dir/config.yaml" serve --use-uvicorn) >"$dir/relay.log" 2>&1 &
      ;;
  esac
  echo $!
}

# A WebSocket upgrade (RFC 6455 opening handshake) answered with 101 within 30 s.
check() {
  local exe=$1 dir port pid ok=1 i
  dir=$(mktemp -d)
  port=$(free_port)
  pid=$(start_relay "$exe" "$dir" "$port")
  for i in $(seq 1 150); do
    # After a 101 the connection stays open: curl ends at --max-time, the answer is kept.
    curl -s -i --max-time 1 -o "$dir/answer" http://127.0.0.1:"$port"/ \
      -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
      -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' 2>/dev/null || true
    if head -1 "$dir/answer" 2>/dev/null | grep -q '^HTTP/1.1 101'; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ $ok != 0 ]; then
    echo "nostr relay $exe did not accept a WebSocket connection on 127.0.0.1:$port; its log:" >&2
    tail -20 "$dir/relay.log" >&2 || true
  fi
  rm -rf "$dir"
  return $ok
}

install() {
  local exe
  exe=$(path)
  if [ -x "$exe" ] && [ -f "$peers/.nostr-relay-checked" ] && [ "$(cat "$peers/.nostr-relay-checked")" = "$exe" ]; then
    return 0
  fi
  if ! "$py_exe" --help >/dev/null 2>&1 && [ ! -x "$rs_exe" ]; then
    echo "==> pip install nostr-relay==1.14 into $py_venv"
    rm -rf "$py_venv"
    if python3 -m venv "$py_venv" &&
        "$py_venv/bin/pip" install --quiet --disable-pip-version-check 'nostr-relay==1.14' &&
        "$py_exe" --help >/dev/null 2>&1; then
      :
    else
      rm -rf "$py_venv"
      # Without --locked: its lock file pins a `time` that no longer compiles.
      echo "==> cargo install nostr-rs-relay 0.8.12 into $rs_root"
      cargo install nostr-rs-relay --version 0.8.12 --root "$rs_root" --quiet
    fi
  fi
  exe=$(path)
  echo "==> check that $exe starts and accepts a WebSocket connection"
  check "$exe"
  mkdir -p "$peers"
  echo "$exe" >"$peers/.nostr-relay-checked"
}

case "${1:-}" in
  install) install ;;
  path) path ;;
  check) check "${2:?usage: nostr-relay.sh check EXE}" ;;
  start) start_relay "$(path)" "${2:?usage: nostr-relay.sh start DIR PORT}" "${3:?usage: nostr-relay.sh start DIR PORT}" ;;
  *) echo "usage: nostr-relay.sh install|path|check EXE|start DIR PORT" >&2; exit 2 ;;
esac
