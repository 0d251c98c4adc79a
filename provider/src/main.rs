//! The provider binary: Terraform starts it; everything lives in the library.

fn main() -> std::process::ExitCode {
    terraform_provider_gluepipe::main()
}
