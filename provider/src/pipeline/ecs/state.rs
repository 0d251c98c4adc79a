//! An ECS pipeline's state value, from what is desired (plan) or what AWS reports (refresh,
//! import, end of apply). Pure functions, following `pipeline::state`: equivalent values keep
//! their prior form, real differences take AWS's value, so drift shows in the next plan.
//!
//! The Python-shell-only computed attributes (`glue_*`, `launcher_uri`, `etl_binary_*`) are
//! null for an ECS pipeline, and the ECS ones are null for a Python-shell pipeline
//! ([`clear_ecs_attributes`]).

use std::collections::BTreeMap;

use super::asl::{self, RunTaskTarget};
use super::expand::{DesiredEcsPipeline, TaskDefinitionSettings};
use super::lifecycle::ObservedEcs;
use super::schema::{PYTHON_SHELL_ATTRIBUTES, PYTHON_SHELL_COMPUTED, ecs_computed};
use super::settings::{EcsSettings, KIND};
use crate::aws::iam_role::ObservedRole;
use crate::pipeline::lifecycle::SpecObject;
use crate::pipeline::model::RuntimeConfig;
use crate::pipeline::state::{
    artifact_location, child_warnings, refresh_spec, refresh_tags, replace_unknown, role_arn,
    set_planned_role, set_planned_state_machine, set_role_policies, set_state_machine,
};
use crate::pipeline::values::{encode_runtime, string_map};
use crate::protocol::{Diagnostics, Value};

/// Sets every computed attribute to the value `desired` will produce. `prior` is the state
/// being planned from: its task definition ARN stays when the task definition does not change
/// (a change registers a new revision, whose ARN only ECS knows).
pub fn set_planned(planned: &mut Value, desired: &DesiredEcsPipeline, prior: &Value) {
    let td_json = desired.task_definition.settings.to_json();
    let prior_arn = prior.attr("task_definition_arn");
    let same_revision = prior_arn.as_str().is_some()
        && parse_settings(prior.attr("task_definition"))
            .is_some_and(|s| s == desired.task_definition.settings);
    let task_definition_arn = if same_revision {
        prior_arn.clone()
    } else {
        Value::Unknown
    };
    for (attr, value) in [
        ("id", Value::from(&desired.names.pipeline)),
        ("tags_all", string_map(&desired.tags_all)),
        ("spec_uri", Value::from(desired.spec.uri.to_string())),
        ("task_definition_arn", task_definition_arn),
        ("task_definition", Value::from(td_json)),
    ] {
        planned.set_attr(attr, value);
    }
    set_planned_role(planned, "task_role", &desired.task_role);
    set_planned_role(planned, "execution_role", &desired.execution_role);
    set_planned_state_machine(planned, &desired.state_machine, &desired.state_machine_role);
    for attr in PYTHON_SHELL_COMPUTED {
        planned.set_attr(attr, Value::Null);
    }
}

/// Nulls the ECS computed attributes (for a Python-shell pipeline's plan and state).
pub fn clear_ecs_attributes(value: &mut Value) {
    for attr in ecs_computed() {
        value.set_attr(attr, Value::Null);
    }
}

fn parse_settings(value: &Value) -> Option<TaskDefinitionSettings> {
    serde_json::from_str(value.as_str()?).ok()
}

/// The state after reading every child of an ECS pipeline. `prior` is the state (or plan)
/// being refreshed; an import stub holds only `id` and `name`.
pub fn refreshed(
    prior: &Value,
    name: &str,
    observed: &ObservedEcs,
    default_tags: &BTreeMap<String, String>,
) -> (Value, Diagnostics) {
    let (mut state, before) = refresh_spec(prior, name, &observed.spec);
    crate::pipeline::state::set_instance_id(
        &mut state,
        prior,
        observed.found.iter().find_map(|f| f.owner.clone()),
    );

    let target = observed
        .state_machine
        .as_ref()
        .and_then(|m| asl::run_task_target(&m.definition));
    let runtime = observed_runtime(&before.runtime, name, observed, target.as_ref());
    if runtime != before.runtime {
        let mut block = encode_runtime(&runtime);
        for attr in PYTHON_SHELL_ATTRIBUTES {
            block.set_attr(attr, Value::Null);
        }
        state.set_attr("runtime", block);
    }

    // A task definition deregistered out of band: its attributes go null, so the plan shows
    // the drift and the next apply registers a revision again.
    let td = observed.task_definition.as_ref();
    let (task_role, execution_role, sm_role) = (
        observed.task_role.as_ref(),
        observed.execution_role.as_ref(),
        observed.state_machine_role.as_ref(),
    );
    let sm = observed.state_machine.as_ref();
    let task_definition = match (td, parse_settings(prior.attr("task_definition"))) {
        (None, _) => Value::Null,
        (Some(td), Some(s)) if s == td.settings => prior.attr("task_definition").clone(),
        (Some(td), _) => Value::from(td.settings.to_json()),
    };
    let td_role =
        |role: fn(&TaskDefinitionSettings) -> &str| td.map_or("", |td| role(&td.settings));
    for (attr, value) in [
        ("id", Value::from(name)),
        (
            "spec_uri",
            match (&observed.spec, &observed.spec_uri) {
                (SpecObject::Present(_), Some(uri)) => Value::from(uri.to_string()),
                _ => Value::Null,
            },
        ),
        (
            "task_definition_arn",
            td.map_or(Value::Null, |td| Value::from(&td.arn)),
        ),
        ("task_definition", task_definition),
        (
            "task_role_arn",
            role_arn(task_role, td_role(|s| &s.task_role_arn)),
        ),
        (
            "execution_role_arn",
            role_arn(execution_role, td_role(|s| &s.execution_role_arn)),
        ),
        (
            "state_machine_role_arn",
            role_arn(sm_role, sm.map_or("", |m| m.role_arn.as_str())),
        ),
    ] {
        state.set_attr(attr, value);
    }
    set_role_policies(&mut state, prior, "task_role", task_role);
    set_role_policies(&mut state, prior, "execution_role", execution_role);
    set_state_machine(&mut state, prior, sm, sm_role);
    for attr in PYTHON_SHELL_COMPUTED {
        state.set_attr(attr, Value::Null);
    }

    let children: Vec<&BTreeMap<String, String>> = td
        .map(|td| &td.tags)
        .into_iter()
        .chain(
            [task_role, execution_role, sm_role]
                .into_iter()
                .flatten()
                .map(|r| &r.tags),
        )
        .chain(sm.map(|_| &observed.state_machine_tags))
        .collect();
    refresh_tags(&mut state, prior, &children, default_tags);

    let roles: Vec<&ObservedRole> = [task_role, execution_role, sm_role]
        .into_iter()
        .flatten()
        .collect();
    let diags = child_warnings(&roles, &observed.spec);
    (replace_unknown(state), diags)
}

/// The runtime block as AWS has it: image and size from the task definition, network, cluster
/// and timeout from the state machine, the artifact location from the spec's folder. What
/// cannot be read back (a missing machine, an unrecognisable definition) keeps its prior value.
fn observed_runtime(
    before: &RuntimeConfig,
    name: &str,
    observed: &ObservedEcs,
    target: Option<&RunTaskTarget>,
) -> RuntimeConfig {
    let prior = &before.ecs;
    let settings = observed.task_definition.as_ref().map(|td| &td.settings);
    let container = settings.and_then(|s| s.container_definitions.first());
    let number = |text: &str, fallback: i64| text.parse().unwrap_or(fallback);
    let ecs = EcsSettings {
        cluster: match (target, &observed.state_machine) {
            // Import: a cluster of the pipeline's own account and region reads back as its
            // name, the form configurations usually use.
            (Some(t), Some(sm)) if prior.cluster.is_empty() => {
                imported_cluster(&t.cluster_arn, &sm.arn)
            }
            (Some(t), _) if !same_cluster(&prior.cluster, &t.cluster_arn) => t.cluster_arn.clone(),
            _ => prior.cluster.clone(),
        },
        subnets: target.map_or_else(|| prior.subnets.clone(), |t| t.subnets.clone()),
        security_groups: target.map_or_else(
            || prior.security_groups.clone(),
            |t| t.security_groups.clone(),
        ),
        image: container.map_or_else(|| prior.image.clone(), |c| c.image.clone()),
        cpu: settings.map_or(prior.cpu, |s| number(&s.cpu, prior.cpu)),
        memory: settings.map_or(prior.memory, |s| number(&s.memory, prior.memory)),
        assign_public_ip: target.map_or(prior.assign_public_ip, |t| t.assign_public_ip),
        cpu_architecture: match settings {
            Some(s) if !s.runtime_platform.cpu_architecture.is_empty() => {
                s.runtime_platform.cpu_architecture.clone()
            }
            _ => prior.cpu_architecture.clone(),
        },
    };
    let (artifact_bucket, artifact_prefix) =
        artifact_location(before, name, observed.folder.as_ref());
    RuntimeConfig {
        kind: KIND.into(),
        artifact_bucket,
        artifact_prefix,
        timeout_minutes: target.map_or(before.timeout_minutes, |t| t.timeout_seconds / 60),
        ecs,
        ..before.clone()
    }
}

/// A cluster ARN as an import writes it: the name if the cluster is in the state machine's
/// account and region, else the ARN.
fn imported_cluster(cluster_arn: &str, state_machine_arn: &str) -> String {
    let region_account = |arn: &str| {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        (parts.len() == 6).then(|| (parts[3].to_owned(), parts[4].to_owned()))
    };
    match cluster_arn.split_once(":cluster/") {
        Some((_, name))
            if region_account(cluster_arn).is_some()
                && region_account(cluster_arn) == region_account(state_machine_arn) =>
        {
            name.to_owned()
        }
        _ => cluster_arn.to_owned(),
    }
}

/// Whether a configured cluster (name or ARN) is the one a definition names by ARN.
fn same_cluster(configured: &str, arn: &str) -> bool {
    configured == arn
        || (!configured.starts_with("arn:")
            && !configured.is_empty()
            && arn.ends_with(&format!(":cluster/{configured}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::aws::ecs_task_definition::ObservedTaskDefinition;
    use crate::aws::state_machine::ObservedStateMachine;
    use crate::pipeline::ecs::expand::{EcsExpandInput, expand};
    use crate::pipeline::model::PipelineConfig;
    use crate::pipeline::names::AwsEnv;
    use crate::pipeline::values::{decode, encode_spec};
    use gluepipe_spec::PipelineSpec;

    fn config() -> PipelineConfig {
        let spec = PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "target": {"path": "s3://curated-bucket/orders/"}}"#,
        )
        .unwrap();
        let mut runtime = RuntimeConfig::new("artifact-bucket", "");
        runtime.kind = KIND.into();
        runtime.ecs = EcsSettings {
            cluster: "etl".into(),
            subnets: vec!["subnet-0a1b2c3d".into()],
            security_groups: vec!["sg-12345678".into()],
            image: "gluepipe-etl:1".into(),
            ..EcsSettings::default()
        };
        PipelineConfig {
            spec,
            runtime,
            tags: BTreeMap::from([("team".into(), "data".into())]),
        }
    }

    fn default_tags() -> BTreeMap<String, String> {
        BTreeMap::from([("env".into(), "test".into())])
    }

    fn desired(config: &PipelineConfig) -> DesiredEcsPipeline {
        let mut tags_all = default_tags();
        tags_all.extend(config.tags.clone());
        expand(&EcsExpandInput {
            config,
            env: &AwsEnv::new("us-east-1", "123456789012"),
            tags_all: &tags_all,
            source_table_location: None,
        })
    }

    /// The same JSON, laid out differently (as AWS hands documents back).
    fn reformatted(json: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let compact = serde_json::to_string(&value).unwrap();
        if compact == json {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            compact
        }
    }

    const TD_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:1";

    /// What AWS reports for a pipeline converged to `desired` (IAM re-encodes documents).
    fn observed(desired: &DesiredEcsPipeline, config: &PipelineConfig) -> ObservedEcs {
        let role = |r: &crate::pipeline::expand::RoleSpec| ObservedRole {
            name: r.name.clone(),
            arn: r.arn.clone(),
            assume_role_policy: reformatted(&r.assume_role_policy.to_json()),
            policy: Some(r.policy.to_json()),
            foreign_policies: Vec::new(),
            tags: r.tags.clone(),
        };
        ObservedEcs {
            task_definition: Some(ObservedTaskDefinition {
                arn: TD_ARN.into(),
                settings: desired.task_definition.settings.clone(),
                tags: desired.tags_all.clone(),
            }),
            spec_uri: Some(desired.spec.uri.clone()),
            folder: Some(desired.spec.folder.clone()),
            spec: SpecObject::Present(Box::new(config.spec.clone())),
            task_role: Some(role(&desired.task_role)),
            execution_role: Some(role(&desired.execution_role)),
            state_machine_role: Some(role(&desired.state_machine_role)),
            state_machine: Some(ObservedStateMachine {
                arn: desired.state_machine.arn.clone(),
                definition: reformatted(&desired.state_machine.definition),
                role_arn: desired.state_machine.role_arn.clone(),
            }),
            state_machine_tags: desired.tags_all.clone(),
            found: Vec::new(),
        }
    }

    /// The configuration as Terraform would hold it in state (spec, runtime, tags).
    fn state_of(config: &PipelineConfig) -> Value {
        let mut v = Value::Object(BTreeMap::new());
        for (attr, value) in encode_spec(&config.spec) {
            v.set_attr(&attr, value);
        }
        let mut runtime = encode_runtime(&config.runtime);
        for attr in PYTHON_SHELL_ATTRIBUTES {
            runtime.set_attr(attr, Value::Null);
        }
        v.set_attr("runtime", runtime);
        v.set_attr("tags", string_map(&config.tags));
        v
    }

    #[test]
    fn plan_then_refresh_of_an_unchanged_pipeline_agree() {
        let config = config();
        let desired = desired(&config);
        let mut planned = state_of(&config);
        set_planned(&mut planned, &desired, &Value::Null);
        assert_eq!(
            planned.attr("task_definition_arn"),
            &Value::Unknown,
            "new revision"
        );
        for attr in PYTHON_SHELL_COMPUTED {
            assert!(planned.attr(attr).is_null(), "{attr}");
        }
        let (state, diags) = refreshed(
            &planned,
            "orders",
            &observed(&desired, &config),
            &default_tags(),
        );
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(state.attr("task_definition_arn"), &Value::from(TD_ARN));
        // Everything planned (known) reads back identically: no perpetual diff.
        let Value::Object(attrs) = &planned else {
            panic!()
        };
        for (attr, value) in attrs {
            if value.is_known() {
                assert_eq!(state.attr(attr), value, "{attr}");
            }
        }
        // The next plan keeps the revision's ARN.
        let mut next = state_of(&config);
        set_planned(&mut next, &desired, &state);
        assert_eq!(next.attr("task_definition_arn"), &Value::from(TD_ARN));
    }

    #[test]
    fn drift_shows_in_the_attributes() {
        let config = config();
        let desired = desired(&config);
        let mut planned = state_of(&config);
        set_planned(&mut planned, &desired, &Value::Null);
        let (state, _) = refreshed(
            &planned,
            "orders",
            &observed(&desired, &config),
            &default_tags(),
        );

        let mut o = observed(&desired, &config);
        let td = o.task_definition.as_mut().unwrap();
        td.settings.container_definitions[0].image = "other:2".into();
        td.settings.memory = "4096".into();
        o.task_role.as_mut().unwrap().policy =
            Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into());
        o.state_machine = None;
        o.execution_role = None;
        let (drifted, _) = refreshed(&state, "orders", &o, &default_tags());
        let rt = drifted.attr("runtime");
        assert_eq!(rt.attr("image"), &Value::from("other:2"));
        assert_eq!(rt.attr("memory"), &Value::from(4096));
        assert_eq!(
            rt.attr("cluster"),
            &Value::from("etl"),
            "kept: machine unreadable"
        );
        assert_ne!(
            drifted.attr("task_definition"),
            state.attr("task_definition")
        );
        assert_ne!(
            drifted.attr("task_role_policy"),
            state.attr("task_role_policy")
        );
        assert!(drifted.attr("state_machine_arn").is_null());
        assert!(drifted.attr("execution_role_arn").is_null());
        // The plan against the drifted state registers a new revision.
        let mut next = state_of(&config);
        set_planned(&mut next, &desired, &drifted);
        assert_eq!(next.attr("task_definition_arn"), &Value::Unknown);
    }

    #[test]
    fn import_rebuilds_the_configuration() {
        let config = config();
        let desired = desired(&config);
        let stub = Value::object([
            ("id", Value::from("orders")),
            ("name", Value::from("orders")),
        ]);
        let (state, diags) = refreshed(
            &stub,
            "orders",
            &observed(&desired, &config),
            &default_tags(),
        );
        assert!(diags.is_empty(), "{diags}");
        let back = decode(&state);
        assert!(back.diags.is_empty(), "{}", back.diags);
        assert_eq!(back.config.spec, config.spec);
        let rt = &back.config.runtime;
        assert_eq!(rt.kind, "ecs");
        assert_eq!(rt.artifact_bucket, "artifact-bucket");
        assert_eq!(rt.artifact_prefix, "gluepipe/");
        assert_eq!(rt.timeout_minutes, 60);
        assert_eq!(rt.ecs, config.runtime.ecs, "the cluster reads back by name");
        assert_eq!(
            state.attr("tags"),
            &string_map(&config.tags),
            "default tags removed"
        );
        for attr in PYTHON_SHELL_ATTRIBUTES {
            assert!(state.attr("runtime").attr(attr).is_null(), "{attr}");
        }
    }

    #[test]
    fn imported_clusters_are_named_when_local() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:orders";
        let cases = [
            ("arn:aws:ecs:us-east-1:123456789012:cluster/etl", "etl"),
            (
                "arn:aws:ecs:us-east-1:210987654321:cluster/shared",
                "arn:aws:ecs:us-east-1:210987654321:cluster/shared",
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:cluster/etl",
                "arn:aws:ecs:eu-west-1:123456789012:cluster/etl",
            ),
            ("etl", "etl"),
        ];
        for (arn, want) in cases {
            assert_eq!(imported_cluster(arn, sm), want, "{arn}");
        }
    }

    #[test]
    fn clusters_match_by_name_or_arn() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/etl";
        assert!(same_cluster("etl", arn));
        assert!(same_cluster(arn, arn));
        assert!(!same_cluster("other", arn));
        assert!(!same_cluster("", arn));
        assert!(!same_cluster(
            "arn:aws:ecs:us-east-1:123456789012:cluster/x",
            arn
        ));
    }

    #[test]
    fn ecs_attributes_clear_for_python_shell() {
        let mut v = Value::object([
            ("task_role_arn", Value::from("x")),
            ("name", Value::from("n")),
        ]);
        clear_ecs_attributes(&mut v);
        for attr in ecs_computed() {
            assert!(v.attr(attr).is_null(), "{attr}");
        }
        assert_eq!(v.attr("name"), &Value::from("n"));
    }
}
