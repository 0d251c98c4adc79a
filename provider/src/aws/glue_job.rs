//! The pipeline's Glue job: find, create, update, delete, tags, and `flatten_job` (what
//! `GetJob` reports, in the same shape `expand` produces, so drift is one comparison).

use std::collections::BTreeMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::types::{ExecutionProperty, Job, JobCommand, JobUpdate};

use super::error::AwsError;
use super::retry::{Backoff, IAM_PROPAGATION_TIMEOUT, is_iam_propagation, retry_while, wait_until};
use super::tags::{TagChanges, hashed, ordered};
use crate::pipeline::expand::{JobSettings, JobSpec};

const NOT_FOUND: &[&str] = &["EntityNotFoundException"];

/// `GetJob`; a missing job is [`AwsError::NotFound`].
pub async fn find_job(glue: &Client, name: &str) -> Result<Job, AwsError> {
    let context = || format!("reading Glue Job ({name})");
    let out = glue
        .get_job()
        .job_name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context(), NOT_FOUND, e))?;
    out.job
        .ok_or_else(|| AwsError::local(context(), "GetJob returned no job"))
}

/// The settings of a job as `GetJob` reports them.
pub fn flatten_job(job: &Job) -> JobSettings {
    let command = job.command();
    JobSettings {
        description: job
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        role_arn: job.role().unwrap_or_default().to_owned(),
        command_name: command
            .and_then(JobCommand::name)
            .unwrap_or_default()
            .to_owned(),
        script_location: command
            .and_then(JobCommand::script_location)
            .unwrap_or_default()
            .to_owned(),
        python_version: command
            .and_then(JobCommand::python_version)
            .unwrap_or_default()
            .to_owned(),
        glue_version: job.glue_version().unwrap_or_default().to_owned(),
        default_arguments: ordered(job.default_arguments()),
        non_overridable_arguments: ordered(job.non_overridable_arguments()),
        max_capacity: job.max_capacity().unwrap_or_default(),
        timeout_minutes: job.timeout().map_or(0, i64::from),
        max_retries: i64::from(job.max_retries()),
        max_concurrent_runs: job
            .execution_property()
            .map_or(0, |p| i64::from(p.max_concurrent_runs())),
    }
}

/// `CreateJob`, retried while Glue cannot yet assume the freshly created role.
pub async fn create_job(glue: &Client, spec: &JobSpec) -> Result<(), AwsError> {
    let s = &spec.settings;
    retry_while(
        is_iam_propagation,
        Backoff::retry(IAM_PROPAGATION_TIMEOUT),
        || async {
            glue.create_job()
                .name(&spec.name)
                .set_description(s.description.clone())
                .role(&s.role_arn)
                .command(command(s))
                .glue_version(&s.glue_version)
                .set_default_arguments(Some(hashed(&s.default_arguments)))
                .set_non_overridable_arguments(Some(hashed(&s.non_overridable_arguments)))
                .max_capacity(s.max_capacity)
                .timeout(to_i32(s.timeout_minutes))
                .max_retries(to_i32(s.max_retries))
                .execution_property(execution_property(s))
                .set_tags(Some(hashed(&spec.tags)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(format!("creating Glue Job ({})", spec.name), &[], e)
                })
        },
    )
    .await
}

/// `UpdateJob` with the whole definition (AWS resets whatever `JobUpdate` leaves out).
pub async fn update_job(glue: &Client, spec: &JobSpec) -> Result<(), AwsError> {
    let s = &spec.settings;
    let update = JobUpdate::builder()
        .set_description(s.description.clone())
        .role(&s.role_arn)
        .command(command(s))
        .glue_version(&s.glue_version)
        .set_default_arguments(Some(hashed(&s.default_arguments)))
        .set_non_overridable_arguments(Some(hashed(&s.non_overridable_arguments)))
        .max_capacity(s.max_capacity)
        .timeout(to_i32(s.timeout_minutes))
        .max_retries(to_i32(s.max_retries))
        .execution_property(execution_property(s))
        .build();
    retry_while(
        is_iam_propagation,
        Backoff::retry(IAM_PROPAGATION_TIMEOUT),
        || async {
            glue.update_job()
                .job_name(&spec.name)
                .job_update(update.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk(format!("updating Glue Job ({})", spec.name), NOT_FOUND, e)
                })
        },
    )
    .await
}

/// `DeleteJob`, then waits until `GetJob` no longer finds it. A missing job is success.
pub async fn delete_job(glue: &Client, name: &str) -> Result<(), AwsError> {
    match glue.delete_job().job_name(name).send().await {
        Ok(_) => {}
        Err(e) => {
            let err = AwsError::from_sdk(format!("deleting Glue Job ({name})"), NOT_FOUND, e);
            if !err.is_not_found() {
                return Err(err);
            }
        }
    }
    wait_job_deleted(glue, name).await
}

pub async fn wait_job_deleted(glue: &Client, name: &str) -> Result<(), AwsError> {
    wait_until(
        &format!("waiting for Glue Job ({name}) to be deleted"),
        Backoff::poll(DELETE_TIMEOUT),
        || async {
            match find_job(glue, name).await {
                Err(e) if e.is_not_found() => Ok(Some(())),
                Err(e) => Err(e),
                Ok(_) => Ok(None),
            }
        },
    )
    .await
}

const DELETE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The job's tags (`GetTags` by ARN).
pub async fn job_tags(glue: &Client, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let out = glue
        .get_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk(format!("reading tags of Glue Job ({arn})"), NOT_FOUND, e)
        })?;
    Ok(ordered(out.tags()))
}

/// Applies `changes` to the job's tags.
pub async fn update_job_tags(
    glue: &Client,
    arn: &str,
    changes: &TagChanges,
) -> Result<(), AwsError> {
    let context = || format!("tagging Glue Job ({arn})");
    if !changes.remove.is_empty() {
        glue.untag_resource()
            .resource_arn(arn)
            .set_tags_to_remove(Some(changes.remove.clone()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    if !changes.set.is_empty() {
        glue.tag_resource()
            .resource_arn(arn)
            .set_tags_to_add(Some(hashed(&changes.set)))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(context(), &[], e))?;
    }
    Ok(())
}

fn command(s: &JobSettings) -> JobCommand {
    JobCommand::builder()
        .name(&s.command_name)
        .script_location(&s.script_location)
        .python_version(&s.python_version)
        .build()
}

fn execution_property(s: &JobSettings) -> ExecutionProperty {
    ExecutionProperty::builder()
        .max_concurrent_runs(to_i32(s.max_concurrent_runs))
        .build()
}

/// Validation keeps these small; saturate rather than wrap if it ever did not.
fn to_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_reads_every_setting() {
        let job = Job::builder()
            .name("orders")
            .role("arn:aws:iam::123456789012:role/gluepipe/orders-glue")
            .command(
                JobCommand::builder()
                    .name("pythonshell")
                    .script_location("s3://a/l.py")
                    .python_version("3.9")
                    .build(),
            )
            .glue_version("3.0")
            .default_arguments("--job-language", "python")
            .non_overridable_arguments("--gluepipe_spec_uri", "s3://a/spec.json")
            .max_capacity(0.0625)
            .timeout(60)
            .max_retries(2)
            .execution_property(ExecutionProperty::builder().max_concurrent_runs(3).build())
            .build();
        let s = flatten_job(&job);
        assert_eq!(s.description, None);
        assert_eq!(
            s.role_arn,
            "arn:aws:iam::123456789012:role/gluepipe/orders-glue"
        );
        assert_eq!(
            (
                s.command_name.as_str(),
                s.script_location.as_str(),
                s.python_version.as_str()
            ),
            ("pythonshell", "s3://a/l.py", "3.9")
        );
        assert_eq!(s.glue_version, "3.0");
        assert_eq!(
            s.default_arguments
                .get("--job-language")
                .map(String::as_str),
            Some("python")
        );
        assert_eq!(s.non_overridable_arguments.len(), 1);
        assert_eq!(
            (
                s.max_capacity,
                s.timeout_minutes,
                s.max_retries,
                s.max_concurrent_runs
            ),
            (0.0625, 60, 2, 3)
        );
    }

    #[test]
    fn flatten_of_an_empty_job_is_empty_not_a_panic() {
        let s = flatten_job(&Job::builder().description("").build());
        assert_eq!(s.description, None);
        assert!(
            s.role_arn.is_empty() && s.script_location.is_empty() && s.default_arguments.is_empty()
        );
        assert_eq!(s.max_concurrent_runs, 0);
    }

    #[test]
    fn i32_conversion_saturates() {
        assert_eq!(to_i32(60), 60);
        assert_eq!(to_i32(i64::MAX), i32::MAX);
        assert_eq!(to_i32(i64::MIN), i32::MIN);
    }
}
