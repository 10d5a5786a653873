#!/usr/bin/env bash
# Builds nginx 1.28.x from the sources bundled in the `nginx-src` crate, then our
# dynamic module against that same configured tree.
#
#   build/nginx/sbin/nginx                    the nginx binary
#   build/modules/ngx_http_l402_module.so     the module (load_module …)
#
# Idempotent: nginx is configured and compiled once; later runs only rebuild the module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
profile=${PROFILE:-release}
build=$root/build
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

"$root/scripts/install-deps.sh" build

src_manifest=$(cargo metadata --format-version 1 --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(p["manifest_path"] for p in d["packages"] if p["name"]=="nginx-src"))')
nginx_src=$(dirname "$src_manifest")/nginx
version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' "$nginx_src/src/core/nginx.h")

tree=$build/nginx-src
# nginx's own debug log (`error_log … debug`) prints request headers, credentials included, so
# the default build has no debug logging at all; NGINX_DEBUG=1 builds it for development.
debug_flag=""; flavour="$version"
if [ "${NGINX_DEBUG:-0}" = 1 ]; then debug_flag=--with-debug; flavour="$version-debug"; fi
if [ ! -x "$build/nginx/sbin/nginx" ] || [ "$(cat "$build/.nginx-version" 2>/dev/null)" != "$flavour" ]; then
  echo "==> building nginx $version from $nginx_src"
  rm -rf "$tree" "$build/nginx"
  mkdir -p "$build"
  cp -r "$nginx_src" "$tree"
  (cd "$tree" && ./auto/configure --prefix="$build/nginx" \
      --with-compat $debug_flag --with-threads \
      --with-http_ssl_module --with-http_v2_module --with-http_realip_module \
      --with-http_auth_request_module --with-http_stub_status_module \
      --with-stream --with-stream_ssl_module >/dev/null &&
    make -j"$(nproc)" >/dev/null && make install >/dev/null)
  echo "$flavour" >"$build/.nginx-version"
fi

echo "==> building the module ($profile)"
flag=""; [ "$profile" = release ] && flag=--release
NGINX_BUILD_DIR=$tree/objs cargo build $flag -p ngx-l402
mkdir -p "$build/modules"
cp "$CARGO_TARGET_DIR/$profile/libngx_l402.so" "$build/modules/ngx_http_l402_module.so.tmp"
mv "$build/modules/ngx_http_l402_module.so.tmp" "$build/modules/ngx_http_l402_module.so"
echo "==> $build/nginx/sbin/nginx"
echo "==> $build/modules/ngx_http_l402_module.so"
