//! A pipeline's IAM roles (the Glue job's and the state machine's): each carries one trust
//! policy and one inline policy, both owned by the pipeline.
//!
//! IAM returns policy documents percent-encoded; `flatten_*` decodes them, and drift is judged
//! with [`policies_equivalent`] so a reordered or re-encoded document is no change.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{Role, Tag};

use super::error::{AwsError, OptionalExt};
use super::json_equiv::{percent_decode, policies_equivalent};
use super::retry::{
    Backoff, DELETE_CONFLICT_TIMEOUT, IAM_PROPAGATION_TIMEOUT, is_delete_conflict,
    is_iam_propagation, retry_while, wait_until,
};
use super::tags::TagChanges;
use crate::pipeline::expand::RoleSpec;

const NOT_FOUND: &[&str] = &["NoSuchEntity", "NoSuchEntityException"];

/// A role as IAM reports it, policies decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRole {
    pub name: String,
    pub arn: String,
    pub assume_role_policy: String,
    /// The pipeline's inline policy; `None` if it was removed.
    pub policy: Option<String>,
    /// Inline policies and attached managed policies gluepipe did not put there.
    pub foreign_policies: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// `GetRole`; a missing role is [`AwsError::NotFound`].
pub async fn find_role(iam: &Client, name: &str) -> Result<Role, AwsError> {
    let context = || format!("reading IAM Role ({name})");
    let out = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context(), NOT_FOUND, e))?;
    out.role
        .ok_or_else(|| AwsError::local(context(), "GetRole returned no role"))
}

/// `GetRolePolicy`, decoded; a missing policy is [`AwsError::NotFound`].
pub async fn find_role_policy(iam: &Client, role: &str, policy: &str) -> Result<String, AwsError> {
    let out = iam
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                format!("reading IAM Role Policy ({role}:{policy})"),
                NOT_FOUND,
                e,
            )
        })?;
    Ok(percent_decode(out.policy_document()).into_owned())
}

/// Everything drift detection needs about a role; `None` if it does not exist.
pub async fn observe_role(
    iam: &Client,
    name: &str,
    policy_name: &str,
) -> Result<Option<ObservedRole>, AwsError> {
    let Some(role) = find_role(iam, name).await.optional()? else {
        return Ok(None);
    };
    let policy = find_role_policy(iam, name, policy_name).await.optional()?;
    let mut foreign_policies: Vec<String> = inline_policy_names(iam, name)
        .await?
        .into_iter()
        .filter(|p| p != policy_name)
        .collect();
    foreign_policies.extend(attached_policy_arns(iam, name).await?);
    Ok(Some(flatten_role(&role, policy, foreign_policies)))
}

pub fn flatten_role(
    role: &Role,
    policy: Option<String>,
    foreign_policies: Vec<String>,
) -> ObservedRole {
    ObservedRole {
        name: role.role_name().to_owned(),
        arn: role.arn().to_owned(),
        assume_role_policy: percent_decode(role.assume_role_policy_document().unwrap_or_default())
            .into_owned(),
        policy,
        foreign_policies,
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
    }
}

/// Creates the role with its trust policy, tags and inline policy, and waits until IAM serves
/// it. Returns its ARN.
pub async fn create_role(iam: &Client, spec: &RoleSpec) -> Result<String, AwsError> {
    let context = format!("creating IAM Role ({})", spec.name);
    let tags = iam_tags(&spec.tags).map_err(|m| AwsError::local(&context, m))?;
    let out = retry_while(
        is_iam_propagation,
        Backoff::retry(IAM_PROPAGATION_TIMEOUT),
        || async {
            iam.create_role()
                .role_name(&spec.name)
                .path(&spec.path)
                .description(&spec.description)
                .assume_role_policy_document(spec.assume_role_policy.to_json())
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(&context, &[], e))
        },
    )
    .await?;
    let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    put_role_policy(iam, spec).await?;
    wait_role_exists(iam, &spec.name).await?;
    Ok(arn)
}

/// IAM is eventually consistent: a new role may not be readable at once.
pub async fn wait_role_exists(iam: &Client, name: &str) -> Result<(), AwsError> {
    wait_until(
        &format!("waiting for IAM Role ({name})"),
        Backoff::poll(IAM_PROPAGATION_TIMEOUT),
        || async { Ok(find_role(iam, name).await.optional()?.map(|_| ())) },
    )
    .await
}

pub async fn put_role_policy(iam: &Client, spec: &RoleSpec) -> Result<(), AwsError> {
    iam.put_role_policy()
        .role_name(&spec.name)
        .policy_name(&spec.policy_name)
        .policy_document(spec.policy.to_json())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::from_sdk(
                format!(
                    "putting IAM Role Policy ({}:{})",
                    spec.name, spec.policy_name
                ),
                NOT_FOUND,
                e,
            )
        })
}

pub async fn update_assume_role_policy(iam: &Client, spec: &RoleSpec) -> Result<(), AwsError> {
    iam.update_assume_role_policy()
        .role_name(&spec.name)
        .policy_document(spec.assume_role_policy.to_json())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::from_sdk(
                format!("updating trust policy of IAM Role ({})", spec.name),
                NOT_FOUND,
                e,
            )
        })
}

/// Brings an existing role to `spec`, changing only what differs. Returns whether it changed.
pub async fn update_role(
    iam: &Client,
    spec: &RoleSpec,
    observed: &ObservedRole,
) -> Result<bool, AwsError> {
    let mut changed = false;
    if !policies_equivalent(
        &observed.assume_role_policy,
        &spec.assume_role_policy.to_json(),
    ) {
        update_assume_role_policy(iam, spec).await?;
        changed = true;
    }
    if !observed
        .policy
        .as_deref()
        .is_some_and(|p| policies_equivalent(p, &spec.policy.to_json()))
    {
        put_role_policy(iam, spec).await?;
        changed = true;
    }
    let tags = TagChanges::between(&observed.tags, &spec.tags);
    if !tags.is_empty() {
        update_role_tags(iam, &spec.name, &tags).await?;
        changed = true;
    }
    Ok(changed)
}

/// Applies `changes` to the role's tags.
pub async fn update_role_tags(
    iam: &Client,
    name: &str,
    changes: &TagChanges,
) -> Result<(), AwsError> {
    let context = format!("tagging IAM Role ({name})");
    if !changes.remove.is_empty() {
        iam.untag_role()
            .role_name(name)
            .set_tag_keys(Some(changes.remove.clone()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&context, &[], e))?;
    }
    if !changes.set.is_empty() {
        let tags = iam_tags(&changes.set).map_err(|m| AwsError::local(&context, m))?;
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(&context, &[], e))?;
    }
    Ok(())
}

/// Deletes the role and everything that would block it: inline policies, attached managed
/// policies and instance-profile memberships. A missing role is success.
pub async fn delete_role(iam: &Client, name: &str) -> Result<(), AwsError> {
    if find_role(iam, name).await.optional()?.is_none() {
        return Ok(());
    }
    let context = |what: &str| format!("{what} of IAM Role ({name})");
    for policy in inline_policy_names(iam, name).await? {
        ignore_not_found(
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(&policy)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(
                        context(&format!("deleting inline policy {policy}")),
                        NOT_FOUND,
                        e,
                    )
                }),
        )?;
    }
    for arn in attached_policy_arns(iam, name).await? {
        ignore_not_found(
            iam.detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(context(&format!("detaching {arn}")), NOT_FOUND, e)
                }),
        )?;
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context("listing instance profiles"), NOT_FOUND, e))?;
    for profile in profiles.instance_profiles() {
        ignore_not_found(
            iam.remove_role_from_instance_profile()
                .role_name(name)
                .instance_profile_name(profile.instance_profile_name())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(context("removing from instance profile"), NOT_FOUND, e)
                }),
        )?;
    }
    // IAM may still see a policy it just deleted for a moment.
    ignore_not_found(
        retry_while(
            is_delete_conflict,
            Backoff::retry(DELETE_CONFLICT_TIMEOUT),
            || async {
                iam.delete_role()
                    .role_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        AwsError::from_sdk(format!("deleting IAM Role ({name})"), NOT_FOUND, e)
                    })
            },
        )
        .await,
    )?;
    wait_until(
        &format!("waiting for IAM Role ({name}) to be deleted"),
        Backoff::poll(IAM_PROPAGATION_TIMEOUT),
        || async {
            Ok(find_role(iam, name)
                .await
                .optional()?
                .is_none()
                .then_some(()))
        },
    )
    .await
}

async fn inline_policy_names(iam: &Client, name: &str) -> Result<Vec<String>, AwsError> {
    let out = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                format!("listing inline policies of IAM Role ({name})"),
                NOT_FOUND,
                e,
            )
        })?;
    Ok(out.policy_names().to_vec())
}

async fn attached_policy_arns(iam: &Client, name: &str) -> Result<Vec<String>, AwsError> {
    let out = iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(
                format!("listing attached policies of IAM Role ({name})"),
                NOT_FOUND,
                e,
            )
        })?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect())
}

fn ignore_not_found(result: Result<(), AwsError>) -> Result<(), AwsError> {
    result.optional().map(|_| ())
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, String> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flatten_decodes_the_trust_policy_and_reads_tags() {
        let role = Role::builder()
            .path("/gluepipe/")
            .role_name("orders-glue")
            .role_id("AROA")
            .arn("arn:aws:iam::123456789012:role/gluepipe/orders-glue")
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .assume_role_policy_document(
                "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
            )
            .tags(Tag::builder().key("team").value("data").build().unwrap())
            .build()
            .unwrap();
        let observed = flatten_role(
            &role,
            Some("{}".into()),
            vec!["arn:aws:iam::aws:policy/X".into()],
        );
        assert_eq!(
            observed.assume_role_policy,
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(
            observed.tags,
            BTreeMap::from([("team".to_string(), "data".to_string())])
        );
        assert_eq!(
            observed.arn,
            "arn:aws:iam::123456789012:role/gluepipe/orders-glue"
        );
        assert_eq!(observed.foreign_policies.len(), 1);
    }

    #[test]
    fn tags_convert() {
        let tags = iam_tags(&BTreeMap::from([("a".to_string(), "1".to_string())])).unwrap();
        assert_eq!((tags[0].key(), tags[0].value()), ("a", "1"));
        assert!(iam_tags(&BTreeMap::new()).unwrap().is_empty());
    }
}
