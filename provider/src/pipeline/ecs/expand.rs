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
        json: config.spec.for_upload().to_json_pretty(),
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

/// A Fargate task (Linux on the configured CPU architecture) with one container that runs
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
            cpu_architecture: ecs.cpu_architecture.clone(),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::{Value, json};

    use super::*;
    use crate::pipeline::expand::{ExpandInput, expand as expand_glue};
    use crate::pipeline::model::RuntimeConfig;
    use crate::pipeline::names::MAX_NAME_LEN;
    use crate::pipeline::policy::PolicyDocument;
    use gluepipe_spec::PipelineSpec;
    use gluepipe_spec::pipeline::{DataQuality, OnFailure, Source, Target};

    const ECR_IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl:1.0";

    fn env() -> AwsEnv {
        AwsEnv::new("us-east-1", "123456789012")
    }

    fn config() -> PipelineConfig {
        let spec = PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "target": {"path": "s3://curated-bucket/orders/"}}"#,
        )
        .unwrap();
        let mut runtime = RuntimeConfig::new("artifact-bucket", "");
        runtime.kind = "ecs".into();
        runtime.ecs = EcsSettings {
            cluster: "etl".into(),
            subnets: vec!["subnet-0a1b2c3d".into(), "subnet-1a2b3c4d".into()],
            security_groups: vec!["sg-12345678".into()],
            image: ECR_IMAGE.into(),
            cpu: 2048,
            memory: 4096,
            assign_public_ip: false,
            cpu_architecture: "X86_64".into(),
        };
        PipelineConfig {
            spec,
            runtime,
            tags: BTreeMap::from([("team".into(), "data".into())]),
        }
    }

    fn catalog_config() -> PipelineConfig {
        let mut config = config();
        config.spec.source = Source {
            catalog_database: Some("raw".into()),
            catalog_table: Some("orders_json".into()),
            ..Source::default()
        };
        config.spec.target = Target {
            catalog_database: Some("curated".into()),
            catalog_table: Some("orders".into()),
            ..config.spec.target.clone()
        };
        config.spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [ ColumnCount > 0 ]".into(),
            on_failure: OnFailure::Quarantine,
            results_path: Some("s3://dq-bucket/results/".into()),
            quarantine_path: None,
        });
        config
    }

    fn tags_all() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("env".into(), "test".into()),
            ("team".into(), "data".into()),
        ])
    }

    fn run(config: &PipelineConfig, table_location: Option<&S3Uri>) -> DesiredEcsPipeline {
        expand(&EcsExpandInput {
            config,
            env: &env(),
            tags_all: &tags_all(),
            source_table_location: table_location,
        })
    }

    fn json_of(doc: &PolicyDocument) -> Value {
        serde_json::from_str(&doc.to_json()).unwrap()
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    /// The statements of a policy as sent, by Sid: (actions, resources, conditions).
    fn grants(doc: &PolicyDocument) -> BTreeMap<String, (Vec<String>, Vec<String>, Value)> {
        json_of(doc)["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["Sid"].as_str().unwrap().to_string(),
                    (
                        strings(&s["Action"]),
                        strings(&s["Resource"]),
                        s.get("Condition").cloned().unwrap_or(Value::Null),
                    ),
                )
            })
            .collect()
    }

    /// Allow only; no wildcard actions; the bare `*` resource only for the actions in
    /// `star_ok` (and then alone); other wildcards only at the end of an ARN.
    fn assert_least_privilege(doc: &PolicyDocument, star_ok: &[&str]) {
        for (sid, (actions, resources, _)) in grants(doc) {
            for action in &actions {
                assert!(!action.contains('*'), "{sid}: wildcard action {action}");
            }
            assert!(!resources.is_empty(), "{sid} has no resource");
            for resource in &resources {
                if resource == "*" {
                    assert!(
                        actions.iter().all(|a| star_ok.contains(&a.as_str())),
                        "{sid}: * resource for {actions:?}"
                    );
                    continue;
                }
                assert!(resource.starts_with("arn:aws:"), "{resource}");
                if let Some(i) = resource.find('*') {
                    assert_eq!(i, resource.len() - 1, "{sid}: wildcard inside {resource}");
                }
            }
        }
        for s in json_of(doc)["Statement"].as_array().unwrap() {
            assert_eq!(s["Effect"], "Allow");
        }
    }

    #[test]
    fn children_are_named_after_the_pipeline() {
        let d = run(&config(), None);
        assert_eq!(d.names.family, "orders");
        assert_eq!(d.names.state_machine, "orders");
        assert_eq!(d.names.task_role, "orders-task");
        assert_eq!(d.names.execution_role, "orders-exec");
        assert_eq!(d.names.state_machine_role, "orders-sfn");
        assert_eq!(d.names.log_group, "/gluepipe/orders");
        assert_eq!(
            d.arns.task_role,
            "arn:aws:iam::123456789012:role/gluepipe/orders-task"
        );
        assert_eq!(
            d.arns.execution_role,
            "arn:aws:iam::123456789012:role/gluepipe/orders-exec"
        );
        assert_eq!(
            d.cluster.arn,
            "arn:aws:ecs:us-east-1:123456789012:cluster/etl"
        );
        let longest = EcsNames::new(&"a".repeat(MAX_NAME_LEN));
        for role in [
            &longest.task_role,
            &longest.execution_role,
            &longest.state_machine_role,
        ] {
            assert!(role.len() <= 64, "{role}");
        }
    }

    #[test]
    fn task_definition_runs_the_spec_on_fargate() {
        let d = run(&config(), None);
        let td = &d.task_definition;
        assert_eq!(td.family, "orders");
        assert_eq!(td.tags, tags_all());
        let s = &td.settings;
        assert_eq!(s.requires_compatibilities, ["FARGATE"]);
        assert_eq!(s.network_mode, "awsvpc");
        assert_eq!((s.cpu.as_str(), s.memory.as_str()), ("2048", "4096"));
        assert_eq!(s.runtime_platform.operating_system_family, "LINUX");
        assert_eq!(s.runtime_platform.cpu_architecture, "X86_64");
        let mut graviton = config();
        graviton.runtime.ecs.cpu_architecture = "ARM64".into();
        let arm = run(&graviton, None).task_definition.settings;
        assert_eq!(arm.runtime_platform.cpu_architecture, "ARM64");
        assert_eq!(s.task_role_arn, d.task_role.arn);
        assert_eq!(s.execution_role_arn, d.execution_role.arn);
        assert_eq!(s.container_definitions.len(), 1);
        let c = &s.container_definitions[0];
        assert_eq!(c.name, "gluepipe-etl");
        assert_eq!(c.image, ECR_IMAGE);
        assert!(c.essential);
        assert_eq!(
            c.entry_point,
            [
                "gluepipe-etl",
                "run",
                "s3://artifact-bucket/gluepipe/orders/spec.json"
            ]
        );
        assert_eq!(c.command, ["--no-progress"], "never the image's CMD");
        assert_eq!(
            c.environment,
            [EnvironmentVariable {
                name: "AWS_REGION".into(),
                value: "us-east-1".into()
            }]
        );
        assert_eq!(c.log_configuration.log_driver, "awslogs");
        assert_eq!(
            c.log_configuration.options,
            BTreeMap::from([
                ("awslogs-create-group".to_string(), "true".to_string()),
                ("awslogs-group".into(), "/gluepipe/orders".into()),
                ("awslogs-region".into(), "us-east-1".into()),
                ("awslogs-stream-prefix".into(), "gluepipe".into()),
            ])
        );
        assert_eq!(s.spec_uri(), Some(d.spec.uri.clone()));
        assert_eq!(
            d.spec.uri.to_string(),
            "s3://artifact-bucket/gluepipe/orders/spec.json"
        );
        assert_eq!(
            PipelineSpec::from_json(&d.spec.json).unwrap(),
            config().spec.for_upload()
        );

        // The JSON attribute has the API's field names and reads back as the same settings.
        let j: Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(j["networkMode"], "awsvpc");
        assert_eq!(j["containerDefinitions"][0]["entryPoint"][1], "run");
        assert_eq!(
            j["containerDefinitions"][0]["logConfiguration"]["logDriver"],
            "awslogs"
        );
        let back: TaskDefinitionSettings = serde_json::from_value(j).unwrap();
        assert_eq!(&back, s);
    }

    #[test]
    fn task_role_gets_exactly_the_glue_roles_data_access() {
        let location = S3Uri::parse("s3://raw-bucket/tables/orders_json/").unwrap();
        for (config, table) in [(config(), None), (catalog_config(), Some(&location))] {
            let ecs = run(&config, table);
            assert!(ecs.source_resolved);
            assert_least_privilege(&ecs.task_role.policy, &[]);
            let g = grants(&ecs.task_role.policy);
            assert_eq!(g["ReadSpec"].0, ["s3:GetObject"]);
            assert_eq!(
                g["ReadSpec"].1,
                ["arn:aws:s3:::artifact-bucket/gluepipe/orders/spec.json"],
                "the spec object only, not the artifact folder"
            );
            // Same statements as the Glue job role, minus what only Glue needs.
            let glue = expand_glue(&ExpandInput {
                config: &config,
                env: &env(),
                etl_binary: &crate::pipeline::etl_binary::EtlBinary {
                    path: "bin/gluepipe-etl".into(),
                    sha256: "0".repeat(64),
                    explicit: true,
                },
                tags_all: &tags_all(),
                source_table_location: table,
            });
            let glue_data: Vec<_> = glue
                .job_role
                .policy
                .statements
                .iter()
                .filter(|s| {
                    ![
                        "ReadArtifacts",
                        "CreateLogGroups",
                        "CreateLogStreams",
                        "WriteLogs",
                    ]
                    .contains(&s.sid.as_str())
                })
                .cloned()
                .collect();
            let ecs_data: Vec<_> = ecs
                .task_role
                .policy
                .statements
                .iter()
                .filter(|s| s.sid != "ReadSpec")
                .cloned()
                .collect();
            assert!(!ecs_data.is_empty());
            assert_eq!(ecs_data, glue_data);
            // The container writes no logs itself (the execution role does) and pulls nothing.
            assert!(
                ecs.task_role
                    .policy
                    .actions()
                    .all(|a| !a.starts_with("logs:") && !a.starts_with("ecr:")),
                "{:?}",
                ecs.task_role.policy.actions().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn unresolved_catalog_location_grants_no_source_data() {
        let d = run(&catalog_config(), None);
        assert!(!d.source_resolved);
        assert!(d.task_role.policy.statement("ReadSourceData").is_none());
        assert!(d.task_role.policy.statement("ReadSourceTable").is_some());
    }

    #[test]
    fn execution_role_pulls_from_its_repository_and_logs_to_its_group() {
        let d = run(&config(), None);
        let policy = &d.execution_role.policy;
        assert_least_privilege(policy, &["ecr:GetAuthorizationToken"]);
        let g = grants(policy);
        assert_eq!(g.len(), 4, "{g:?}");
        assert_eq!(
            g["PullImage"].0,
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer"
            ]
        );
        assert_eq!(
            g["PullImage"].1,
            ["arn:aws:ecr:us-east-1:123456789012:repository/gluepipe-etl"]
        );
        assert_eq!(
            g["GetEcrToken"],
            (
                vec!["ecr:GetAuthorizationToken".into()],
                vec!["*".into()],
                Value::Null
            )
        );
        assert_eq!(
            g["CreateLogGroup"].1,
            ["arn:aws:logs:us-east-1:123456789012:log-group:/gluepipe/orders:*"]
        );
        assert_eq!(g["WriteLogs"].0, ["logs:PutLogEvents"]);
        assert_eq!(
            g["CreateLogGroup"].0,
            ["logs:CreateLogGroup", "logs:CreateLogStream"]
        );
        assert_eq!(
            g["WriteLogs"].1,
            ["arn:aws:logs:us-east-1:123456789012:log-group:/gluepipe/orders:log-stream:*"]
        );
        // An image from a public registry needs no ECR permission at all.
        let mut public = config();
        public.runtime.ecs.image = "ghcr.io/acme/gluepipe-etl:1".into();
        let policy = run(&public, None).execution_role.policy;
        assert_least_privilege(&policy, &[]);
        assert!(policy.actions().all(|a| a.starts_with("logs:")));
    }

    #[test]
    fn state_machine_role_may_only_run_this_task() {
        let d = run(&config(), None);
        let policy = &d.state_machine_role.policy;
        assert_least_privilege(policy, &[]);
        let g = grants(policy);
        let sids: Vec<&str> = g.keys().map(String::as_str).collect();
        assert_eq!(
            sids,
            [
                "PassTaskRoles",
                "ReceiveTaskEvents",
                "RunTask",
                "WatchAndStopTasks"
            ]
        );

        let (actions, resources, condition) = &g["RunTask"];
        assert_eq!(actions, &["ecs:RunTask"]);
        assert_eq!(
            resources,
            &["arn:aws:ecs:us-east-1:123456789012:task-definition/orders:*"]
        );
        assert_eq!(
            condition,
            &json!({"ArnEquals": {"ecs:cluster": ["arn:aws:ecs:us-east-1:123456789012:cluster/etl"]}})
        );
        let (actions, resources, condition) = &g["WatchAndStopTasks"];
        assert_eq!(actions, &["ecs:DescribeTasks", "ecs:StopTask"]);
        assert_eq!(
            resources,
            &["arn:aws:ecs:us-east-1:123456789012:task/etl/*"]
        );
        assert!(condition.is_null());
        let (actions, resources, _) = &g["ReceiveTaskEvents"];
        assert_eq!(
            actions,
            &["events:DescribeRule", "events:PutRule", "events:PutTargets"]
        );
        assert_eq!(
            resources,
            &["arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"]
        );
        let (actions, resources, condition) = &g["PassTaskRoles"];
        assert_eq!(actions, &["iam:PassRole"]);
        let mut roles = vec![d.execution_role.arn.clone(), d.task_role.arn.clone()];
        roles.sort();
        assert_eq!(resources, &roles, "these two roles only");
        assert_eq!(
            condition,
            &json!({"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}})
        );
        assert!(policy.actions().all(|a| !a.starts_with("glue:")));

        // A cluster named by ARN in another account: tasks are matched in that account.
        let mut shared = config();
        shared.runtime.ecs.cluster = "arn:aws:ecs:us-east-1:210987654321:cluster/shared".into();
        let g = grants(&run(&shared, None).state_machine_role.policy);
        assert_eq!(
            g["WatchAndStopTasks"].1,
            ["arn:aws:ecs:us-east-1:210987654321:task/shared/*"]
        );
        assert_eq!(
            g["RunTask"].2["ArnEquals"]["ecs:cluster"],
            json!(["arn:aws:ecs:us-east-1:210987654321:cluster/shared"])
        );
    }

    #[test]
    fn trust_policies_name_one_service_each() {
        let d = run(&config(), None);
        let task = json_of(&d.task_role.assume_role_policy);
        let s = &task["Statement"][0];
        assert_eq!(task["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(
            s["Principal"],
            json!({"Service": "ecs-tasks.amazonaws.com"})
        );
        assert_eq!(s["Action"], json!(["sts:AssumeRole"]));
        assert_eq!(
            s["Condition"]["StringEquals"]["aws:SourceAccount"],
            json!(["123456789012"])
        );
        assert_eq!(
            s["Condition"]["ArnLike"]["aws:SourceArn"],
            json!(["arn:aws:ecs:us-east-1:123456789012:*"])
        );
        let exec = json_of(&d.execution_role.assume_role_policy);
        assert_eq!(
            exec["Statement"][0]["Principal"],
            json!({"Service": "ecs-tasks.amazonaws.com"})
        );
        let sfn = json_of(&d.state_machine_role.assume_role_policy);
        assert_eq!(
            sfn["Statement"][0]["Principal"]["Service"],
            "states.amazonaws.com"
        );
        assert_eq!(
            sfn["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"],
            json!(["arn:aws:states:us-east-1:123456789012:stateMachine:orders"])
        );
        for role in [&d.task_role, &d.execution_role, &d.state_machine_role] {
            assert_eq!(role.path, "/gluepipe/");
            assert_eq!(role.tags, tags_all());
        }
    }

    #[test]
    fn state_machine_runs_this_family_in_the_configured_network() {
        let mut config = config();
        config.runtime.timeout_minutes = 30;
        let d = run(&config, None);
        assert_eq!(d.state_machine.role_arn, d.state_machine_role.arn);
        assert_eq!(
            d.state_machine.arn,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
        );
        assert_eq!(d.state_machine.tags, tags_all());
        let target = asl::run_task_target(&d.state_machine.definition).unwrap();
        assert_eq!(
            target,
            RunTaskTarget {
                cluster_arn: d.cluster.arn.clone(),
                family: "orders".into(),
                subnets: config.runtime.ecs.subnets.clone(),
                security_groups: vec!["sg-12345678".into()],
                assign_public_ip: false,
                timeout_seconds: 1800,
            }
        );
    }

    #[test]
    fn deterministic() {
        assert_eq!(run(&config(), None), run(&config(), None));
    }
}
