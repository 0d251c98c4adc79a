//! The pipeline's Step Functions state machine: find, create (retried while its new role
//! propagates or a namesake is still being deleted), update (then re-read until AWS serves the
//! new definition), delete (then wait until it is gone), and tags.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineOutput;
use aws_sdk_sfn::types::{StateMachineStatus, StateMachineType, Tag};

use super::error::{AwsError, OptionalExt};
use super::json_equiv::definitions_equivalent;
use super::retry::{
    Backoff, IAM_PROPAGATION_TIMEOUT, STATE_MACHINE_DELETING_TIMEOUT, is_iam_propagation,
    is_state_machine_deleting, retry_while, wait_until,
};
use super::tags::TagChanges;
use crate::pipeline::expand::StateMachineSpec;

const NOT_FOUND: &[&str] = &["StateMachineDoesNotExist", "ResourceNotFound"];
const UPDATE_TIMEOUT: Duration = Duration::from_secs(60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(300);

/// A state machine as Step Functions reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedStateMachine {
    pub arn: String,
    pub definition: String,
    pub role_arn: String,
}

/// `DescribeStateMachine`; a missing machine, or one being deleted, is [`AwsError::NotFound`].
pub async fn find_state_machine(sfn: &Client, arn: &str) -> Result<ObservedStateMachine, AwsError> {
    let context = || format!("reading Step Functions State Machine ({arn})");
    let out = sfn
        .describe_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context(), NOT_FOUND, e))?;
    if out.status() == Some(&StateMachineStatus::Deleting) {
        return Err(AwsError::NotFound { context: context() });
    }
    Ok(flatten_state_machine(&out))
}

pub fn flatten_state_machine(out: &DescribeStateMachineOutput) -> ObservedStateMachine {
    ObservedStateMachine {
        arn: out.state_machine_arn().to_owned(),
        definition: out.definition().to_owned(),
        role_arn: out.role_arn().to_owned(),
    }
}

/// True if the machine already runs `spec`'s definition with `spec`'s role.
pub fn matches(spec: &StateMachineSpec, observed: &ObservedStateMachine) -> bool {
    observed.role_arn == spec.role_arn
        && definitions_equivalent(&observed.definition, &spec.definition)
}

/// `CreateStateMachine` (STANDARD). Retried while Step Functions cannot assume the new role
/// yet, or an earlier machine of this name is still being deleted. Returns the ARN.
pub async fn create_state_machine(
    sfn: &Client,
    spec: &StateMachineSpec,
) -> Result<String, AwsError> {
    let tags: Vec<Tag> = spec
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let out = retry_while(
        is_retryable_on_create,
        Backoff::retry(IAM_PROPAGATION_TIMEOUT.max(STATE_MACHINE_DELETING_TIMEOUT)),
        || async {
            sfn.create_state_machine()
                .name(&spec.name)
                .definition(&spec.definition)
                .role_arn(&spec.role_arn)
                .r#type(StateMachineType::Standard)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from_sdk(
                        format!("creating Step Functions State Machine ({})", spec.name),
                        &[],
                        e,
                    )
                })
        },
    )
    .await?;
    Ok(out.state_machine_arn().to_owned())
}

fn is_retryable_on_create(err: &AwsError) -> bool {
    is_iam_propagation(err) || is_state_machine_deleting(err)
}

/// `UpdateStateMachine`, then re-reads until the new definition and role are served.
pub async fn update_state_machine(sfn: &Client, spec: &StateMachineSpec) -> Result<(), AwsError> {
    retry_while(
        is_iam_propagation,
        Backoff::retry(IAM_PROPAGATION_TIMEOUT),
        || async {
            sfn.update_state_machine()
                .state_machine_arn(&spec.arn)
                .definition(&spec.definition)
                .role_arn(&spec.role_arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(
                        format!("updating Step Functions State Machine ({})", spec.arn),
                        NOT_FOUND,
                        e,
                    )
                })
        },
    )
    .await?;
    wait_until(
        &format!(
            "waiting for Step Functions State Machine ({}) to serve its update",
            spec.arn
        ),
        Backoff::poll(UPDATE_TIMEOUT),
        || async { Ok(matches(spec, &find_state_machine(sfn, &spec.arn).await?).then_some(())) },
    )
    .await
}

/// `DeleteStateMachine`, then waits until it is gone. A missing machine is success.
pub async fn delete_state_machine(sfn: &Client, arn: &str) -> Result<(), AwsError> {
    sfn.delete_state_machine()
        .state_machine_arn(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::from_sdk(
                format!("deleting Step Functions State Machine ({arn})"),
                NOT_FOUND,
                e,
            )
        })
        .optional()?;
    wait_state_machine_deleted(sfn, arn).await
}

pub async fn wait_state_machine_deleted(sfn: &Client, arn: &str) -> Result<(), AwsError> {
    wait_until(
        &format!("waiting for Step Functions State Machine ({arn}) to be deleted"),
        Backoff::poll(DELETE_TIMEOUT),
        || async {
            Ok(find_state_machine(sfn, arn)
                .await
                .optional()?
                .is_none()
                .then_some(()))
        },
    )
    .await
}

pub async fn state_machine_tags(
    sfn: &Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = sfn
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                format!("reading tags of Step Functions State Machine ({arn})"),
                NOT_FOUND,
                e,
            )
        })?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect())
}

/// Applies `changes` to the machine's tags.
pub async fn update_state_machine_tags(
    sfn: &Client,
    arn: &str,
    changes: &TagChanges,
) -> Result<(), AwsError> {
    let context = || format!("tagging Step Functions State Machine ({arn})");
    if !changes.remove.is_empty() {
        sfn.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(changes.remove.clone()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    if !changes.set.is_empty() {
        let tags = changes
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        sfn.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> StateMachineSpec {
        StateMachineSpec {
            name: "orders".into(),
            arn: "arn:aws:states:us-east-1:123456789012:stateMachine:orders".into(),
            role_arn: "arn:aws:iam::123456789012:role/gluepipe/orders-sfn".into(),
            definition: r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}"#.into(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn matching_ignores_formatting_but_not_content_or_role() {
        let observed = ObservedStateMachine {
            arn: spec().arn,
            definition:
                "{\n  \"States\": {\"A\": {\"Type\": \"Succeed\"}},\n  \"StartAt\": \"A\"\n}".into(),
            role_arn: spec().role_arn,
        };
        assert!(matches(&spec(), &observed));
        let other_role = ObservedStateMachine {
            role_arn: "arn:aws:iam::123456789012:role/x".into(),
            ..observed.clone()
        };
        assert!(!matches(&spec(), &other_role));
        let other_definition = ObservedStateMachine {
            definition: observed.definition.replace("Succeed", "Fail"),
            ..observed
        };
        assert!(!matches(&spec(), &other_definition));
    }

    #[test]
    fn create_retries_propagation_and_deleting_only() {
        let err = |code: &str, message: &str| AwsError::Failed {
            context: String::new(),
            code: Some(code.into()),
            message: message.into(),
        };
        assert!(is_retryable_on_create(&err("StateMachineDeleting", "")));
        assert!(is_retryable_on_create(&err(
            "AccessDeniedException",
            "is not authorized to assume the provided role"
        )));
        assert!(!is_retryable_on_create(&err("InvalidDefinition", "")));
        assert!(!is_retryable_on_create(&err(
            "StateMachineAlreadyExists",
            ""
        )));
    }
}
