//! What an ECS pipeline becomes in AWS: a pure function from the resource configuration to the
//! desired spec object, task definition, the task, execution and state machine roles, and the
//! state machine. No AWS calls here (`aws::ecs_task_definition` and the shared child modules
//! send these values).
//!
//! Names: the task definition family and the state machine are the pipeline name; the roles are
//! `<name>-task`, `<name>-exec` and `<name>-sfn` under `/gluepipe/`; the log group is
//! `/gluepipe/<name>`; the spec is `s3://<artifact_bucket>/<artifact_prefix><name>/spec.json`,
//! as for the Python-shell runtime. The image holds the binary, so nothing else is uploaded.

use std::collections::BTreeMap;

use gluepipe_spec::S3Uri;
use serde::{Deserialize, Serialize};

use super::asl::{self, CONTAINER_NAME, RunTaskTarget};
use super::iam::{self, RunTaskScope};
use super::settings::{Cluster, EcsSettings, resolve_cluster};
use crate::pipeline::expand::{
    RoleSpec, SPEC_OBJECT, StateMachineSpec, artifact_folder, source_data_location,
    states_trust_policy,
};
use crate::pipeline::model::PipelineConfig;
use crate::pipeline::names::{AwsEnv, Names, ROLE_PATH, role_arn};

const TASK_ROLE_SUFFIX: &str = "-task";
const EXECUTION_ROLE_SUFFIX: &str = "-exec";
/// Inline policy names (one per role; the roles are owned by the pipeline).
pub const TASK_POLICY_NAME: &str = "gluepipe-task";
pub const EXECUTION_POLICY_NAME: &str = "gluepipe-pull-and-log";
pub const STATE_MACHINE_POLICY_NAME: &str = "gluepipe-run-task";
/// Log groups are `/gluepipe/<name>`; streams `gluepipe/gluepipe-etl/<task id>`.
pub const LOG_GROUP_PREFIX: &str = "/gluepipe/";
pub const LOG_STREAM_PREFIX: &str = "gluepipe";
/// The container's command when an execution gives no `args`: flags for a non-interactive run.
/// (Set explicitly so the image's own `CMD` never applies.)
pub const DEFAULT_COMMAND: [&str; 1] = ["--no-progress"];

/// The names of an ECS pipeline's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsNames {
    pub pipeline: String,
    pub family: String,
    pub task_role: String,
    pub execution_role: String,
    pub state_machine: String,
    pub state_machine_role: String,
    pub log_group: String,
}

impl EcsNames {
    pub fn new(pipeline: &str) -> Self {
        let shared = Names::new(pipeline);
        Self {
            pipeline: pipeline.to_string(),
            family: pipeline.to_string(),
            task_role: format!("{pipeline}{TASK_ROLE_SUFFIX}"),
            execution_role: format!("{pipeline}{EXECUTION_ROLE_SUFFIX}"),
            state_machine: shared.state_machine,
            state_machine_role: shared.state_machine_role,
            log_group: format!("{LOG_GROUP_PREFIX}{pipeline}"),
        }
    }
}

/// The ARNs known before anything exists (a task definition's ARN names its revision, which
/// only ECS assigns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsArns {
    pub task_role: String,
    pub execution_role: String,
    pub state_machine: String,
    pub state_machine_role: String,
}

impl EcsArns {
    pub fn new(env: &AwsEnv, names: &EcsNames) -> Self {
        let shared = crate::pipeline::names::Arns::new(env, &Names::new(&names.pipeline));
        Self {
            task_role: role_arn(env, &names.task_role),
            execution_role: role_arn(env, &names.execution_role),
            state_machine: shared.state_machine,
            state_machine_role: shared.state_machine_role,
        }
    }
}

/// Everything `expand` needs besides the configuration.
#[derive(Debug, Clone)]
pub struct EcsExpandInput<'a> {
    pub config: &'a PipelineConfig,
    pub env: &'a AwsEnv,
    /// The provider's `default_tags` overlaid with the resource's `tags`.
    pub tags_all: &'a BTreeMap<String, String>,
    /// For a catalog-table source, the table's S3 location (`None` while it cannot be looked
    /// up; the task policy then lacks the source-data statements).
    pub source_table_location: Option<&'a S3Uri>,
}

/// The desired state of every child of an ECS pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredEcsPipeline {
    pub names: EcsNames,
    pub arns: EcsArns,
    pub cluster: Cluster,
    pub tags_all: BTreeMap<String, String>,
    pub spec: SpecArtifact,
    pub task_role: RoleSpec,
    pub execution_role: RoleSpec,
    pub state_machine_role: RoleSpec,
    pub task_definition: TaskDefinitionSpec,
    pub state_machine: StateMachineSpec,
    /// False when the task policy could not yet include the catalog source's data location.
    pub source_resolved: bool,
}

/// The pipeline spec in S3, the one artifact the ECS runtime uploads.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecArtifact {
    /// The pipeline's artifact folder (deleted with the pipeline).
    pub folder: S3Uri,
    pub uri: S3Uri,
    pub json: String,
}

/// A task definition family and the revision it should have.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionSpec {
    pub family: String,
    pub settings: TaskDefinitionSettings,
    pub tags: BTreeMap<String, String>,
}

/// What `RegisterTaskDefinition` sets and `DescribeTaskDefinition` reports back, in the API's
/// own field names (the `task_definition` attribute shows this JSON). Compared as a whole: any
/// difference is a new revision. Fields AWS fills in by itself (`compatibilities`,
/// `requiresAttributes`, a container's `cpu: 0`, …) are not part of it, so they never drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionSettings {
    pub requires_compatibilities: Vec<String>,
    pub network_mode: String,
    pub cpu: String,
    pub memory: String,
    pub runtime_platform: RuntimePlatform,
    pub task_role_arn: String,
    pub execution_role_arn: String,
    pub container_definitions: Vec<ContainerSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    pub operating_system_family: String,
    pub cpu_architecture: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSettings {
    pub name: String,
    pub image: String,
    pub essential: bool,
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    /// Sorted by name (ECS keeps the order it was given; the order means nothing).
    pub environment: Vec<EnvironmentVariable>,
    pub log_configuration: LogSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSettings {
    pub log_driver: String,
    pub options: BTreeMap<String, String>,
}

impl TaskDefinitionSettings {
    /// Pretty JSON (the `task_definition` attribute).
    pub fn to_json(&self) -> String {
        // Strings, booleans, vectors and string maps always serialise.
        serde_json::to_string_pretty(self).expect("task definitions serialise")
    }

    /// The spec object the container runs (`gluepipe-etl run <spec>`), if it is one.
    pub fn spec_uri(&self) -> Option<S3Uri> {
        let entry = &self.container_definitions.first()?.entry_point;
        let i = entry.iter().position(|a| a == "run")?;
        S3Uri::parse(entry.get(i + 1)?).ok()
    }
}

/// Expands a (validated) ECS configuration into the desired AWS state.
pub fn expand(input: &EcsExpandInput<'_>) -> DesiredEcsPipeline {
    let config = input.config;
    let env = input.env;
    let ecs = &config.runtime.ecs;
    let names = EcsNames::new(config.name());
    let arns = EcsArns::new(env, &names);
    let cluster = resolve_cluster(&ecs.cluster, env);
    let tags_all = input.tags_all.clone();

    let folder = artifact_folder(config);
    let spec = SpecArtifact {
        uri: folder.join(SPEC_OBJECT),
        json: config.spec.to_json_pretty(),
        folder,
    };

    let source_data = source_data_location(&config.spec, input.source_table_location);
    let role = |name: &str, what: &str, trust, policy_name: &str, policy, arn: &str| RoleSpec {
        name: name.to_string(),
        path: ROLE_PATH.into(),
        arn: arn.to_string(),
        description: format!("gluepipe pipeline {}: {what}", names.pipeline),
        assume_role_policy: trust,
        policy_name: policy_name.into(),
        policy,
        tags: tags_all.clone(),
    };
    let task_role = role(
        &names.task_role,
        "the ECS task's role",
        iam::task_trust_policy(env),
        TASK_POLICY_NAME,
        iam::task_policy(&config.spec, env, &spec.uri, source_data.as_ref()),
        &arns.task_role,
    );
    let execution_role = role(
        &names.execution_role,
        "the ECS task execution role",
        iam::execution_trust_policy(),
        EXECUTION_POLICY_NAME,
        iam::execution_policy(env, &ecs.image, &names.log_group),
        &arns.execution_role,
    );
    let state_machine_role = role(
        &names.state_machine_role,
        "the state machine's role",
        states_trust_policy(env, &arns.state_machine),
        STATE_MACHINE_POLICY_NAME,
        iam::state_machine_policy(
            env,
            &RunTaskScope {
                cluster: &cluster,
                family: &names.family,
                task_role_arn: &arns.task_role,
                execution_role_arn: &arns.execution_role,
            },
        ),
        &arns.state_machine_role,
    );

    let task_definition = TaskDefinitionSpec {
        family: names.family.clone(),
        settings: task_definition_settings(env, ecs, &names, &arns, &spec.uri),
        tags: tags_all.clone(),
    };
    let target = RunTaskTarget {
        cluster_arn: cluster.arn.clone(),
        family: names.family.clone(),
        subnets: ecs.subnets.clone(),
        security_groups: ecs.security_groups.clone(),
        assign_public_ip: ecs.assign_public_ip,
        timeout_seconds: config.runtime.timeout_minutes.saturating_mul(60),
    };
    let state_machine = StateMachineSpec {
        name: names.state_machine.clone(),
        arn: arns.state_machine.clone(),
        role_arn: arns.state_machine_role.clone(),
        definition: asl::definition(&names.pipeline, &target),
        tags: tags_all.clone(),
    };
    DesiredEcsPipeline {
        source_resolved: source_data.is_some(),
        names,
        arns,
        cluster,
        tags_all,
        spec,
        task_role,
        execution_role,
        state_machine_role,
        task_definition,
        state_machine,
    }
}

/// A Fargate task (Linux, x86-64: the binary's platform) with one container that runs
/// `gluepipe-etl run <spec>` and logs to the pipeline's log group.
fn task_definition_settings(
    env: &AwsEnv,
    ecs: &EcsSettings,
    names: &EcsNames,
    arns: &EcsArns,
    spec: &S3Uri,
) -> TaskDefinitionSettings {
    let log_options = BTreeMap::from([
        ("awslogs-group".to_string(), names.log_group.clone()),
        ("awslogs-region".into(), env.region.clone()),
        ("awslogs-stream-prefix".into(), LOG_STREAM_PREFIX.into()),
        // Created by the first task; it outlives the pipeline, as Glue's log groups do.
        ("awslogs-create-group".into(), "true".into()),
    ]);
    TaskDefinitionSettings {
        requires_compatibilities: vec!["FARGATE".into()],
        network_mode: "awsvpc".into(),
        cpu: ecs.cpu.to_string(),
        memory: ecs.memory.to_string(),
        runtime_platform: RuntimePlatform {
            operating_system_family: "LINUX".into(),
            cpu_architecture: "X86_64".into(),
        },
        task_role_arn: arns.task_role.clone(),
        execution_role_arn: arns.execution_role.clone(),
        container_definitions: vec![ContainerSettings {
            name: CONTAINER_NAME.into(),
            image: ecs.image.clone(),
            essential: true,
            // The spec is part of the entry point, so an execution's command override (its
            // `args`) adds flags but cannot run another spec.
            entry_point: vec!["gluepipe-etl".into(), "run".into(), spec.to_string()],
            command: DEFAULT_COMMAND.iter().map(|s| s.to_string()).collect(),
            environment: vec![EnvironmentVariable {
                name: "AWS_REGION".into(),
                value: env.region.clone(),
            }],
            log_configuration: LogSettings {
                log_driver: "awslogs".into(),
                options: log_options,
            },
        }],
    }
}
