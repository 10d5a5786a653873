//! The store against a master found through a real Sentinel, across a failover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, rt, token, Redis, TempDir};
use l402_redis::{RedisConfig, RedisStore};
use l402_usage::ClaimOutcome;

const PW: &str = "sentinel-master-pw-Hq3";

struct Sentinel {
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl Sentinel {
    fn start(master_port: u16) -> Sentinel {
        let port = free_port();
        let dir = TempDir::new("sentinel");
        let conf = dir.0.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nlogfile sentinel.log\n\
                 sentinel monitor mymaster 127.0.0.1 {master_port} 1\n\
                 sentinel auth-pass mymaster {PW}\n\
                 sentinel down-after-milliseconds mymaster 1000\n\
                 sentinel failover-timeout mymaster 10000\n",
                dir.0.display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Sentinel { port, child, _dir: dir }
    }

    fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?
            .get_connection_with_timeout(Duration::from_secs(1))?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut c)
    }

    fn master_port(&self) -> Option<u16> {
        self.query::<Option<(String, u16)>>(&["SENTINEL", "get-master-addr-by-name", "mymaster"])
            .ok()
            .flatten()
            .map(|(_, p)| p)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sentinel_resolves_claims_and_follows_failover() {
    let mut master = Redis::start(&["--requirepass", PW, "--masterauth", PW]);
    let mp = master.port.to_string();
    let replica = Redis::start(&["--requirepass", PW, "--masterauth", PW, "--replicaof", "127.0.0.1", &mp]);
    wait_until("replica in sync", 10, || {
        replica.cmd::<String>(&["INFO", "replication"]).contains("master_link_status:up")
    });
    let sentinel = Sentinel::start(master.port);
    wait_until("sentinel up and knowing the replica", 10, || {
        sentinel.master_port() == Some(master.port)
            && sentinel
                .query::<Vec<redis::Value>>(&["SENTINEL", "replicas", "mymaster"])
                .map(|v| !v.is_empty())
                .unwrap_or(false)
    });

    // A dead sentinel first: the store moves on to the next one.
    let dead = free_port();
    let s = RedisStore::new(
        RedisConfig::parse(&[
            "sentinel=mymaster",
            &format!("redis://:{PW}@127.0.0.1:{dead}"),
            &format!("redis://:{PW}@127.0.0.1:{}", sentinel.port),
        ])
        .unwrap(),
    );
    assert!(!format!("{s:?}").contains(PW));

    let before = token(1);
    rt().block_on(async {
        common::single_use(&s, 2).await;
        common::race(&s, 3, 1, 200).await;
        common::rate(&s, 4).await;
        assert_eq!(
            s.claim(&before, 1, None).await.unwrap(),
            ClaimOutcome::Accepted { remaining: Some(0) }
        );
    });
    // Make sure the replica has every claim, then crash the master.
    assert_eq!(master.cmd::<i64>(&["WAIT", "1", "2000"]), 1);
    master.kill();
    let t0 = Instant::now();
    rt().block_on(async {
        let fresh = token(5);
        loop {
            match s.claim(&fresh, 1, None).await {
                Ok(o) => {
                    assert_eq!(o, ClaimOutcome::Accepted { remaining: Some(0) });
                    break;
                }
                Err(e) => {
                    assert!(!e.to_string().contains(PW), "{e}");
                    assert!(t0.elapsed() < Duration::from_secs(25), "no failover: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        eprintln!("claims served by the promoted replica {:?} after the master died", t0.elapsed());
        assert_eq!(sentinel.master_port(), Some(replica.port));
        // The claim made before the failover survived it.
        assert_eq!(s.claim(&before, 1, None).await.unwrap(), ClaimOutcome::UsedUp);
        common::single_use(&s, 6).await;
    });
}
