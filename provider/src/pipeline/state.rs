//! The resource's state value, built from what is desired (plan) or what AWS reports (refresh,
//! import, end of apply). Pure functions: the AWS calls are in `lifecycle`.
//!
//! Refresh keeps the prior value of anything AWS reports in an equivalent form (a policy
//! re-encoded by IAM, the spec re-serialised, a definition re-indented) and takes AWS's value
//! for any real difference, so drift shows in the next plan and nothing flips back and forth.

use std::collections::BTreeMap;

use gluepipe_spec::S3Uri;

use super::expand::{DesiredPipeline, JobSettings, RoleSpec, StateMachineSpec, args};
use super::lifecycle::{Observed, SpecObject};
use super::model::{PipelineConfig, RuntimeConfig, ScaleOut};
use super::scale_out;
use super::values::{decode, encode_runtime, encode_spec, string_map};
use crate::aws::artifacts::META_SOURCE;
use crate::aws::iam_role::ObservedRole;
use crate::aws::json_equiv::{definitions_equivalent, keep_if_equivalent, policies_equivalent};
use crate::aws::state_machine::ObservedStateMachine;
use crate::protocol::{Diagnostic, Diagnostics, Value};

/// Sets every computed attribute to the value `desired` will produce.
pub fn set_planned(state: &mut Value, desired: &DesiredPipeline) {
    let name = desired.names.pipeline.as_str();
    let a = &desired.artifacts;
    let job = &desired.job.settings;
    for (attr, value) in [
        ("id", Value::from(name)),
        ("glue_job_name", Value::from(&desired.names.job)),
        ("tags_all", string_map(&desired.tags_all)),
        ("spec_uri", Value::from(a.spec.to_string())),
        ("launcher_uri", Value::from(a.launcher.to_string())),
        ("etl_binary_uri", Value::from(a.etl_binary.to_string())),
        ("etl_binary_sha256", Value::from(&a.etl_binary_sha256)),
        ("glue_version", Value::from(&job.glue_version)),
        ("python_version", Value::from(&job.python_version)),
        (
            "glue_job_default_arguments",
            string_map(&job.default_arguments),
        ),
        (
            "glue_job_non_overridable_arguments",
            string_map(&job.non_overridable_arguments),
        ),
    ] {
        state.set_attr(attr, value);
    }
    set_planned_role(state, "glue_job_role", &desired.job_role);
    set_planned_state_machine(state, &desired.state_machine, &desired.state_machine_role);
}

/// Sets `<role_attr>_arn`, `<role_attr>_policy` and `<role_attr>_assume_role_policy` to what
/// `role` will be.
pub(crate) fn set_planned_role(state: &mut Value, role_attr: &str, role: &RoleSpec) {
    for (suffix, value) in [
        ("arn", Value::from(&role.arn)),
        ("policy", Value::from(role.policy.to_json())),
        (
            "assume_role_policy",
            Value::from(role.assume_role_policy.to_json()),
        ),
    ] {
        state.set_attr(&format!("{role_attr}_{suffix}"), value);
    }
}

/// Sets the planned state machine attributes every runtime has (ARN, definition, its role).
pub(crate) fn set_planned_state_machine(
    state: &mut Value,
    sm: &StateMachineSpec,
    sm_role: &RoleSpec,
) {
    state.set_attr("state_machine_arn", Value::from(&sm.arn));
    state.set_attr("state_machine_definition", Value::from(&sm.definition));
    set_planned_role(state, "state_machine_role", sm_role);
}

/// The state after reading every child. `prior` is the state (or plan) being refreshed — an
/// import stub holds only `id` and `name`. Warnings name what gluepipe found but does not own.
pub fn refreshed(
    prior: &Value,
    name: &str,
    observed: &Observed,
    default_tags: &BTreeMap<String, String>,
) -> (Value, Diagnostics) {
    let diags = Diagnostics::new();
    let (mut state, before) = refresh_spec(prior, name, &observed.spec);
    set_instance_id(&mut state, prior, observed.owner());
    // Without its job (deleted out of band) the pipeline keeps its configured settings; the
    // job's own attributes go null, so the plan shows the drift and the next apply recreates it.
    let Some(job) = &observed.job else {
        let no_job = JobSettings {
            description: before.spec.description.clone(),
            role_arn: String::new(),
            command_name: String::new(),
            script_location: String::new(),
            python_version: String::new(),
            glue_version: String::new(),
            default_arguments: BTreeMap::new(),
            non_overridable_arguments: BTreeMap::new(),
            max_capacity: before.runtime.max_capacity,
            timeout_minutes: before.runtime.timeout_minutes,
            max_retries: before.runtime.max_retries,
            max_concurrent_runs: before.runtime.max_concurrent_runs,
        };
        let (mut state, diags) = refreshed_with(
            state,
            prior,
            name,
            observed,
            &no_job,
            &before,
            default_tags,
            diags,
        );
        for attr in [
            "glue_job_name",
            "glue_version",
            "python_version",
            "etl_binary_sha256",
            "glue_job_default_arguments",
            "glue_job_non_overridable_arguments",
        ] {
            state.set_attr(attr, Value::Null);
        }
        return (state, diags);
    };
    if job.description != before.spec.description {
        state.set_attr("description", Value::from(job.description.clone()));
    }
    refreshed_with(
        state,
        prior,
        name,
        observed,
        job,
        &before,
        default_tags,
        diags,
    )
}

/// `instance_id`: the prior one, else (import) the marker the children carry.
pub(crate) fn set_instance_id(state: &mut Value, prior: &Value, owner: Option<String>) {
    if let (None, Some(owner)) = (prior.attr("instance_id").as_str(), owner) {
        state.set_attr("instance_id", Value::from(owner));
    }
}

#[allow(clippy::too_many_arguments)]
fn refreshed_with(
    mut state: Value,
    prior: &Value,
    name: &str,
    observed: &Observed,
    job: &JobSettings,
    before: &PipelineConfig,
    default_tags: &BTreeMap<String, String>,
    mut diags: Diagnostics,
) -> (Value, Diagnostics) {
    let (artifact_bucket, artifact_prefix) =
        artifact_location(&before.runtime, name, observed.artifacts.folder.as_ref());
    let runtime = RuntimeConfig {
        kind: if job.command_name == "pythonshell" || job.command_name.is_empty() {
            "python-shell".into()
        } else {
            job.command_name.clone()
        },
        artifact_bucket,
        artifact_prefix,
        etl_binary: if before.runtime.etl_binary.is_empty() {
            // Import: the binary's object remembers where it was uploaded from.
            observed
                .binary_metadata
                .as_ref()
                .and_then(|m| m.get(META_SOURCE))
                .cloned()
                .unwrap_or_default()
        } else {
            before.runtime.etl_binary.clone()
        },
        max_capacity: job.max_capacity,
        timeout_minutes: job.timeout_minutes,
        max_retries: job.max_retries,
        max_concurrent_runs: job.max_concurrent_runs,
        ecs: before.runtime.ecs.clone(),
        scale_out: refreshed_scale_out(before.runtime.scale_out, observed),
    };
    if runtime != before.runtime {
        let mut block = encode_runtime(&runtime);
        if runtime.etl_binary.is_empty() {
            block.set_attr("etl_binary", Value::Null);
        }
        state.set_attr("runtime", block);
    }

    let job_role = observed.job_role.as_ref();
    let sm_role = observed.state_machine_role.as_ref();
    let sm = observed.state_machine.as_ref();
    let uris = &observed.artifacts;
    let uri_if = |present: bool, uri: &Option<gluepipe_spec::S3Uri>| match uri {
        Some(u) if present => Value::from(u.to_string()),
        _ => Value::Null,
    };
    for (attr, value) in [
        ("id", Value::from(name)),
        ("glue_job_name", Value::from(name)),
        ("glue_job_role_arn", role_arn(job_role, &job.role_arn)),
        (
            // Unlike `role_arn`, an empty role ARN on the machine also counts as drift.
            "state_machine_role_arn",
            match (sm_role, sm) {
                (Some(r), Some(m)) if m.role_arn != r.arn => Value::from(&m.role_arn),
                (Some(r), _) => Value::from(&r.arn),
                (None, _) => Value::Null,
            },
        ),
        (
            "spec_uri",
            uri_if(matches!(observed.spec, SpecObject::Present(_)), &uris.spec),
        ),
        (
            "launcher_uri",
            uri_if(observed.launcher_exists, &uris.launcher),
        ),
        (
            "etl_binary_uri",
            uri_if(observed.binary_metadata.is_some(), &uris.etl_binary),
        ),
        (
            "etl_binary_sha256",
            Value::from(job.non_overridable_arguments.get(args::ETL_SHA256).cloned()),
        ),
        ("glue_version", Value::from(&job.glue_version)),
        ("python_version", Value::from(&job.python_version)),
        (
            "glue_job_default_arguments",
            string_map(&job.default_arguments),
        ),
        (
            "glue_job_non_overridable_arguments",
            string_map(&job.non_overridable_arguments),
        ),
    ] {
        state.set_attr(attr, value);
    }
    set_role_policies(&mut state, prior, "glue_job_role", job_role);
    set_state_machine(&mut state, prior, sm, sm_role);

    let children: Vec<&BTreeMap<String, String>> = [
        observed.job.as_ref().map(|_| &observed.job_tags),
        job_role.map(|r| &r.tags),
        sm_role.map(|r| &r.tags),
    ]
    .into_iter()
    .flatten()
    .chain(sm.map(|_| &observed.state_machine_tags))
    .collect();
    refresh_tags(&mut state, prior, &children, default_tags);

    let roles: Vec<&ObservedRole> = [job_role, sm_role].into_iter().flatten().collect();
    diags.extend(child_warnings(&roles, &observed.spec));
    (replace_unknown(state), diags)
}

/// Scale-out is not an AWS setting: the configuration's value stays (a definition changed out
/// of band shows as `state_machine_definition` drift). Only where nothing was configured yet —
/// an import — is it read back from the state machine's definition.
fn refreshed_scale_out(before: ScaleOut, observed: &Observed) -> ScaleOut {
    if before != ScaleOut::default() {
        return before;
    }
    observed
        .state_machine
        .as_ref()
        .and_then(|sm| scale_out::observed(&sm.definition))
        .unwrap_or(before)
}

/// The start of every runtime's refresh: `prior` (an empty object if it is none), with the spec
/// attributes taken from the spec object when it differs from the prior configuration, and
/// `name` set. A missing or unreadable spec leaves the prior attributes (the runtime's
/// `spec_uri` goes null, so the plan uploads it again). Returns the prior configuration too.
pub(crate) fn refresh_spec(
    prior: &Value,
    name: &str,
    spec: &SpecObject,
) -> (Value, PipelineConfig) {
    let mut state = match prior {
        Value::Object(_) => prior.clone(),
        _ => Value::Object(BTreeMap::new()),
    };
    let before = decode(prior).config;
    if let SpecObject::Present(spec) = spec {
        if **spec != before.spec {
            for (attr, value) in encode_spec(spec) {
                state.set_attr(&attr, value);
            }
        }
    }
    state.set_attr("name", Value::from(name));
    (state, before)
}

/// `runtime.artifact_bucket` and `runtime.artifact_prefix` as the pipeline's artifact folder
/// (`s3://<bucket>/<prefix><name>/`) says; the prior values if there is no such folder.
pub(crate) fn artifact_location(
    before: &RuntimeConfig,
    name: &str,
    folder: Option<&S3Uri>,
) -> (String, String) {
    let bucket = folder.map_or_else(|| before.artifact_bucket.clone(), |f| f.bucket.clone());
    let prefix = folder
        .and_then(|f| f.key.strip_suffix(&format!("{name}/")).map(str::to_owned))
        .unwrap_or_else(|| before.artifact_prefix.clone());
    (bucket, prefix)
}

/// A role's ARN attribute: the role's ARN, unless the child using it (`used`, empty if
/// unknown) points at another role — then that one, and the plan shows the drift.
pub(crate) fn role_arn(role: Option<&ObservedRole>, used: &str) -> Value {
    match role {
        Some(r) if used.is_empty() || used == r.arn => Value::from(&r.arn),
        Some(_) => Value::from(used),
        None => Value::Null,
    }
}

/// Sets `<role_attr>_policy` and `<role_attr>_assume_role_policy` from the observed role (null
/// if it is gone), keeping the prior text when IAM's is only re-encoded.
pub(crate) fn set_role_policies(
    state: &mut Value,
    prior: &Value,
    role_attr: &str,
    role: Option<&ObservedRole>,
) {
    for (attr, observed) in [
        (
            format!("{role_attr}_policy"),
            role.and_then(|r| r.policy.as_ref()),
        ),
        (
            format!("{role_attr}_assume_role_policy"),
            role.map(|r| &r.assume_role_policy),
        ),
    ] {
        let value = observed.map_or(Value::Null, |p| {
            Value::from(keep_if_equivalent(
                prior.attr(&attr).as_str(),
                p,
                policies_equivalent,
            ))
        });
        state.set_attr(&attr, value);
    }
}

/// Sets the state machine's attributes every runtime has: `state_machine_arn`,
/// `state_machine_definition` (the prior text while equivalent) and its role's policies.
/// The role's ARN is the runtime's to set.
pub(crate) fn set_state_machine(
    state: &mut Value,
    prior: &Value,
    sm: Option<&ObservedStateMachine>,
    sm_role: Option<&ObservedRole>,
) {
    state.set_attr(
        "state_machine_arn",
        sm.map_or(Value::Null, |m| Value::from(&m.arn)),
    );
    state.set_attr(
        "state_machine_definition",
        sm.map_or(Value::Null, |m| {
            Value::from(keep_if_equivalent(
                prior.attr("state_machine_definition").as_str(),
                &m.definition,
                definitions_equivalent,
            ))
        }),
    );
    set_role_policies(state, prior, "state_machine_role", sm_role);
}

/// Tags: every existing child should carry `tags_all`; the first that does not shows its own.
/// `children` are the tags of the children that exist, the pipeline's anchor first (its tags
/// stand for the pipeline's when no prior `tags_all` is known). On import, `tags` becomes what
/// the provider's `default_tags` do not add. Shared by every runtime.
pub(crate) fn refresh_tags(
    state: &mut Value,
    prior: &Value,
    children: &[&BTreeMap<String, String>],
    default_tags: &BTreeMap<String, String>,
) {
    let prior_all = prior.attr("tags_all").as_string_map();
    let tags_all = match &prior_all {
        Some(all) if children.iter().all(|t| *t == all) => all.clone(),
        _ => children
            .iter()
            .find(|t| prior_all.as_ref() != Some(**t))
            .or(children.first())
            .map(|t| (*t).clone())
            .unwrap_or_default(),
    };
    if prior.attr("tags_all").is_null() && prior.attr("tags").is_null() {
        // Import: the resource's own tags are those the provider does not add.
        let own: BTreeMap<String, String> = tags_all
            .iter()
            .filter(|(k, v)| default_tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        state.set_attr(
            "tags",
            if own.is_empty() {
                Value::Null
            } else {
                string_map(&own)
            },
        );
    }
    state.set_attr("tags_all", string_map(&tags_all));
}

/// Warnings about what gluepipe found but does not own: policies on its roles that it did not
/// put there, and a spec object it cannot read. Shared by every runtime.
pub(crate) fn child_warnings(roles: &[&ObservedRole], spec: &SpecObject) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for role in roles {
        if !role.foreign_policies.is_empty() {
            diags.push(Diagnostic::warning(
                "Role has policies gluepipe does not manage",
                format!(
                    "IAM role {} also has {}; the pipeline's least-privilege policy no longer bounds \
                     what the role may do. Remove them, or they are removed when the pipeline is destroyed.",
                    role.name,
                    role.foreign_policies.join(", ")
                ),
            ));
        }
    }
    if let SpecObject::Invalid(why) = spec {
        diags.push(Diagnostic::warning(
            "Pipeline spec in S3 is not readable",
            format!("The spec object is not a valid pipeline spec ({why}); the next apply uploads it again."),
        ));
    }
    diags
}

/// A refreshed state may not hold unknowns; a template (the plan) may.
pub(crate) fn replace_unknown(value: Value) -> Value {
    match value {
        Value::Unknown => Value::Null,
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknown(v)))
                .collect(),
        ),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknown(v)))
                .collect(),
        ),
        Value::List(v) => Value::List(v.into_iter().map(replace_unknown).collect()),
        Value::Set(v) => Value::Set(v.into_iter().map(replace_unknown).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use gluepipe_spec::PipelineSpec;

    use super::*;
    use crate::aws::iam_role::ObservedRole;
    use crate::aws::state_machine::ObservedStateMachine;
    use crate::pipeline::expand::{ExpandInput, expand};
    use crate::pipeline::lifecycle::ArtifactUris;
    use crate::pipeline::model::{PipelineConfig, RuntimeConfig};
    use crate::pipeline::names::AwsEnv;
    use crate::protocol::AttributePath;

    fn config() -> PipelineConfig {
        let spec = PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "mapping": [{"from": "id", "to": "order_id", "type": "bigint"}],
                "target": {"path": "s3://curated-bucket/orders/", "partition_by": ["order_id"]}}"#,
        )
        .unwrap();
        PipelineConfig {
            spec,
            runtime: RuntimeConfig::new("artifact-bucket", "bin/gluepipe-etl"),
            tags: BTreeMap::from([("team".into(), "data".into())]),
        }
    }

    fn default_tags() -> BTreeMap<String, String> {
        BTreeMap::from([("env".into(), "test".into())])
    }

    fn desired(config: &PipelineConfig) -> DesiredPipeline {
        let mut tags_all = default_tags();
        tags_all.extend(config.tags.clone());
        expand(&ExpandInput {
            config,
            env: &AwsEnv::new("us-east-1", "123456789012"),
            etl_binary: &crate::pipeline::etl_binary::EtlBinary {
                path: "bin/gluepipe-etl".into(),
                sha256: "a".repeat(64),
                explicit: true,
            },
            tags_all: &tags_all,
            source_table_location: None,
        })
    }

    /// The planned state: configuration attributes plus every computed value.
    fn planned(config: &PipelineConfig, desired: &DesiredPipeline) -> Value {
        let mut v = Value::object(crate::pipeline::values::encode_spec(&config.spec));
        v.set_attr(
            "runtime",
            crate::pipeline::values::encode_runtime(&config.runtime),
        );
        v.set_attr("tags", string_map(&config.tags));
        set_planned(&mut v, desired);
        v
    }

    /// Re-indents JSON and reverses object key order: how AWS may hand a document back.
    fn reformatted(json: &str) -> String {
        fn reverse(v: serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(m) => {
                    let mut entries: Vec<_> = m.into_iter().map(|(k, v)| (k, reverse(v))).collect();
                    entries.reverse();
                    serde_json::Value::Object(entries.into_iter().collect())
                }
                serde_json::Value::Array(a) => {
                    serde_json::Value::Array(a.into_iter().map(reverse).collect())
                }
                other => other,
            }
        }
        serde_json::to_string_pretty(&reverse(serde_json::from_str(json).unwrap())).unwrap()
    }

    /// What AWS reports for a pipeline that is exactly as desired (in AWS's own formatting).
    fn observed(config: &PipelineConfig, d: &DesiredPipeline) -> Observed {
        let role = |spec: &crate::pipeline::expand::RoleSpec| ObservedRole {
            name: spec.name.clone(),
            arn: spec.arn.clone(),
            assume_role_policy: reformatted(&spec.assume_role_policy.to_json()),
            policy: Some(reformatted(&spec.policy.to_json())),
            foreign_policies: vec![],
            tags: d.tags_all.clone(),
        };
        Observed {
            job: Some(d.job.settings.clone()),
            job_tags: d.tags_all.clone(),
            artifacts: ArtifactUris::of_job(&d.job.settings),
            spec: SpecObject::Present(Box::new(config.spec.clone())),
            launcher_exists: true,
            binary_metadata: Some(HashMap::from([(
                META_SOURCE.to_string(),
                config.runtime.etl_binary.clone(),
            )])),
            job_role: Some(role(&d.job_role)),
            state_machine_role: Some(role(&d.state_machine_role)),
            state_machine: Some(ObservedStateMachine {
                arn: d.state_machine.arn.clone(),
                definition: reformatted(&d.state_machine.definition),
                role_arn: d.state_machine_role.arn.clone(),
            }),
            state_machine_tags: d.tags_all.clone(),
            found: Vec::new(),
        }
    }

    #[test]
    fn an_unchanged_pipeline_refreshes_to_exactly_the_plan() {
        let c = config();
        let d = desired(&c);
        let plan = planned(&c, &d);
        let (state, diags) = refreshed(&plan, "orders", &observed(&c, &d), &default_tags());
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(state, plan);
    }

    #[test]
    fn a_pipeline_without_its_job_is_drift_not_gone() {
        let c = config();
        let d = desired(&c);
        let plan = planned(&c, &d);
        let mut o = observed(&c, &d);
        o.job = None;
        o.artifacts = ArtifactUris::of_desired(&d);
        let (state, _) = refreshed(&plan, "orders", &o, &default_tags());
        assert!(state.attr("glue_job_name").is_null());
        assert!(state.attr("glue_job_non_overridable_arguments").is_null());
        // Everything else still exists and stays in state, so destroy finds it.
        for attr in [
            "glue_job_role_arn",
            "state_machine_arn",
            "spec_uri",
            "etl_binary_uri",
        ] {
            assert_eq!(state.attr(attr), plan.attr(attr), "{attr}");
        }
        assert_eq!(state.attr("runtime"), plan.attr("runtime"));
    }

    #[test]
    fn drift_takes_the_value_aws_holds() {
        let c = config();
        let d = desired(&c);
        let plan = planned(&c, &d);
        let mut o = observed(&c, &d);
        let job = o.job.as_mut().unwrap();
        job.default_arguments.insert("--extra".into(), "x".into());
        job.max_capacity = 1.0;
        let broad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        o.job_role.as_mut().unwrap().policy = Some(broad.into());
        o.state_machine.as_mut().unwrap().definition =
            r#"{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}"#.into();
        o.state_machine_tags.insert("extra".into(), "tag".into());
        let mut edited = c.spec.clone();
        edited.mapping[0].data_type = "string".into();
        o.spec = SpecObject::Present(Box::new(edited));
        let (state, _) = refreshed(&plan, "orders", &o, &default_tags());
        let get = |p: AttributePath| state.get(&p).clone();
        assert_eq!(
            get(AttributePath::root("glue_job_default_arguments").key("--extra")),
            Value::from("x")
        );
        assert_eq!(
            get(AttributePath::root("runtime").attr("max_capacity")),
            Value::from(1)
        );
        assert_eq!(
            get(AttributePath::root("glue_job_role_policy")),
            Value::from(broad)
        );
        assert_eq!(
            get(AttributePath::root("state_machine_definition")),
            Value::from(r#"{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}"#)
        );
        assert_eq!(
            get(AttributePath::root("tags_all").key("extra")),
            Value::from("tag")
        );
        assert_eq!(
            get(AttributePath::root("mapping").index(0).attr("type")),
            Value::from("string")
        );
        // Untouched children keep their planned form.
        assert_eq!(
            get(AttributePath::root("state_machine_role_policy")),
            plan.attr("state_machine_role_policy").clone()
        );
    }

    #[test]
    fn missing_children_go_null_so_the_plan_recreates_them() {
        let c = config();
        let d = desired(&c);
        let plan = planned(&c, &d);
        let mut o = observed(&c, &d);
        o.state_machine_role = None;
        o.state_machine = None;
        o.spec = SpecObject::Missing;
        o.launcher_exists = false;
        o.binary_metadata = None;
        let (state, _) = refreshed(&plan, "orders", &o, &default_tags());
        for attr in [
            "state_machine_role_arn",
            "state_machine_role_policy",
            "state_machine_arn",
            "state_machine_definition",
            "spec_uri",
            "launcher_uri",
            "etl_binary_uri",
        ] {
            assert!(state.attr(attr).is_null(), "{attr} = {}", state.attr(attr));
        }
        // The spec attributes stay as they were: the next apply uploads the spec again.
        assert_eq!(state.attr("mapping"), plan.attr("mapping"));
        assert_eq!(
            state.attr("glue_job_role_arn"),
            plan.attr("glue_job_role_arn")
        );
    }

    #[test]
    fn an_import_stub_is_completed_from_aws() {
        let c = config();
        let d = desired(&c);
        let plan = planned(&c, &d);
        let stub = Value::object([
            ("id", Value::from("orders")),
            ("name", Value::from("orders")),
        ]);
        let (state, _) = refreshed(&stub, "orders", &observed(&c, &d), &default_tags());
        assert_eq!(
            decode(&state).config,
            c,
            "configuration rebuilt from the spec, the job and S3 metadata"
        );
        assert_eq!(
            state.attr("tags"),
            &string_map(&c.tags),
            "default tags are not the resource's own"
        );
        for attr in [
            "spec_uri",
            "etl_binary_uri",
            "state_machine_arn",
            "glue_job_role_arn",
            "tags_all",
        ] {
            assert_eq!(state.attr(attr), plan.attr(attr), "{attr}");
        }
        for attr in ["glue_job_role_policy", "state_machine_definition"] {
            let (a, b) = (
                state.attr(attr).as_str().unwrap(),
                plan.attr(attr).as_str().unwrap(),
            );
            assert!(
                policies_equivalent(a, b) || definitions_equivalent(a, b),
                "{attr}"
            );
        }
        assert!(state.first_unknown().is_none());
    }

    #[test]
    fn an_import_reads_the_scale_out_from_the_definition() {
        let mut c = config();
        c.runtime.scale_out = ScaleOut {
            parallelism: Some(4),
            files_per_shard: Some(8),
        };
        c.runtime.max_concurrent_runs = 4;
        let d = desired(&c);
        assert!(d.state_machine.definition.contains("DISTRIBUTED"));
        let stub = Value::object([
            ("id", Value::from("orders")),
            ("name", Value::from("orders")),
        ]);
        let (state, _) = refreshed(&stub, "orders", &observed(&c, &d), &default_tags());
        assert_eq!(decode(&state).config.runtime.scale_out, c.runtime.scale_out);

        // A configured scale-out is kept, whatever the definition says (that is drift).
        let mut plan = planned(&c, &d);
        let mut runtime = plan.attr("runtime").clone();
        runtime.set_attr("parallelism", Value::from(2));
        plan.set_attr("runtime", runtime);
        let (state, _) = refreshed(&plan, "orders", &observed(&c, &d), &default_tags());
        assert_eq!(decode(&state).config.runtime.scale_out.parallelism, Some(2));
    }

    #[test]
    fn foreign_policies_and_an_unreadable_spec_are_warned_about() {
        let c = config();
        let d = desired(&c);
        let mut o = observed(&c, &d);
        o.job_role.as_mut().unwrap().foreign_policies =
            vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
        o.spec = SpecObject::Invalid("expected value".into());
        let (state, diags) = refreshed(&planned(&c, &d), "orders", &o, &default_tags());
        let summaries: Vec<&str> = diags.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Role has policies gluepipe does not manage",
                "Pipeline spec in S3 is not readable"
            ]
        );
        assert!(diags.iter().all(|d| !d.is_error()));
        assert!(state.attr("spec_uri").is_null());
    }
}
