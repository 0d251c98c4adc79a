//! The resource framework: how gluepipe's resources and data sources are
//! written. Resource code declares a [`Schema`] and implements a trait; it
//! reads and writes [`Value`]s and reports [`Diagnostics`]; it never sees
//! protobuf or msgpack (that is [`crate::protocol`]'s job).
//!
//! # Pieces
//!
//! - [`Provider`]: the provider block's schema, validation, and `configure`,
//!   which builds the typed context (`Provider::Data`) that every resource
//!   call receives as [`ProviderData`]. `ctx.get()?` gives the context or a
//!   diagnostic (not configured / configured with values unknown at plan).
//! - [`Resource`]: `type_name`, `schema`, `validate`, `plan` (a hook on a plan
//!   the framework pre-fills), `create`/`read`/`update`/`delete`, `import`,
//!   `upgrade_state` (one schema version step).
//! - [`DataSource`]: `type_name`, `schema`, `validate`, `read`.
//! - [`Framework`]: the registry; implements the protocol's `ProviderServer`.
//!
//! # What the framework does for every resource
//!
//! - decodes config/plan/state with the resource's schema and encodes
//!   results back, rejecting values that do not fit the schema and unknown
//!   values where Terraform forbids them (state after apply/read/import);
//! - plans by the schema's rules before calling `Resource::plan`: computed
//!   attributes unset in config become unknown when anything changes,
//!   `use_state_for_unknown` keeps prior values, `requires_replace` attributes
//!   and blocks that change are listed (see `plan.rs`);
//! - dispatches apply to `create`, `update` or `delete`;
//! - upgrades stored state: chains `upgrade_state(v)` from the stored version
//!   to the current one, then decodes with the current schema, dropping
//!   attributes that no longer exist;
//! - skips `configure` while the provider block has unknown values.
//!
//! # Example
//!
//! ```
//! use terraform_provider_gluepipe::framework::*;
//! use terraform_provider_gluepipe::protocol::*;
//!
//! struct Ctx; // the provider's context, e.g. AWS clients
//!
//! struct Queue;
//!
//! #[async_trait::async_trait]
//! impl Resource<Ctx> for Queue {
//!     fn type_name(&self) -> &'static str {
//!         "example_queue"
//!     }
//!
//!     fn schema(&self) -> Schema {
//!         Schema::new()
//!             .description("A queue.")
//!             .attribute(Attribute::string("name").required().requires_replace()
//!                 .description("Queue name. Changing it replaces the queue."))
//!             .attribute(Attribute::string("arn").computed().use_state_for_unknown()
//!                 .description("ARN of the queue."))
//!     }
//!
//!     async fn validate(&self, config: &Value) -> Diagnostics {
//!         let mut diags = Diagnostics::new();
//!         if let Some(name) = config.attr("name").as_str() {
//!             if name.len() > 80 {
//!                 diags.attr_error(AttributePath::root("name"), "Name too long",
//!                     "Queue names have at most 80 characters.");
//!             }
//!         }
//!         diags
//!     }
//!
//!     async fn create(&self, ctx: &ProviderData<Ctx>, req: ApplyRequest) -> ApplyResponse {
//!         let _client = match ctx.get() {
//!             Ok(c) => c,
//!             Err(d) => return ApplyResponse::error(Value::Null, d),
//!         };
//!         let mut state = req.planned_state;
//!         let arn = format!("arn:queue:{}", state.attr("name").as_str().unwrap_or_default());
//!         state.set_attr("arn", Value::from(arn));
//!         ApplyResponse { new_state: state, ..Default::default() }
//!     }
//!
//!     async fn read(&self, _ctx: &ProviderData<Ctx>, req: ReadRequest) -> ReadResponse {
//!         ReadResponse { new_state: req.state, private: req.private, ..Default::default() }
//!     }
//!
//!     async fn update(&self, _ctx: &ProviderData<Ctx>, req: ApplyRequest) -> ApplyResponse {
//!         ApplyResponse { new_state: req.planned_state, ..Default::default() }
//!     }
//!
//!     async fn delete(&self, _ctx: &ProviderData<Ctx>, _req: ApplyRequest) -> ApplyResponse {
//!         ApplyResponse::default() // new_state null: gone
//!     }
//! }
//!
//! struct ExampleProvider;
//!
//! #[async_trait::async_trait]
//! impl Provider for ExampleProvider {
//!     type Data = Ctx;
//!     fn schema(&self) -> Schema {
//!         Schema::new()
//!     }
//!     async fn configure(&self, _req: ConfigureRequest) -> Result<Ctx, Diagnostics> {
//!         Ok(Ctx)
//!     }
//! }
//!
//! let _framework = Framework::new(ExampleProvider).resource(Queue);
//! ```

mod data_source;
mod plan;
mod provider;
mod resource;
mod server;

pub use data_source::{DataSource, ReadDataResponse};
pub use provider::{ConfigureRequest, Provider, ProviderData};
pub use resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse, Resource,
};
pub use server::Framework;

pub use crate::protocol::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Number, Schema,
    Severity, Type, Value,
};
