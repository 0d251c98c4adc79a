//! The wire layer: everything Terraform's plugin protocol (go-plugin +
//! tfplugin6) defines, and nothing about resources or AWS.
//!
//! - values and types: [`Type`] (cty types), [`Value`] (unknown/null/known)
//!   with its msgpack and JSON codecs, [`AttributePath`], [`Diagnostic`];
//! - [`Schema`]: schemas as data;
//! - [`ProviderServer`]: one method per RPC with Rust types;
//! - the gRPC services (`grpc_provider`, `go_plugin`), conversions between
//!   protobuf and our types (`convert`), and serving: handshake, auto-mTLS,
//!   unix socket, debug (reattach) mode (`serve`).

mod convert;
pub mod diagnostics;
mod go_plugin;
mod grpc_provider;
pub mod handshake;
pub mod log;
pub mod path;
pub mod pb;
pub mod provider_server;
pub mod schema;
pub mod serve;
pub mod tls;
pub mod types;
pub mod value;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use path::{AttributePath, PathStep};
pub use provider_server::{DynamicValue, ProviderServer};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use types::Type;
pub use value::{CodecError, Number, Value};
