#!/usr/bin/env bash
# make bench-ab REV=<commit>: the module of REV (default: HEAD~1) against the working tree's, in
# one run on one nginx binary: two nginx instances with the same configuration (2 workers each),
# wrk rounds interleaved A/B on the paid (reusable token), claim (zone, one use per request) and
# challenge (fake backend) paths, plus plain nginx. Prints the median req/s of each and the
# ratio B/A; these machines are noisy, so compare only figures of one run.
# Env: REV, DURATION (default 5s), CONNS (default 32), ROUNDS (default 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${REV:-HEAD~1}
"$root/scripts/install-deps.sh" bench
"$root/scripts/build.sh" >/dev/null
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
duration=${DURATION:-5s}; conns=${CONNS:-32}; rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/l402-ab.XXXXXX); chmod 755 "$work"
# A: the module of $rev, built against the same nginx objs into its own target dir.
git -C "$root" worktree add --detach "$work/src" "$rev" >/dev/null 2>&1
( cd "$work/src" && NGINX_BUILD_DIR="$root/build/nginx-src/objs" CARGO_TARGET_DIR="$CARGO_TARGET_DIR-ab" \
    cargo build --release --quiet -p ngx-l402 )
cp "$CARGO_TARGET_DIR-ab/release/libngx_l402.so" "$work/a.so"
git -C "$root" worktree remove --force "$work/src"
cp "$root/build/modules/ngx_http_l402_module.so" "$work/b.so"
nginx=$root/build/nginx/sbin/nginx
. "$root/scripts/bench-lib.sh"
bench_root_key "$work/root.key"
bench_files "$work"
base=$((20000 + RANDOM % 20000))
declare -A port
for v in a b; do
  d=$work/$v; mkdir -p "$d/logs" "$d/conf"; cp "$work/root.key" "$d/conf/"; ln -s "$work/html" "$d/html"
  port[$v]=$base; base=$((base + 1))
  cat >"$d/conf/nginx.conf" <<CONF
load_module $work/$v.so;
worker_processes 2;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    l402_root_key_file root.key;
    l402_backend fake;
    l402_max_pending 100000;
    l402_usage_zone ab:16m state=off;
$(bench_server ${port[$v]})
}
CONF
  "$nginx" -p "$d" 2>/dev/null
done
trap 'for v in a b; do "$nginx" -p "$work/$v" -s stop 2>/dev/null; done; sleep 0.5; rm -rf "$work"' EXIT
sleep 0.5
declare -A auth
for v in a b; do
  url=http://127.0.0.1:${port[$v]}
  auth[$v]=$(bench_buy "$url")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "${auth[$v]}" "$url/claim/")" = 200 ] || { echo "$v: token not accepted"; exit 1; }
done
run() { # name version path [with-auth]
  local url=http://127.0.0.1:${port[$2]} out
  if [ -n "${4:-}" ]; then out=$(wrk -t1 -c"$conns" -d"$duration" -H "${auth[$2]}" "$url$3")
  else out=$(wrk -t1 -c"$conns" -d"$duration" "$url$3"); fi
  echo "$1-$2 $(echo "$out" | awk '/Requests\/sec/ {print $2}')"
}
wrk -t1 -c8 -d2s "http://127.0.0.1:${port[a]}/plain/" >/dev/null
: >"$work/results"
for _ in $(seq "$rounds"); do
  for v in a b; do
    run plain "$v" /plain/ >>"$work/results"
    run paid "$v" /paid/ auth >>"$work/results"
    run claim "$v" /claim/ auth >>"$work/results"
    run challenge "$v" /challenge/ >>"$work/results"
  done
done
median() { grep "^$1 " "$work/results" | sort -k2 -n | awk '{a[NR]=$2} END {print a[int((NR+1)/2)]}'; }
echo "A = $(git -C "$root" rev-parse --short "$rev"), B = working tree; wrk -t1 -c$conns -d$duration, median of $rounds interleaved rounds, 2 workers each"
printf '%-10s %12s %12s %8s %10s\n' path A-req/s B-req/s B/A B/plain-B
pb=$(median plain-b)
for p in plain paid claim challenge; do
  a=$(median "$p-a"); b=$(median "$p-b")
  printf '%-10s %12s %12s %8.3f %10.3f\n' "$p" "$a" "$b" "$(echo "$b / $a" | bc -l)" "$(echo "$b / $pb" | bc -l)"
done
for v in a b; do
  grep -E '\[(alert|crit|emerg)\]' "$work/$v/logs/error.log" && { echo "errors in the log of $v"; exit 1; } || true
done
