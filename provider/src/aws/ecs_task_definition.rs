//! An ECS pipeline's task definition family. A task definition cannot be updated, only
//! registered again as a new revision, so the family is the child the pipeline owns:
//!
//! - [`find_task_definition`]: its current revision (the latest ACTIVE one), flattened to the
//!   fields gluepipe sets; a family without an ACTIVE revision is [`AwsError::NotFound`];
//! - [`register_task_definition`] a new revision, [`deregister_others`] the ones it supersedes;
//! - [`delete_family`]: deregister every ACTIVE revision, then delete all of them;
//! - tags, per revision.

use std::collections::BTreeMap;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, KeyValuePair, LogConfiguration, LogDriver,
    NetworkMode, OsFamily, RuntimePlatform as SdkRuntimePlatform, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};

use super::error::AwsError;
use super::tags::TagChanges;
use crate::pipeline::ecs::expand::{
    ContainerSettings, EnvironmentVariable, LogSettings, RuntimePlatform, TaskDefinitionSettings,
    TaskDefinitionSpec,
};

/// `DeleteTaskDefinitions` takes at most 10 revisions per call.
const DELETE_BATCH: usize = 10;

/// The current revision of a family, as ECS reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTaskDefinition {
    pub arn: String,
    pub settings: TaskDefinitionSettings,
    pub tags: BTreeMap<String, String>,
}

/// `(family, revision)` of a task definition ARN (`…:task-definition/FAMILY:REVISION`).
pub fn family_and_revision(arn: &str) -> Option<(&str, u32)> {
    let (_, rest) = arn.rsplit_once(":task-definition/")?;
    let (family, revision) = rest.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// A task definition ECS does not know (ECS reports it as a generic `ClientException`).
fn is_missing(err: &AwsError) -> bool {
    let message = err.message().to_ascii_lowercase();
    err.code() == Some("ClientException")
        && (message.contains("unable to describe task definition")
            || message.contains("does not exist"))
}

/// The ARNs of the family's revisions with `status`, oldest first. (`familyPrefix` matches
/// the family exactly; the filter below makes sure.)
pub async fn revisions(
    ecs: &Client,
    family: &str,
    status: TaskDefinitionStatus,
) -> Result<Vec<String>, AwsError> {
    let mut arns: Vec<(u32, String)> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(status.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(format!("listing ECS Task Definitions ({family})"), &[], e)
            })?;
        arns.extend(out.task_definition_arns().iter().filter_map(|arn| {
            family_and_revision(arn)
                .filter(|(f, _)| *f == family)
                .map(|(_, rev)| (rev, arn.clone()))
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    arns.sort();
    Ok(arns.into_iter().map(|(_, arn)| arn).collect())
}

/// The family's current revision; [`AwsError::NotFound`] if it has no ACTIVE revision.
pub async fn find_task_definition(
    ecs: &Client,
    family: &str,
) -> Result<ObservedTaskDefinition, AwsError> {
    let active = revisions(ecs, family, TaskDefinitionStatus::Active).await?;
    let Some(arn) = active.last() else {
        return Err(AwsError::NotFound {
            context: format!("reading ECS Task Definition ({family})"),
        });
    };
    describe(ecs, arn).await
}

/// `DescribeTaskDefinition` of one revision, with its tags.
pub async fn describe(ecs: &Client, arn: &str) -> Result<ObservedTaskDefinition, AwsError> {
    let context = || format!("reading ECS Task Definition ({arn})");
    let out = ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context(), &[], e))
        .map_err(|e| {
            if is_missing(&e) {
                AwsError::NotFound { context: context() }
            } else {
                e
            }
        })?;
    let td = out
        .task_definition()
        .ok_or_else(|| AwsError::local(context(), "no task definition in the response"))?;
    Ok(ObservedTaskDefinition {
        arn: td.task_definition_arn().unwrap_or(arn).to_owned(),
        settings: flatten_task_definition(td),
        tags: out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    })
}

/// The fields gluepipe sets, as ECS reports them.
pub fn flatten_task_definition(td: &TaskDefinition) -> TaskDefinitionSettings {
    let platform = td.runtime_platform();
    TaskDefinitionSettings {
        requires_compatibilities: td
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        network_mode: td
            .network_mode()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
        cpu: td.cpu().unwrap_or_default().to_owned(),
        memory: td.memory().unwrap_or_default().to_owned(),
        runtime_platform: RuntimePlatform {
            operating_system_family: platform
                .and_then(|p| p.operating_system_family())
                .map(|f| f.as_str().to_owned())
                .unwrap_or_default(),
            cpu_architecture: platform
                .and_then(|p| p.cpu_architecture())
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        },
        task_role_arn: td.task_role_arn().unwrap_or_default().to_owned(),
        execution_role_arn: td.execution_role_arn().unwrap_or_default().to_owned(),
        container_definitions: td
            .container_definitions()
            .iter()
            .map(flatten_container)
            .collect(),
    }
}

fn flatten_container(c: &ContainerDefinition) -> ContainerSettings {
    let mut environment: Vec<EnvironmentVariable> = c
        .environment()
        .iter()
        .map(|kv| EnvironmentVariable {
            name: kv.name().unwrap_or_default().to_owned(),
            value: kv.value().unwrap_or_default().to_owned(),
        })
        .collect();
    environment.sort();
    let log = c.log_configuration();
    ContainerSettings {
        name: c.name().unwrap_or_default().to_owned(),
        image: c.image().unwrap_or_default().to_owned(),
        // ECS's default for a task's only container.
        essential: c.essential().unwrap_or(true),
        entry_point: c.entry_point().to_vec(),
        command: c.command().to_vec(),
        environment,
        log_configuration: LogSettings {
            log_driver: log
                .map(|l| l.log_driver().as_str().to_owned())
                .unwrap_or_default(),
            options: log
                .and_then(LogConfiguration::options)
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        },
    }
}

/// Registers `spec` as the family's new revision. Returns its ARN.
pub async fn register_task_definition(
    ecs: &Client,
    spec: &TaskDefinitionSpec,
) -> Result<String, AwsError> {
    let context = format!("registering ECS Task Definition ({})", spec.family);
    let s = &spec.settings;
    let containers = s
        .container_definitions
        .iter()
        .map(container_definition)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|m| AwsError::local(&context, m))?;
    let tags: Vec<Tag> = spec
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let out = ecs
        .register_task_definition()
        .family(&spec.family)
        .set_requires_compatibilities(Some(
            s.requires_compatibilities
                .iter()
                .map(|c| Compatibility::from(c.as_str()))
                .collect(),
        ))
        .network_mode(NetworkMode::from(s.network_mode.as_str()))
        .cpu(&s.cpu)
        .memory(&s.memory)
        .runtime_platform(
            SdkRuntimePlatform::builder()
                .operating_system_family(OsFamily::from(
                    s.runtime_platform.operating_system_family.as_str(),
                ))
                .cpu_architecture(CpuArchitecture::from(
                    s.runtime_platform.cpu_architecture.as_str(),
                ))
                .build(),
        )
        .task_role_arn(&s.task_role_arn)
        .execution_role_arn(&s.execution_role_arn)
        .set_container_definitions(Some(containers))
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&context, &[], e))?;
    out.task_definition()
        .and_then(TaskDefinition::task_definition_arn)
        .map(str::to_owned)
        .ok_or_else(|| AwsError::local(&context, "ECS returned no task definition ARN"))
}

fn container_definition(c: &ContainerSettings) -> Result<ContainerDefinition, String> {
    let log = LogConfiguration::builder()
        .log_driver(LogDriver::from(c.log_configuration.log_driver.as_str()))
        .set_options(Some(
            c.log_configuration
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
        .map_err(|e| format!("log configuration: {e}"))?;
    Ok(ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(c.essential)
        .set_entry_point(Some(c.entry_point.clone()))
        .set_command(Some(c.command.clone()))
        .set_environment(Some(
            c.environment
                .iter()
                .map(|e| {
                    KeyValuePair::builder()
                        .name(&e.name)
                        .value(&e.value)
                        .build()
                })
                .collect(),
        ))
        .log_configuration(log)
        .build())
}

/// Deregisters one revision; one that is already gone is fine.
pub async fn deregister(ecs: &Client, arn: &str) -> Result<(), AwsError> {
    match ecs
        .deregister_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(format!("deregistering ECS Task Definition ({arn})"), &[], e)
        }) {
        Err(e) if !is_missing(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Deregisters every ACTIVE revision of `family` but `keep` (tasks already running from
/// them go on; new runs use `keep`).
pub async fn deregister_others(ecs: &Client, family: &str, keep: &str) -> Result<(), AwsError> {
    for arn in revisions(ecs, family, TaskDefinitionStatus::Active).await? {
        if arn != keep {
            deregister(ecs, &arn).await?;
        }
    }
    Ok(())
}

/// Deregisters every ACTIVE revision of `family`, then deletes every revision (ECS removes
/// each once no task uses it). A family with nothing left is fine.
pub async fn delete_family(ecs: &Client, family: &str) -> Result<(), AwsError> {
    for arn in revisions(ecs, family, TaskDefinitionStatus::Active).await? {
        deregister(ecs, &arn).await?;
    }
    let inactive = revisions(ecs, family, TaskDefinitionStatus::Inactive).await?;
    let context = || format!("deleting ECS Task Definitions ({family})");
    for batch in inactive.chunks(DELETE_BATCH) {
        let out = ecs
            .delete_task_definitions()
            .set_task_definitions(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
        let failures: Vec<String> = out
            .failures()
            .iter()
            .filter(|f| {
                let reason = f.reason().unwrap_or_default().to_ascii_lowercase();
                !(reason.contains("does not exist") || reason.contains("delete_in_progress"))
            })
            .map(|f| {
                format!(
                    "{}: {}",
                    f.arn().unwrap_or_default(),
                    f.reason().unwrap_or_default()
                )
            })
            .collect();
        if !failures.is_empty() {
            return Err(AwsError::local(context(), failures.join("; ")));
        }
    }
    Ok(())
}

/// Applies `changes` to one revision's tags.
pub async fn update_tags(ecs: &Client, arn: &str, changes: &TagChanges) -> Result<(), AwsError> {
    let context = || format!("tagging ECS Task Definition ({arn})");
    if !changes.remove.is_empty() {
        ecs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(changes.remove.clone()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    if !changes.set.is_empty() {
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(
                changes
                    .set
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn family_and_revision_of_arns() {
        let cases = [
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:3",
                Some(("orders", 3)),
            ),
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/orders-2:17",
                Some(("orders-2", 17)),
            ),
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/orders",
                None,
            ),
            ("arn:aws:ecs:us-east-1:123456789012:cluster/orders", None),
            ("", None),
        ];
        for (arn, want) in cases {
            assert_eq!(family_and_revision(arn), want, "{arn}");
        }
    }

    #[test]
    fn missing_task_definitions_are_recognised() {
        let failed = |code: &str, message: &str| AwsError::Failed {
            context: "x".into(),
            code: Some(code.into()),
            message: message.into(),
        };
        assert!(is_missing(&failed(
            "ClientException",
            "Unable to describe task definition."
        )));
        assert!(is_missing(&failed(
            "ClientException",
            "The specified task definition does not exist."
        )));
        assert!(!is_missing(&failed("ClientException", "Invalid cpu value")));
        assert!(!is_missing(&failed("ServerException", "does not exist")));
    }

    /// What the SDK reports is flattened to exactly the fields gluepipe sets: ECS's own
    /// additions (a container's cpu 0, compatibilities, status) are not part of it.
    #[test]
    fn flattens_a_described_task_definition() {
        let td = TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/orders:2")
            .family("orders")
            .revision(2)
            .status(TaskDefinitionStatus::Active)
            .requires_compatibilities(Compatibility::Fargate)
            .compatibilities(Compatibility::Ec2)
            .compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("1024")
            .memory("2048")
            .runtime_platform(
                SdkRuntimePlatform::builder()
                    .operating_system_family(OsFamily::Linux)
                    .cpu_architecture(CpuArchitecture::X8664)
                    .build(),
            )
            .task_role_arn("arn:aws:iam::123456789012:role/gluepipe/orders-task")
            .execution_role_arn("arn:aws:iam::123456789012:role/gluepipe/orders-exec")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("gluepipe-etl")
                    .image("etl:1")
                    .cpu(0)
                    .entry_point("gluepipe-etl")
                    .entry_point("run")
                    .entry_point("s3://bucket/p/spec.json")
                    .command("--no-progress")
                    .environment(KeyValuePair::builder().name("Z").value("1").build())
                    .environment(
                        KeyValuePair::builder()
                            .name("AWS_REGION")
                            .value("us-east-1")
                            .build(),
                    )
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awslogs)
                            .options("awslogs-group", "/gluepipe/orders")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build();
        let s = flatten_task_definition(&td);
        assert_eq!(s.requires_compatibilities, ["FARGATE"]);
        assert_eq!(
            (s.network_mode.as_str(), s.cpu.as_str(), s.memory.as_str()),
            ("awsvpc", "1024", "2048")
        );
        assert_eq!(s.runtime_platform.operating_system_family, "LINUX");
        assert_eq!(s.runtime_platform.cpu_architecture, "X86_64");
        let c = &s.container_definitions[0];
        assert!(c.essential, "ECS's default when unset");
        assert_eq!(
            c.entry_point,
            ["gluepipe-etl", "run", "s3://bucket/p/spec.json"]
        );
        assert_eq!(c.command, ["--no-progress"]);
        let names: Vec<&str> = c.environment.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["AWS_REGION", "Z"], "sorted");
        assert_eq!(c.log_configuration.log_driver, "awslogs");
        assert_eq!(
            c.log_configuration.options["awslogs-group"],
            "/gluepipe/orders"
        );
        assert_eq!(s.spec_uri().unwrap().to_string(), "s3://bucket/p/spec.json");

        // Round trip through what register sends.
        let sent = container_definition(c).unwrap();
        assert_eq!(&flatten_container(&sent), c);
    }
}
