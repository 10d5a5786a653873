#!/usr/bin/env bash
# make bench: wrk on loopback, one nginx with 2 workers, same small file on three paths:
#   /plain/      no L402                       (the baseline: plain nginx), requested twice:
#                without and with the same Authorization header the paid path gets
#   /paid/       l402 on, valid reusable token (signature + caveat check per request)
#   /claim/      l402 on, l402_token_uses 1000000000: the same token, and every request also
#                claims one use in the shared memory zone (the single-use path's work)
#   claim-redis  the same /claim/ location on a second nginx whose claims live in a local Redis
#                (every request: one Lua script through the worker's runtime and back)
#   /challenge/  l402 on, no token             (invoice + macaroon per request: fake backend)
# Prints requests/s, p99 latency and the ratio to plain nginx of the same run.
# Env: DURATION (default 10s), CONNS (default 32), THREADS (default 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" bench
"$root/scripts/build.sh" >/dev/null
duration=${DURATION:-10s}; conns=${CONNS:-32}; threads=${THREADS:-1}
dir=$(mktemp -d /tmp/l402-bench.XXXXXX); chmod 755 "$dir"
mkdir -p "$dir/logs" "$dir/conf"
for p in plain paid claim challenge; do mkdir -p "$dir/html/$p"; done
head -c 512 /dev/zero | tr '\0' 'x' >"$dir/html/plain/index.html"
for p in paid claim challenge; do cp "$dir/html/plain/index.html" "$dir/html/$p/"; done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/conf/root.key"
port=$((20000 + RANDOM % 20000))
cat >"$dir/conf/nginx.conf" <<CONF
load_module $root/build/modules/ngx_http_l402_module.so;
worker_processes 2;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    l402_root_key_file root.key;
    l402_backend fake;
    l402_max_pending 100000;
    server {
        listen 127.0.0.1:$port;
        root html;
        location /plain/ { }
        location /paid/ { l402 on; l402_service bench; l402_token_uses unlimited; }
        location /claim/ { l402 on; l402_service bench; l402_token_uses 1000000000; }
        location /challenge/ { l402 on; l402_service bench; }
        location = /pay { l402_fake_pay; }
    }
}
CONF
# The second instance: same key, same service, claims in Redis.
rport=$((port + 1)); port2=$((port + 2))
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --daemonize yes >/dev/null
mkdir -p "$dir/r/logs" "$dir/r/conf"; cp "$dir/conf/root.key" "$dir/r/conf/"
cat >"$dir/r/conf/nginx.conf" <<CONF
load_module $root/build/modules/ngx_http_l402_module.so;
worker_processes 2;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    l402_root_key_file root.key;
    l402_backend fake;
    l402_redis redis://127.0.0.1:$rport;
    server {
        listen 127.0.0.1:$port2;
        root $dir/html;
        location /claim/ { l402 on; l402_service bench; l402_token_uses 1000000000; }
    }
}
CONF
nginx=$root/build/nginx/sbin/nginx
"$nginx" -p "$dir" 2>/dev/null
"$nginx" -p "$dir/r" 2>/dev/null
trap '"$nginx" -p "$dir" -s stop 2>/dev/null; "$nginx" -p "$dir/r" -s stop 2>/dev/null; redis-cli -p $rport shutdown nosave >/dev/null 2>&1; sleep 0.5; rm -rf "$dir"' EXIT
sleep 0.5
url=http://127.0.0.1:$port
url2=http://127.0.0.1:$port2
hdr=$(curl -s -D - -o /dev/null "$url/challenge/" | tr -d '\r' | grep -i '^www-authenticate: L402')
mac=$(echo "$hdr" | sed -E 's/.*macaroon="([^"]+)".*/\1/')
inv=$(echo "$hdr" | sed -E 's/.*invoice="([^"]+)".*/\1/')
pre=$(curl -s "$url/pay?invoice=$inv")
auth="Authorization: L402 $mac:$pre"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url/paid/")" = 200 ] || { echo "token not accepted"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url2/claim/")" = 200 ] || { echo "token not accepted with Redis"; exit 1; }

run() { # name path [header] [base url]
  local out rps p99 base=${4:-$url}
  if [ -n "${3:-}" ]; then out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -H "$3" "$base$2")
  else out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$base$2"); fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  codes=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$1 $rps $p99 ${codes:-0}"
}
wrk -t1 -c8 -d2s "$url/plain/" >/dev/null   # warm-up
# Interleaved rounds; the median of each path is reported (loopback on 2 shared cores is noisy).
rounds=${ROUNDS:-3}
: >"$dir/results"
for i in $(seq "$rounds"); do
  run plain /plain/ >>"$dir/results"
  run plain+hdr /plain/ "$auth" >>"$dir/results"
  run paid /paid/ "$auth" >>"$dir/results"
  run claim /claim/ "$auth" >>"$dir/results"
  run claim-redis /claim/ "$auth" "$url2" >>"$dir/results"
  run challenge /challenge/ >>"$dir/results"
done
median() { grep "^$1 " "$dir/results" | sort -k2 -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t$threads -c$conns -d$duration, median of $rounds interleaved rounds, nginx 2 workers, 512-byte file, loopback"
printf '%-10s %12s %10s %12s %10s\n' path req/s p99 non-2xx ratio
base=$(median plain | awk '{print $2}')
for name in plain plain+hdr paid claim claim-redis challenge; do
  set -- $(median "$name")
  printf '%-10s %12s %10s %12s %10.3f\n' "$1" "$2" "$3" "$4" "$(echo "$2 / $base" | bc -l)"
done
grep -E '\[(alert|crit|emerg)\]' "$dir/logs/error.log" "$dir/r/logs/error.log" && { echo "errors in the log"; exit 1; } || true
