//! Generates the lnrpc gRPC client from LND's lightning.proto (trimmed copy in proto/).
//! Needs `protoc` (Debian package protobuf-compiler; scripts/install-deps.sh installs it).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/lightning.proto");
    tonic_build::configure()
        .build_server(false)
        .build_client(true)
        .compile_protos(&["proto/lightning.proto"], &["proto"])?;
    Ok(())
}
