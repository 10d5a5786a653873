# ngx_l402: nginx 1.28 with the L402 module, built from this repository with the same script
# `make build` and `make test` use (scripts/build.sh), then copied into a small runtime image.
#
#   docker build -t ngx-l402 .
#   docker run --rm -p 8080:8080 --env-file l402.env -v $PWD/nginx.conf:/etc/ngx-l402/nginx.conf:ro ngx-l402
#
# The runtime reads the existing ngx_l402 module's environment variables (LN_CLIENT_TYPE,
# ROOT_KEY, LND_ADDRESS, …; see the README, "Environment"); the configuration names the module
# file it loads: load_module /src/build/modules/ngx_http_l402_module.so;

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# install-deps.sh (called by build.sh) installs the compilers, headers and protoc with apt.
RUN ./scripts/build.sh && strip build/modules/ngx_http_l402_module.so

FROM debian:bookworm-slim
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libpcre2-8-0 libssl3 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --shell /usr/sbin/nologin nginx
# nginx was configured with this prefix: keep the path.
COPY --from=build /src/build/nginx /src/build/nginx
COPY --from=build /src/build/modules /src/build/modules
COPY packaging/docker/nginx.conf /etc/ngx-l402/nginx.conf
RUN mkdir -p /var/lib/ngx-l402 /src/build/nginx/logs \
    && chown nginx /var/lib/ngx-l402 /src/build/nginx/logs
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["/src/build/nginx/sbin/nginx", "-c", "/etc/ngx-l402/nginx.conf", "-g", "daemon off;"]
