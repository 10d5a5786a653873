# Shared by the bench scripts (sourced): the files, the server block and the token purchase
# every benchmark uses, so the paths measured are the same in each.

# bench_files DIR: DIR/html/{plain,paid,claim,challenge}/index.html (512 bytes each).
bench_files() {
  local p
  mkdir -p "$1/html"/{plain,paid,claim,challenge}
  head -c 512 /dev/zero | tr '\0' 'x' >"$1/html/plain/index.html"
  for p in paid claim challenge; do cp "$1/html/plain/index.html" "$1/html/$p/"; done
}

# bench_root_key FILE: a fresh random root key.
bench_root_key() {
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"
}

# bench_server PORT: the server block: plain, paid (reusable token), claim (a use claimed per
# request), challenge (fake-backend invoice per request) and the fake pay endpoint.
bench_server() {
  cat <<CONF
    server {
        listen 127.0.0.1:$1;
        root html;
        location /plain/ { }
        location /paid/ { l402 on; l402_service bench; l402_token_uses unlimited; }
        location /claim/ { l402 on; l402_service bench; l402_token_uses 1000000000; }
        location /challenge/ { l402 on; l402_service bench; }
        location = /pay { l402_fake_pay; }
    }
CONF
}

# bench_buy URL: buys a token from the server at URL (fake backend); prints its Authorization
# header line.
bench_buy() {
  local hdr mac inv pre
  hdr=$(curl -s -D - -o /dev/null "$1/challenge/" | tr -d '\r' | grep -i '^www-authenticate: L402')
  mac=$(echo "$hdr" | sed -E 's/.*macaroon="([^"]+)".*/\1/')
  inv=$(echo "$hdr" | sed -E 's/.*invoice="([^"]+)".*/\1/')
  pre=$(curl -s "$1/pay?invoice=$inv")
  echo "Authorization: L402 $mac:$pre"
}
