//! `testnode-lnd --dir DIR [--grpc-port N] [--control-port N]`
//!
//! Writes DIR/tls.cert, DIR/tls.key and DIR/admin.macaroon, serves LND's gRPC
//! (AddInvoice, LookupInvoice) on 127.0.0.1:N and the plain-HTTP control API on
//! 127.0.0.1:N (port 0 or omitted = any free port), prints one `key value` line each for
//! `grpc`, `control`, `cert`, `macaroon`, then `ready`, and runs until killed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use testnode_lnd::TestNode;

const USAGE: &str = "usage: testnode-lnd --dir DIR [--grpc-port N] [--control-port N]";

struct Args {
    dir: PathBuf,
    grpc_port: u16,
    control_port: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let mut grpc_port = 0;
    let mut control_port = 0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let port = |v: String| v.parse::<u16>().map_err(|_| format!("bad port {v:?}"));
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--grpc-port" => grpc_port = port(value()?)?,
            "--control-port" => control_port = port(value()?)?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        dir: dir.ok_or_else(|| format!("--dir is required\n{USAGE}"))?,
        grpc_port,
        control_port,
    })
}

async fn run(args: Args) -> std::io::Result<()> {
    let node = Arc::new(TestNode::start(&args.dir, args.grpc_port).await?);
    let control = node.serve_control(args.control_port).await?;
    println!("grpc {}", node.address());
    println!("control {control}");
    println!("cert {}", node.cert_path().display());
    println!("macaroon {}", node.macaroon_path().display());
    println!("ready");
    std::future::pending::<()>().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("testnode-lnd: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testnode-lnd: {e}");
            ExitCode::FAILURE
        }
    }
}
