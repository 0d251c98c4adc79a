//! The AWS side of the resource's lifecycle, child by child and in dependency order:
//!
//! - [`converge`] brings every child to its desired state, creating what is missing and
//!   updating only what differs. Create and update are the same walk, so a create that failed
//!   midway, or children left behind by a lost state, are adopted instead of colliding
//!   (`AlreadyExists`) on the next apply.
//! - [`observe`] reads every child back (for refresh, import and the end of each apply).
//! - [`destroy`] deletes everything, dependents first, waiting until AWS confirms.
//!
//! Order: artifacts → job role → state machine role → job → state machine (each needs the ones
//! before it); deletion runs the other way.

use std::collections::{BTreeMap, HashMap};

use gluepipe_spec::{PipelineSpec, S3Uri};

use super::expand::{DesiredPipeline, JobSettings, RoleSpec, StateMachineSpec, args};
use super::names::{Arns, JOB_POLICY_NAME, Names, STATE_MACHINE_POLICY_NAME};
use crate::aws::iam_role::ObservedRole;
use crate::aws::state_machine::ObservedStateMachine;
use crate::aws::tags::TagChanges;
use crate::aws::{AwsError, OptionalExt, artifacts, glue_job, iam_role, state_machine};
use crate::provider::AwsContext;

/// One client per service.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub glue: aws_sdk_glue::Client,
    pub iam: aws_sdk_iam::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl Clients {
    pub fn new(aws: &AwsContext) -> Clients {
        Clients {
            s3: aws.s3(),
            glue: aws.glue(),
            iam: aws.iam(),
            sfn: aws.sfn(),
        }
    }
}

/// Brings every child to `desired`; stops at the first failure (what was done stays done).
pub async fn converge(c: &Clients, desired: &DesiredPipeline) -> Result<(), AwsError> {
    let a = &desired.artifacts;
    artifacts::ensure_binary(
        &c.s3,
        &a.etl_binary,
        &a.etl_binary_path,
        &a.etl_binary_sha256,
        a.etl_binary_source.as_deref(),
    )
    .await?;
    artifacts::ensure_launcher(&c.s3, &a.launcher).await?;
    artifacts::ensure_spec(&c.s3, &a.spec, &a.spec_json).await?;

    for role in [&desired.job_role, &desired.state_machine_role] {
        converge_role(&c.iam, role).await?;
    }

    let job = &desired.job;
    match glue_job::find_job(&c.glue, &job.name).await.optional()? {
        None => glue_job::create_job(&c.glue, job).await?,
        Some(current) => {
            if glue_job::flatten_job(&current) != job.settings {
                glue_job::update_job(&c.glue, job).await?;
            }
            let tags = glue_job::job_tags(&c.glue, &job.arn).await?;
            glue_job::update_job_tags(&c.glue, &job.arn, &TagChanges::between(&tags, &job.tags))
                .await?;
        }
    }

    converge_state_machine(&c.sfn, &desired.state_machine).await
}

/// Creates the role, or brings it to `role` (trust, inline policy, tags). Shared by every
/// runtime.
pub async fn converge_role(iam: &aws_sdk_iam::Client, role: &RoleSpec) -> Result<(), AwsError> {
    match iam_role::observe_role(iam, &role.name, &role.policy_name).await? {
        None => {
            iam_role::create_role(iam, role).await?;
        }
        Some(observed) => {
            iam_role::update_role(iam, role, &observed).await?;
        }
    }
    Ok(())
}

/// Creates the state machine, or brings it to `sm` (definition, role, tags). Shared by every
/// runtime.
pub async fn converge_state_machine(
    sfn: &aws_sdk_sfn::Client,
    sm: &StateMachineSpec,
) -> Result<(), AwsError> {
    match state_machine::find_state_machine(sfn, &sm.arn)
        .await
        .optional()?
    {
        None => {
            state_machine::create_state_machine(sfn, sm).await?;
        }
        Some(current) => {
            if !state_machine::matches(sm, &current) {
                state_machine::update_state_machine(sfn, sm).await?;
            }
            let tags = state_machine::state_machine_tags(sfn, &sm.arn).await?;
            state_machine::update_state_machine_tags(
                sfn,
                &sm.arn,
                &TagChanges::between(&tags, &sm.tags),
            )
            .await?;
        }
    }
    Ok(())
}

/// After an update: removes what the previous version used and the new one does not (an old
/// launcher or binary, or the whole old folder when the artifact location moved).
pub async fn remove_replaced_artifacts(
    c: &Clients,
    before: &ArtifactUris,
    desired: &DesiredPipeline,
) -> Result<(), AwsError> {
    let now = &desired.artifacts;
    if let Some(folder) = &before.folder {
        if *folder != now.folder {
            return artifacts::delete_folder(&c.s3, folder).await;
        }
    }
    for (old, new) in [
        (&before.launcher, &now.launcher),
        (&before.etl_binary, &now.etl_binary),
    ] {
        if let Some(old) = old {
            if old != new && old.key.starts_with(&now.folder.key) && old.bucket == now.folder.bucket
            {
                artifacts::delete_object(&c.s3, old).await?;
            }
        }
    }
    Ok(())
}

/// Where a pipeline's artifacts were, as its state or its job says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArtifactUris {
    pub folder: Option<S3Uri>,
    pub spec: Option<S3Uri>,
    pub launcher: Option<S3Uri>,
    pub etl_binary: Option<S3Uri>,
}

impl ArtifactUris {
    /// From the job's script location and non-overridable arguments: the truth in AWS.
    pub fn of_job(settings: &JobSettings) -> ArtifactUris {
        let arg = |k: &str| {
            settings
                .non_overridable_arguments
                .get(k)
                .and_then(|u| S3Uri::parse(u).ok())
        };
        let spec = arg(args::SPEC_URI);
        ArtifactUris {
            folder: spec.as_ref().and_then(folder_of_spec),
            spec,
            launcher: S3Uri::parse(&settings.script_location).ok(),
            etl_binary: arg(args::ETL_URI),
        }
    }
}

/// `s3://b/<prefix><name>/spec.json` → `s3://b/<prefix><name>/`.
pub fn folder_of_spec(spec: &S3Uri) -> Option<S3Uri> {
    let folder = spec.key.strip_suffix("spec.json")?;
    Some(S3Uri {
        bucket: spec.bucket.clone(),
        key: folder.to_string(),
    })
}

/// The spec object as found in S3.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecObject {
    Missing,
    /// Present but not a spec this version reads (edited by hand?): it will be replaced.
    Invalid(String),
    Present(Box<PipelineSpec>),
}

/// Everything AWS says about a pipeline's children. `None`: that child does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub job: JobSettings,
    pub job_tags: BTreeMap<String, String>,
    pub artifacts: ArtifactUris,
    pub spec: SpecObject,
    pub launcher_exists: bool,
    /// The binary object's user metadata, if it exists.
    pub binary_metadata: Option<HashMap<String, String>>,
    pub job_role: Option<ObservedRole>,
    pub state_machine_role: Option<ObservedRole>,
    pub state_machine: Option<ObservedStateMachine>,
    pub state_machine_tags: BTreeMap<String, String>,
}

/// Reads every child of the pipeline `names`. `Ok(None)`: the job, the pipeline's anchor, is
/// gone (the pipeline is gone; whatever else remains is adopted by the next create).
pub async fn observe(
    c: &Clients,
    names: &Names,
    arns: &Arns,
) -> Result<Option<Observed>, AwsError> {
    let Some(job) = glue_job::find_job(&c.glue, &names.job).await.optional()? else {
        return Ok(None);
    };
    let job = glue_job::flatten_job(&job);
    let job_tags = glue_job::job_tags(&c.glue, &arns.job).await?;
    let uris = ArtifactUris::of_job(&job);

    let spec = read_spec(&c.s3, uris.spec.as_ref()).await?;
    let launcher_exists = match &uris.launcher {
        Some(uri) => artifacts::find_object(&c.s3, uri)
            .await
            .optional()?
            .is_some(),
        None => false,
    };
    let binary_metadata = match &uris.etl_binary {
        Some(uri) => artifacts::find_object(&c.s3, uri).await.optional()?,
        None => None,
    };

    let job_role = iam_role::observe_role(&c.iam, &names.job_role, JOB_POLICY_NAME).await?;
    let state_machine_role =
        iam_role::observe_role(&c.iam, &names.state_machine_role, STATE_MACHINE_POLICY_NAME)
            .await?;
    let (state_machine, state_machine_tags) =
        observe_state_machine(&c.sfn, &arns.state_machine).await?;
    Ok(Some(Observed {
        job,
        job_tags,
        artifacts: uris,
        spec,
        launcher_exists,
        binary_metadata,
        job_role,
        state_machine_role,
        state_machine,
        state_machine_tags,
    }))
}

/// The state machine at `arn` and its tags (none if it is gone). Shared by every runtime.
pub async fn observe_state_machine(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> Result<(Option<ObservedStateMachine>, BTreeMap<String, String>), AwsError> {
    let Some(sm) = state_machine::find_state_machine(sfn, arn)
        .await
        .optional()?
    else {
        return Ok((None, BTreeMap::new()));
    };
    let tags = state_machine::state_machine_tags(sfn, &sm.arn).await?;
    Ok((Some(sm), tags))
}

/// The spec object at `uri` (the pipeline's truth for import and drift). Shared by every
/// runtime.
pub async fn read_spec(
    s3: &aws_sdk_s3::Client,
    uri: Option<&S3Uri>,
) -> Result<SpecObject, AwsError> {
    let Some(uri) = uri else {
        return Ok(SpecObject::Missing);
    };
    Ok(match artifacts::get_text(s3, uri).await.optional()? {
        None => SpecObject::Missing,
        Some(text) => match PipelineSpec::from_json(&text) {
            // The release stamp is the provider's, not configuration: a spec uploaded by
            // another release is re-uploaded with the binary that comes with the new one.
            Ok(spec) => SpecObject::Present(Box::new(PipelineSpec {
                gluepipe_version: None,
                ..spec
            })),
            Err(e) => SpecObject::Invalid(e.to_string()),
        },
    })
}

/// Deletes every child, dependents first; missing children are fine. `folder` is the artifact
/// folder (deleted with everything in it).
pub async fn destroy(
    c: &Clients,
    names: &Names,
    arns: &Arns,
    folder: Option<&S3Uri>,
) -> Result<(), AwsError> {
    state_machine::delete_state_machine(&c.sfn, &arns.state_machine).await?;
    glue_job::delete_job(&c.glue, &names.job).await?;
    iam_role::delete_role(&c.iam, &names.state_machine_role).await?;
    iam_role::delete_role(&c.iam, &names.job_role).await?;
    if let Some(folder) = folder {
        artifacts::delete_folder(&c.s3, folder).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn artifact_locations_come_from_the_job() {
        let mut settings = JobSettings {
            description: None,
            role_arn: String::new(),
            command_name: "pythonshell".into(),
            script_location: "s3://art-bucket/gluepipe/orders/launcher-0123.py".into(),
            python_version: "3.9".into(),
            glue_version: "3.0".into(),
            default_arguments: BTreeMap::new(),
            non_overridable_arguments: BTreeMap::from([
                (
                    "--gluepipe_spec_uri".into(),
                    "s3://art-bucket/gluepipe/orders/spec.json".into(),
                ),
                (
                    "--gluepipe_etl_uri".into(),
                    "s3://art-bucket/gluepipe/orders/gluepipe-etl-ab".into(),
                ),
            ]),
            max_capacity: 0.0625,
            timeout_minutes: 60,
            max_retries: 0,
            max_concurrent_runs: 1,
        };
        let uris = ArtifactUris::of_job(&settings);
        assert_eq!(
            uris.folder.unwrap().to_string(),
            "s3://art-bucket/gluepipe/orders/"
        );
        assert_eq!(uris.spec.unwrap().key, "gluepipe/orders/spec.json");
        assert_eq!(
            uris.launcher.unwrap().key,
            "gluepipe/orders/launcher-0123.py"
        );
        assert_eq!(
            uris.etl_binary.unwrap().key,
            "gluepipe/orders/gluepipe-etl-ab"
        );
        settings.non_overridable_arguments.clear();
        settings.script_location = "not a uri".into();
        assert_eq!(ArtifactUris::of_job(&settings), ArtifactUris::default());
    }

    #[test]
    fn folder_of_a_spec_key() {
        let f = |s: &str| folder_of_spec(&S3Uri::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(
            f("s3://bbb/p/x/spec.json").as_deref(),
            Some("s3://bbb/p/x/")
        );
        assert_eq!(f("s3://bbb/x/spec.json").as_deref(), Some("s3://bbb/x/"));
        assert_eq!(f("s3://bbb/x/other.json"), None);
    }
}
