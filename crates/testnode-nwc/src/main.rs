//! `testnode-nwc --relay ws://127.0.0.1:P [--control-port M] [--encryption nip44|nip04|both]
//! [--keys-file F] [--no-info]`: a NIP-47 wallet service on the relay, with its control
//! endpoint on 127.0.0.1:M (a free port when M is 0 or not given; see the library
//! documentation). Prints one ready line once subscribed:
//! `testnode-nwc: uri nostr+walletconnect://… control http://127.0.0.1:M`.
//!
//! `--keys-file F`: the wallet and client secrets (two lines of hex) are read from F, or
//! written there (mode 0600) when F does not exist, so that a restarted wallet keeps its URI.
//! `--no-info`: publish no info event (kind 13194).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nostr::prelude::Keys;

use testnode_nwc::{TestWallet, WalletEncryption, WalletOptions};

const USAGE: &str = "usage: testnode-nwc --relay ws://127.0.0.1:P [--control-port M] [--encryption nip44|nip04|both] [--keys-file F] [--no-info]";

struct Args {
    relay: String,
    control_port: u16,
    encryption: WalletEncryption,
    keys_file: Option<PathBuf>,
    publish_info: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut relay = None;
    let mut control_port = None;
    let mut encryption = WalletEncryption::Both;
    let mut keys_file = None;
    let mut publish_info = true;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--relay" => relay = Some(value()?),
            "--control-port" => {
                control_port = Some(value()?.parse().map_err(|e| format!("--control-port: {e}"))?)
            }
            "--encryption" => {
                let v = value()?;
                encryption = WalletEncryption::parse(&v).ok_or_else(|| format!("--encryption: {v:?}\n{USAGE}"))?;
            }
            "--keys-file" => keys_file = Some(PathBuf::from(value()?)),
            "--no-info" => publish_info = false,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let relay = relay.ok_or_else(|| format!("--relay is required\n{USAGE}"))?;
    // Test-only: the wallet talks to a relay on this machine, never elsewhere.
    if !relay.starts_with("ws://127.0.0.1:") {
        return Err(format!("--relay must be ws://127.0.0.1:<port>, not {relay:?}"));
    }
    Ok(Args {
        relay,
        control_port: control_port.unwrap_or(0),
        encryption,
        keys_file,
        publish_info,
    })
}

/// The (wallet, client) keys kept in `path`, created there when it does not exist.
fn keys_from(path: &Path) -> Result<(Keys, Keys), String> {
    let shown = path.display();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut lines = text.lines().map(str::trim);
            let mut next = || -> Result<Keys, String> {
                let hex = lines.next().ok_or_else(|| format!("{shown}: two lines of hex expected"))?;
                Keys::parse(hex).map_err(|e| format!("{shown}: {e}"))
            };
            Ok((next()?, next()?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = (Keys::generate(), Keys::generate());
            let text = format!("{}\n{}\n", keys.0.secret_key().to_secret_hex(), keys.1.secret_key().to_secret_hex());
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("{shown}: {e}"))?;
            file.write_all(text.as_bytes()).map_err(|e| format!("{shown}: {e}"))?;
            Ok(keys)
        }
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let keys = args.keys_file.as_deref().map(keys_from).transpose()?;
    let options = WalletOptions {
        encryption: args.encryption,
        publish_info: args.publish_info,
        keys,
        ..WalletOptions::default()
    };
    let wallet = TestWallet::start_with(&args.relay, options).await.map_err(|e| e.to_string())?;
    let (control, task) = wallet
        .serve_control(args.control_port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.control_port))?;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "testnode-nwc: uri {} control http://{control}", wallet.uri());
    let _ = out.flush();
    task.await.map_err(|e| format!("control server stopped: {e}"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("testnode-nwc: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testnode-nwc: {e}");
            ExitCode::FAILURE
        }
    }
}
