//! The store against one real redis-server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{now_secs, rt, token, Redis};
use l402_redis::{RedisConfig, RedisStore, StoreError};
use l402_usage::keys::{claim_redis_key, rate_redis_key};
use l402_usage::price::parse_price;
use l402_usage::{ClaimOutcome, Rate};

fn store(r: &Redis) -> RedisStore {
    RedisStore::new(RedisConfig::from_url(&r.url()).unwrap())
}

#[test]
fn claims_races_rates_prices() {
    let r = Redis::start(&[]);
    let s = store(&r);
    rt().block_on(async {
        common::single_use(&s, 1).await;
        common::race(&s, 2, 1, 200).await;
        common::race(&s, 3, 7, 200).await;
        common::race(&s, 4, 500, 200).await;
        common::rate(&s, 5).await;
        common::rate_refills(&s, 6).await;
        common::spends(&s, 9, 200).await;

        // Limit 0: used up, and no key is written.
        let t = token(7);
        assert_eq!(s.claim(&t, 0, None).await.unwrap(), ClaimOutcome::UsedUp);
        assert_eq!(r.cmd::<i64>(&["EXISTS", &claim_redis_key(&t)]), 0);

        // A used-up counter is not incremented.
        let t = token(8);
        for _ in 0..5 {
            s.claim(&t, 2, None).await.unwrap();
        }
        assert_eq!(r.cmd::<String>(&["GET", &claim_redis_key(&t)]), "2");

        // Prices.
        r.cmd::<()>(&["SET", "/protected", "15000"]);
        let raw = s.price("/protected").await.unwrap().unwrap();
        assert_eq!(parse_price(&raw, 1_000_000_000), Ok(15000));
        assert_eq!(s.price("/nothing-here").await.unwrap(), None);
    });
}

#[test]
fn expiry_ttl() {
    let r = Redis::start(&[]);
    let s = store(&r);
    rt().block_on(async {
        let forever = token(10);
        s.claim(&forever, 3, None).await.unwrap();
        s.claim(&forever, 3, None).await.unwrap();
        assert_eq!(r.cmd::<i64>(&["TTL", &claim_redis_key(&forever)]), -1);

        let t = token(11);
        let at = now_secs() + 3600;
        s.claim(&t, 3, Some(at)).await.unwrap();
        let ttl = r.cmd::<i64>(&["TTL", &claim_redis_key(&t)]);
        assert!((3595..=3601).contains(&ttl), "{ttl}");
        // A second use keeps the TTL.
        s.claim(&t, 3, Some(at)).await.unwrap();
        let ttl2 = r.cmd::<i64>(&["TTL", &claim_redis_key(&t)]);
        assert!((3595..=3601).contains(&ttl2), "{ttl2}");
        assert_eq!(r.cmd::<i64>(&["EXPIRETIME", &claim_redis_key(&t)]), at as i64);

        // An expiry already past still records the claim (for at least a second).
        let late = token(12);
        s.claim(&late, 1, Some(now_secs() - 10)).await.unwrap();
        assert_eq!(s.claim(&late, 1, Some(now_secs() - 10)).await.unwrap(), ClaimOutcome::UsedUp);

        // An absurd expiry means never.
        let far = token(13);
        s.claim(&far, 1, Some(u64::MAX)).await.unwrap();
        assert_eq!(r.cmd::<i64>(&["TTL", &claim_redis_key(&far)]), -1);

        // Rate keys live about as long as their TAT: 1r/m → ~60 s.
        let key = [9u8; 16];
        s.rate_check(&key, Rate::parse("1r/m").unwrap()).await.unwrap();
        let pttl = r.cmd::<i64>(&["PTTL", &rate_redis_key(&key)]);
        assert!((59_000..=60_000).contains(&pttl), "{pttl}");
    });
}

#[test]
fn garbage_is_an_invalid_reply_never_accepted() {
    let r = Redis::start(&[]);
    let s = store(&r);
    rt().block_on(async {
        for (i, junk) in ["abc", "1.5", "-1", " 3", "", "99999999999999999999"].iter().enumerate() {
            let t = token(20 + i as u8);
            r.cmd::<()>(&["SET", &claim_redis_key(&t), junk]);
            match s.claim(&t, 5, None).await {
                Err(StoreError::InvalidReply { cause }) => assert!(cause.contains("L402BADVALUE"), "{cause}"),
                other => panic!("{junk:?}: {other:?}"),
            }
            assert_eq!(r.cmd::<String>(&["GET", &claim_redis_key(&t)]), *junk, "left untouched");
        }
        // A wrong type under the key.
        let t = token(30);
        r.cmd::<()>(&["HSET", &claim_redis_key(&t), "a", "b"]);
        assert!(matches!(s.claim(&t, 5, None).await, Err(StoreError::InvalidReply { .. })));
        // Garbage under a rate key, and a hash under a price path.
        let key = [31u8; 16];
        r.cmd::<()>(&["SET", &rate_redis_key(&key), "soon"]);
        assert!(matches!(
            s.rate_check(&key, Rate::parse("5r/s").unwrap()).await,
            Err(StoreError::InvalidReply { .. })
        ));
        r.cmd::<()>(&["HSET", "/hashed", "a", "b"]);
        assert!(matches!(s.price("/hashed").await, Err(StoreError::InvalidReply { .. })));
        // An invalid reply does not trip the backoff: the next claim works.
        common::single_use(&s, 32).await;
    });
}

#[test]
fn password_auth_and_no_password_in_text() {
    let pw = "pw-Zk9q-never-print-me";
    let r = Redis::start(&["--requirepass", pw]);
    rt().block_on(async {
        let good = store(&r);
        common::single_use(&good, 40).await;
        assert!(!format!("{good:?}").contains(pw));
        assert!(!good.config().to_string().contains(pw));

        let wrong_pw = "wrong-Qx7-never-print-me";
        let bad = RedisStore::new(
            RedisConfig::from_url(&format!("redis://:{wrong_pw}@127.0.0.1:{}/0", r.port)).unwrap(),
        );
        let e = bad.claim(&token(41), 1, None).await.unwrap_err();
        assert_eq!(e.kind(), "unavailable", "{e}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains(wrong_pw) && !text.contains(pw), "{text}");

        let none = RedisStore::new(RedisConfig::from_url(&format!("redis://127.0.0.1:{}/0", r.port)).unwrap());
        let e = none.claim(&token(42), 1, None).await.unwrap_err();
        assert_eq!(e.kind(), "unavailable", "{e}");
    });
}

#[test]
fn new_does_no_io_and_unreachable_fails_fast() {
    let port = common::free_port(); // nothing listens there
    let cfg = RedisConfig::parse(&[&format!("redis://127.0.0.1:{port}")]).unwrap();
    let t0 = Instant::now();
    let s = RedisStore::new(cfg); // outside any runtime: must not touch the network
    assert!(t0.elapsed() < Duration::from_millis(50));
    rt().block_on(async {
        let t0 = Instant::now();
        let e = s.claim(&token(50), 1, None).await.unwrap_err();
        let first = t0.elapsed();
        assert_eq!(e.kind(), "unavailable", "{e}");
        // During the backoff, calls fail without dialing.
        let t1 = Instant::now();
        let e2 = s.claim(&token(50), 1, None).await.unwrap_err();
        let second = t1.elapsed();
        assert!(e2.to_string().contains("backing off"), "{e2}");
        assert!(second < Duration::from_millis(5), "{second:?}");
        eprintln!("refused: first call {first:?}, during backoff {second:?}");
    });
}

#[test]
fn redis_down_then_back() {
    let mut r = Redis::start(&[]);
    let s = store(&r);
    rt().block_on(async {
        common::single_use(&s, 60).await;
        // Claim latency on a warm connection.
        let n = 200;
        let t0 = Instant::now();
        for i in 0..n {
            let mut t = token(61);
            t[10] = (i % 256) as u8;
            t[11] = (i / 256) as u8;
            s.claim(&t, 1, None).await.unwrap();
        }
        eprintln!("sequential claim latency: {:?}", t0.elapsed() / n);

        r.kill();
        let t0 = Instant::now();
        let e = s.claim(&token(62), 1, None).await.unwrap_err();
        let detect = t0.elapsed();
        eprintln!("redis killed: first call failed after {detect:?} with {e}");
        assert!(matches!(e, StoreError::Unavailable { .. } | StoreError::Timeout { .. }));
        assert!(detect <= s.config().command_timeout + Duration::from_millis(100), "{detect:?}");
        let t1 = Instant::now();
        let mut fast = 0;
        for _ in 0..100 {
            if s.claim(&token(62), 1, None).await.is_err() {
                fast += 1;
            }
        }
        eprintln!("100 calls while down took {:?}", t1.elapsed());
        assert_eq!(fast, 100);
        assert!(t1.elapsed() < Duration::from_millis(200), "{:?}", t1.elapsed());

        // Down for a while (several backoff rounds), then back.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let _ = s.claim(&token(62), 1, None).await;
        r.restart();
        let back = Instant::now();
        loop {
            match s.claim(&token(63), 1, None).await {
                Ok(o) => {
                    assert_eq!(o, ClaimOutcome::Accepted { remaining: Some(0) });
                    break;
                }
                Err(_) => {
                    assert!(back.elapsed() < Duration::from_secs(6), "did not recover");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        eprintln!("recovered {:?} after redis was back", back.elapsed());
        common::single_use(&s, 64).await;
    });
}

#[test]
fn hung_redis_times_out() {
    let r = Redis::start(&["--enable-debug-command", "local"]);
    let cfg = RedisConfig::parse(&[&r.url(), "timeout=200ms"]).unwrap();
    let s = RedisStore::new(cfg);
    rt().block_on(async {
        common::single_use(&s, 70).await;
        // Block the server for a second with a script-free DEBUG SLEEP from another client.
        let port = r.port;
        let blocker = std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .unwrap()
                .get_connection()
                .unwrap();
            let () = redis::cmd("DEBUG").arg("SLEEP").arg("1").query(&mut c).unwrap();
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t0 = Instant::now();
        let e = s.claim(&token(71), 1, None).await.unwrap_err();
        let took = t0.elapsed();
        eprintln!("hung redis: {e} after {took:?}");
        assert_eq!(e, StoreError::Timeout { after: Duration::from_millis(200) });
        assert!(took < Duration::from_millis(300), "{took:?}");
        blocker.join().unwrap();
        // Recovers once the server answers again.
        let back = Instant::now();
        loop {
            if s.claim(&token(72), 1, None).await.is_ok() {
                break;
            }
            assert!(back.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}
