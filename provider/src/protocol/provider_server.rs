//! The provider as the protocol sees it: one method per tfplugin6 RPC, with
//! Rust request and response types (as terraform-plugin-go's `tfprotov6`).
//! Values stay opaque [`DynamicValue`]s here, because only the implementor
//! knows which schema to decode them with. The gRPC service converts protobuf
//! to these types, calls the trait, and converts back; nothing else.

use async_trait::async_trait;
use std::collections::BTreeMap;

use super::diagnostics::Diagnostics;
use super::path::AttributePath;
use super::schema::Schema;
use super::types::Type;
use super::value::{CodecError, Value, json, msgpack};

/// A value in its wire encoding. Terraform sends msgpack; JSON is accepted
/// as input; responses are always msgpack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicValue {
    pub msgpack: Vec<u8>,
    pub json: Vec<u8>,
}

impl DynamicValue {
    /// Decodes with the type of the schema it belongs to. An empty value
    /// (neither encoding set) is null.
    pub fn decode(&self, ty: &Type) -> Result<Value, CodecError> {
        if !self.msgpack.is_empty() {
            msgpack::decode(&self.msgpack, ty)
        } else if !self.json.is_empty() {
            let parsed: serde_json::Value = serde_json::from_slice(&self.json).map_err(|e| {
                CodecError::new(&AttributePath::empty(), format!("invalid JSON: {e}"))
            })?;
            json::decode(&parsed, ty)
        } else {
            Ok(Value::Null)
        }
    }

    /// Encodes as msgpack, checking that the value fits `ty`.
    pub fn encode(value: &Value, ty: &Type) -> Result<DynamicValue, CodecError> {
        Ok(DynamicValue {
            msgpack: msgpack::encode(value, ty)?,
            json: Vec::new(),
        })
    }
}

/// `GetProviderSchema` response.
#[derive(Debug, Clone, Default)]
pub struct GetProviderSchemaResponse {
    /// The `provider "…" {}` block.
    pub provider: Schema,
    /// The `provider_meta` block (empty: gluepipe has none).
    pub provider_meta: Schema,
    /// Managed resource schemas by type name.
    pub resources: BTreeMap<String, Schema>,
    /// Data source schemas by type name.
    pub data_sources: BTreeMap<String, Schema>,
    pub diagnostics: Diagnostics,
}

/// `UpgradeResourceState` request: state as stored, to be reshaped (never
/// refreshed) to the current schema. Called for every resource instance on
/// every run, even when `version` is current.
#[derive(Debug, Clone)]
pub struct UpgradeResourceStateRequest {
    pub type_name: String,
    /// The schema version the state was written with.
    pub version: i64,
    /// The stored JSON (written with the schema of `version`).
    pub raw_json: Vec<u8>,
    /// Legacy SDKv1 flatmap state; non-empty only for states Terraform 0.11
    /// wrote, which gluepipe never did.
    pub raw_flatmap: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpgradeResourceStateResponse {
    /// The state in the current schema, with no unknown values.
    pub upgraded_state: Option<DynamicValue>,
    pub diagnostics: Diagnostics,
}

/// `ConfigureProvider` request.
#[derive(Debug, Clone)]
pub struct ConfigureProviderRequest {
    pub terraform_version: String,
    /// The provider block; may contain unknown values during plan when it
    /// refers to attributes of resources not yet created.
    pub config: DynamicValue,
}

/// `ReadResource` request: refresh a resource from the real world.
#[derive(Debug, Clone)]
pub struct ReadResourceRequest {
    pub type_name: String,
    pub current_state: DynamicValue,
    pub private: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ReadResourceResponse {
    /// Null means the resource is gone; Terraform then plans to create it.
    pub new_state: Option<DynamicValue>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// `PlanResourceChange` request.
#[derive(Debug, Clone)]
pub struct PlanResourceChangeRequest {
    pub type_name: String,
    /// Null on create.
    pub prior_state: DynamicValue,
    /// Terraform's merge of config and prior state; null on destroy.
    pub proposed_new_state: DynamicValue,
    /// May contain unknown values.
    pub config: DynamicValue,
    pub prior_private: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct PlanResourceChangeResponse {
    pub planned_state: Option<DynamicValue>,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// `ApplyResourceChange` request. Create: prior null. Destroy: planned null.
#[derive(Debug, Clone)]
pub struct ApplyResourceChangeRequest {
    pub type_name: String,
    pub prior_state: DynamicValue,
    pub planned_state: DynamicValue,
    /// Fully known.
    pub config: DynamicValue,
    pub planned_private: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyResourceChangeResponse {
    /// Must be fully known and agree with every known planned value.
    pub new_state: Option<DynamicValue>,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

/// `ImportResourceState` request (`terraform import ADDR ID`).
#[derive(Debug, Clone)]
pub struct ImportResourceStateRequest {
    pub type_name: String,
    pub id: String,
}

/// One imported object; Terraform reads it with `ReadResource` next.
#[derive(Debug, Clone)]
pub struct ImportedResource {
    pub type_name: String,
    pub state: DynamicValue,
    pub private: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct ImportResourceStateResponse {
    pub imported: Vec<ImportedResource>,
    pub diagnostics: Diagnostics,
}

/// `ReadDataSource` request.
#[derive(Debug, Clone)]
pub struct ReadDataSourceRequest {
    pub type_name: String,
    /// Fully known (Terraform defers the read otherwise).
    pub config: DynamicValue,
}

#[derive(Debug, Clone, Default)]
pub struct ReadDataSourceResponse {
    pub state: Option<DynamicValue>,
    pub diagnostics: Diagnostics,
}

/// What a provider implements to be served over tfplugin6.
#[async_trait]
pub trait ProviderServer: Send + Sync + 'static {
    async fn get_provider_schema(&self) -> GetProviderSchemaResponse;
    /// The provider block may contain unknown values.
    async fn validate_provider_config(&self, config: DynamicValue) -> Diagnostics;
    /// The resource block may contain unknown values.
    async fn validate_resource_config(&self, type_name: &str, config: DynamicValue) -> Diagnostics;
    /// The data block may contain unknown values.
    async fn validate_data_resource_config(
        &self,
        type_name: &str,
        config: DynamicValue,
    ) -> Diagnostics;
    async fn upgrade_resource_state(
        &self,
        req: UpgradeResourceStateRequest,
    ) -> UpgradeResourceStateResponse;
    async fn configure_provider(&self, req: ConfigureProviderRequest) -> Diagnostics;
    async fn read_resource(&self, req: ReadResourceRequest) -> ReadResourceResponse;
    async fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> PlanResourceChangeResponse;
    async fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> ApplyResourceChangeResponse;
    async fn import_resource_state(
        &self,
        req: ImportResourceStateRequest,
    ) -> ImportResourceStateResponse;
    async fn read_data_source(&self, req: ReadDataSourceRequest) -> ReadDataSourceResponse;
    /// Terraform was interrupted: cancel work in progress. `Err` is reported
    /// to the user.
    async fn stop_provider(&self) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_values_decode_msgpack_json_or_nothing() {
        let ty = Type::object([("name", Type::String), ("size", Type::Number)]);
        let expected = Value::object([("name", Value::from("a")), ("size", Value::from(2))]);
        let cases = [
            (
                "msgpack",
                DynamicValue::encode(&expected, &ty).expect("fits"),
                expected.clone(),
            ),
            (
                "json",
                DynamicValue {
                    msgpack: Vec::new(),
                    json: br#"{"name":"a","size":2}"#.to_vec(),
                },
                expected.clone(),
            ),
            ("empty is null", DynamicValue::default(), Value::Null),
        ];
        for (name, dv, want) in cases {
            assert_eq!(dv.decode(&ty).ok(), Some(want), "{name}");
        }
        let bad_json = DynamicValue {
            msgpack: Vec::new(),
            json: b"{".to_vec(),
        };
        assert!(bad_json.decode(&ty).is_err());
        // Responses are always msgpack.
        let out = DynamicValue::encode(&expected, &ty).expect("fits");
        assert!(out.json.is_empty() && !out.msgpack.is_empty());
    }
}
