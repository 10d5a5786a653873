//! `testnode-eclair --port N --control-port M --password-file F`: an Eclair API test server on
//! 127.0.0.1:N with its control endpoint on 127.0.0.1:M (see the library documentation).

use std::process::ExitCode;

use testnode_eclair::TestNode;

const USAGE: &str = "usage: testnode-eclair --port N --control-port M --password-file F";

struct Args {
    port: u16,
    control_port: u16,
    password_file: String,
}

fn parse_args() -> Result<Args, String> {
    let mut port = None;
    let mut control_port = None;
    let mut password_file = None;
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
            "--password-file" => password_file = Some(value()?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Args {
        port: port.ok_or_else(|| format!("--port is required\n{USAGE}"))?,
        control_port: control_port.ok_or_else(|| format!("--control-port is required\n{USAGE}"))?,
        password_file: password_file
            .ok_or_else(|| format!("--password-file is required\n{USAGE}"))?,
    })
}

async fn run(args: Args) -> Result<(), String> {
    let password = std::fs::read_to_string(&args.password_file)
        .map_err(|e| format!("cannot read {}: {e}", args.password_file))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let node = TestNode::start_on(args.port, password)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let (control, task) = node
        .serve_control(args.control_port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.control_port))?;
    println!(
        "testnode-eclair: api {} control http://{control} node {}",
        node.url(),
        testnode_eclair::hex_encode(&node.node_id())
    );
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
            eprintln!("testnode-eclair: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testnode-eclair: {e}");
            ExitCode::FAILURE
        }
    }
}
