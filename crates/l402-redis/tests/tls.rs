//! `rediss://` against a TLS redis-server with a throwaway CA made by the openssl CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, rt, token, Redis, TempDir};
use l402_redis::{RedisConfig, RedisStore};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// ca.pem, and server.pem/server.key for localhost and 127.0.0.1 signed by it.
fn make_pki(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=l402 test CA"]);
    a.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &a);
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(dir, &a);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
        ],
    );
}

#[test]
fn rediss_with_private_ca() {
    let pki = TempDir::new("pki");
    make_pki(&pki.0);
    let p = |f: &str| pki.0.join(f).display().to_string();
    let tls_port = free_port();
    let tp = tls_port.to_string();
    // The plain port stays open for the harness's readiness check and admin commands.
    let r = Redis::start(&[
        "--tls-port", &tp, "--tls-cert-file", &p("server.pem"), "--tls-key-file", &p("server.key"),
        "--tls-ca-cert-file", &p("ca.pem"), "--tls-auth-clients", "no", "--requirepass", "tls-pw-Vb2",
    ]);
    let ca = format!("ca={}", p("ca.pem"));
    rt().block_on(async {
        for host in ["127.0.0.1", "localhost"] {
            let url = format!("rediss://:tls-pw-Vb2@{host}:{tls_port}/0");
            let s = RedisStore::new(RedisConfig::parse(&[&url, &ca]).unwrap());
            common::single_use(&s, if host == "localhost" { 1 } else { 2 }).await;
            common::race(&s, if host == "localhost" { 3 } else { 4 }, 3, 100).await;
        }
        // Without the CA (system roots only) the server is not trusted.
        let url = format!("rediss://:tls-pw-Vb2@127.0.0.1:{tls_port}/0");
        let s = RedisStore::new(RedisConfig::parse(&[&url]).unwrap());
        let e = s.claim(&token(5), 1, None).await.unwrap_err();
        assert_eq!(e.kind(), "unavailable", "{e}");
        assert!(!e.to_string().contains("tls-pw-Vb2"));
        eprintln!("untrusted server: {e}");

        // rediss:// to the plain port fails cleanly, within the connect timeout.
        let url = format!("rediss://127.0.0.1:{}/0", r.port);
        let s = RedisStore::new(RedisConfig::parse(&[&url, &ca, "connect_timeout=500ms"]).unwrap());
        let t0 = Instant::now();
        let e = s.claim(&token(6), 1, None).await.unwrap_err();
        eprintln!("rediss to a plain port: {e} after {:?}", t0.elapsed());
        assert!(matches!(e.kind(), "unavailable" | "timeout"), "{e}");
        assert!(t0.elapsed() < Duration::from_millis(700));
    });
}

#[test]
fn ca_file_is_checked_at_config_time() {
    let d = TempDir::new("badca");
    let f = d.0.join("not-a-cert.pem");
    std::fs::write(&f, "hello").unwrap();
    let ca = format!("ca={}", f.display());
    assert!(RedisConfig::parse(&["rediss://127.0.0.1:6380", &ca]).is_err());
}
