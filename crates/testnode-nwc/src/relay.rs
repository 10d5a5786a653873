//! A real Nostr relay for tests: the executable named by `L402_NOSTR_RELAY` (PyPI
//! `nostr-relay` 1.14, or `nostr-rs-relay` 0.8.12 when the file is called so), started on a
//! free 127.0.0.1 port with its SQLite database in a fresh temporary directory
//! (`scripts/nostr-relay.sh install`, run by `scripts/install-deps.sh test`, installs it under
//! `$HOME/.cache/ngx-l402/peers/`).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{sleep, Instant};

/// The environment variable naming the `nostr-relay` executable.
pub const RELAY_ENV: &str = "L402_NOSTR_RELAY";

/// How long a relay may take to accept connections after it was started.
const START_WAIT: Duration = Duration::from_secs(30);

/// The relay executable from [`RELAY_ENV`], or `None` (tests then skip, saying why).
pub fn relay_executable() -> Option<PathBuf> {
    std::env::var_os(RELAY_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// A free TCP port on 127.0.0.1 (bound and released: free at the time of the call).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?.local_addr()?.port())
}

/// A running relay process; killed (and its directory removed) on drop.
pub struct TestRelay {
    exe: PathBuf,
    dir: PathBuf,
    port: u16,
    checks_signatures: bool,
    child: Option<Child>,
}

/// Which relay implementation an executable is, from its file name.
fn is_rust_relay(exe: &std::path::Path) -> bool {
    exe.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("nostr-rs-relay"))
}

impl TestRelay {
    /// Starts the relay named by [`RELAY_ENV`] on a free port and waits until it accepts
    /// connections. `Ok(None)` when the variable is unset.
    pub async fn start() -> io::Result<Option<TestRelay>> {
        TestRelay::start_with(true).await
    }

    /// The same, but the relay stores and forwards events whose signature does not verify
    /// (NIP-01 requires relays to check; this one is configured not to), so that a client's
    /// own check can be tested. Only the PyPI relay can be configured so: with
    /// `nostr-rs-relay`, [`TestRelay::checks_signatures`] stays true.
    pub async fn start_unchecked() -> io::Result<Option<TestRelay>> {
        TestRelay::start_with(false).await
    }

    async fn start_with(checks_signatures: bool) -> io::Result<Option<TestRelay>> {
        let Some(exe) = relay_executable() else { return Ok(None) };
        let checks_signatures = checks_signatures || is_rust_relay(&exe);
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "l402-nostr-relay-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut relay = TestRelay { exe, dir, port: free_port()?, checks_signatures, child: None };
        relay.spawn().await?;
        Ok(Some(relay))
    }

    async fn spawn(&mut self) -> io::Result<()> {
        let mut command = if is_rust_relay(&self.exe) {
            let config = self.dir.join("config.toml");
            std::fs::write(
                &config,
                format!(
                    "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"l402 test relay\"\n\
                     [network]\naddress = \"127.0.0.1\"\nport = {port}\n\
                     [database]\nengine = \"sqlite\"\ndata_directory = \"{dir}\"\n",
                    port = self.port,
                    dir = self.dir.display(),
                ),
            )?;
            let mut c = Command::new(&self.exe);
            c.arg("--config").arg(&config);
            c
        } else {
            let config = self.dir.join("config.yaml");
            let signed = if self.checks_signatures { "\n    - nostr_relay.validators.is_signed" } else { "" };
            std::fs::write(
                &config,
                format!(
                    "DEBUG: false\n\
                     relay_name: l402 test relay\n\
                     storage:\n  sqlalchemy.url: sqlite+aiosqlite:///{db}\n  validators:\n    - nostr_relay.validators.is_not_too_large{signed}\n\
                     gunicorn:\n  bind: 127.0.0.1:{port}\n  workers: 1\n  loglevel: warning\n  reload: false\n\
                     authentication:\n  enabled: false\n\
                     message_timeout: 1800\nsubscription_limit: 32\nmax_limit: 6000\n",
                    db = self.dir.join("nostr.sqlite3").display(),
                    port = self.port,
                ),
            )?;
            let mut c = Command::new(&self.exe);
            c.arg("-c").arg(&config).arg("serve").arg("--use-uvicorn");
            c
        };
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("relay.log"))?;
        let child = command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", self.exe.display())))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_WAIT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).await.is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(io::Error::other(format!("the relay exited with {status}; see {}", self.log_path().display())));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the relay did not start listening"));
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// `ws://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Whether the relay refuses events whose signature does not verify.
    pub fn checks_signatures(&self) -> bool {
        self.checks_signatures
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The relay's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("relay.log")
    }

    /// Kills the relay (SIGKILL) and waits until it has exited.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the relay again on the same port and database.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.kill().await;
        self.spawn().await
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
