//! Real mints as child processes (installed by scripts/cashu-mints.sh; started as
//! tests/integration/cashu_peers.py starts them): Nutshell with FakeWallet and cdk-mintd with
//! fakewallet, each on a free port in its own directory, waited for (bounded) and killed with
//! its process group on drop. Tokens come from the real Nutshell wallet
//! (tests/integration/cashu_wallet.py run by the Nutshell venv's Python).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use l402_cashu_mint::{ClientOptions, MintClient, TransportOptions};

fn peers_dir() -> PathBuf {
    std::env::var_os("L402_PEERS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ngx-l402/peers")
    })
}

pub fn nutshell_exe() -> PathBuf {
    std::env::var_os("L402_NUTSHELL_MINT").map(PathBuf::from).unwrap_or_else(|| peers_dir().join("nutshell/bin/mint"))
}

pub fn cdk_exe() -> PathBuf {
    std::env::var_os("L402_CDK_MINTD").map(PathBuf::from).unwrap_or_else(|| peers_dir().join("cdk-mintd/bin/cdk-mintd"))
}

/// The repository's tests/integration directory.
fn integration_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/integration")
}

/// `None` (after saying why) when the mint binary is absent and L402_REQUIRE_PEERS is unset;
/// a failure when it is set.
pub fn available(exe: &Path) -> bool {
    if exe.is_file() {
        return true;
    }
    let msg = format!("SKIPPED: Cashu test mint {} missing (scripts/cashu-mints.sh install)", exe.display());
    assert!(std::env::var_os("L402_REQUIRE_PEERS").is_none(), "{msg} and L402_REQUIRE_PEERS is set");
    eprintln!("{msg}");
    false
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Nutshell,
    Cdk,
}

/// A running mint; killed (its whole process group) on drop.
pub struct Mint {
    pub kind: Kind,
    pub url: String,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Mint {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn random_hex(n: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    (0..n)
        .map(|_| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u8(0);
            format!("{:x}", h.finish() & 0xf)
        })
        .collect()
}

impl Mint {
    /// Starts a mint of `kind` and waits (at most 60 s) until GET /v1/info answers.
    pub fn start(kind: Kind) -> Mint {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("mint.log")).unwrap();
        let mut cmd = match kind {
            Kind::Nutshell => {
                std::fs::write(dir.path().join(".env"), b"").unwrap();
                let mut c = Command::new(nutshell_exe());
                for (k, _) in std::env::vars() {
                    if k.starts_with("MINT_") || k.starts_with("FAKEWALLET_") || k.starts_with("CASHU_") {
                        c.env_remove(k);
                    }
                }
                c.envs([
                    ("CASHU_DIR", dir.path().join("home").display().to_string()),
                    ("MINT_BACKEND_BOLT11_SAT", "FakeWallet".into()),
                    ("MINT_LISTEN_HOST", "127.0.0.1".into()),
                    ("MINT_LISTEN_PORT", port.to_string()),
                    ("MINT_URL", url.clone()),
                    ("MINT_PRIVATE_KEY", format!("test-only-{}", random_hex(32))),
                    ("MINT_DATABASE", dir.path().join("mintdb").display().to_string()),
                    ("MINT_INPUT_FEE_PPK", "0".into()),
                    ("FAKEWALLET_DELAY_INCOMING_PAYMENT", "0".into()),
                    ("FAKEWALLET_DELAY_OUTGOING_PAYMENT", "0".into()),
                    ("MINT_RATE_LIMIT", "FALSE".into()),
                    ("DEBUG", "FALSE".into()),
                    ("TOR", "FALSE".into()),
                ]);
                c
            }
            Kind::Cdk => {
                let work = dir.path().join("work");
                std::fs::create_dir(&work).unwrap();
                let toml = dir.path().join("mint.toml");
                std::fs::write(
                    &toml,
                    format!(
                        "[info]\nurl = \"{url}/\"\nlisten_host = \"127.0.0.1\"\nlisten_port = {port}\n\
                         mnemonic = \"env:CDK_MINTD_MNEMONIC\"\ninput_fee_ppk = 0\n\
                         [info.logging]\noutput = \"stderr\"\n[mint_info]\nname = \"l402 test mint\"\n\
                         [database]\nengine = \"sqlite\"\n[payment_backend]\nbackend = \"fakewallet\"\nunit = \"sat\"\n\
                         [fake_wallet]\nsupported_units = [\"sat\"]\nfee_percent = 0.0\nreserve_fee_min = 0\n\
                         min_delay_time = 0\nmax_delay_time = 0\n"
                    ),
                )
                .unwrap();
                let mnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
                let init = Command::new("timeout")
                    .arg("60")
                    .arg(cdk_exe())
                    .args(["--work-dir".as_ref(), work.as_os_str(), "config".as_ref(), "init".as_ref(), "--new-mint".as_ref(), "--file".as_ref(), toml.as_os_str()])
                    .env("CDK_MINTD_MNEMONIC", mnemonic)
                    .stdout(Stdio::null())
                    .stderr(log.try_clone().unwrap())
                    .status()
                    .unwrap();
                assert!(init.success(), "cdk-mintd config init failed");
                let mut c = Command::new(cdk_exe());
                c.arg("--work-dir").arg(&work).env("CDK_MINTD_MNEMONIC", mnemonic);
                c
            }
        };
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        let mut mint = Mint { kind, url, child, dir };
        mint.wait_ready(Duration::from_secs(60));
        mint
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = self.client(Duration::from_secs(1));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{:?} mint exited with {status}; log:\n{}", self.kind, self.log());
            }
            if rt.block_on(client.info()).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "{:?} mint: no /v1/info after {limit:?}; log:\n{}", self.kind, self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("mint.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn client(&self, timeout: Duration) -> MintClient {
        let transport = TransportOptions { allow_http: true, ..Default::default() };
        MintClient::new(&self.url, &ClientOptions { timeout, transport }).unwrap()
    }
}

/// A Nutshell wallet in its own directory (one request per process of cashu_wallet.py).
pub struct Wallet {
    dir: tempfile::TempDir,
}

impl Wallet {
    pub fn new() -> Wallet {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), b"").unwrap();
        Wallet { dir }
    }

    /// Sends one JSON request; the answer, or the wallet's error text.
    pub fn call(&self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        use std::io::Write;
        let python = nutshell_exe().with_file_name("python");
        let mut cmd = Command::new("timeout");
        cmd.arg("120").arg(python).arg(integration_dir().join("cashu_wallet.py"));
        for (k, _) in std::env::vars() {
            if k.starts_with("MINT_") || k.starts_with("CASHU_") || k.starts_with("WALLET_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("CASHU_DIR", self.dir.path())
            .env("DEBUG", "FALSE")
            .env("TOR", "FALSE")
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{request}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("wallet: {e}; stderr: {}", String::from_utf8_lossy(&out.stderr)))?;
        if answer["ok"] == serde_json::Value::Bool(true) {
            Ok(answer)
        } else {
            Err(answer.to_string())
        }
    }

    /// A token of `amount` sat at `mint` (V4, with DLEQ).
    pub fn send(&self, mint: &str, amount: u64) -> String {
        let a = self.call(&serde_json::json!({"op": "send", "mint": mint, "amount": amount, "version": "B"})).unwrap();
        a["token"].as_str().unwrap().to_string()
    }

    /// Swaps `token` into this wallet (the mint spends its proofs).
    pub fn receive(&self, token: &str) -> Result<u64, String> {
        self.call(&serde_json::json!({"op": "receive", "token": token})).map(|a| a["amount"].as_u64().unwrap_or(0))
    }
}

/// A bolt11 invoice of `amount` sat from the mint itself: a NUT-04 mint quote's `request`
/// (POST /v1/mint/quote/bolt11), which the FakeWallet settles when the mint melts to it.
pub fn mint_invoice(mint: &str, amount: u64) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-H", "content-type: application/json", "-d"])
        .arg(format!("{{\"amount\":{amount},\"unit\":\"sat\"}}"))
        .arg(format!("{}/v1/mint/quote/bolt11", mint.trim_end_matches('/')))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("mint quote: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    v["request"].as_str().unwrap_or_else(|| panic!("no request in {v}")).to_string()
}
