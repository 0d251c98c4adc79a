//! The AWS side of an ECS pipeline's lifecycle, in dependency order:
//!
//! - [`converge`]: spec object → task role → execution role → state machine role → task
//!   definition → state machine. Create and update are the same walk, so children left by a
//!   failed create are adopted. A task definition whose settings differ from the desired ones
//!   gets a new revision, and the revisions it supersedes are deregistered.
//! - [`observe`]: reads every child back. The task definition family is the anchor: without an
//!   ACTIVE revision the pipeline is gone.
//! - [`destroy`]: state machine → task definitions (deregistered, then deleted) → roles →
//!   artifact folder; missing children are fine.

use std::collections::BTreeMap;

use gluepipe_spec::S3Uri;

use super::expand::{DesiredEcsPipeline, EXECUTION_POLICY_NAME, EcsArns, EcsNames};
use super::expand::{STATE_MACHINE_POLICY_NAME, TASK_POLICY_NAME, TaskDefinitionSpec};
use crate::aws::ecs_task_definition::{self as task_definition, ObservedTaskDefinition};
use crate::aws::iam_role::{self, ObservedRole};
use crate::aws::state_machine::{self, ObservedStateMachine};
use crate::aws::tags::TagChanges;
use crate::aws::{AwsError, OptionalExt, artifacts};
use crate::pipeline::lifecycle::{
    SpecObject, converge_role, converge_state_machine, folder_of_spec, observe_state_machine,
    read_spec,
};
use crate::provider::AwsContext;

/// One client per service an ECS pipeline uses.
pub struct EcsClients {
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub ecs: aws_sdk_ecs::Client,
}

impl EcsClients {
    pub fn new(aws: &AwsContext) -> EcsClients {
        EcsClients {
            s3: aws.s3(),
            iam: aws.iam(),
            sfn: aws.sfn(),
            ecs: aws.ecs(),
        }
    }
}

/// Brings every child to `desired`; stops at the first failure (what was done stays done).
pub async fn converge(c: &EcsClients, desired: &DesiredEcsPipeline) -> Result<(), AwsError> {
    artifacts::ensure_spec(&c.s3, &desired.spec.uri, &desired.spec.json).await?;
    for role in [
        &desired.task_role,
        &desired.execution_role,
        &desired.state_machine_role,
    ] {
        converge_role(&c.iam, role).await?;
    }
    converge_task_definition(&c.ecs, &desired.task_definition).await?;
    converge_state_machine(&c.sfn, &desired.state_machine).await
}

/// Keeps the current revision if it already has the desired settings (re-tagging it if
/// needed), else registers a new one; then deregisters every other ACTIVE revision. Returns
/// the current revision's ARN.
pub async fn converge_task_definition(
    ecs: &aws_sdk_ecs::Client,
    spec: &TaskDefinitionSpec,
) -> Result<String, AwsError> {
    let current = task_definition::find_task_definition(ecs, &spec.family)
        .await
        .optional()?;
    let arn = match current {
        Some(current) if current.settings == spec.settings => {
            let tags = TagChanges::between(&current.tags, &spec.tags);
            if !tags.is_empty() {
                task_definition::update_tags(ecs, &current.arn, &tags).await?;
            }
            current.arn
        }
        _ => task_definition::register_task_definition(ecs, spec).await?,
    };
    task_definition::deregister_others(ecs, &spec.family, &arn).await?;
    Ok(arn)
}

/// Everything AWS says about an ECS pipeline's children. `None`: that child does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEcs {
    pub task_definition: ObservedTaskDefinition,
    /// The spec the task runs (from its entry point) and its folder.
    pub spec_uri: Option<S3Uri>,
    pub folder: Option<S3Uri>,
    pub spec: SpecObject,
    pub task_role: Option<ObservedRole>,
    pub execution_role: Option<ObservedRole>,
    pub state_machine_role: Option<ObservedRole>,
    pub state_machine: Option<ObservedStateMachine>,
    pub state_machine_tags: BTreeMap<String, String>,
}

/// Reads every child of the ECS pipeline `names`. `Ok(None)`: the task definition family has
/// no ACTIVE revision, so the pipeline is gone (the next create adopts what remains).
pub async fn observe(
    c: &EcsClients,
    names: &EcsNames,
    arns: &EcsArns,
) -> Result<Option<ObservedEcs>, AwsError> {
    let Some(task_definition) = task_definition::find_task_definition(&c.ecs, &names.family)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let spec_uri = task_definition.settings.spec_uri();
    let spec = read_spec(&c.s3, spec_uri.as_ref()).await?;
    let task_role = iam_role::observe_role(&c.iam, &names.task_role, TASK_POLICY_NAME).await?;
    let execution_role =
        iam_role::observe_role(&c.iam, &names.execution_role, EXECUTION_POLICY_NAME).await?;
    let state_machine_role =
        iam_role::observe_role(&c.iam, &names.state_machine_role, STATE_MACHINE_POLICY_NAME)
            .await?;
    let (state_machine, state_machine_tags) =
        observe_state_machine(&c.sfn, &arns.state_machine).await?;
    Ok(Some(ObservedEcs {
        folder: spec_uri.as_ref().and_then(folder_of_spec),
        spec_uri,
        spec,
        task_definition,
        task_role,
        execution_role,
        state_machine_role,
        state_machine,
        state_machine_tags,
    }))
}

/// Whether anything of an ECS pipeline named `names.family` exists (import: which runtime).
pub async fn exists(c: &EcsClients, names: &EcsNames) -> Result<bool, AwsError> {
    Ok(task_definition::find_task_definition(&c.ecs, &names.family)
        .await
        .optional()?
        .is_some())
}

/// Deletes every child, dependents first; missing children are fine. `folder` is the artifact
/// folder (deleted with everything in it).
pub async fn destroy(
    c: &EcsClients,
    names: &EcsNames,
    arns: &EcsArns,
    folder: Option<&S3Uri>,
) -> Result<(), AwsError> {
    state_machine::delete_state_machine(&c.sfn, &arns.state_machine).await?;
    task_definition::delete_family(&c.ecs, &names.family).await?;
    for role in [
        &names.state_machine_role,
        &names.execution_role,
        &names.task_role,
    ] {
        iam_role::delete_role(&c.iam, role).await?;
    }
    if let Some(folder) = folder {
        artifacts::delete_folder(&c.s3, folder).await?;
    }
    Ok(())
}
