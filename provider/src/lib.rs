//! terraform-provider-gluepipe: a Terraform/OpenTofu provider (plugin
//! protocol 6) for gluepipe pipelines.
//!
//! - [`protocol`]: the wire layer (handshake, mTLS, tfplugin6 gRPC, values);
//! - [`framework`]: the typed resource and data source API on top of it;
//! - [`provider`]: gluepipe's provider block and the AWS context it builds;
//! - [`data_sources`]: the `gluepipe_catalog_table` data source;
//! - [`registry`]: the one list of everything this provider serves.

pub mod aws;
pub mod data_sources;
pub mod framework;
pub mod pipeline;
pub mod protocol;
pub mod provider;

/// Everything this provider serves. Add a resource or data source here.
pub fn registry() -> framework::Framework<provider::GluepipeProvider> {
    framework::Framework::new(provider::GluepipeProvider)
        .resource(pipeline::PipelineResource::new())
        .data_source(data_sources::CatalogTable)
}

/// The provider's source address (`source = "gluepipe/gluepipe"`).
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/gluepipe/gluepipe";

/// The binary's entry point: serve the provider to Terraform.
pub fn main() -> std::process::ExitCode {
    // `--version` answers before the plugin handshake, so a user (or the release script) can
    // tell which release an installed provider is without Terraform.
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!(
            "terraform-provider-gluepipe {}",
            gluepipe_spec::version::VERSION
        );
        return std::process::ExitCode::SUCCESS;
    }
    protocol::serve::serve(registry(), PROVIDER_ADDRESS)
}
