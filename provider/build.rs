//! Compiles the protocol definitions in `proto/` with protox (a pure-Rust
//! protobuf compiler), so building the provider needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/tfplugin6.proto", "proto/go_plugin.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        // The client half is used by the integration tests' stand-in for Terraform.
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
