//! Real redis-server processes on free 127.0.0.1 ports, in temporary directories, killed on
//! drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free port below 55536 whose cluster bus port (port + 10000) is free too.
pub fn cluster_port() -> u16 {
    for _ in 0..1000 {
        let p = free_port();
        if p > 55_535 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
    panic!("no free port pair for a cluster node");
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "l402-redis-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    pub dir: TempDir,
    args: Vec<String>,
    pub password: Option<String>,
}

impl Redis {
    /// A standalone server on a free port with extra `args`.
    pub fn start(extra: &[&str]) -> Redis {
        // A cluster node also listens on port + 10000 (its bus): that must be a valid, free port.
        let port = if extra.contains(&"--cluster-enabled") { cluster_port() } else { free_port() };
        let dir = TempDir::new("srv");
        let mut r = Redis {
            port,
            child: None,
            dir,
            args: extra.iter().map(|s| s.to_string()).collect(),
            password: None,
        };
        if let Some(i) = extra.iter().position(|a| *a == "--requirepass") {
            r.password = Some(extra[i + 1].to_string());
        }
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let dir = self.dir.0.display().to_string();
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", &dir, "--logfile", "redis.log",
            ])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server)");
        self.child = Some(child);
        self.wait_ready();
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = self.sync_conn() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis on {} did not start: {}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("redis.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    pub fn sync_conn(&self) -> redis::RedisResult<redis::Connection> {
        let info = redis::IntoConnectionInfo::into_connection_info(self.url().as_str())?;
        redis::Client::open(info)?.get_connection_with_timeout(Duration::from_secs(1))
    }

    /// Runs a command for the test's own checks.
    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut c = self.sync_conn().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut c).unwrap()
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn token(n: u8) -> [u8; 32] {
    let mut t = [0u8; 32];
    t[0] = n;
    t[31] = 0xa5;
    // Different per test binary run, so a leftover key never matters.
    t[1..5].copy_from_slice(&std::process::id().to_be_bytes());
    t
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn wait_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} not created", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

use l402_redis::RedisStore;
use l402_usage::{ClaimOutcome, Rate, RateOutcome};

/// Single use: the first claim is accepted with nothing left, the second is used up.
pub async fn single_use(store: &RedisStore, seed: u8) {
    let t = token(seed);
    assert_eq!(
        store.claim(&t, 1, None).await.unwrap(),
        ClaimOutcome::Accepted { remaining: Some(0) }
    );
    assert_eq!(store.claim(&t, 1, None).await.unwrap(), ClaimOutcome::UsedUp);
    assert_eq!(store.claim(&t, 1, None).await.unwrap(), ClaimOutcome::UsedUp);
}

/// `n` concurrent claims of one token with limit `limit`: exactly `min(limit, n)` win, and
/// the remaining counts handed out are all distinct.
pub async fn race(store: &RedisStore, seed: u8, limit: u32, n: usize) {
    let t = token(seed);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.claim(&t, limit, None).await }));
    }
    let mut remaining = Vec::new();
    let mut used_up = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ClaimOutcome::Accepted { remaining: Some(r) } => remaining.push(r),
            ClaimOutcome::UsedUp => used_up += 1,
            other => panic!("{other:?}"),
        }
    }
    let want = (limit as usize).min(n);
    assert_eq!(remaining.len(), want, "accepted");
    assert_eq!(used_up, n - want);
    remaining.sort_unstable();
    remaining.dedup();
    assert_eq!(remaining.len(), want, "each accepted claim saw a distinct count");
}

/// 3r/m: a burst of three passes, the fourth is limited with Retry-After ≈ 20 s; another key
/// is not affected.
pub async fn rate(store: &RedisStore, seed: u8) {
    let rate = Rate::parse("3r/m").unwrap();
    let mut key = [seed; 16];
    key[1..5].copy_from_slice(&std::process::id().to_be_bytes());
    for _ in 0..3 {
        assert_eq!(store.rate_check(&key, rate).await.unwrap(), RateOutcome::Allowed);
    }
    match store.rate_check(&key, rate).await.unwrap() {
        RateOutcome::Limited { retry_after_secs } => {
            assert!((19..=20).contains(&retry_after_secs), "{retry_after_secs}")
        }
        other => panic!("{other:?}"),
    }
    key[0] ^= 0xff;
    assert_eq!(store.rate_check(&key, rate).await.unwrap(), RateOutcome::Allowed);
}

/// Fast rate: 10r/s lets ten through, limits the eleventh, and allows again after 100 ms.
pub async fn rate_refills(store: &RedisStore, seed: u8) {
    let rate = Rate::parse("10r/s").unwrap();
    let mut key = [seed; 16];
    key[1..5].copy_from_slice(&std::process::id().to_be_bytes());
    for _ in 0..10 {
        assert_eq!(store.rate_check(&key, rate).await.unwrap(), RateOutcome::Allowed);
    }
    assert_eq!(
        store.rate_check(&key, rate).await.unwrap(),
        RateOutcome::Limited { retry_after_secs: 1 }
    );
    tokio::time::sleep(Duration::from_millis(130)).await;
    assert_eq!(store.rate_check(&key, rate).await.unwrap(), RateOutcome::Allowed);
}

/// Cashu proofs of one run: `Y`s made distinct per process and seed.
pub fn ys(seed: u8, n: u8) -> Vec<[u8; 33]> {
    (0..n)
        .map(|i| {
            let mut y = [2u8; 33];
            y[1] = seed;
            y[2] = i;
            y[3..7].copy_from_slice(&std::process::id().to_be_bytes());
            y
        })
        .collect()
}

/// A token's proofs are spent all or none, and `n` concurrent presentations of one token
/// (each with its own extra proof, so they differ) give exactly one success.
pub async fn spends(store: &RedisStore, seed: u8, n: usize) {
    use l402_usage::SpendOutcome;
    let a = ys(seed, 3);
    assert_eq!(store.spend_all(&a, None).await.unwrap(), SpendOutcome::Spent);
    assert_eq!(store.spend_all(&a, None).await.unwrap(), SpendOutcome::AlreadySpent { index: 0 });
    let fresh = ys(seed.wrapping_add(100), 2);
    let mixed = [fresh[0], a[1], fresh[1]];
    assert_eq!(store.spend_all(&mixed, None).await.unwrap(), SpendOutcome::AlreadySpent { index: 1 });
    assert_eq!(store.spend_all(&fresh, Some(now_secs() + 60)).await.unwrap(), SpendOutcome::Spent, "nothing of `mixed` was kept");
    let shared = ys(seed.wrapping_add(50), 2);
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = store.clone();
        let mut token = shared.clone();
        let mut own = [3u8; 33];
        own[1] = seed;
        own[2..10].copy_from_slice(&(i as u64).to_be_bytes());
        own[10..14].copy_from_slice(&std::process::id().to_be_bytes());
        token.push(own);
        tasks.push(tokio::spawn(async move { s.spend_all(&token, None).await }));
    }
    let mut spent = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            SpendOutcome::Spent => spent += 1,
            SpendOutcome::AlreadySpent { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(spent, 1, "one presentation of a shared proof wins");
}
