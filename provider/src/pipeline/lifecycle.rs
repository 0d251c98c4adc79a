//! The AWS side of the resource's lifecycle, child by child and in dependency order:
//!
//! - [`converge`] brings every child to its desired state, creating what is missing and
//!   updating only what differs, each marked with the owning instance (see `ownership`; the
//!   resource checks the claim before converging).
//! - [`observe`] reads every child back (for refresh, import and the end of each apply); no
//!   child is the anchor: the pipeline is gone only when none of its own children is left.
//! - [`destroy`] deletes every child that is the instance's own, dependents first, waiting
//!   until AWS confirms; S3 objects by key, never by prefix.
//!
//! Order: job role → state machine role → artifacts → job → state machine (the roles first:
//! their names are the ones AWS compares case-insensitively, so a collision stops the create
//! before anything is written); deletion runs the other way.

use std::collections::{BTreeMap, HashMap};

use gluepipe_spec::{PipelineSpec, S3Uri};

use super::expand::{DesiredPipeline, JobSettings, RoleSpec, StateMachineSpec, args};
use super::names::{Arns, JOB_POLICY_NAME, Names, STATE_MACHINE_POLICY_NAME};
use super::ownership::{Found, is_mine, marked, take_marker};
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

/// Brings every child to `desired`, marked as `owner`'s; stops at the first failure (what was
/// done stays done).
pub async fn converge(c: &Clients, desired: &DesiredPipeline, owner: &str) -> Result<(), AwsError> {
    let desired = &mark(desired, owner);
    for role in [&desired.job_role, &desired.state_machine_role] {
        converge_role(&c.iam, role).await?;
    }
    let a = &desired.artifacts;
    artifacts::ensure_binary(
        &c.s3,
        &a.etl_binary,
        &a.etl_binary_path,
        &a.etl_binary_sha256,
        a.etl_binary_source.as_deref(),
        owner,
    )
    .await?;
    artifacts::ensure_launcher(&c.s3, &a.launcher, owner).await?;
    artifacts::ensure_spec(&c.s3, &a.spec, &a.spec_json, owner).await?;

    let job = &desired.job;
    match glue_job::find_job(&c.glue, &job.name).await.optional()? {
        None => glue_job::create_job(&c.glue, job).await?,
        Some(current) => {
            let tags = glue_job::job_tags(&c.glue, &job.arn).await?;
            refuse_foreign("Glue Job", &job.name, &tags, &job.tags)?;
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

/// A child another instance marked since the claim was checked (a concurrent create of the same
/// name) is not updated: the create stops with `AlreadyExists`.
fn refuse_foreign(
    kind: &str,
    name: &str,
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let key = super::ownership::INSTANCE_TAG;
    match (current.get(key), desired.get(key)) {
        (Some(theirs), Some(mine)) if theirs != mine => Err(AwsError::Failed {
            context: format!("creating {kind} ({name})"),
            code: Some("AlreadyExistsException".into()),
            message: format!("it belongs to another gluepipe_pipeline instance ({theirs})"),
        }),
        _ => Ok(()),
    }
}

/// `desired` with `owner`'s marker on every tagged child.
fn mark(desired: &DesiredPipeline, owner: &str) -> DesiredPipeline {
    let mut d = desired.clone();
    for tags in [
        &mut d.job.tags,
        &mut d.job_role.tags,
        &mut d.state_machine_role.tags,
        &mut d.state_machine.tags,
    ] {
        *tags = marked(tags, owner);
    }
    d
}

/// Creates the role, or brings it to `role` (trust, inline policy, tags). Shared by every
/// runtime.
pub async fn converge_role(iam: &aws_sdk_iam::Client, role: &RoleSpec) -> Result<(), AwsError> {
    match iam_role::observe_role(iam, &role.name, &role.policy_name).await? {
        None => {
            iam_role::create_role(iam, role).await?;
        }
        Some(observed) => {
            refuse_foreign("IAM Role", &role.name, &observed.tags, &role.tags)?;
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
            let tags = state_machine::state_machine_tags(sfn, &sm.arn).await?;
            refuse_foreign("Step Functions State Machine", &sm.arn, &tags, &sm.tags)?;
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

/// After an update: removes the objects the previous version wrote and the new one does not use
/// (an old launcher or binary, or the old spec when the artifact location moved), each only if
/// it is `owner`'s.
pub async fn remove_replaced_artifacts(
    c: &Clients,
    before: &ArtifactUris,
    desired: &DesiredPipeline,
    owner: &str,
) -> Result<(), AwsError> {
    let now = &desired.artifacts;
    for (old, new) in [
        (&before.spec, &now.spec),
        (&before.launcher, &now.launcher),
        (&before.etl_binary, &now.etl_binary),
    ] {
        if let Some(old) = old {
            if old != new {
                artifacts::delete_owned(&c.s3, old, Some(owner)).await?;
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
    /// Where `desired` puts its artifacts.
    pub fn of_desired(desired: &DesiredPipeline) -> ArtifactUris {
        let a = &desired.artifacts;
        ArtifactUris {
            folder: Some(a.folder.clone()),
            spec: Some(a.spec.clone()),
            launcher: Some(a.launcher.clone()),
            etl_binary: Some(a.etl_binary.clone()),
        }
    }

    /// These, each taken from `other` where missing.
    pub fn or(self, other: &ArtifactUris) -> ArtifactUris {
        ArtifactUris {
            folder: self.folder.or_else(|| other.folder.clone()),
            spec: self.spec.or_else(|| other.spec.clone()),
            launcher: self.launcher.or_else(|| other.launcher.clone()),
            etl_binary: self.etl_binary.or_else(|| other.etl_binary.clone()),
        }
    }

    /// The object keys, spec first (the spec's key also follows from the folder).
    pub fn keys(&self) -> Vec<S3Uri> {
        let spec_of_folder = self.folder.as_ref().map(|f| S3Uri {
            bucket: f.bucket.clone(),
            key: format!("{}spec.json", f.key),
        });
        let mut keys: Vec<S3Uri> = Vec::new();
        for uri in [
            &self.spec,
            &spec_of_folder,
            &self.launcher,
            &self.etl_binary,
        ]
        .into_iter()
        .flatten()
        {
            if !keys.contains(uri) {
                keys.push(uri.clone());
            }
        }
        keys
    }

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

/// Everything AWS says about a pipeline's children that are the instance's own. `None`: that
/// child does not exist (or is another instance's).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub job: Option<JobSettings>,
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
    /// Every child that exists, the instance's own or not, with its marker.
    pub found: Vec<Found>,
}

impl Observed {
    /// Whether any child of `me` exists (if none, the pipeline is gone).
    pub fn any_mine(&self, me: Option<&str>) -> bool {
        self.found.iter().any(|f| is_mine(me, f.owner.as_deref()))
    }

    /// The marker the instance's children carry (an import takes it over).
    pub fn owner(&self) -> Option<String> {
        self.found.iter().find_map(|f| f.owner.clone())
    }
}

/// Notes that a child exists; whether it is `me`'s.
fn note(
    found: &mut Vec<Found>,
    kind: &'static str,
    name: &str,
    owner: Option<String>,
    me: Option<&str>,
) -> bool {
    let mine = is_mine(me, owner.as_deref());
    found.push(Found {
        kind,
        name: name.to_owned(),
        owner,
    });
    mine
}

/// Reads every child of the pipeline `names` that is `me`'s (`None`: an import, whose children
/// are all taken). Artifacts are where the job says, else at `known` (the state's or the
/// desired URIs). Children marked by another instance are listed in `found` only.
pub async fn observe(
    c: &Clients,
    names: &Names,
    arns: &Arns,
    known: &ArtifactUris,
    me: Option<&str>,
) -> Result<Observed, AwsError> {
    let mut found = Vec::new();
    let mut job = None;
    let mut job_tags = BTreeMap::new();
    if let Some(j) = glue_job::find_job(&c.glue, &names.job).await.optional()? {
        let mut tags = glue_job::job_tags(&c.glue, &arns.job).await?;
        let owner = take_marker(&mut tags);
        if note(&mut found, "Glue Job", &names.job, owner, me) {
            job = Some(glue_job::flatten_job(&j));
            job_tags = tags;
        }
    }
    let uris = job
        .as_ref()
        .map(ArtifactUris::of_job)
        .unwrap_or_default()
        .or(known);

    let object = async |uri: &Option<S3Uri>,
                        found: &mut Vec<Found>|
           -> Result<Option<HashMap<String, String>>, AwsError> {
        let Some(uri) = uri else { return Ok(None) };
        let Some(meta) = artifacts::find_object(&c.s3, uri).await.optional()? else {
            return Ok(None);
        };
        Ok(note(
            found,
            "S3 Object",
            &uri.to_string(),
            artifacts::marker(&meta),
            me,
        )
        .then_some(meta))
    };
    let spec = match object(&uris.spec, &mut found).await? {
        Some(_) => read_spec(&c.s3, uris.spec.as_ref()).await?,
        None => SpecObject::Missing,
    };
    let launcher_exists = object(&uris.launcher, &mut found).await?.is_some();
    let binary_metadata = object(&uris.etl_binary, &mut found).await?;

    let role = async |name: &str,
                      policy: &str,
                      found: &mut Vec<Found>|
           -> Result<Option<ObservedRole>, AwsError> {
        let Some(mut r) = iam_role::observe_role(&c.iam, name, policy).await? else {
            return Ok(None);
        };
        let owner = take_marker(&mut r.tags);
        Ok(note(found, "IAM Role", name, owner, me).then_some(r))
    };
    let job_role = role(&names.job_role, JOB_POLICY_NAME, &mut found).await?;
    let state_machine_role = role(
        &names.state_machine_role,
        STATE_MACHINE_POLICY_NAME,
        &mut found,
    )
    .await?;
    let (mut state_machine, mut state_machine_tags) =
        observe_state_machine(&c.sfn, &arns.state_machine).await?;
    if state_machine.is_some() {
        let owner = take_marker(&mut state_machine_tags);
        if !note(
            &mut found,
            "Step Functions State Machine",
            &arns.state_machine,
            owner,
            me,
        ) {
            state_machine = None;
            state_machine_tags = BTreeMap::new();
        }
    }
    Ok(Observed {
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
        found,
    })
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

/// Deletes every child that is `me`'s, dependents first; missing children are fine, and so
/// is a missing bucket. Artifacts are deleted by key: those the job names, and `known` (the
/// state's). Returns the children left because another instance owns them.
pub async fn destroy(
    c: &Clients,
    names: &Names,
    arns: &Arns,
    known: &ArtifactUris,
    me: Option<&str>,
) -> Result<Vec<Found>, AwsError> {
    let observed = observe(c, names, arns, known, me).await?;
    let left: Vec<Found> = observed
        .found
        .iter()
        .filter(|f| !is_mine(me, f.owner.as_deref()))
        .cloned()
        .collect();
    if observed.state_machine.is_some() {
        state_machine::delete_state_machine(&c.sfn, &arns.state_machine).await?;
    }
    if observed.job.is_some() {
        glue_job::delete_job(&c.glue, &names.job).await?;
    }
    if observed.state_machine_role.is_some() {
        iam_role::delete_role(&c.iam, &names.state_machine_role).await?;
    }
    if observed.job_role.is_some() {
        iam_role::delete_role(&c.iam, &names.job_role).await?;
    }
    for uri in observed.artifacts.or(known).keys() {
        artifacts::delete_owned(&c.s3, &uri, me).await?;
    }
    Ok(left)
}

/// The warning for children a destroy left because they are another instance's.
pub fn left_warning(left: &[Found]) -> Option<crate::framework::Diagnostic> {
    (!left.is_empty()).then(|| {
        crate::framework::Diagnostic::warning(
            "Children of another pipeline instance left in place",
            format!(
                "These share the pipeline's names but belong to another gluepipe_pipeline instance, \
                 so they were not deleted: {}.",
                left.iter()
                    .map(|f| format!("{} {}", f.kind, f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
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
