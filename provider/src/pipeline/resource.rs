//! `gluepipe_pipeline`: the [`Resource`] implementation, tying the schema, validation,
//! expansion, the AWS lifecycle and the state together.
//!
//! - **plan**: defaults, validation, then every computed attribute set to what apply will
//!   produce (ARNs, policies, the definition, artifact URIs and the binary's SHA-256 are all
//!   known at plan time when the configuration is). A refreshed state that differs from that
//!   is drift, and the plan shows it attribute by attribute.
//! - **ownership** (see `ownership`): `instance_id` is made at create and marks every child; a
//!   create refuses children that exist and are not its own, before anything is written.
//! - **create/update**: one convergent walk over the children (see `lifecycle`), then a read
//!   back. A failure midway returns the state of what exists, with the error (Terraform marks a
//!   failed create tainted); if even the read back fails (the endpoint is gone), the planned
//!   state, so that destroy finds everything the create may have made.
//! - **read**: refreshes every child; a pipeline is removed from state only when none of its
//!   own children is left.
//! - **delete**: the instance's own children, dependents first, waiting until AWS confirms;
//!   missing children are fine; objects by key.
//! - **import** by name: the stub is completed by read from AWS and the spec in S3.
//! - **runtime dispatch**: a pipeline with `runtime.kind = "ecs"` is planned, applied, read and
//!   deleted by `ecs::resource` (a task definition and task roles instead of the Glue job and
//!   its role); validation, defaults and the AWS lookups are shared. Changing the kind replaces.

use async_trait::async_trait;
use gluepipe_spec::S3Uri;
use tokio::sync::OnceCell;

use super::ecs;
use super::etl_binary::{self, EtlBinary, Platform};
use super::expand::{DesiredPipeline, ExpandInput, expand};
use super::lifecycle::{self, ArtifactUris, Clients};
use super::model::PipelineConfig;
use super::names::{Arns, AwsEnv, Names, account_of_arn, check_pipeline_name};
use super::ownership::{check_claim, new_instance_id};
use super::private;
use super::schema::{MIRRORED, schema};
use super::siblings::{Claim, Siblings};
use super::state::{refreshed, set_planned};
use super::validate::validate;
use super::values::{apply_defaults, decode};
use crate::aws::{AwsError, OptionalExt};
use crate::framework::{
    ApplyRequest, ApplyResponse, AttributePath, Diagnostic, Diagnostics, ImportResponse,
    PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, Schema, Value,
};
use crate::protocol::PathStep;
use crate::provider::{AwsContext, Ctx};

/// The `gluepipe_pipeline` resource type.
#[derive(Default)]
pub struct PipelineResource {
    /// The caller's account (STS), looked up once per provider process, for ARNs at plan time.
    account: OnceCell<String>,
    /// Every pipeline this process planned: one configuration's (see `siblings`).
    siblings: Siblings,
}

impl PipelineResource {
    pub fn new() -> Self {
        Self::default()
    }

    /// The account: from an ARN already in state, else from STS (cached).
    pub(super) async fn account(
        &self,
        aws: &AwsContext,
        state: &Value,
    ) -> Result<String, AwsError> {
        if let Some(account) = account_in_state(state) {
            return Ok(account);
        }
        self.account
            .get_or_try_init(|| async {
                let out = aws.sts().get_caller_identity().send().await.map_err(|e| {
                    AwsError::from_sdk(
                        "reading the caller's account (sts:GetCallerIdentity)",
                        &[],
                        e,
                    )
                })?;
                out.account.ok_or_else(|| {
                    AwsError::local("reading the caller's account", "STS returned no account")
                })
            })
            .await
            .cloned()
    }

    pub(super) async fn env(&self, aws: &AwsContext, state: &Value) -> Result<AwsEnv, AwsError> {
        Ok(AwsEnv::new(aws.region(), self.account(aws, state).await?))
    }
}

pub(super) fn account_in_state(state: &Value) -> Option<String> {
    [
        "glue_job_role_arn",
        "state_machine_arn",
        "state_machine_role_arn",
    ]
    .iter()
    .find_map(|attr| {
        state
            .attr(attr)
            .as_str()
            .and_then(account_of_arn)
            .map(str::to_owned)
    })
}

/// The ETL binary a Python-shell pipeline uploads (see [`etl_binary`]), or an error at
/// `runtime.etl_binary`.
async fn find_binary(config: &PipelineConfig) -> Result<EtlBinary, Diagnostic> {
    etl_binary::resolve(
        &config.runtime.etl_binary,
        etl_binary::provider_dir().as_deref(),
        Platform::LinuxAmd64,
    )
    .await
    .map_err(|e| {
        Diagnostic::error(e.summary, e.detail).at(AttributePath::root("runtime").attr("etl_binary"))
    })
}

/// For a catalog-table source, the table's S3 location. `Ok(None)` if the table does not exist
/// (yet); an error if it exists but does not live in S3.
async fn source_table_location(
    aws: &AwsContext,
    config: &PipelineConfig,
) -> Result<Option<S3Uri>, Diagnostic> {
    let (Some(db), Some(table)) = (
        &config.spec.source.catalog_database,
        &config.spec.source.catalog_table,
    ) else {
        return Ok(None);
    };
    let at = AttributePath::root("source").attr("catalog_table");
    let out = aws
        .glue()
        .get_table()
        .database_name(db)
        .name(table)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                format!("reading Glue Table ({db}.{table})"),
                &["EntityNotFoundException"],
                e,
            )
        })
        .optional()
        .map_err(|e| {
            Diagnostic::error("Cannot read the source table", e.to_string()).at(at.clone())
        })?;
    let Some(location) = out
        .and_then(|o| o.table)
        .and_then(|t| t.storage_descriptor)
        .and_then(|s| s.location)
    else {
        return Ok(None);
    };
    // The ETL reads the table's location with the same parser (s3a:// and s3n:// included).
    S3Uri::parse(&location).map(Some).map_err(|e| {
        Diagnostic::error(
            "Source table is not in S3",
            format!("{db}.{table} lives at {location}: {}", e.reason),
        )
        .at(at)
    })
}

/// Builds the desired state for `config` (hashing the binary and resolving the source table).
/// `require_source` makes a missing catalog table an error (at apply) instead of an unknown
/// policy (at plan).
async fn build(
    resource: &PipelineResource,
    aws: &AwsContext,
    config: &PipelineConfig,
    state: &Value,
    require_source: bool,
) -> Result<DesiredPipeline, Diagnostics> {
    let binary = find_binary(config).await?;
    let (env, location) = resolve(resource, aws, config, state, require_source).await?;
    let tags_all = aws.tags_all(&config.tags);
    Ok(expand(&ExpandInput {
        config,
        env: &env,
        etl_binary: &binary,
        tags_all: &tags_all,
        source_table_location: location.as_ref(),
    }))
}

/// What every runtime's expansion needs from AWS: where the resources live, and a catalog
/// source's S3 location (see [`build`] for `require_source`).
pub(super) async fn resolve(
    resource: &PipelineResource,
    aws: &AwsContext,
    config: &PipelineConfig,
    state: &Value,
    require_source: bool,
) -> Result<(AwsEnv, Option<S3Uri>), Diagnostics> {
    let env = resource
        .env(aws, state)
        .await
        .map_err(|e| Diagnostics::from(aws_error("Cannot reach AWS", &e)))?;
    let location = source_table_location(aws, config).await?;
    if let Some(location) = &location {
        let diags = super::validate::check_table_location(&config.spec, location);
        if diags.has_error() {
            return Err(diags);
        }
    }
    if require_source && location.is_none() && config.spec.source.catalog_table.is_some() {
        let s = &config.spec.source;
        return Err(Diagnostic::error(
            "Source table not found",
            format!(
                "The Glue table {}.{} does not exist (or has no location), so the pipeline's role \
                 cannot be given access to its data.",
                s.catalog_database.as_deref().unwrap_or_default(),
                s.catalog_table.as_deref().unwrap_or_default()
            ),
        )
        .at(AttributePath::root("source").attr("catalog_table"))
        .into());
    }
    Ok((env, location))
}

pub(super) fn aws_error(summary: &str, err: &AwsError) -> Diagnostic {
    Diagnostic::error(summary, err.to_string())
}

fn names_and_arns(aws: &AwsContext, name: &str, account: &str) -> (Names, Arns) {
    let names = Names::new(name);
    let arns = Arns::new(&AwsEnv::new(aws.region(), account), &names);
    (names, arns)
}

#[async_trait]
impl Resource<AwsContext> for PipelineResource {
    fn type_name(&self) -> &'static str {
        "gluepipe_pipeline"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostic> {
        match version {
            // 1 → 2: a pipeline made before the ownership marker gets its lineage id; its
            // unmarked children are its own (an update marks them, no create adopts them).
            1 => {
                if let Some(obj) = state.as_object_mut() {
                    obj.entry("instance_id")
                        .or_insert_with(|| serde_json::Value::from(new_instance_id()));
                }
                Ok(state)
            }
            _ => Err(Diagnostic::error(
                "Unsupported state version",
                format!(
                    "The state of this gluepipe_pipeline was written with schema version {version}, \
                     which this provider version cannot upgrade. Remove it from state and import it."
                ),
            )),
        }
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let decoded = decode(config);
        let mut diags = decoded.diags.clone();
        diags.extend(validate(&decoded.config, &decoded.unknown));
        diags.extend(ecs::validate::check_kind_attributes(config));
        diags
    }

    async fn plan(&self, ctx: &Ctx, req: &PlanRequest, plan: &mut PlanResponse) {
        if req.is_destroy() {
            return;
        }
        let planned = &mut plan.planned_state;
        if req.prior_state.attr("instance_id").as_str().is_none() {
            planned.set_attr("instance_id", Value::Unknown); // made at create
        }
        apply_defaults(planned, &req.config);
        ecs::schema::apply_kind_defaults(planned, &req.config);
        let decoded = decode(planned);
        plan.diagnostics.extend(decoded.diags.clone());
        plan.diagnostics
            .extend(validate(&decoded.config, &decoded.unknown));
        plan.diagnostics
            .extend(ecs::validate::check_kind_attributes(&req.config));
        if plan.diagnostics.has_error() {
            return;
        }
        if let Some(claim) = sibling_claim(req, &decoded.config, &decoded.unknown) {
            if let Some(collision) = self.siblings.claim(claim) {
                return plan.diagnostics.push(collision.diagnostic());
            }
        }
        // Runtime dispatch: another kind is another set of children, so a change replaces.
        let kind = ecs::schema::kind_of(planned).to_owned();
        if !req.prior_state.is_null() && ecs::schema::kind_of(&req.prior_state) != kind {
            plan.requires_replace
                .push(AttributePath::root("runtime").attr("kind"));
        }
        if kind == ecs::KIND {
            return ecs::resource::plan(self, ctx, req, &decoded, plan).await;
        }
        let planned = &mut plan.planned_state;
        ecs::state::clear_ecs_attributes(planned);
        let name = decoded.config.name().to_owned();
        if !req.config.attr("name").is_known() {
            return;
        }
        planned.set_attr("id", Value::from(name.as_str()));
        planned.set_attr("glue_job_name", Value::from(name.as_str()));
        let Ok(aws) = ctx.get() else {
            return; // provider configured from unknown values: leave computed values unknown
        };
        let kind_unknown = decoded
            .unknown
            .iter()
            .any(|p| *p == AttributePath::root("runtime").attr("kind"));
        if kind_unknown {
            // Another kind is another set of children: only the name-derived ARNs are certain.
            for attr in [
                "glue_job_role_arn",
                "state_machine_arn",
                "state_machine_role_arn",
            ] {
                let prior = req.prior_state.attr(attr);
                planned.set_attr(
                    attr,
                    if prior.is_null() {
                        Value::Unknown
                    } else {
                        prior.clone()
                    },
                );
            }
            return;
        }
        if !decoded
            .unknown
            .iter()
            .any(|p| attr_step(p, 0) == Some("tags"))
        {
            let tags_all = aws.tags_all(&decoded.config.tags);
            let mut diags = Diagnostics::new();
            super::validate::check_tags(
                &mut |path, summary: &str, detail| {
                    diags.push(Diagnostic::error(summary, detail).at(path))
                },
                "tags_all",
                tags_all.iter(),
            );
            if diags.has_error() {
                plan.diagnostics.extend(diags);
                return;
            }
        }
        // Values that do not depend on an unknown input are planned as apply will make them;
        // the placeholders decode gave the unknown ones only reach attributes marked unknown.
        let unknown = known_after_apply(&decoded.unknown);
        let binary = if unknown.binary {
            EtlBinary::placeholder()
        } else {
            match find_binary(&decoded.config).await {
                Ok(b) => b,
                Err(d) => return plan.diagnostics.push(d),
            }
        };
        let built = if unknown.source_lookup {
            self.env(aws, &req.prior_state)
                .await
                .map(|env| (env, None))
                .map_err(|e| Diagnostics::from(aws_error("Cannot reach AWS", &e)))
        } else {
            resolve(self, aws, &decoded.config, &req.prior_state, false).await
        };
        let (env, location) = match built {
            Ok(r) => r,
            Err(diags) => return plan.diagnostics.extend(diags),
        };
        let planned = &mut plan.planned_state;
        let tags_all = aws.tags_all(&decoded.config.tags);
        let desired = expand(&ExpandInput {
            config: &decoded.config,
            env: &env,
            etl_binary: &binary,
            tags_all: &tags_all,
            source_table_location: location.as_ref(),
        });
        set_planned(planned, &desired);
        if !desired.source_resolved {
            // The source table appears during this apply; its location is read then.
            planned.set_attr("glue_job_role_policy", Value::Unknown);
            if decoded.config.runtime.scale_out.is_sharded() {
                // A scaled-out machine lists that location, and its role may.
                planned.set_attr("state_machine_definition", Value::Unknown);
                planned.set_attr("state_machine_role_policy", Value::Unknown);
            }
        }
        if req.prior_state.is_null() {
            // Hashed again at apply: a binary rebuilt after this plan is the one uploaded, and
            // Terraform never sees a planned hash change.
            for attr in BINARY_ATTRIBUTES {
                planned.set_attr(attr, Value::Unknown);
            }
        } else if !unknown.binary {
            if let Some(d) = binary_changed_since_refresh(&req.prior_private, &binary) {
                return plan.diagnostics.push(d);
            }
        }
        for attr in unknown.attributes {
            planned.set_attr(attr, Value::Unknown);
        }
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        self.apply(ctx, req).await
    }

    async fn update(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        self.apply(ctx, req).await
    }

    async fn read(&self, ctx: &Ctx, req: ReadRequest) -> ReadResponse {
        let keep = |diags: Diagnostics| ReadResponse {
            new_state: req.state.clone(),
            private: req.private.clone(),
            diagnostics: diags,
        };
        let aws = match ctx.get() {
            Ok(aws) => aws,
            Err(d) => return keep(d.into()),
        };
        let Some(name) = req.state.attr("name").as_str().map(str::to_owned) else {
            return keep(
                Diagnostic::error(
                    "State has no name",
                    "The pipeline state lacks its name; import it again.",
                )
                .into(),
            );
        };
        // Runtime dispatch; an import (no runtime in state yet) finds whichever exists.
        let observed = if ecs::schema::kind_of(&req.state) == ecs::KIND {
            ecs::resource::observe(self, aws, &name, &req.state).await
        } else {
            match self.observe(aws, &name, &req.state).await {
                Ok(None) if req.state.attr("runtime").is_null() => {
                    ecs::resource::observe(self, aws, &name, &req.state).await
                }
                other => other,
            }
        };
        match observed {
            Ok(None) => ReadResponse::default(), // the anchor is gone: the pipeline is gone
            Ok(Some((state, diags))) => {
                let private = if ecs::schema::kind_of(&state) == ecs::KIND {
                    req.private
                } else {
                    // What a saved plan's apply compares the binary with (see `private`).
                    let binary = find_binary(&decode(&state).config).await.ok();
                    private::with_refreshed_binary(
                        &req.private,
                        binary.as_ref().map(|b| b.sha256.as_str()),
                    )
                };
                ReadResponse {
                    new_state: state,
                    private,
                    diagnostics: diags,
                }
            }
            Err(e) => keep(aws_error("Cannot read the pipeline", &e).into()),
        }
    }

    async fn delete(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let prior = req.prior_state;
        let aws = match ctx.get() {
            Ok(aws) => aws,
            Err(d) => return ApplyResponse::error(prior, d),
        };
        let Some(name) = prior.attr("name").as_str().map(str::to_owned) else {
            return ApplyResponse::default();
        };
        if ecs::schema::kind_of(&prior) == ecs::KIND {
            return ecs::resource::delete(self, aws, &name, prior).await;
        }
        let account = match self.account(aws, &prior).await {
            Ok(a) => a,
            Err(e) => {
                return ApplyResponse::error(prior, aws_error("Cannot delete the pipeline", &e));
            }
        };
        let (names, arns) = names_and_arns(aws, &name, &account);
        let known = prior_artifacts(&prior, &name);
        let me = instance_of(&prior);
        match lifecycle::destroy(&Clients::new(aws), &names, &arns, &known, me.as_deref()).await {
            Ok(left) => ApplyResponse {
                diagnostics: lifecycle::left_warning(&left).into_iter().collect(),
                ..ApplyResponse::default()
            },
            Err(e) => ApplyResponse::error(prior, aws_error("Cannot delete the pipeline", &e)),
        }
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> ImportResponse {
        if let Err(e) = check_pipeline_name(id) {
            return ImportResponse {
                diagnostics: Diagnostic::error(
                    "Invalid import ID",
                    format!("Import a pipeline by its name: {e}"),
                )
                .into(),
                ..ImportResponse::default()
            };
        }
        // Read completes the stub from AWS and the spec in S3.
        ImportResponse {
            state: Value::object([("id", Value::from(id)), ("name", Value::from(id))]),
            ..ImportResponse::default()
        }
    }
}

impl PipelineResource {
    /// Reads every child; `None` if the pipeline's job is gone.
    async fn observe(
        &self,
        aws: &AwsContext,
        name: &str,
        prior: &Value,
    ) -> Result<Option<(Value, Diagnostics)>, AwsError> {
        let clients = Clients::new(aws);
        // The job's role ARN names the account, so a plain read needs no STS call.
        let account = match account_in_state(prior) {
            Some(a) => a,
            None => match crate::aws::glue_job::find_job(&clients.glue, name)
                .await
                .optional()?
            {
                None => return Ok(None),
                Some(job) => match job.role().and_then(account_of_arn) {
                    Some(a) => a.to_owned(),
                    None => self.account(aws, prior).await?,
                },
            },
        };
        let (names, arns) = names_and_arns(aws, name, &account);
        let me = instance_of(prior);
        let observed = lifecycle::observe(
            &clients,
            &names,
            &arns,
            &prior_artifacts(prior, name),
            me.as_deref(),
        )
        .await?;
        Ok(observed
            .any_mine(me.as_deref())
            .then(|| refreshed(prior, name, &observed, &aws.default_tags)))
    }

    /// Create and update: converge every child, then read back. On failure, the state of what
    /// exists goes back with the error, so Terraform keeps track of it.
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> ApplyResponse {
        let prior = req.prior_state.clone();
        let aws = match ctx.get() {
            Ok(aws) => aws,
            Err(d) => return ApplyResponse::error(prior, d),
        };
        if ecs::schema::kind_of(&req.planned_state) == ecs::KIND {
            return ecs::resource::apply(self, aws, req).await;
        }
        let decoded = decode(&req.planned_state);
        let config = decoded.config;
        let name = config.name().to_owned();
        let desired = match build(self, aws, &config, &req.planned_state, true).await {
            Ok(desired) => desired,
            Err(diags) => {
                return ApplyResponse {
                    new_state: prior,
                    private: Vec::new(),
                    diagnostics: diags,
                };
            }
        };
        if let Some(planned_sha) = req.planned_state.attr("etl_binary_sha256").as_str() {
            if planned_sha != desired.artifacts.etl_binary_sha256 {
                let d = Diagnostic::error(
                    "ETL binary changed since the plan",
                    format!(
                        "{} now has SHA-256 {}, the plan said {planned_sha}. Run terraform plan again.",
                        desired.artifacts.etl_binary_path, desired.artifacts.etl_binary_sha256
                    ),
                )
                .at(AttributePath::root("runtime").attr("etl_binary"));
                return ApplyResponse::error(prior, d);
            }
        }
        let clients = Clients::new(aws);
        let me = instance_of(&req.planned_state)
            .or_else(|| instance_of(&prior))
            .unwrap_or_else(new_instance_id);
        let before = prior_artifacts(&prior, &name);
        let known = ArtifactUris::of_desired(&desired).or(&before);
        // The claim: nothing is written unless every existing child is this instance's.
        match lifecycle::observe(&clients, &desired.names, &desired.arns, &known, Some(&me)).await {
            Ok(found) => {
                if let Err(d) = check_claim(&found.found, &me, prior.is_null()) {
                    return ApplyResponse::error(prior, d);
                }
            }
            Err(e) => {
                let d = converge_error(&prior, &e);
                return ApplyResponse::error(prior, d);
            }
        }
        let mut diags = Diagnostics::new();
        let converged = lifecycle::converge(&clients, &desired, &me).await;
        match &converged {
            Ok(()) => {
                if let Err(e) =
                    lifecycle::remove_replaced_artifacts(&clients, &before, &desired, &me).await
                {
                    diags.push(Diagnostic::warning(
                        "Old artifacts left in S3",
                        e.to_string(),
                    ));
                }
            }
            Err(e) => diags.push(converge_error(&prior, e)),
        }
        // Read back what exists now; the planned state is the template, so equivalent values keep
        // their planned form.
        let read = lifecycle::observe(&clients, &desired.names, &desired.arns, &known, Some(&me))
            .await
            .map(|o| {
                o.any_mine(Some(&me))
                    .then(|| refreshed(&req.planned_state, &name, &o, &aws.default_tags))
            });
        applied(
            prior,
            &req.planned_state,
            &me,
            converged.is_ok(),
            read,
            MIRRORED,
            diags,
        )
    }
}

/// The error of a failed converge: creating if there was no prior state, else updating.
/// Shared by every runtime.
pub(super) fn converge_error(prior: &Value, err: &AwsError) -> Diagnostic {
    // A child created since the claim was checked, or a role whose name differs only in case
    // (IAM compares role names case-insensitively, and GetRole found nothing).
    if let Some(code @ ("EntityAlreadyExists" | "AlreadyExistsException")) = err.code() {
        return Diagnostic::error(
            "AlreadyExists: the pipeline's name is taken",
            format!(
                "{}: {code}: {}. Another pipeline (or another resource) holds this name, or one \
                 that differs only in case (IAM role names are case-insensitive). Choose another \
                 `name`, or import the existing pipeline: `terraform import <resource address> <name>`.",
                err.context(),
                err.message()
            ),
        )
        .at(AttributePath::root("name"));
    }
    aws_error(
        if prior.is_null() {
            "Cannot create the pipeline"
        } else {
            "Cannot update the pipeline"
        },
        err,
    )
}

/// What this plan claims among its siblings, when the name and artifact folder are known.
fn sibling_claim(
    req: &PlanRequest,
    config: &PipelineConfig,
    unknown: &[AttributePath],
) -> Option<Claim> {
    let runtime = AttributePath::root("runtime");
    let deciding = [
        AttributePath::root("name"),
        runtime.clone().attr("artifact_bucket"),
        runtime.attr("artifact_prefix"),
    ];
    if unknown.iter().any(|p| deciding.contains(p)) {
        return None;
    }
    Some(Claim {
        name: config.name().to_owned(),
        folder: super::expand::artifact_folder(config),
        instance: instance_of(&req.prior_state),
    })
}

/// The instance id a state (or plan) holds.
pub(super) fn instance_of(state: &Value) -> Option<String> {
    state.attr("instance_id").as_str().map(str::to_owned)
}

/// How every runtime's apply ends, from what was read back after converging (`read`: the
/// refreshed state and its warnings; `None` if none of instance `me`'s children exists).
/// The refreshed state, checked against the planned `mirrored` attributes if converging
/// succeeded; with nothing of its own there, the prior state. If the read back failed (the
/// endpoint went away), a failed create returns the planned state with its unknowns null: it
/// may name children that do not exist, never omits one, and destroy removes what is there.
pub(super) fn applied<'a>(
    prior: Value,
    planned: &Value,
    me: &str,
    converged: bool,
    read: Result<Option<(Value, Diagnostics)>, AwsError>,
    mirrored: impl IntoIterator<Item = &'a str>,
    mut diags: Diagnostics,
) -> ApplyResponse {
    let new_state = match read {
        Ok(Some((state, read_diags))) => {
            diags.extend(read_diags);
            if converged {
                diags.extend(unmatched_plan(planned, &state, mirrored));
            }
            state
        }
        Ok(None) => prior,
        Err(e) => {
            diags.push(aws_error("Cannot read the pipeline back", &e));
            if prior.is_null() {
                crate::pipeline::state::replace_unknown(planned.clone())
            } else {
                prior
            }
        }
    };
    let mut new_state = new_state;
    if !new_state.is_null() {
        new_state.set_attr("instance_id", Value::from(me));
    }
    ApplyResponse {
        new_state,
        private: Vec::new(),
        diagnostics: diags,
    }
}

/// The artifact folder a state names (none for a state without a bucket, e.g. on create).
/// Shared by every runtime.
pub(super) fn folder_in_state(state: &Value, name: &str) -> Option<S3Uri> {
    let rt = decode(state).config.runtime;
    (!rt.artifact_bucket.is_empty()).then(|| S3Uri {
        bucket: rt.artifact_bucket.clone(),
        key: format!("{}{name}/", rt.artifact_prefix),
    })
}

/// Where the prior state's artifacts were (nothing on create).
fn prior_artifacts(prior: &Value, name: &str) -> ArtifactUris {
    let uri = |attr: &str| prior.attr(attr).as_str().and_then(|u| S3Uri::parse(u).ok());
    ArtifactUris {
        folder: folder_in_state(prior, name),
        spec: uri("spec_uri"),
        launcher: uri("launcher_uri"),
        etl_binary: uri("etl_binary_uri"),
    }
}

/// A converged pipeline must read back as planned; if AWS keeps a value of its own, say which
/// (instead of Terraform's generic "inconsistent result" error).
pub(super) fn unmatched_plan<'a>(
    planned: &Value,
    state: &Value,
    attrs: impl IntoIterator<Item = &'a str>,
) -> Diagnostics {
    attrs
        .into_iter()
        .filter(|attr| {
            let p = planned.attr(attr);
            p.is_known() && p != state.attr(attr)
        })
        .map(|attr| {
            Diagnostic::error(
                "AWS did not take a planned value",
                format!(
                    "After apply, {attr} is {} but {} was planned.",
                    state.attr(attr),
                    planned.attr(attr)
                ),
            )
            .at(AttributePath::root(attr))
        })
        .collect()
}

/// The attributes that name the uploaded binary by its hash.
const BINARY_ATTRIBUTES: [&str; 3] = [
    "etl_binary_sha256",
    "etl_binary_uri",
    "glue_job_non_overridable_arguments",
];

/// What the unknown inputs of a plan leave unknown.
#[derive(Debug, Default, PartialEq)]
pub(super) struct KnownAfterApply {
    /// The computed attributes that depend on an unknown input.
    pub attributes: Vec<&'static str>,
    /// `runtime.etl_binary` is unknown: the binary cannot be found or hashed yet.
    pub binary: bool,
    /// A catalog source's names are unknown: its table cannot be looked up yet.
    pub source_lookup: bool,
}

/// Which computed attributes each unknown input can change; everything else is planned known.
/// An input not listed here is taken to change every computed attribute but the name-derived
/// ones (ARNs, names, constant versions and trust policies), which nothing but the name and the
/// provider's account and region decide.
pub(super) fn known_after_apply(unknown: &[AttributePath]) -> KnownAfterApply {
    const ARTIFACTS: [&str; 5] = [
        "spec_uri",
        "launcher_uri",
        "etl_binary_uri",
        "glue_job_non_overridable_arguments",
        "glue_job_role_policy",
    ];
    const DATA: [&str; 3] = [
        "glue_job_role_policy",
        "state_machine_definition",
        "state_machine_role_policy",
    ];
    const EVERYTHING: [&str; 11] = [
        "tags_all",
        "spec_uri",
        "launcher_uri",
        "etl_binary_uri",
        "etl_binary_sha256",
        "glue_job_default_arguments",
        "glue_job_non_overridable_arguments",
        "glue_job_role_policy",
        "state_machine_definition",
        "state_machine_role_policy",
        "state_machine_role_assume_role_policy",
    ];
    let mut out = KnownAfterApply::default();
    for path in unknown {
        let (first, second) = (attr_step(path, 0), attr_step(path, 1));
        let attrs: &[&str] = match (first, second) {
            // Not inputs of any computed value (they reach AWS as themselves).
            (Some("description" | "max_bad_records" | "mapping"), _) => &[],
            (Some("source"), Some("format" | "records_path")) => &[],
            (
                Some("runtime"),
                Some("max_capacity" | "max_retries" | "max_concurrent_runs" | "timeout_minutes"),
            ) => &["state_machine_definition"],
            (Some("tags"), _) => &["tags_all"],
            (Some("runtime"), Some("etl_binary")) => {
                out.binary = true;
                &BINARY_ATTRIBUTES
            }
            (Some("runtime"), Some("artifact_bucket" | "artifact_prefix")) => &ARTIFACTS,
            (Some("source"), Some("catalog_database" | "catalog_table"))
            | (Some("source"), None) => {
                out.source_lookup = true;
                &DATA
            }
            (Some("source" | "target" | "data_quality"), _) => &DATA,
            (Some("runtime"), Some("parallelism" | "files_per_shard")) => &DATA,
            _ => &EVERYTHING,
        };
        for attr in attrs {
            if !out.attributes.contains(attr) {
                out.attributes.push(attr);
            }
        }
    }
    out
}

/// On update, whether the binary was rebuilt after the refresh this plan is based on: then the
/// saved plan's hash is stale, and Terraform would only say "inconsistent final plan".
fn binary_changed_since_refresh(prior_private: &[u8], binary: &EtlBinary) -> Option<Diagnostic> {
    let refreshed = private::refreshed_binary_sha256(prior_private)?;
    (refreshed != binary.sha256).then(|| {
        Diagnostic::error(
            "ETL binary changed since the plan",
            format!(
                "{} was rebuilt after Terraform last read the pipeline: its SHA-256 was {refreshed} \
                 then and is {} now, so the plan no longer says what would be uploaded. Run \
                 terraform plan again (with refresh) and apply that plan.",
                binary.path, binary.sha256
            ),
        )
        .at(AttributePath::root("runtime").attr("etl_binary"))
    })
}

/// The `i`-th step of `path` if it is an attribute name.
fn attr_step(path: &AttributePath, i: usize) -> Option<&str> {
    match path.steps().get(i) {
        Some(PathStep::Attr(name)) => Some(name.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(paths: &[AttributePath]) -> KnownAfterApply {
        known_after_apply(paths)
    }

    #[test]
    fn an_unknown_tag_leaves_only_tags_all_unknown() {
        let out = unknown(&[AttributePath::root("tags").key("t")]);
        assert_eq!(out.attributes, ["tags_all"]);
        assert!(!out.binary && !out.source_lookup);
        let out = unknown(&[AttributePath::root("tags")]);
        assert_eq!(out.attributes, ["tags_all"]);
    }

    #[test]
    fn name_derived_values_never_depend_on_other_inputs() {
        let every_input = [
            AttributePath::root("description"),
            AttributePath::root("tags"),
            AttributePath::root("mapping").index(0).attr("to"),
            AttributePath::root("source").attr("path"),
            AttributePath::root("source").attr("catalog_table"),
            AttributePath::root("target").attr("path"),
            AttributePath::root("data_quality").attr("results_path"),
            AttributePath::root("runtime").attr("artifact_bucket"),
            AttributePath::root("runtime").attr("etl_binary"),
            AttributePath::root("runtime").attr("parallelism"),
            AttributePath::root("something_new"),
        ];
        let out = unknown(&every_input);
        for attr in [
            "id",
            "glue_job_name",
            "glue_job_role_arn",
            "state_machine_arn",
            "state_machine_role_arn",
            "glue_version",
            "python_version",
            "glue_job_role_assume_role_policy",
        ] {
            assert!(!out.attributes.contains(&attr), "{attr}");
        }
        assert!(out.binary && out.source_lookup);
    }

    #[test]
    fn each_input_reaches_the_attributes_made_of_it() {
        let cases: [(AttributePath, &[&str]); 5] = [
            (AttributePath::root("description"), &[]),
            (
                AttributePath::root("runtime").attr("etl_binary"),
                &BINARY_ATTRIBUTES,
            ),
            (
                AttributePath::root("target").attr("path"),
                &[
                    "glue_job_role_policy",
                    "state_machine_definition",
                    "state_machine_role_policy",
                ],
            ),
            (
                AttributePath::root("runtime").attr("artifact_prefix"),
                &[
                    "spec_uri",
                    "launcher_uri",
                    "etl_binary_uri",
                    "glue_job_non_overridable_arguments",
                    "glue_job_role_policy",
                ],
            ),
            (AttributePath::root("mapping"), &[]),
        ];
        for (path, expected) in cases {
            assert_eq!(
                unknown(std::slice::from_ref(&path)).attributes,
                expected,
                "{path}"
            );
        }
    }

    #[test]
    fn a_binary_rebuilt_after_the_refresh_is_reported_at_its_attribute() {
        let binary = EtlBinary {
            path: "bin/gluepipe-etl".into(),
            sha256: "b".repeat(64),
            explicit: true,
        };
        assert!(
            binary_changed_since_refresh(b"", &binary).is_none(),
            "no refresh recorded"
        );
        let same = private::with_refreshed_binary(b"", Some(&"b".repeat(64)));
        assert!(binary_changed_since_refresh(&same, &binary).is_none());
        let before = private::with_refreshed_binary(b"", Some(&"a".repeat(64)));
        let d = binary_changed_since_refresh(&before, &binary).expect("a diagnostic");
        assert_eq!(d.summary, "ETL binary changed since the plan");
        assert!(d.detail.contains("terraform plan again"), "{}", d.detail);
        assert_eq!(
            d.attribute.map(|p| p.to_string()).as_deref(),
            Some("runtime.etl_binary")
        );
    }
}
