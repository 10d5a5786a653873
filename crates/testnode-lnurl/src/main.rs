//! `testnode-lnurl --port N --control-port M [--tls-dir D]`: an LNURL-pay / Lightning Address
//! test server on 127.0.0.1:N (HTTPS when `--tls-dir` is given; the throwaway CA is written to
//! `D/ca.pem`) with its control endpoint on 127.0.0.1:M (see the library documentation).
//! Prints `testnode-lnurl: api <base-url> control http://127.0.0.1:M` once ready.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use testnode_lnurl::TestNode;

const USAGE: &str = "usage: testnode-lnurl --port N --control-port M [--tls-dir D]";

struct Args {
    port: u16,
    control_port: u16,
    tls_dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let mut control_port = None;
    let mut tls_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = Some(value()?.parse().map_err(|e| format!("--port: {e}"))?),
            "--control-port" => {
                control_port = Some(
                    value()?
                        .parse()
                        .map_err(|e| format!("--control-port: {e}"))?,
                )
            }
            "--tls-dir" => tls_dir = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args {
        port: port.ok_or_else(|| format!("--port is required\n{USAGE}"))?,
        control_port: control_port.ok_or_else(|| format!("--control-port is required\n{USAGE}"))?,
        tls_dir,
    })
}

async fn run(args: Args) -> Result<(), String> {
    let node = TestNode::start_on(args.port, args.tls_dir.is_some())
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    if let Some(dir) = &args.tls_dir {
        node.write_ca_pem(dir)
            .map_err(|e| format!("cannot write {}/ca.pem: {e}", dir.display()))?;
    }
    let (control, task) = node
        .serve_control(args.control_port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.control_port))?;
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "testnode-lnurl: api {} control http://{control}",
        node.base_url()
    );
    let _ = out.flush();
    task.await
        .map_err(|e| format!("control server stopped: {e}"))
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
            eprintln!("testnode-lnurl: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testnode-lnurl: {e}");
            ExitCode::FAILURE
        }
    }
}
