#!/usr/bin/env bash
# make bench: wrk on loopback, one nginx with 2 workers, same small file on three paths:
#   /plain/      no L402                       (the baseline: plain nginx), requested twice:
#                without and with the same Authorization header the paid path gets
#   /paid/       l402 on, valid reusable token (signature + caveat check per request)
#   /claim/      l402 on, l402_token_uses 1000000000: the same token, and every request also
#                claims one use in the shared memory zone (the single-use path's work)
#   claim-redis  the same /claim/ location on a fourth nginx whose claims live in a local Redis
#                (every request: one Lua script through the worker's runtime and back)
#   /challenge/  l402 on, no token             (invoice + macaroon per request: fake backend)
#   challenge-lnd  the same challenge path on a second nginx whose backend is LND (the repo's
#                gRPC test server, crates/testnode-lnd, over TLS with a macaroon); reported also
#                as a ratio to the fake backend's challenge path of the same run
#   challenge-lnurl  the same challenge path on a fifth nginx whose backend is an LNURL-pay payee
#                (Lightning Address, LUD-06/16) on the repo's test server, crates/testnode-lnurl,
#                over HTTPS with its throwaway CA; also reported as a ratio to the fake backend
#   challenge-nwc  the same challenge path on a sixth nginx whose backend is Nostr Wallet Connect
#                (NIP-47): the local Nostr relay (scripts/nostr-relay.sh) and the repo's wallet
#                service on it, crates/testnode-nwc; also reported as a ratio to the fake backend
# Prints requests/s, p99 latency and the ratio to plain nginx of the same run.
# Then the slow-backend isolation figure: a third nginx (2 workers) with the fake backend delayed
# 1 s (l402_fake_delay 1s) gets a steady stream of challenges (wrk -c50 on the paid location)
# while another wrk measures its free location; reported as free req/s under that load divided
# by free req/s unloaded (goal >= 0.90).
# Env: DURATION (default 10s), CONNS (default 32), THREADS (default 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" bench
"$root/scripts/build.sh" >/dev/null
duration=${DURATION:-10s}; conns=${CONNS:-32}; threads=${THREADS:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release --quiet -p testnode-lnd -p testnode-lnurl -p testnode-nwc
dir=$(mktemp -d /tmp/l402-bench.XXXXXX); chmod 755 "$dir"
mkdir -p "$dir/logs" "$dir/conf"
. "$root/scripts/bench-lib.sh"
bench_files "$dir"
bench_root_key "$dir/conf/root.key"
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
$(bench_server $port)
}
CONF
nginx=$root/build/nginx/sbin/nginx
"$nginx" -p "$dir" 2>/dev/null

# The LND test server and a second nginx using it; a third nginx with a 1 s fake backend.
mkdir -p "$dir/lnd"
"$CARGO_TARGET_DIR/release/testnode-lnd" --dir "$dir/lnd" >"$dir/lnd/out" 2>&1 &
lnd_pid=$!
rport=$((port + 3)); port4=$((port + 4)); port5=$((port + 5))
lnurl_api=$((port + 6)); lnurl_ctl=$((port + 7))
relay_port=$((port + 8)); nwc_ctl=$((port + 9)); port6=$((port + 10))
mkdir -p "$dir/lnurl"
"$CARGO_TARGET_DIR/release/testnode-lnurl" --port "$lnurl_api" --control-port "$lnurl_ctl" \
  --tls-dir "$dir/lnurl" >"$dir/lnurl/out" 2>&1 &
lnurl_pid=$!
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --daemonize yes >/dev/null
# The Nostr relay and the NIP-47 wallet service on it (its URI, with the client secret, in a file).
mkdir -p "$dir/nwc"
relay_pid=$("$root/scripts/nostr-relay.sh" start "$dir/nwc" "$relay_port")
for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$relay_port") 2>/dev/null && break; sleep 0.2; done
"$CARGO_TARGET_DIR/release/testnode-nwc" --relay "ws://127.0.0.1:$relay_port" --control-port "$nwc_ctl" \
  >"$dir/nwc/out" 2>&1 &
nwc_pid=$!
trap '"$nginx" -p "$dir" -s stop 2>/dev/null; for n in n2 n3 n4 n5 n6; do "$nginx" -p "$dir/$n" -s stop 2>/dev/null; done; kill $lnd_pid $lnurl_pid $nwc_pid $relay_pid 2>/dev/null; redis-cli -p $rport shutdown nosave >/dev/null 2>&1; sleep 0.5; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^ready' "$dir/lnd/out" && break; sleep 0.1; done
lnd_grpc=$(awk '$1=="grpc" {print $2}' "$dir/lnd/out")
for _ in $(seq 100); do grep -q '^testnode-lnurl: api' "$dir/lnurl/out" && break; sleep 0.1; done
for _ in $(seq 300); do grep -q '^testnode-nwc: uri' "$dir/nwc/out" && break; sleep 0.1; done
(umask 077; awk '$2=="uri" {print $3}' "$dir/nwc/out" >"$dir/nwc/uri")
[ -s "$dir/nwc/uri" ] || { echo "testnode-nwc did not start"; cat "$dir/nwc/out" "$dir/nwc/relay.log"; exit 1; }
port2=$((port + 1)); port3=$((port + 2))
for n in n2 n3 n4 n5 n6; do mkdir -p "$dir/$n/logs" "$dir/$n/conf"; cp "$dir/conf/root.key" "$dir/$n/conf/"; ln -s "$dir/html" "$dir/$n/html"; done
sed -e "s|l402_backend fake;|l402_backend lnd; l402_lnd_address $lnd_grpc; l402_lnd_macaroon_file $dir/lnd/admin.macaroon; l402_lnd_cert_file $dir/lnd/tls.cert;|" \
    -e "s|listen 127.0.0.1:$port;|listen 127.0.0.1:$port2;|" -e '/l402_fake_pay/d' \
    "$dir/conf/nginx.conf" >"$dir/n2/conf/nginx.conf"
sed -e "s|l402_backend fake;|l402_backend fake; l402_fake_delay 1s;|" \
    -e "s|listen 127.0.0.1:$port;|listen 127.0.0.1:$port3;|" \
    "$dir/conf/nginx.conf" >"$dir/n3/conf/nginx.conf"
# The fourth: same key and service, claims in Redis.
sed -e "s|l402_backend fake;|l402_backend fake; l402_redis redis://127.0.0.1:$rport;|" \
    -e "s|listen 127.0.0.1:$port;|listen 127.0.0.1:$port4;|" \
    "$dir/conf/nginx.conf" >"$dir/n4/conf/nginx.conf"
# The fifth: an LNURL payee (regtest invoices) on testnode-lnurl over HTTPS.
sed -e "s|l402_backend fake;|l402_backend lnurl; l402_lnurl_address bench@127.0.0.1:$lnurl_api; l402_lnurl_ca_file $dir/lnurl/ca.pem; l402_lnurl_network regtest;|" \
    -e "s|listen 127.0.0.1:$port;|listen 127.0.0.1:$port5;|" -e '/l402_fake_pay/d' \
    "$dir/conf/nginx.conf" >"$dir/n5/conf/nginx.conf"
# The sixth: NWC, through the local relay to testnode-nwc.
sed -e "s|l402_backend fake;|l402_backend nwc; l402_nwc_uri_file $dir/nwc/uri;|" \
    -e "s|listen 127.0.0.1:$port;|listen 127.0.0.1:$port6;|" -e '/l402_fake_pay/d' \
    "$dir/conf/nginx.conf" >"$dir/n6/conf/nginx.conf"
"$nginx" -p "$dir/n2" 2>/dev/null
"$nginx" -p "$dir/n5" 2>/dev/null
"$nginx" -p "$dir/n6" 2>/dev/null
"$nginx" -p "$dir/n3" 2>/dev/null
"$nginx" -p "$dir/n4" 2>/dev/null
sleep 0.5
url=http://127.0.0.1:$port
auth=$(bench_buy "$url")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "$url/paid/")" = 200 ] || { echo "token not accepted"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$auth" "http://127.0.0.1:$port4/claim/")" = 200 ] || { echo "token not accepted with Redis"; exit 1; }

# The LNURL nginx answers challenges (402 with an invoice from the payee, not 503).
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port5/challenge/")" = 402 ] || { echo "no LNURL challenge"; tail -5 "$dir/n5/logs/error.log"; exit 1; }
# The NWC nginx too, from both workers (each connects to the relay when it starts).
for _ in $(seq 50); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port6/challenge/")" = 402 ] && break; sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port6/challenge/")" = 402 ] || { echo "no NWC challenge"; tail -5 "$dir/n6/logs/error.log"; exit 1; }
nwc_invoices() { curl -s "http://127.0.0.1:$nwc_ctl/counters" | sed 's/.*"make_invoice":\([0-9]*\).*/\1/'; }

run() { # name path [header]
  local out rps p99
  if [ -n "${3:-}" ]; then out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency -H "$3" "$url$2")
  else out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$url$2"); fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  codes=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$1 $rps $p99 ${codes:-0} $total"
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
  url=http://127.0.0.1:$port4 run claim-redis /claim/ "$auth" >>"$dir/results"
  run challenge /challenge/ >>"$dir/results"
  url=http://127.0.0.1:$port2 run challenge-lnd /challenge/ >>"$dir/results"
  curl -s -X POST "http://127.0.0.1:$lnurl_ctl/counters/reset" >/dev/null
  url=http://127.0.0.1:$port5 run challenge-lnurl /challenge/ >>"$dir/results"
  # Every counted request must be a 402 with the payee's invoice, not a quick 503: the
  # payee's callback count covers wrk's completed requests (plus those cut off at the end).
  callbacks=$(curl -s "http://127.0.0.1:$lnurl_ctl/counters" | sed 's/.*"callback":\([0-9]*\).*/\1/')
  echo "$(tail -1 "$dir/results" | awk '{print $5}') $callbacks" >>"$dir/lnurl-check"
  made=$(nwc_invoices)
  url=http://127.0.0.1:$port6 run challenge-nwc /challenge/ >>"$dir/results"
  # Likewise every counted NWC request is a 402 with the wallet's invoice.
  echo "$(tail -1 "$dir/results" | awk '{print $5}') $(( $(nwc_invoices) - made ))" >>"$dir/nwc-check"
done
median() { grep "^$1 " "$dir/results" | sort -k2 -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t$threads -c$conns -d$duration, median of $rounds interleaved rounds, nginx 2 workers, 512-byte file, loopback"
printf '%-10s %12s %10s %12s %10s\n' path req/s p99 non-2xx ratio
base=$(median plain | awk '{print $2}')
for name in plain plain+hdr paid claim claim-redis challenge challenge-lnd challenge-lnurl challenge-nwc; do
  set -- $(median "$name")
  printf '%-13s %12s %10s %12s %10.3f\n' "$1" "$2" "$3" "$4" "$(echo "$2 / $base" | bc -l)"
done
fake_ch=$(median challenge | awk '{print $2}'); lnd_ch=$(median challenge-lnd | awk '{print $2}')
printf 'challenge path, LND test server / fake backend: %.3f\n' "$(echo "$lnd_ch / $fake_ch" | bc -l)"
lnurl_ch=$(median challenge-lnurl | awk '{print $2}')
printf 'challenge path, LNURL payee (testnode-lnurl, HTTPS) / fake backend: %.3f (goal >= 950 challenges/s: %s)\n' \
  "$(echo "$lnurl_ch / $fake_ch" | bc -l)" "$(echo "$lnurl_ch >= 950" | bc -l | sed 's/1/met/;s/0/not met/')"
nwc_ch=$(median challenge-nwc | awk '{print $2}')
printf 'challenge path, NWC wallet (testnode-nwc via the local Nostr relay) / fake backend: %.3f\n' \
  "$(echo "$nwc_ch / $fake_ch" | bc -l)"
curl -s "http://127.0.0.1:$lnurl_ctl/counters" | sed 's/^/testnode-lnurl counters (last round): /'
echo
while read -r requests callbacks; do
  echo "challenge-lnurl round: $requests requests completed, $callbacks callbacks at the payee"
  [ "$callbacks" -ge "$requests" ] || { echo "fewer invoices than challenges: some answers were not 402"; exit 1; }
done <"$dir/lnurl-check"
echo "LNURL nginx: invoice errors logged: $(grep -c 'cannot create an invoice' "$dir/n5/logs/error.log" || true)"
while read -r requests made; do
  echo "challenge-nwc round: $requests requests completed, $made invoices made by the wallet"
  [ "$made" -ge "$requests" ] || { echo "fewer NWC invoices than challenges: some answers were not 402"; exit 1; }
done <"$dir/nwc-check"
echo "NWC nginx: invoice errors logged: $(grep -c 'cannot create an invoice' "$dir/n6/logs/error.log" || true)"

# Slow-backend isolation (third nginx, fake backend delayed 1 s).
url3=http://127.0.0.1:$port3
unloaded=$(url=$url3 run free /plain/ | awk '{print $2}')
secs=${duration%s}
wrk -t1 -c50 -d"$((secs + 2))s" --timeout 10s "$url3/challenge/" >"$dir/slow.out" &
slow_pid=$!
sleep 1
loaded=$(url=$url3 run free-loaded /plain/ | awk '{print $2}')
wait $slow_pid
slow_rps=$(awk '/Requests\/sec/ {print $2}' "$dir/slow.out")
echo "slow-backend isolation: free location $unloaded req/s unloaded, $loaded req/s while" \
  "wrk -c50 keeps challenges pending on a 1 s backend ($slow_rps challenges/s):" \
  "ratio $(printf '%.3f' "$(echo "$loaded / $unloaded" | bc -l)") (goal >= 0.90)"
for d in "$dir" "$dir/n2" "$dir/n3" "$dir/n4" "$dir/n5" "$dir/n6"; do
  grep -E '\[(alert|crit|emerg)\]' "$d/logs/error.log" && { echo "errors in the log of $d"; exit 1; } || true
done
grep -E '\[(alert|crit|emerg)\]' "$dir/logs/error.log" && { echo "errors in the log"; exit 1; } || true
