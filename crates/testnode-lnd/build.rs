//! Generates the lnrpc gRPC server from the lightning.proto kept by crates/l402-lnd
//! (one copy of LND's proto for client and server). Needs `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../l402-lnd/proto/lightning.proto");
    tonic_build::configure()
        .build_server(true)
        .build_client(false)
        .compile_protos(
            &["../l402-lnd/proto/lightning.proto"],
            &["../l402-lnd/proto"],
        )?;
    Ok(())
}
