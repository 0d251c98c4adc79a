//! The AWS side of an ECS pipeline's lifecycle, in dependency order:
//!
//! - [`converge`]: spec object → task role → execution role → state machine role → task
//!   definition → state machine. Create and update are the same walk, so children left by a
//!   failed create are adopted. A task definition whose settings differ from the desired ones
//!   gets a new revision, and the revisions it supersedes are deregistered.
//! - [`observe`]: reads every child back. No child is the anchor: the pipeline is gone only when
//!   none of its own children is left.
//! - [`destroy`]: state machine → task definitions (deregistered, then deleted) → roles →
//!   spec object; missing children are fine, and children another instance owns stay.
//!
//! Every child carries the owning instance's marker (see `pipeline::ownership`).

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
use crate::pipeline::ownership::{Found, is_mine, marked, take_marker};
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

/// Brings every child to `desired`, marked as `owner`'s; stops at the first failure (what was
/// done stays done).
pub async fn converge(
    c: &EcsClients,
    desired: &DesiredEcsPipeline,
    owner: &str,
) -> Result<(), AwsError> {
    let mut d = desired.clone();
    for tags in [
        &mut d.task_role.tags,
        &mut d.execution_role.tags,
        &mut d.state_machine_role.tags,
        &mut d.task_definition.tags,
        &mut d.state_machine.tags,
    ] {
        *tags = marked(tags, owner);
    }
    let desired = &d;
    artifacts::ensure_spec(&c.s3, &desired.spec.uri, &desired.spec.json, owner).await?;
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

/// Everything AWS says about an ECS pipeline's children that are the instance's own. `None`:
/// that child does not exist (or is another instance's).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEcs {
    pub task_definition: Option<ObservedTaskDefinition>,
    /// The spec the task runs (from its entry point, else the one the state knows) and its
    /// folder.
    pub spec_uri: Option<S3Uri>,
    pub folder: Option<S3Uri>,
    pub spec: SpecObject,
    pub task_role: Option<ObservedRole>,
    pub execution_role: Option<ObservedRole>,
    pub state_machine_role: Option<ObservedRole>,
    pub state_machine: Option<ObservedStateMachine>,
    pub state_machine_tags: BTreeMap<String, String>,
    /// Every child that exists, the instance's own or not, with its marker.
    pub found: Vec<Found>,
}

impl ObservedEcs {
    /// Whether any child of `me` exists (if none, the pipeline is gone).
    pub fn any_mine(&self, me: Option<&str>) -> bool {
        self.found.iter().any(|f| is_mine(me, f.owner.as_deref()))
    }

    /// The marker the instance's children carry (an import takes it over).
    pub fn owner(&self) -> Option<String> {
        self.found.iter().find_map(|f| f.owner.clone())
    }
}

/// Reads every child of the ECS pipeline `names` that is `me`'s (`None`: an import, whose
/// children are all taken). No child is the anchor: a task definition deregistered out of band
/// is drift like any other. The spec is where the task definition says, else at `known_spec`
/// (the state's or the desired URI). Children marked by another instance are in `found` only.
pub async fn observe(
    c: &EcsClients,
    names: &EcsNames,
    arns: &EcsArns,
    known_spec: Option<&S3Uri>,
    me: Option<&str>,
) -> Result<ObservedEcs, AwsError> {
    let mut found = Vec::new();
    let mut note = |kind: &'static str, name: &str, owner: Option<String>| {
        let mine = is_mine(me, owner.as_deref());
        found.push(Found {
            kind,
            name: name.to_owned(),
            owner,
        });
        mine
    };
    let mut task_definition = None;
    if let Some(mut td) = task_definition::find_task_definition(&c.ecs, &names.family)
        .await
        .optional()?
    {
        let owner = take_marker(&mut td.tags);
        if note("ECS Task Definition", &names.family, owner) {
            task_definition = Some(td);
        }
    }
    let spec_uri = task_definition
        .as_ref()
        .and_then(|td| td.settings.spec_uri())
        .or_else(|| known_spec.cloned());
    let mut spec = SpecObject::Missing;
    if let Some(uri) = &spec_uri {
        if let Some(meta) = artifacts::find_object(&c.s3, uri).await.optional()? {
            if note("S3 Object", &uri.to_string(), artifacts::marker(&meta)) {
                spec = read_spec(&c.s3, Some(uri)).await?;
            }
        }
    }
    let mut roles = Vec::new();
    for (name, policy) in [
        (&names.task_role, TASK_POLICY_NAME),
        (&names.execution_role, EXECUTION_POLICY_NAME),
        (&names.state_machine_role, STATE_MACHINE_POLICY_NAME),
    ] {
        let role = match iam_role::observe_role(&c.iam, name, policy).await? {
            Some(mut r) => {
                let owner = take_marker(&mut r.tags);
                note("IAM Role", name, owner).then_some(r)
            }
            None => None,
        };
        roles.push(role);
    }
    let [task_role, execution_role, state_machine_role]: [Option<ObservedRole>; 3] =
        roles.try_into().unwrap_or_default();
    let (mut state_machine, mut state_machine_tags) =
        observe_state_machine(&c.sfn, &arns.state_machine).await?;
    if state_machine.is_some() {
        let owner = take_marker(&mut state_machine_tags);
        if !note("Step Functions State Machine", &arns.state_machine, owner) {
            state_machine = None;
            state_machine_tags = BTreeMap::new();
        }
    }
    Ok(ObservedEcs {
        found,
        folder: spec_uri.as_ref().and_then(folder_of_spec),
        spec_uri,
        spec,
        task_definition,
        task_role,
        execution_role,
        state_machine_role,
        state_machine,
        state_machine_tags,
    })
}

/// Whether anything of an ECS pipeline named `names.family` exists (import: which runtime).
pub async fn exists(c: &EcsClients, names: &EcsNames) -> Result<bool, AwsError> {
    Ok(task_definition::find_task_definition(&c.ecs, &names.family)
        .await
        .optional()?
        .is_some())
}

/// Deletes every child that is `me`'s, dependents first; missing children are fine. `spec` is
/// the spec object's key (the only object an ECS pipeline writes).
pub async fn destroy(
    c: &EcsClients,
    names: &EcsNames,
    arns: &EcsArns,
    spec: Option<&S3Uri>,
    me: Option<&str>,
) -> Result<(), AwsError> {
    let mine = |tags: &mut BTreeMap<String, String>| is_mine(me, take_marker(tags).as_deref());
    if let Some(sm) = state_machine::find_state_machine(&c.sfn, &arns.state_machine)
        .await
        .optional()?
    {
        let mut tags = state_machine::state_machine_tags(&c.sfn, &sm.arn).await?;
        if mine(&mut tags) {
            state_machine::delete_state_machine(&c.sfn, &arns.state_machine).await?;
        }
    }
    if let Some(mut td) = task_definition::find_task_definition(&c.ecs, &names.family)
        .await
        .optional()?
    {
        if mine(&mut td.tags) {
            task_definition::delete_family(&c.ecs, &names.family).await?;
        }
    }
    for role in [
        &names.state_machine_role,
        &names.execution_role,
        &names.task_role,
    ] {
        if let Some(r) = iam_role::find_role(&c.iam, role).await.optional()? {
            let mut tags: BTreeMap<String, String> = r
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            if mine(&mut tags) {
                iam_role::delete_role(&c.iam, role).await?;
            }
        }
    }
    if let Some(spec) = spec {
        artifacts::delete_owned(&c.s3, spec, me).await?;
    }
    Ok(())
}
