//! Code generated from `proto/` at build time (see `build.rs`). Only the
//! conversion and service modules of the protocol layer use it.

/// tfplugin6: the Terraform provider service and its messages.
#[allow(clippy::all, clippy::pedantic)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's own services: controller, stdio, broker.
#[allow(clippy::all, clippy::pedantic)]
pub mod plugin {
    tonic::include_proto!("plugin");
}
