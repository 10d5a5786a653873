#!/usr/bin/env bash
# make demo: build everything, then start nginx with examples/demo.conf on 127.0.0.1:8402.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
prefix=$root/build/demo
mkdir -p "$prefix/logs" "$prefix/conf" "$prefix/html/protected"
cp "$root/examples/demo.conf" "$prefix/conf/nginx.conf"
echo "paid content" >"$prefix/html/protected/index.txt"
if [ ! -s "$prefix/conf/demo-root.key" ]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$prefix/conf/demo-root.key")
fi
nginx=$root/build/nginx/sbin/nginx
if [ -f "$prefix/logs/nginx.pid" ] && kill -0 "$(cat "$prefix/logs/nginx.pid")" 2>/dev/null; then
  "$nginx" -p "$prefix" -s stop || true
  sleep 0.5
fi
"$nginx" -p "$prefix" -t -q
"$nginx" -p "$prefix"
cat <<TXT

ngx_l402 demo is running on http://127.0.0.1:8402 (fake backend; logs in build/demo/logs/).

  curl -i http://127.0.0.1:8402/                      # free
  curl -i http://127.0.0.1:8402/protected/            # 402 + L402 challenge
  # pay with the fake wallet and retry:
  h=\$(curl -s -D - -o /dev/null http://127.0.0.1:8402/protected/ | grep -i '^www-authenticate: L402')
  mac=\$(echo "\$h" | sed -E 's/.*macaroon="([^"]+)".*/\1/')
  inv=\$(echo "\$h" | sed -E 's/.*invoice="([^"]+)".*/\1/')
  pre=\$(curl -s "http://127.0.0.1:8402/.l402/fake/pay?invoice=\$inv")
  curl -i -H "Authorization: L402 \$mac:\$pre" http://127.0.0.1:8402/protected/

Stop it with: make demo-stop
TXT
