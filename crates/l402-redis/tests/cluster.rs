//! The store against a real 3-node Redis Cluster (no replicas).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{rt, token, Redis};
use l402_redis::{RedisConfig, RedisStore, StoreError};
use l402_usage::keys::claim_redis_key;

fn start_cluster() -> Vec<Redis> {
    let nodes: Vec<Redis> = (0..3)
        .map(|_| {
            Redis::start(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
            ])
        })
        .collect();
    let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let out = Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let deadline = Instant::now() + Duration::from_secs(15);
    for n in &nodes {
        loop {
            let info: String = n.cmd(&["CLUSTER", "INFO"]);
            if info.contains("cluster_state:ok") {
                break;
            }
            assert!(Instant::now() < deadline, "cluster not ok: {info}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    nodes
}

#[test]
fn cluster_claim_race_rate_price() {
    let t0 = Instant::now();
    let nodes = start_cluster();
    eprintln!("cluster up in {:?}", t0.elapsed());
    let mut args = vec!["cluster".to_string()];
    args.extend(nodes.iter().map(|n| n.url()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = RedisStore::new(RedisConfig::parse(&args).unwrap());

    // Keys spread over the nodes; set prices and garbage through a cluster client.
    let admin = redis::cluster::ClusterClient::new(nodes.iter().map(|n| n.url()).collect::<Vec<_>>()).unwrap();
    let mut a = admin.get_connection().unwrap();
    let paths = ["/protected", "/a", "/b", "/c", "/premium/x"];
    for (i, p) in paths.iter().enumerate() {
        let () = redis::cmd("SET").arg(*p).arg(1000 + i).query(&mut a).unwrap();
    }
    let junk = token(90);
    let () = redis::cmd("SET").arg(claim_redis_key(&junk)).arg("junk").query(&mut a).unwrap();

    rt().block_on(async {
        for seed in 1..=20 {
            common::single_use(&s, seed).await;
        }
        common::race(&s, 30, 1, 200).await;
        common::race(&s, 31, 5, 200).await;
        common::rate(&s, 32).await;
        common::rate_refills(&s, 33).await;
        common::spends(&s, 34, 200).await;
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(s.price(p).await.unwrap(), Some((1000 + i).to_string().into_bytes()));
        }
        assert_eq!(s.price("/none").await.unwrap(), None);
        assert!(matches!(s.claim(&junk, 1, None).await, Err(StoreError::InvalidReply { .. })));
    });
    // The claims really are spread over the three masters.
    let per_node: Vec<i64> = nodes.iter().map(|n| n.cmd::<i64>(&["DBSIZE"])).collect();
    assert!(per_node.iter().all(|&k| k > 0), "{per_node:?}");
}
