//! [`Framework`]: the registry of resources and data sources, and the
//! implementation of the protocol's [`ProviderServer`] in their terms —
//! decoding values with the right schema, the configure step, planning
//! rules, state upgrades, and checks on what resources return.

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;

use super::data_source::DataSource;
use super::plan;
use super::provider::{ConfigureRequest, Provider, ProviderData};
use super::resource::{ApplyRequest, PlanRequest, ReadRequest, Resource};
use crate::protocol::provider_server::*;
use crate::protocol::value::json;
use crate::protocol::{Diagnostic, Diagnostics, DynamicValue, Schema, Type, Value};

struct Registered<T: ?Sized> {
    schema: Schema,
    ty: Type,
    inner: Box<T>,
}

impl<T: ?Sized> Registered<T> {
    fn new(schema: Schema, inner: Box<T>) -> Self {
        Self {
            ty: schema.value_type(),
            schema,
            inner,
        }
    }

    fn decode(&self, value: &DynamicValue, what: &str) -> Result<Value, Diagnostic> {
        decode(value, &self.ty, what)
    }
}

/// A provider with its resources and data sources, ready to serve.
///
/// ```
/// use terraform_provider_gluepipe::framework::Framework;
/// use terraform_provider_gluepipe::{data_sources, pipeline, provider};
///
/// let framework = Framework::new(provider::GluepipeProvider)
///     .resource(pipeline::PipelineResource::new())
///     .data_source(data_sources::CatalogTable);
/// # let _ = framework;
/// ```
pub struct Framework<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: BTreeMap<&'static str, Registered<dyn Resource<P::Data>>>,
    data_sources: BTreeMap<&'static str, Registered<dyn DataSource<P::Data>>>,
    data: RwLock<ProviderData<P::Data>>,
    /// Provider attributes configured while unknown ([`Provider::deferrable`]).
    deferred: RwLock<Vec<String>>,
}

impl<P: Provider> Framework<P> {
    pub fn new(provider: P) -> Self {
        Self {
            provider_schema: provider.schema(),
            provider,
            resources: BTreeMap::new(),
            data_sources: BTreeMap::new(),
            data: RwLock::new(ProviderData::NotConfigured),
            deferred: RwLock::new(Vec::new()),
        }
    }

    /// Registers a managed resource type.
    pub fn resource(mut self, resource: impl Resource<P::Data>) -> Self {
        let name = resource.type_name();
        let entry = Registered::new(
            resource.schema(),
            Box::new(resource) as Box<dyn Resource<P::Data>>,
        );
        self.resources.insert(name, entry);
        self
    }

    /// Registers a data source type.
    pub fn data_source(mut self, data_source: impl DataSource<P::Data>) -> Self {
        let name = data_source.type_name();
        let entry = Registered::new(
            data_source.schema(),
            Box::new(data_source) as Box<dyn DataSource<P::Data>>,
        );
        self.data_sources.insert(name, entry);
        self
    }

    fn provider_data(&self) -> ProviderData<P::Data> {
        match self.data.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_provider_data(&self, data: ProviderData<P::Data>) {
        match self.data.write() {
            Ok(mut guard) => *guard = data,
            Err(poisoned) => *poisoned.into_inner() = data,
        }
    }

    fn deferred(&self) -> Vec<String> {
        match self.deferred.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_deferred(&self, attrs: Vec<String>) {
        match self.deferred.write() {
            Ok(mut guard) => *guard = attrs,
            Err(poisoned) => *poisoned.into_inner() = attrs,
        }
    }

    /// Sets what deferred provider attributes make to unknown (where the schema has it).
    fn defer_computed(&self, schema: &Schema, planned: &mut Value) {
        for attr in self.deferred() {
            for computed in self.provider.deferrable(&attr).unwrap_or_default() {
                if schema.block.attributes.iter().any(|a| a.name == *computed) {
                    planned.set_attr(computed, Value::Unknown);
                }
            }
        }
    }

    fn resource_entry(
        &self,
        type_name: &str,
    ) -> Result<&Registered<dyn Resource<P::Data>>, Diagnostic> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn data_source_entry(
        &self,
        type_name: &str,
    ) -> Result<&Registered<dyn DataSource<P::Data>>, Diagnostic> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| unknown_type("data source", type_name))
    }
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type named {type_name:?}."),
    )
}

fn decode(value: &DynamicValue, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    value.decode(ty).map_err(|e| {
        Diagnostic::error(
            "Invalid value from Terraform",
            format!(
                "Could not decode the {what}: {e}. This is a bug in Terraform or in the provider."
            ),
        )
    })
}

/// Encodes a value the resource produced; `fully_known` where the protocol
/// forbids unknowns (state after apply, read, upgrade).
fn encode(
    value: &Value,
    ty: &Type,
    what: &str,
    fully_known: bool,
) -> Result<DynamicValue, Diagnostic> {
    let bug = |detail: String| {
        Diagnostic::error(
            "Provider produced an invalid value",
            format!("The {what} is invalid: {detail}. This is a bug in the provider."),
        )
    };
    if fully_known {
        if let Some(path) = value.first_unknown() {
            return Err(bug(format!("`{path}` is unknown")));
        }
    }
    DynamicValue::encode(value, ty).map_err(|e| bug(e.to_string()))
}

/// Collects the outcome of a step that may fail before producing a value.
macro_rules! try_diag {
    ($expr:expr, $resp:expr) => {
        match $expr {
            Ok(v) => v,
            Err(d) => {
                $resp.diagnostics.push(d);
                return $resp;
            }
        }
    };
}

#[async_trait]
impl<P: Provider> ProviderServer for Framework<P> {
    async fn get_provider_schema(&self) -> GetProviderSchemaResponse {
        GetProviderSchemaResponse {
            provider: self.provider_schema.clone(),
            provider_meta: Schema::new(),
            resources: self
                .resources
                .iter()
                .map(|(k, r)| ((*k).to_owned(), r.schema.clone()))
                .collect(),
            data_sources: self
                .data_sources
                .iter()
                .map(|(k, d)| ((*k).to_owned(), d.schema.clone()))
                .collect(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn validate_provider_config(&self, config: DynamicValue) -> Diagnostics {
        match decode(
            &config,
            &self.provider_schema.value_type(),
            "provider configuration",
        ) {
            Ok(config) => self.provider.validate(&config).await,
            Err(d) => d.into(),
        }
    }

    async fn validate_resource_config(&self, type_name: &str, config: DynamicValue) -> Diagnostics {
        let entry = match self.resource_entry(type_name) {
            Ok(e) => e,
            Err(d) => return d.into(),
        };
        match entry.decode(&config, "resource configuration") {
            Ok(config) => entry.inner.validate(&config).await,
            Err(d) => d.into(),
        }
    }

    async fn validate_data_resource_config(
        &self,
        type_name: &str,
        config: DynamicValue,
    ) -> Diagnostics {
        let entry = match self.data_source_entry(type_name) {
            Ok(e) => e,
            Err(d) => return d.into(),
        };
        match entry.decode(&config, "data source configuration") {
            Ok(config) => entry.inner.validate(&config).await,
            Err(d) => d.into(),
        }
    }

    async fn upgrade_resource_state(
        &self,
        req: UpgradeResourceStateRequest,
    ) -> UpgradeResourceStateResponse {
        let mut resp = UpgradeResourceStateResponse::default();
        let entry = try_diag!(self.resource_entry(&req.type_name), resp);
        let current = entry.schema.version;
        if req.raw_json.is_empty() {
            let detail = if req.raw_flatmap.is_empty() {
                "The stored state is empty."
            } else {
                "The stored state is in the legacy flatmap format, which this provider never wrote."
            };
            resp.diagnostics.error("Unsupported stored state", detail);
            return resp;
        }
        if req.version > current {
            resp.diagnostics.error(
                "State written by a newer provider",
                format!(
                    "The state of this {} has schema version {}, newer than this provider's {current}. \
                     Upgrade the provider.",
                    req.type_name, req.version
                ),
            );
            return resp;
        }
        let mut stored: serde_json::Value = try_diag!(
            serde_json::from_slice(&req.raw_json).map_err(|e| {
                Diagnostic::error(
                    "Invalid stored state",
                    format!("The stored state is not JSON: {e}."),
                )
            }),
            resp
        );
        for version in req.version..current {
            stored = try_diag!(entry.inner.upgrade_state(version, stored), resp);
        }
        let value = try_diag!(
            json::decode_state(&stored, &entry.ty).map_err(|e| {
                Diagnostic::error(
                    "Invalid stored state",
                    format!(
                        "The stored state of this {} does not fit its schema: {e}.",
                        req.type_name
                    ),
                )
            }),
            resp
        );
        resp.upgraded_state = Some(try_diag!(
            encode(&value, &entry.ty, "upgraded state", true),
            resp
        ));
        resp
    }

    async fn configure_provider(&self, req: ConfigureProviderRequest) -> Diagnostics {
        let config = match decode(
            &req.config,
            &self.provider_schema.value_type(),
            "provider configuration",
        ) {
            Ok(c) => c,
            Err(d) => return d.into(),
        };
        let deferrable = |attr: &str| self.provider.deferrable(attr).is_some();
        if let Some(path) = blocking_unknown(&config, deferrable) {
            self.set_provider_data(ProviderData::Unknown(path));
            return Diagnostics::new();
        }
        self.set_deferred(unknown_attributes(&config));
        let request = ConfigureRequest {
            terraform_version: req.terraform_version,
            config,
        };
        match self.provider.configure(request).await {
            Ok(data) => {
                self.set_provider_data(ProviderData::Ready(data.into()));
                Diagnostics::new()
            }
            Err(diags) => diags,
        }
    }

    async fn read_resource(&self, req: ReadResourceRequest) -> ReadResourceResponse {
        let mut resp = ReadResourceResponse::default();
        let entry = try_diag!(self.resource_entry(&req.type_name), resp);
        let state = try_diag!(entry.decode(&req.current_state, "current state"), resp);
        let read = entry
            .inner
            .read(
                &self.provider_data(),
                ReadRequest {
                    state,
                    private: req.private,
                },
            )
            .await;
        resp.diagnostics = read.diagnostics;
        resp.private = read.private;
        resp.new_state = Some(try_diag!(
            encode(&read.new_state, &entry.ty, "refreshed state", true),
            resp
        ));
        resp
    }

    async fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> PlanResourceChangeResponse {
        let mut resp = PlanResourceChangeResponse::default();
        let entry = try_diag!(self.resource_entry(&req.type_name), resp);
        let request = PlanRequest {
            prior_state: try_diag!(entry.decode(&req.prior_state, "prior state"), resp),
            proposed_new_state: try_diag!(
                entry.decode(&req.proposed_new_state, "proposed new state"),
                resp
            ),
            config: try_diag!(entry.decode(&req.config, "configuration"), resp),
            prior_private: req.prior_private,
        };
        let mut planned = plan::prefill(&entry.schema.block, &request);
        entry
            .inner
            .plan(&self.provider_data(), &request, &mut planned)
            .await;
        if !request.proposed_new_state.is_null() {
            self.defer_computed(&entry.schema, &mut planned.planned_state);
        }
        resp.diagnostics = planned.diagnostics;
        resp.requires_replace = planned.requires_replace;
        resp.planned_private = planned.planned_private;
        resp.planned_state = Some(try_diag!(
            encode(&planned.planned_state, &entry.ty, "planned state", false),
            resp
        ));
        resp
    }

    async fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> ApplyResourceChangeResponse {
        let mut resp = ApplyResourceChangeResponse::default();
        let entry = try_diag!(self.resource_entry(&req.type_name), resp);
        let request = ApplyRequest {
            prior_state: try_diag!(entry.decode(&req.prior_state, "prior state"), resp),
            planned_state: try_diag!(entry.decode(&req.planned_state, "planned state"), resp),
            config: try_diag!(entry.decode(&req.config, "configuration"), resp),
            planned_private: req.planned_private,
        };
        let ctx = self.provider_data();
        let deferred = self.deferred();
        if !request.planned_state.is_null() && !deferred.is_empty() {
            resp.diagnostics.error(
                "Provider configuration is not known yet",
                format!(
                    "The provider block's `{}` depends on values known only after apply. Create \
                     what it depends on first (`terraform apply -target=…`).",
                    deferred.join("`, `")
                ),
            );
            resp.new_state = Some(try_diag!(
                encode(&request.prior_state, &entry.ty, "prior state", false),
                resp
            ));
            return resp;
        }
        let applied = if request.planned_state.is_null() {
            entry.inner.delete(&ctx, request).await
        } else if request.prior_state.is_null() {
            entry.inner.create(&ctx, request).await
        } else {
            entry.inner.update(&ctx, request).await
        };
        resp.diagnostics = applied.diagnostics;
        resp.private = applied.private;
        resp.new_state = Some(try_diag!(
            encode(&applied.new_state, &entry.ty, "new state", true),
            resp
        ));
        resp
    }

    async fn import_resource_state(
        &self,
        req: ImportResourceStateRequest,
    ) -> ImportResourceStateResponse {
        let mut resp = ImportResourceStateResponse::default();
        let entry = try_diag!(self.resource_entry(&req.type_name), resp);
        let imported = entry.inner.import(&self.provider_data(), &req.id).await;
        resp.diagnostics = imported.diagnostics;
        if resp.diagnostics.has_error() {
            return resp;
        }
        let state = try_diag!(
            encode(&imported.state, &entry.ty, "imported state", true),
            resp
        );
        resp.imported.push(ImportedResource {
            type_name: req.type_name,
            state,
            private: imported.private,
        });
        resp
    }

    async fn read_data_source(&self, req: ReadDataSourceRequest) -> ReadDataSourceResponse {
        let mut resp = ReadDataSourceResponse::default();
        let entry = try_diag!(self.data_source_entry(&req.type_name), resp);
        let config = try_diag!(entry.decode(&req.config, "configuration"), resp);
        let read = entry.inner.read(&self.provider_data(), &config).await;
        resp.diagnostics = read.diagnostics;
        if resp.diagnostics.has_error() {
            return resp;
        }
        resp.state = Some(try_diag!(
            encode(&read.state, &entry.ty, "data source state", true),
            resp
        ));
        resp
    }

    async fn stop_provider(&self) -> Result<(), String> {
        // Retries and waits end now; the calls they wait on return soon with "stopped".
        self.provider.stop().await;
        Ok(())
    }
}

/// The top-level attributes with an unknown part.
fn unknown_attributes(config: &Value) -> Vec<String> {
    match config {
        Value::Object(attrs) => attrs
            .iter()
            .filter(|(_, v)| !v.is_fully_known())
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// The first unknown part of the provider block outside the attributes `deferrable` accepts.
fn blocking_unknown(
    config: &Value,
    deferrable: impl Fn(&str) -> bool,
) -> Option<crate::protocol::AttributePath> {
    if !config.is_known() {
        return Some(crate::protocol::AttributePath::empty());
    }
    let Value::Object(attrs) = config else {
        return config.first_unknown();
    };
    attrs
        .iter()
        .filter(|(name, _)| !deferrable(name))
        .find_map(|(name, value)| {
            value
                .first_unknown()
                .map(|_| crate::protocol::AttributePath::root(name))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::framework::{ApplyResponse, ReadResponse};
    use crate::protocol::{Attribute, AttributePath};
    use std::sync::{Arc, Mutex};

    /// Context: the region the provider was configured with.
    struct Region(String);

    struct TestProvider;

    #[async_trait]
    impl Provider for TestProvider {
        type Data = Region;
        fn schema(&self) -> Schema {
            Schema::new().attribute(Attribute::string("region").optional())
        }
        async fn configure(&self, req: ConfigureRequest) -> Result<Region, Diagnostics> {
            Ok(Region(
                req.config
                    .attr("region")
                    .as_str()
                    .unwrap_or("none")
                    .to_owned(),
            ))
        }
    }

    /// Version 2 of a note: `body` was called `text` in version 1, and
    /// version 0 stored the text upper-cased under `TEXT`.
    #[derive(Default)]
    struct Note {
        calls: Arc<Mutex<Vec<&'static str>>>,
    }

    impl Note {
        fn called(&self, what: &'static str) {
            self.calls.lock().unwrap().push(what);
        }
    }

    #[async_trait]
    impl Resource<Region> for Note {
        fn type_name(&self) -> &'static str {
            "test_note"
        }
        fn schema(&self) -> Schema {
            Schema::new()
                .version(2)
                .attribute(Attribute::string("body").required())
                .attribute(Attribute::string("region").computed())
        }
        async fn create(&self, ctx: &ProviderData<Region>, req: ApplyRequest) -> ApplyResponse {
            self.called("create");
            let mut state = req.planned_state;
            match ctx.get() {
                Ok(region) => state.set_attr("region", Value::from(region.0.as_str())),
                Err(d) => return ApplyResponse::error(Value::Null, d),
            };
            ApplyResponse {
                new_state: state,
                private: b"p1".to_vec(),
                ..Default::default()
            }
        }
        async fn read(&self, _ctx: &ProviderData<Region>, req: ReadRequest) -> ReadResponse {
            self.called("read");
            ReadResponse {
                new_state: req.state,
                private: req.private,
                ..Default::default()
            }
        }
        async fn update(&self, _ctx: &ProviderData<Region>, req: ApplyRequest) -> ApplyResponse {
            self.called("update");
            // A buggy update that leaves an unknown in the new state.
            ApplyResponse {
                new_state: req.planned_state,
                ..Default::default()
            }
        }
        async fn delete(&self, _ctx: &ProviderData<Region>, _req: ApplyRequest) -> ApplyResponse {
            self.called("delete");
            ApplyResponse::default()
        }
        fn upgrade_state(
            &self,
            version: i64,
            state: serde_json::Value,
        ) -> Result<serde_json::Value, Diagnostic> {
            match version {
                0 => Ok(
                    serde_json::json!({ "text": state["TEXT"].as_str().unwrap_or_default().to_lowercase() }),
                ),
                1 => Ok(serde_json::json!({ "body": state["text"], "region": state["region"] })),
                _ => Err(Diagnostic::error("no", "")),
            }
        }
    }

    fn framework() -> Framework<TestProvider> {
        Framework::new(TestProvider).resource(Note::default())
    }

    /// A framework and the log of lifecycle calls its note resource gets.
    fn framework_with_calls() -> (Framework<TestProvider>, Arc<Mutex<Vec<&'static str>>>) {
        let note = Note::default();
        let calls = Arc::clone(&note.calls);
        (Framework::new(TestProvider).resource(note), calls)
    }

    fn note_type() -> Type {
        Note::default().schema().value_type()
    }

    fn dv(value: &Value, ty: &Type) -> DynamicValue {
        DynamicValue::encode(value, ty).unwrap()
    }

    fn note(body: &str, region: Value) -> Value {
        Value::object([("body", Value::from(body)), ("region", region)])
    }

    async fn configure(fw: &Framework<TestProvider>, region: Value) -> Diagnostics {
        let ty = TestProvider.schema().value_type();
        fw.configure_provider(ConfigureProviderRequest {
            terraform_version: "1.0.3".into(),
            config: dv(&Value::object([("region", region)]), &ty),
        })
        .await
    }

    async fn upgrade(
        fw: &Framework<TestProvider>,
        version: i64,
        json: &str,
    ) -> UpgradeResourceStateResponse {
        fw.upgrade_resource_state(UpgradeResourceStateRequest {
            type_name: "test_note".into(),
            version,
            raw_json: json.as_bytes().to_vec(),
            raw_flatmap: Default::default(),
        })
        .await
    }

    #[tokio::test]
    async fn upgrade_current_version_drops_removed_attributes() {
        let resp = upgrade(&framework(), 2, r#"{"body":"hi","region":"r","gone":1}"#).await;
        assert!(resp.diagnostics.is_empty(), "{}", resp.diagnostics);
        let state = resp.upgraded_state.unwrap().decode(&note_type()).unwrap();
        assert_eq!(state, note("hi", Value::from("r")));
    }

    #[tokio::test]
    async fn upgrade_chains_version_steps() {
        let resp = upgrade(&framework(), 0, r#"{"TEXT":"HELLO"}"#).await;
        assert!(resp.diagnostics.is_empty(), "{}", resp.diagnostics);
        let state = resp.upgraded_state.unwrap().decode(&note_type()).unwrap();
        assert_eq!(state, note("hello", Value::Null));
    }

    #[tokio::test]
    async fn upgrade_errors() {
        let fw = framework();
        let cases = [
            (3, r#"{"body":"x"}"#, "newer provider"),
            (2, "not json", "not JSON"),
            (2, r#"{"body":5}"#, "does not fit"),
            (2, "", "empty"),
        ];
        for (version, json, needle) in cases {
            let resp = upgrade(&fw, version, json).await;
            assert!(resp.upgraded_state.is_none(), "{needle}");
            assert!(
                resp.diagnostics.to_string().contains(needle),
                "{needle}: {}",
                resp.diagnostics
            );
        }
        let flatmap = fw
            .upgrade_resource_state(UpgradeResourceStateRequest {
                type_name: "test_note".into(),
                version: 0,
                raw_json: Vec::new(),
                raw_flatmap: [("body".to_owned(), "x".to_owned())].into(),
            })
            .await;
        assert!(flatmap.diagnostics.to_string().contains("flatmap"));
    }

    #[tokio::test]
    async fn apply_dispatches_and_checks_results() {
        let (fw, calls) = framework_with_calls();
        assert!(configure(&fw, Value::from("eu-west-1")).await.is_empty());
        let ty = note_type();
        let apply = |prior: Value, planned: Value| ApplyResourceChangeRequest {
            type_name: "test_note".into(),
            prior_state: dv(&prior, &ty),
            planned_state: dv(&planned, &ty),
            config: dv(&planned, &ty),
            planned_private: Vec::new(),
        };
        let created = fw
            .apply_resource_change(apply(Value::Null, note("a", Value::Unknown)))
            .await;
        assert!(created.diagnostics.is_empty(), "{}", created.diagnostics);
        assert_eq!(
            created.new_state.unwrap().decode(&ty).unwrap(),
            note("a", Value::from("eu-west-1"))
        );
        assert_eq!(created.private, b"p1");

        let updated = fw
            .apply_resource_change(apply(
                note("a", Value::from("x")),
                note("b", Value::Unknown),
            ))
            .await;
        assert!(
            updated
                .diagnostics
                .to_string()
                .contains("`region` is unknown"),
            "{}",
            updated.diagnostics
        );

        let deleted = fw
            .apply_resource_change(apply(note("a", Value::from("x")), Value::Null))
            .await;
        assert!(deleted.diagnostics.is_empty());
        assert_eq!(deleted.new_state.unwrap().decode(&ty).unwrap(), Value::Null);

        assert_eq!(*calls.lock().unwrap(), ["create", "update", "delete"]);
    }

    #[tokio::test]
    async fn unknown_provider_config_defers_configure() {
        let fw = framework();
        assert!(configure(&fw, Value::Unknown).await.is_empty());
        assert!(
            matches!(fw.provider_data(), ProviderData::Unknown(ref p) if *p == AttributePath::root("region"))
        );
        let ty = note_type();
        let created = fw
            .apply_resource_change(ApplyResourceChangeRequest {
                type_name: "test_note".into(),
                prior_state: DynamicValue::default(),
                planned_state: dv(&note("a", Value::Unknown), &ty),
                config: dv(&note("a", Value::Null), &ty),
                planned_private: Vec::new(),
            })
            .await;
        let text = created.diagnostics.to_string();
        assert!(
            text.contains("not known yet") && text.contains("`region`"),
            "{text}"
        );
        // Configured again with known values (as Terraform does at apply).
        assert!(configure(&fw, Value::from("us-east-1")).await.is_empty());
        assert!(fw.provider_data().is_known());
    }

    #[tokio::test]
    async fn plan_and_read_route_through_the_resource() {
        let fw = framework();
        let ty = note_type();
        let planned = fw
            .plan_resource_change(PlanResourceChangeRequest {
                type_name: "test_note".into(),
                prior_state: DynamicValue::default(),
                proposed_new_state: dv(&note("a", Value::Null), &ty),
                config: dv(&note("a", Value::Null), &ty),
                prior_private: Vec::new(),
            })
            .await;
        assert_eq!(
            planned.planned_state.unwrap().decode(&ty).unwrap(),
            note("a", Value::Unknown)
        );
        let read = fw
            .read_resource(ReadResourceRequest {
                type_name: "test_note".into(),
                current_state: dv(&note("a", Value::from("r")), &ty),
                private: b"x".to_vec(),
            })
            .await;
        assert_eq!(read.private, b"x");
        assert_eq!(
            read.new_state.unwrap().decode(&ty).unwrap(),
            note("a", Value::from("r"))
        );
    }

    #[tokio::test]
    async fn unknown_types_and_import_are_diagnostics() {
        let fw = framework();
        let diags = fw
            .validate_resource_config("nope", DynamicValue::default())
            .await;
        assert!(
            diags
                .to_string()
                .contains("no resource type named \"nope\""),
            "{diags}"
        );
        let diags = fw
            .validate_data_resource_config("nope", DynamicValue::default())
            .await;
        assert!(diags.has_error());
        let imported = fw
            .import_resource_state(ImportResourceStateRequest {
                type_name: "test_note".into(),
                id: "x".into(),
            })
            .await;
        assert!(imported.imported.is_empty());
        assert!(
            imported
                .diagnostics
                .to_string()
                .contains("cannot be imported")
        );
        let schema = fw.get_provider_schema().await;
        assert_eq!(schema.resources["test_note"].version, 2);
    }

    #[test]
    fn only_deferrable_attributes_may_be_unknown() {
        let config = |tags: Value, region: Value| {
            Value::object([("default_tags", tags), ("region", region)])
        };
        let deferrable = |attr: &str| attr == "default_tags";
        let known = config(Value::map([("a", "1")]), Value::from("eu-west-1"));
        assert_eq!(blocking_unknown(&known, deferrable), None);
        let tags = config(
            Value::object([("a", Value::Unknown)]),
            Value::from("eu-west-1"),
        );
        assert_eq!(blocking_unknown(&tags, deferrable), None);
        let region = config(Value::Unknown, Value::Unknown);
        assert_eq!(
            blocking_unknown(&region, deferrable),
            Some(AttributePath::root("region"))
        );
        assert_eq!(
            blocking_unknown(&Value::Unknown, deferrable),
            Some(AttributePath::empty())
        );
    }
}
