//! The ECS runtime's side of the `gluepipe_pipeline` resource: plan, apply (create and
//! update), refresh/import and delete of an ECS pipeline. `pipeline::resource` dispatches here
//! on `runtime.kind`; validation, defaults, the account lookup and the source-table lookup are
//! shared with the Python-shell runtime.

use super::expand::{DesiredEcsPipeline, EcsArns, EcsExpandInput, EcsNames, expand};
use super::lifecycle::{self, EcsClients};
use super::schema::MIRRORED;
use super::state::{refreshed, set_planned};
use crate::aws::{AwsError, artifacts};
use crate::framework::{
    ApplyRequest, ApplyResponse, Diagnostic, Diagnostics, PlanRequest, PlanResponse, Value,
};
use crate::pipeline::model::PipelineConfig;
use crate::pipeline::names::AwsEnv;
use crate::pipeline::ownership::{Found, check_claim, new_instance_id};
use crate::pipeline::resource::{
    PipelineResource, account_in_state, applied, aws_error, converge_error, folder_in_state,
    instance_of, resolve,
};
use crate::pipeline::values::{Decoded, decode};
use crate::provider::{AwsContext, Ctx};

/// Computed attributes of every runtime that mirror AWS (the rest are in [`MIRRORED`]).
const SHARED_MIRRORED: [&str; 6] = [
    "state_machine_arn",
    "state_machine_role_arn",
    "spec_uri",
    "state_machine_role_policy",
    "state_machine_role_assume_role_policy",
    "state_machine_definition",
];

/// ARNs fixed by the name, kept from the prior state when the rest of the plan is unknown.
const NAME_DERIVED: [&str; 4] = [
    "state_machine_arn",
    "state_machine_role_arn",
    "task_role_arn",
    "execution_role_arn",
];

/// Fills in every computed attribute an ECS pipeline can know at plan time (after the shared
/// defaults and validation have run on `decoded`).
pub async fn plan(
    resource: &PipelineResource,
    ctx: &Ctx,
    req: &PlanRequest,
    decoded: &Decoded,
    plan: &mut PlanResponse,
) {
    let planned = &mut plan.planned_state;
    if !req.config.attr("name").is_known() {
        return;
    }
    planned.set_attr("id", Value::from(decoded.config.name()));
    for attr in super::schema::PYTHON_SHELL_COMPUTED {
        planned.set_attr(attr, Value::Null);
    }
    let Ok(aws) = ctx.get() else {
        return; // provider configured from unknown values: leave computed values unknown
    };
    // Unknown tags reach only `tags_all`: plan the rest (see `resource::known_after_apply`).
    let only_tags_unknown = decoded.unknown.iter().all(
        |p| matches!(p.steps().first(), Some(crate::protocol::PathStep::Attr(a)) if a == "tags"),
    );
    if !decoded.is_fully_known() && !only_tags_unknown {
        for attr in NAME_DERIVED {
            let prior = req.prior_state.attr(attr);
            let value = if prior.is_null() {
                Value::Unknown
            } else {
                prior.clone()
            };
            planned.set_attr(attr, value);
        }
        return;
    }
    match build(resource, aws, &decoded.config, &req.prior_state, false).await {
        Ok(desired) => {
            set_planned(planned, &desired, &req.prior_state);
            if !decoded.is_fully_known() {
                planned.set_attr("tags_all", Value::Unknown);
            }
            if !desired.source_resolved {
                // The source table appears during this apply; its location is read then.
                planned.set_attr("task_role_policy", Value::Unknown);
            }
        }
        Err(diags) => plan.diagnostics.extend(diags),
    }
}

async fn build(
    resource: &PipelineResource,
    aws: &AwsContext,
    config: &PipelineConfig,
    state: &Value,
    require_source: bool,
) -> Result<DesiredEcsPipeline, Diagnostics> {
    let (env, location) = resolve(resource, aws, config, state, require_source).await?;
    let tags_all = aws.tags_all(&config.tags);
    Ok(expand(&EcsExpandInput {
        config,
        env: &env,
        tags_all: &tags_all,
        source_table_location: location.as_ref(),
    }))
}

/// Create and update: converge every child, then read back. On failure, the state of what
/// exists goes back with the error, so Terraform keeps track of it.
pub async fn apply(
    resource: &PipelineResource,
    aws: &AwsContext,
    req: ApplyRequest,
) -> ApplyResponse {
    let prior = req.prior_state.clone();
    let config = decode(&req.planned_state).config;
    let name = config.name().to_owned();
    let desired = match build(resource, aws, &config, &req.planned_state, true).await {
        Ok(desired) => desired,
        Err(diagnostics) => {
            return ApplyResponse {
                new_state: prior,
                private: Vec::new(),
                diagnostics,
            };
        }
    };
    let clients = EcsClients::new(aws);
    let me = instance_of(&req.planned_state)
        .or_else(|| instance_of(&prior))
        .unwrap_or_else(new_instance_id);
    // The claim: nothing is written unless every existing child is this instance's.
    match claimed(&clients, &desired, &me).await {
        Ok(found) => {
            if let Err(d) = check_claim(&found, &me, prior.is_null()) {
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
            // The artifact location moved: the old spec goes.
            if let Some(old) = spec_in_state(&prior, &name) {
                if old != desired.spec.uri {
                    if let Err(e) = artifacts::delete_owned(&clients.s3, &old, Some(&me)).await {
                        diags.push(Diagnostic::warning(
                            "Old artifacts left in S3",
                            e.to_string(),
                        ));
                    }
                }
            }
        }
        Err(e) => diags.push(converge_error(&prior, e)),
    }
    let read = lifecycle::observe(
        &clients,
        &desired.names,
        &desired.arns,
        Some(&desired.spec.uri),
        Some(&me),
    )
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
        SHARED_MIRRORED.into_iter().chain(MIRRORED),
        diags,
    )
}

/// Reads every child of the ECS pipeline `name`; `None` if none of the instance's own children
/// is left (the pipeline is gone).
pub async fn observe(
    resource: &PipelineResource,
    aws: &AwsContext,
    name: &str,
    prior: &Value,
) -> Result<Option<(Value, Diagnostics)>, AwsError> {
    let clients = EcsClients::new(aws);
    let names = EcsNames::new(name);
    // Import: only look the account up once something of the pipeline exists.
    if account_in_state(prior).is_none() && !lifecycle::exists(&clients, &names).await? {
        return Ok(None);
    }
    let env = AwsEnv::new(aws.region(), resource.account(aws, prior).await?);
    let arns = EcsArns::new(&env, &names);
    let me = instance_of(prior);
    let observed = lifecycle::observe(
        &clients,
        &names,
        &arns,
        spec_in_state(prior, name).as_ref(),
        me.as_deref(),
    )
    .await?;
    Ok(observed
        .any_mine(me.as_deref())
        .then(|| refreshed(prior, name, &observed, &aws.default_tags)))
}

/// Deletes every child of the ECS pipeline `name`, dependents first.
pub async fn delete(
    resource: &PipelineResource,
    aws: &AwsContext,
    name: &str,
    prior: Value,
) -> ApplyResponse {
    let account = match resource.account(aws, &prior).await {
        Ok(a) => a,
        Err(e) => return ApplyResponse::error(prior, aws_error("Cannot delete the pipeline", &e)),
    };
    let names = EcsNames::new(name);
    let arns = EcsArns::new(&AwsEnv::new(aws.region(), account), &names);
    let spec = spec_in_state(&prior, name);
    let me = instance_of(&prior);
    match lifecycle::destroy(
        &EcsClients::new(aws),
        &names,
        &arns,
        spec.as_ref(),
        me.as_deref(),
    )
    .await
    {
        Ok(()) => ApplyResponse::default(),
        Err(e) => ApplyResponse::error(prior, aws_error("Cannot delete the pipeline", &e)),
    }
}

/// The spec object a state names: `spec_uri`, else `spec.json` in its artifact folder.
fn spec_in_state(state: &Value, name: &str) -> Option<gluepipe_spec::S3Uri> {
    state
        .attr("spec_uri")
        .as_str()
        .and_then(|u| gluepipe_spec::S3Uri::parse(u).ok())
        .or_else(|| {
            folder_in_state(state, name).map(|f| gluepipe_spec::S3Uri {
                key: format!("{}spec.json", f.key),
                bucket: f.bucket,
            })
        })
}

/// Every child of `desired` that exists, with its marker (what a create may not take).
async fn claimed(
    c: &EcsClients,
    desired: &DesiredEcsPipeline,
    me: &str,
) -> Result<Vec<Found>, AwsError> {
    let observed = lifecycle::observe(
        c,
        &desired.names,
        &desired.arns,
        Some(&desired.spec.uri),
        Some(me),
    )
    .await?;
    Ok(observed.found)
}
