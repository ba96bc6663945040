//! Compiles every `.proto` under `<repo>/proto/veritrace/v1` with protox, a
//! pure-Rust protobuf compiler, so the build needs no system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("../../proto").canonicalize()?;
    let pkg_dir = root.join("veritrace/v1");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&pkg_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    println!("cargo:rerun-if-changed={}", pkg_dir.display());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let fds = protox::compile(&files, [&root])?;
    // The descriptor set, for tools that read or write messages as proto3
    // JSON (the CLI's `tx submit`, JSON output).
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("veritrace_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure().build_server(grpc).build_client(grpc).compile_fds(fds)?;
    Ok(())
}
