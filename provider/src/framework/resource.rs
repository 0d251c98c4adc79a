//! Managed resources: the trait a resource implements and the requests and
//! responses of each lifecycle step. Handlers return their response; errors
//! the user should see are diagnostics in it.

use async_trait::async_trait;

use super::provider::ProviderData;
use crate::protocol::{AttributePath, Diagnostic, Diagnostics, Schema, Value};

/// Planning input. All values are decoded with the resource schema.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// Null on create.
    pub prior_state: Value,
    /// Terraform's merge of config and prior state; null on destroy.
    pub proposed_new_state: Value,
    /// The resource block; may contain unknown values.
    pub config: Value,
    pub prior_private: Vec<u8>,
}

impl PlanRequest {
    pub fn is_create(&self) -> bool {
        self.prior_state.is_null()
    }

    pub fn is_destroy(&self) -> bool {
        self.proposed_new_state.is_null()
    }
}

/// Planning output; the framework pre-fills it (see [`Resource::plan`]).
#[derive(Debug, Clone, Default)]
pub struct PlanResponse {
    /// Known values here must equal the values after apply.
    pub planned_state: Value,
    /// Attribute paths whose change replaces the resource.
    pub requires_replace: Vec<AttributePath>,
    /// Opaque bytes handed to apply.
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Input of create, update and delete.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// Null on create.
    pub prior_state: Value,
    /// Null on delete; may contain unknowns for computed attributes.
    pub planned_state: Value,
    /// Fully known; null on delete.
    pub config: Value,
    pub planned_private: Vec<u8>,
}

/// Output of create, update and delete.
#[derive(Debug, Clone, Default)]
pub struct ApplyResponse {
    /// Must be fully known. Null after a delete. On a partial failure return
    /// what exists, with an error diagnostic, so Terraform records it.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

impl ApplyResponse {
    /// A response carrying only an error (state unchanged is up to the caller).
    pub fn error(state: Value, diagnostic: Diagnostic) -> Self {
        Self {
            new_state: state,
            private: Vec::new(),
            diagnostics: diagnostic.into(),
        }
    }
}

/// Refresh input.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub state: Value,
    pub private: Vec<u8>,
}

/// Refresh output.
#[derive(Debug, Clone, Default)]
pub struct ReadResponse {
    /// Null when the resource no longer exists (Terraform plans to create it).
    /// Where AWS returns a normalised form of what the user wrote, keep the
    /// user's form.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// Import output: a stub state Terraform completes with a read.
#[derive(Debug, Clone, Default)]
pub struct ImportResponse {
    pub state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// A managed resource type. `D` is the provider's context type.
///
/// The framework handles decoding, the computed-attribute and plan-modifier
/// rules declared in the schema, state upgrades and consistency checks; the
/// resource implements only its own behaviour.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// Full type name, e.g. `gluepipe_pipeline`.
    fn type_name(&self) -> &'static str;

    /// The schema; its `version` is recorded in state.
    fn schema(&self) -> Schema;

    /// Checks the resource block before any remote call. `config` may hold
    /// unknown values: only judge the known ones.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Adjusts the plan. `plan` arrives pre-filled by the framework:
    /// `planned_state` is the proposed state with computed attributes unset
    /// in config marked unknown (when anything changes), prior values kept for
    /// `use_state_for_unknown` attributes, and `requires_replace` listing
    /// every `requires_replace` attribute or block that changes. Also called
    /// for destroy (`req.is_destroy()`, planned null). Default: no change.
    async fn plan(&self, _ctx: &ProviderData<D>, _req: &PlanRequest, _plan: &mut PlanResponse) {}

    /// Creates the real object; ends by reading it back.
    async fn create(&self, ctx: &ProviderData<D>, req: ApplyRequest) -> ApplyResponse;

    /// Refreshes state from the real object.
    async fn read(&self, ctx: &ProviderData<D>, req: ReadRequest) -> ReadResponse;

    /// Updates in place (replacements arrive as delete + create).
    async fn update(&self, ctx: &ProviderData<D>, req: ApplyRequest) -> ApplyResponse;

    /// Deletes; a missing object is success.
    async fn delete(&self, ctx: &ProviderData<D>, req: ApplyRequest) -> ApplyResponse;

    /// `terraform import`: a stub state from the user's ID.
    async fn import(&self, _ctx: &ProviderData<D>, _id: &str) -> ImportResponse {
        ImportResponse {
            diagnostics: Diagnostic::error(
                "Import not supported",
                format!("The resource type {} cannot be imported.", self.type_name()),
            )
            .into(),
            ..ImportResponse::default()
        }
    }

    /// Upgrades stored state JSON from schema `version` to `version + 1`.
    /// The framework chains these up to the current version, then decodes
    /// the result with the current schema (dropping attributes it no longer
    /// has). Only needed when a change is more than a removed attribute.
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostic> {
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "The state of this {} was written with schema version {version}, which this \
                 provider version cannot upgrade. Use the provider version that wrote it, or \
                 remove the resource from state and import it.",
                self.type_name()
            ),
        ))
    }
}
