#!/usr/bin/env bash
# make bench-instructions: user-space instructions per request, counted by valgrind's callgrind
# (every thread of the process: the worker's main thread and its I/O runtime), not timed.
# One nginx process (master_process off, one worker), one keep-alive connection, every request
# of a path carrying the same header; each path is run at two request counts (N1, N2) so that
# start-up, the token purchase and teardown cancel: per request = (I(N2) - I(N1)) / (N2 - N1).
# Paths: plain (no l402, with the paid path's Authorization header), paid (reusable token,
# memo hit), claim (the same token, one zone claim per request: the single-use path's work),
# challenge (no token: fake-backend invoice + macaroon per request).
# Env: N1 (default 200), N2 (default 1200), PATHS (default "plain paid claim challenge"),
# L402_MODULE (another build of the module, e.g. from make bench-ab's target dir),
# KEEP_PROFILES=1 keeps the callgrind files of both runs (build/callgrind/); then
# scripts/callgrind-per-request.py shows where each path's instructions per request go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" bench
"$root/scripts/build.sh" >/dev/null
n1=${N1:-200}; n2=${N2:-1200}
paths=${PATHS:-plain paid claim challenge}
nginx=$root/build/nginx/sbin/nginx
module=${L402_MODULE:-$root/build/modules/ngx_http_l402_module.so}
work=$(mktemp -d /tmp/l402-instr.XXXXXX); chmod 755 "$work"
vpid=""
trap '[ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/logs" "$work/conf"
. "$root/scripts/bench-lib.sh"
bench_files "$work"
bench_root_key "$work/conf/root.key"
port=$((20000 + RANDOM % 20000))
cat >"$work/conf/nginx.conf" <<CONF
load_module $module;
master_process off;
daemon off;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    l402_root_key_file root.key;
    l402_backend fake;
    l402_usage_zone instr:16m state=off;
$(bench_server $port)
}
CONF
# The client: buys a token, then sends N requests to one path on one keep-alive connection.
cat >"$work/client.py" <<'PY'
import http.client, re, sys, time
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
deadline = time.time() + 120
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60); c.connect(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.2)
def get(p, headers=None):
    c.request("GET", p, headers=headers or {}); r = c.getresponse(); r.read(); return r
r = get("/challenge/")
m = re.search(r'L402 macaroon="([^"]+)", invoice="([^"]+)"', r.getheader("WWW-Authenticate") or "")
c.request("GET", "/pay?invoice=" + m.group(2)); pr = c.getresponse(); pre = pr.read().decode().strip()
auth = {"Authorization": f"L402 {m.group(1)}:{pre}"}
assert get("/claim/", auth).status == 200
want = 402 if path == "/challenge/" else 200
headers = {} if path == "/challenge/" else auth
for _ in range(n):
    s = get(path, headers).status
    assert s == want, (path, s)
PY
count() { # path n -> total instructions
  local path=$1 n=$2 out=$work/callgrind.$3
  rm -f "$work/logs/error.log"
  valgrind --tool=callgrind --callgrind-out-file="$out" --quiet \
    "$nginx" -p "$work" -c conf/nginx.conf >/dev/null 2>"$work/valgrind.err" &
  vpid=$!
  python3 "$work/client.py" "$port" "$path" "$n"
  kill -QUIT $vpid; wait $vpid || true; vpid=""
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
printf '%-10s %14s %10s\n' path instr/request ratio
declare -A per
for p in $paths; do
  a=$(count "/$p/" "$n1" "$p.$n1"); b=$(count "/$p/" "$n2" "$p.$n2")
  per[$p]=$(( (b - a) / (n2 - n1) ))
  base=${per[plain]:-${per[$p]}}
  printf '%-10s %14s %10.3f\n' "$p" "${per[$p]}" "$(echo "${per[$p]} / $base" | bc -l)"
  if [ "${KEEP_PROFILES:-0}" = 1 ]; then
    mkdir -p "$root/build/callgrind"; cp "$work/callgrind.$p.$n2" "$root/build/callgrind/$p.out"
    cp "$work/callgrind.$p.$n1" "$root/build/callgrind/$p.n1.out"
  fi
done
echo "(valgrind callgrind, all threads; N1=$n1 N2=$n2 requests on one keep-alive connection; commit $(git -C "$root" rev-parse --short HEAD))"
[ "${KEEP_PROFILES:-0}" = 1 ] && echo "profiles: build/callgrind/<path>.out and <path>.n1.out; per request by function: scripts/callgrind-per-request.py build/callgrind/paid $((n2 - n1))"
if grep -E '\[(alert|crit|emerg)\]' "$work/logs/error.log"; then echo "errors in the log"; exit 1; fi
