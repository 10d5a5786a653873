//! `testnode-cln --socket PATH --control-port N`: serves CLN's JSON-RPC on the unix socket
//! PATH and the control endpoint on http://127.0.0.1:N (see `testnode_cln::control`).
//! Prints the offer and node id on start; runs until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use testnode_cln::TestNode;

const USAGE: &str = "usage: testnode-cln --socket PATH --control-port N";

struct Args {
    socket: PathBuf,
    control_port: u16,
}

fn parse_args() -> Result<Args, String> {
    let mut socket = None;
    let mut control_port = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" => socket = args.next().map(PathBuf::from),
            "--control-port" => {
                let v = args.next().ok_or("--control-port needs a value")?;
                control_port = Some(v.parse::<u16>().map_err(|_| format!("bad port {v:?}"))?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        socket: socket.ok_or_else(|| format!("--socket is required\n{USAGE}"))?,
        control_port: control_port.ok_or_else(|| format!("--control-port is required\n{USAGE}"))?,
    })
}

async fn run(args: Args) -> Result<(), String> {
    let node = TestNode::start(&args.socket)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", args.socket.display()))?;
    let control = tokio::net::TcpListener::bind(("127.0.0.1", args.control_port))
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1:{}: {e}", args.control_port))?;
    let addr = control.local_addr().map_err(|e| e.to_string())?;
    let _control = node.serve_control(control);
    let id: String = node.node_id().iter().map(|b| format!("{b:02x}")).collect();
    println!("testnode-cln: socket {}", args.socket.display());
    println!("testnode-cln: control http://{addr}");
    println!("testnode-cln: node_id {id}");
    println!("testnode-cln: offer {}", node.offer());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    drop(node);
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
        Ok(r) => r,
        Err(e) => {
            eprintln!("testnode-cln: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testnode-cln: {e}");
            ExitCode::FAILURE
        }
    }
}
