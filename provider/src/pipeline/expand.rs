//! What a pipeline becomes in AWS: a pure function from the resource configuration to the
//! desired Glue job, IAM roles and policies, state machine and S3 artifacts. No AWS calls here;
//! `aws::*` sends these values, and `pipeline::resource` compares them with what AWS reports.
//!
//! Least privilege is derived from the pipeline's shape:
//! - the Glue job role reads the source prefix (and its catalog table), writes the target,
//!   results and quarantine prefixes, reads its own artifacts, writes Glue's Python-shell log
//!   groups, and updates the target catalog table only when one is configured;
//! - the state machine role may only start, watch and stop runs of this one job; a scaled-out
//!   pipeline's may also list the source prefix and run its own child executions (see
//!   `scale_out`).
//!
//! No statement has a wildcard action, and no statement uses the bare `*` resource: every AWS
//! action used here accepts a resource ARN. Wildcards appear only *inside* ARNs, where the
//! object names are chosen at run time (S3 keys under a prefix, log streams named after runs).

use std::collections::BTreeMap;

use gluepipe_spec::location::glob_start;
use gluepipe_spec::pipeline::{DQ_METRICS_NAMESPACE, RUN_METRICS_NAMESPACE};
use gluepipe_spec::{Location, PipelineSpec, S3Uri};
use sha2::{Digest, Sha256};

use super::asl;
use super::etl_binary::EtlBinary;
use super::model::PipelineConfig;
use super::names::{
    Arns, AwsEnv, JOB_POLICY_NAME, Names, ROLE_PATH, STATE_MACHINE_POLICY_NAME, glue_arn,
};
use super::policy::{PolicyDocument, Statement};
use super::scale_out::{self, SourceListing};

/// The launcher: the Glue Python-shell script that fetches and runs `gluepipe-etl`.
pub const LAUNCHER_SCRIPT: &str = include_str!("../../launcher/launcher.py");

/// Glue job settings gluepipe pins (AWS's defaults have changed over time).
pub const GLUE_COMMAND: &str = "pythonshell";
pub const PYTHON_VERSION: &str = "3.9";
/// Python 3.9 shell jobs run on Glue 3.0 (Glue ignores the version for Python shell otherwise,
/// but pinning it keeps `GetJob` stable).
pub const GLUE_VERSION: &str = "3.0";

/// Job arguments the launcher reads. Keys use underscores, as Glue's argument parser expects.
pub mod args {
    pub const SPEC_URI: &str = "--gluepipe_spec_uri";
    pub const ETL_URI: &str = "--gluepipe_etl_uri";
    pub const ETL_SHA256: &str = "--gluepipe_etl_sha256";
    pub const JOB_LANGUAGE: &str = "--job-language";
    /// Run arguments the state machine of a scaled-out pipeline adds (see `scale_out`): the
    /// mode (`run`, the default, `shard`, `merge` or `discard`), the run id and evaluation
    /// time all runs of one execution share, and a shard's batch of source objects as JSON.
    pub const MODE: &str = "--gluepipe_mode";
    pub const RUN_ID: &str = "--gluepipe_run_id";
    pub const EVALUATED_AT: &str = "--gluepipe_evaluated_at";
    pub const SHARD_INPUTS: &str = "--gluepipe_shard_inputs";
}

/// Log groups Glue writes a Python-shell job's output and errors to. Glue chooses these (they
/// cannot be set per job), so the role may write there and nowhere else.
pub const PYTHON_SHELL_LOG_GROUPS: [&str; 2] = [
    "/aws-glue/python-jobs/output",
    "/aws-glue/python-jobs/error",
];

/// Everything `expand` needs besides the configuration.
#[derive(Debug, Clone)]
pub struct ExpandInput<'a> {
    pub config: &'a PipelineConfig,
    pub env: &'a AwsEnv,
    /// The local ETL binary to upload (found or given, and checked).
    pub etl_binary: &'a EtlBinary,
    /// The provider's `default_tags` overlaid with the resource's `tags`.
    pub tags_all: &'a BTreeMap<String, String>,
    /// For a catalog-table source, the table's S3 location as the catalog reports it. `None`
    /// while it cannot be looked up (the table is created in the same apply): the job policy
    /// then lacks the source-data statements and [`DesiredPipeline::source_resolved`] is false.
    pub source_table_location: Option<&'a S3Uri>,
}

/// The desired state of every child of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPipeline {
    pub names: Names,
    pub arns: Arns,
    pub tags_all: BTreeMap<String, String>,
    pub artifacts: Artifacts,
    pub job_role: RoleSpec,
    pub state_machine_role: RoleSpec,
    pub job: JobSpec,
    pub state_machine: StateMachineSpec,
    /// False when the job policy could not yet include the catalog source's data location.
    pub source_resolved: bool,
}

/// An IAM role with one inline policy, both owned by the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub description: String,
    pub assume_role_policy: PolicyDocument,
    pub policy_name: String,
    pub policy: PolicyDocument,
    pub tags: BTreeMap<String, String>,
}

/// The Glue job, with every setting given explicitly.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub arn: String,
    pub settings: JobSettings,
    pub tags: BTreeMap<String, String>,
}

/// What `CreateJob`/`UpdateJob` set and `GetJob` reports back; compared as a whole for drift.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    pub description: Option<String>,
    pub role_arn: String,
    pub command_name: String,
    pub script_location: String,
    pub python_version: String,
    pub glue_version: String,
    pub default_arguments: BTreeMap<String, String>,
    pub non_overridable_arguments: BTreeMap<String, String>,
    pub max_capacity: f64,
    pub timeout_minutes: i64,
    pub max_retries: i64,
    pub max_concurrent_runs: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineSpec {
    pub name: String,
    pub arn: String,
    pub role_arn: String,
    pub definition: String,
    pub tags: BTreeMap<String, String>,
}

/// The S3 objects a pipeline keeps under `s3://<bucket>/<prefix><name>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifacts {
    /// The folder holding all of them (deleted with the pipeline).
    pub folder: S3Uri,
    pub spec: S3Uri,
    pub spec_json: String,
    pub launcher: S3Uri,
    pub launcher_sha256: String,
    pub etl_binary: S3Uri,
    pub etl_binary_sha256: String,
    /// Local path of the binary to upload.
    pub etl_binary_path: String,
    /// The path to record on the object for import: `runtime.etl_binary` when it was set; a
    /// binary found beside the provider records none, so an import leaves the attribute unset.
    pub etl_binary_source: Option<String>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Expands a (validated) configuration into the desired AWS state.
pub fn expand(input: &ExpandInput<'_>) -> DesiredPipeline {
    let config = input.config;
    let names = Names::new(config.name());
    let arns = Arns::new(input.env, &names);
    let tags_all = input.tags_all.clone();
    let artifacts = expand_artifacts(config, input.etl_binary);

    let source_data = source_data_location(&config.spec, input.source_table_location);
    // A scaled-out pipeline lists its source. Until a catalog source's location is known (the
    // table is created in the same apply) the plan shows the definition and the role's policy
    // as unknown, and apply requires the location, so the single-run stand-in never reaches AWS.
    let listing = source_data
        .as_ref()
        .and_then(|sources| sources.first())
        .filter(|_| config.runtime.scale_out.is_sharded())
        .map(SourceListing::of);
    let job_role = RoleSpec {
        name: names.job_role.clone(),
        path: ROLE_PATH.into(),
        arn: arns.job_role.clone(),
        description: format!("gluepipe pipeline {}: the Glue job's role", names.pipeline),
        assume_role_policy: glue_trust_policy(),
        policy_name: JOB_POLICY_NAME.into(),
        policy: job_policy(&config.spec, input.env, &artifacts, source_data.as_ref()),
        tags: tags_all.clone(),
    };
    let state_machine_role = RoleSpec {
        name: names.state_machine_role.clone(),
        path: ROLE_PATH.into(),
        arn: arns.state_machine_role.clone(),
        description: format!(
            "gluepipe pipeline {}: the state machine's role",
            names.pipeline
        ),
        assume_role_policy: states_trust_policy(input.env, &arns.state_machine),
        policy_name: STATE_MACHINE_POLICY_NAME.into(),
        policy: state_machine_policy(input.env, &names, &arns, listing.as_ref()),
        tags: tags_all.clone(),
    };
    let job = expand_job(config, &names, &arns, &artifacts, &tags_all);
    let state_machine = StateMachineSpec {
        name: names.state_machine.clone(),
        arn: arns.state_machine.clone(),
        role_arn: arns.state_machine_role.clone(),
        definition: match &listing {
            Some(listing) => scale_out::definition(
                &names.pipeline,
                &names.job,
                listing,
                config.runtime.scale_out,
            ),
            None => asl::definition(&names.pipeline, &names.job),
        },
        tags: tags_all.clone(),
    };
    let source_resolved = source_data.is_some();
    DesiredPipeline {
        names,
        arns,
        tags_all,
        artifacts,
        job_role,
        state_machine_role,
        job,
        state_machine,
        source_resolved,
    }
}

/// The pipeline's artifact folder, `s3://<bucket>/<prefix><name>/` (every runtime keeps its
/// objects there).
pub(crate) fn artifact_folder(config: &PipelineConfig) -> S3Uri {
    let rt = &config.runtime;
    S3Uri {
        bucket: rt.artifact_bucket.clone(),
        key: format!("{}{}/", rt.artifact_prefix, config.name()),
    }
}

/// The spec object's name in the artifact folder.
pub(crate) const SPEC_OBJECT: &str = "spec.json";

fn expand_artifacts(config: &PipelineConfig, binary: &EtlBinary) -> Artifacts {
    let folder = artifact_folder(config);
    let launcher_sha256 = sha256_hex(LAUNCHER_SCRIPT.as_bytes());
    Artifacts {
        spec: folder.join(SPEC_OBJECT),
        spec_json: config.spec.for_upload().to_json_pretty(),
        // Content-addressed: a new launcher or binary is a new key (and a job update); an
        // unchanged one is never uploaded again.
        launcher: folder.join(&format!("launcher-{}.py", &launcher_sha256[..16])),
        launcher_sha256,
        etl_binary: folder.join(&format!("gluepipe-etl-{}", binary.sha256)),
        etl_binary_sha256: binary.sha256.clone(),
        etl_binary_path: binary.path.clone(),
        etl_binary_source: binary.explicit.then(|| binary.path.clone()),
        folder,
    }
}

fn expand_job(
    config: &PipelineConfig,
    names: &Names,
    arns: &Arns,
    artifacts: &Artifacts,
    tags_all: &BTreeMap<String, String>,
) -> JobSpec {
    let rt = &config.runtime;
    let default_arguments =
        BTreeMap::from([(args::JOB_LANGUAGE.to_string(), "python".to_string())]);
    // What the launcher runs is not overridable: a run (or an execution input) may change
    // pipeline options, never swap the binary or the spec it executes.
    let non_overridable_arguments = BTreeMap::from([
        (args::SPEC_URI.to_string(), artifacts.spec.to_string()),
        (args::ETL_URI.to_string(), artifacts.etl_binary.to_string()),
        (
            args::ETL_SHA256.to_string(),
            artifacts.etl_binary_sha256.clone(),
        ),
    ]);
    let settings = JobSettings {
        description: config.spec.description.clone(),
        role_arn: arns.job_role.clone(),
        command_name: GLUE_COMMAND.into(),
        script_location: artifacts.launcher.to_string(),
        python_version: PYTHON_VERSION.into(),
        glue_version: GLUE_VERSION.into(),
        default_arguments,
        non_overridable_arguments,
        max_capacity: rt.max_capacity,
        timeout_minutes: rt.timeout_minutes,
        max_retries: rt.max_retries,
        max_concurrent_runs: rt.max_concurrent_runs,
    };
    JobSpec {
        name: names.job.clone(),
        arn: arns.job.clone(),
        settings,
        tags: tags_all.clone(),
    }
}

// ------------------------------------------------------------------------------------------
// IAM
// ------------------------------------------------------------------------------------------

/// Glue assumes the job role. (Glue does not document `aws:SourceArn` for job roles, so no
/// confused-deputy condition is added: one that Glue does not send would block the job.)
fn glue_trust_policy() -> PolicyDocument {
    PolicyDocument::new(vec![Statement::trust(
        "GlueAssumesRole",
        "glue.amazonaws.com",
    )])
}

/// Step Functions assumes the state machine role, for this state machine only (the
/// confused-deputy conditions AWS recommends for Step Functions).
pub(crate) fn states_trust_policy(env: &AwsEnv, state_machine_arn: &str) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::trust("StepFunctionsAssumesRole", "states.amazonaws.com")
            .when(
                "StringEquals",
                "aws:SourceAccount",
                [env.account_id.as_str()],
            )
            .when("ArnLike", "aws:SourceArn", [state_machine_arn]),
    ])
}

/// What `glue:startJobRun.sync` needs, on this job only; with a `listing`, what the
/// Distributed Map of a scaled-out pipeline needs too.
fn state_machine_policy(
    env: &AwsEnv,
    names: &Names,
    arns: &Arns,
    listing: Option<&SourceListing>,
) -> PolicyDocument {
    let mut statements = vec![Statement::allow(
        "RunThisGlueJob",
        [
            "glue:StartJobRun",
            "glue:GetJobRun",
            "glue:GetJobRuns",
            "glue:BatchStopJobRun",
        ],
        [&arns.job],
    )];
    if let Some(listing) = listing {
        statements.extend(scale_out::state_machine_statements(
            env,
            &names.state_machine,
            &arns.state_machine,
            listing,
        ));
    }
    PolicyDocument::new(statements)
}

/// The data a source reads: its path, or the location of its catalog table.
pub(crate) fn source_data_location(
    spec: &PipelineSpec,
    table_location: Option<&S3Uri>,
) -> Option<Vec<S3Uri>> {
    if spec.source.catalog_table.is_some() {
        return table_location.map(|l| vec![l.clone()]);
    }
    Some(
        spec.source
            .paths
            .iter()
            .filter_map(|p| S3Uri::parse(p).ok())
            .collect(),
    )
}

/// The Glue job role's policy.
fn job_policy(
    spec: &PipelineSpec,
    env: &AwsEnv,
    artifacts: &Artifacts,
    source: Option<&Vec<S3Uri>>,
) -> PolicyDocument {
    let p = &env.partition;
    let mut statements = vec![Statement::allow(
        "ReadArtifacts",
        ["s3:GetObject"],
        [format!(
            "arn:{p}:s3:::{}/{}*",
            artifacts.folder.bucket,
            artifacts.folder.prefix()
        )],
    )];
    statements.extend(data_access_statements(spec, env, source));

    let log_arn = |group: &str, suffix: &str| {
        format!(
            "arn:{p}:logs:{}:{}:log-group:{group}{suffix}",
            env.region, env.account_id
        )
    };
    statements.push(Statement::allow(
        "CreateLogGroups",
        ["logs:CreateLogGroup"],
        PYTHON_SHELL_LOG_GROUPS.iter().map(|g| log_arn(g, ":*")),
    ));
    // CreateLogStream is authorized against the log group (resource type log-group, whose
    // ARN IAM matches as `log-group:NAME:*`), not against the stream it creates.
    statements.push(Statement::allow(
        "CreateLogStreams",
        ["logs:CreateLogStream"],
        PYTHON_SHELL_LOG_GROUPS.iter().map(|g| log_arn(g, ":*")),
    ));
    statements.push(Statement::allow(
        "WriteLogs",
        // Glue names each stream after the job run, so streams are matched within the groups.
        ["logs:PutLogEvents"],
        PYTHON_SHELL_LOG_GROUPS
            .iter()
            .map(|g| log_arn(g, ":log-stream:*")),
    ));
    PolicyDocument::new(statements)
}

/// What the ETL itself needs, whichever runtime runs it (the Glue job role and the ECS task
/// role share it): read the source objects and its catalog table, write the target, results
/// and quarantine prefixes, list only those prefixes, and update the target table if one is set.
pub(crate) fn data_access_statements(
    spec: &PipelineSpec,
    env: &AwsEnv,
    source: Option<&Vec<S3Uri>>,
) -> Vec<Statement> {
    let p = &env.partition;
    let mut statements = Vec::new();

    // Reading: the source objects, and listing the bucket only under the source prefix.
    let mut list = ListGrants::default();
    if let Some(sources) = source {
        let patterns: Vec<(String, String)> =
            sources.iter().flat_map(source_key_patterns).collect();
        if !patterns.is_empty() {
            statements.push(Statement::allow(
                "ReadSourceData",
                ["s3:GetObject"],
                patterns
                    .iter()
                    .map(|(bucket, pattern)| format!("arn:{p}:s3:::{bucket}/{pattern}")),
            ));
            for (bucket, pattern) in patterns {
                list.add(&bucket, pattern);
            }
        }
    }

    // Writing: the target, and the results and quarantine locations wherever they are.
    let mut write: Vec<(String, String)> = Vec::new();
    let mut add_write = |uri: &S3Uri| {
        let pattern = format!("{}*", uri.prefix());
        if !write
            .iter()
            .any(|(b, w)| *b == uri.bucket && pattern.starts_with(w.trim_end_matches('*')))
        {
            write.push((uri.bucket.clone(), pattern));
        }
    };
    if let Ok(target) = S3Uri::parse(&spec.target.path) {
        add_write(&target);
    }
    let results = spec
        .data_quality
        .as_ref()
        .and_then(|dq| dq.results_path.as_deref());
    if let Some(Ok(Location::S3(uri))) = results.map(Location::parse) {
        add_write(&uri);
    }
    // Where the run quarantines (by default beside the target, so a grant of its own).
    if let Some(Ok(Location::S3(uri))) = spec.quarantine_location() {
        add_write(&uri);
    }
    if !write.is_empty() {
        statements.push(Statement::allow(
            "WriteOutput",
            // Get: metric history and manifests are read back; Delete: overwrite mode and the
            // clean-up of a failed run; AbortMultipartUpload: streamed uploads that fail.
            [
                "s3:PutObject",
                "s3:GetObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            write
                .iter()
                .map(|(bucket, pattern)| format!("arn:{p}:s3:::{bucket}/{pattern}")),
        ));
    }
    // Listed: the target and the quarantine location (each commit lists their locks, intents
    // and manifests). The results location is only written and read back, never listed.
    let quarantine = match spec.quarantine_location() {
        Some(Ok(Location::S3(uri))) => Some(uri),
        _ => None,
    };
    for uri in S3Uri::parse(&spec.target.path)
        .ok()
        .into_iter()
        .chain(quarantine)
    {
        list.add(&uri.bucket, format!("{}*", uri.prefix()));
    }
    statements.extend(list.statements(p));
    // Every commit sweeps the uploads abandoned runs staged, and a sharded run's merge and
    // discard abort its shards' uploads: both list the uploads in the buckets written to.
    statements.extend(scale_out::job_statements(spec, env));

    if let (Some(db), Some(table)) = (&spec.source.catalog_database, &spec.source.catalog_table) {
        statements.push(Statement::allow(
            "ReadSourceTable",
            ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            catalog_arns(env, db, table),
        ));
    }
    if let (Some(db), Some(table)) = (&spec.target.catalog_database, &spec.target.catalog_table) {
        statements.push(Statement::allow(
            "UpdateTargetTable",
            [
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:CreatePartition",
                "glue:BatchCreatePartition",
                "glue:UpdatePartition",
            ],
            catalog_arns(env, db, table),
        ));
    }
    if spec.metrics.is_some() {
        // PutMetricData has no resource type (IAM requires `*`); the namespace condition key
        // is what confines it, to the two namespaces the ETL publishes in.
        statements.push(
            Statement::allow("PutRunMetrics", ["cloudwatch:PutMetricData"], ["*"]).when(
                "StringEquals",
                "cloudwatch:namespace",
                [DQ_METRICS_NAMESPACE, RUN_METRICS_NAMESPACE],
            ),
        );
    }
    if let Some(n) = &spec.notifications {
        statements.push(Statement::allow(
            "PublishRunNotifications",
            ["sns:Publish"],
            [n.sns_topic_arn.clone()],
        ));
    }
    statements
}

/// Glue checks catalog access against the catalog, the database and the table.
fn catalog_arns(env: &AwsEnv, db: &str, table: &str) -> [String; 3] {
    let (db, table) = (db.to_ascii_lowercase(), table.to_ascii_lowercase());
    [
        glue_arn(env, "catalog"),
        glue_arn(env, &format!("database/{db}")),
        glue_arn(env, &format!("table/{db}/{table}")),
    ]
}

/// Object-key patterns that cover a source location: a folder (`raw/orders/` → `raw/orders/*`),
/// an object or a folder written without the slash (`raw/orders` → `raw/orders` and
/// `raw/orders/*`), or a glob, cut at its first wildcard (`raw/2024-*/x.json` → `raw/2024-*`).
fn source_key_patterns(uri: &S3Uri) -> Vec<(String, String)> {
    let b = || uri.bucket.clone();
    match glob_start(&uri.key) {
        Some(i) => vec![(b(), format!("{}*", &uri.key[..i]))],
        None if uri.key.is_empty() || uri.key.ends_with('/') => {
            vec![(b(), format!("{}*", uri.key))]
        }
        None => vec![(b(), uri.key.clone()), (b(), format!("{}/*", uri.key))],
    }
}

/// `s3:ListBucket` per bucket, limited to the listed prefixes (no condition for a whole bucket).
#[derive(Default)]
struct ListGrants(BTreeMap<String, Vec<String>>);

impl ListGrants {
    fn add(&mut self, bucket: &str, pattern: String) {
        self.0.entry(bucket.to_string()).or_default().push(pattern);
    }

    fn statements(self, partition: &str) -> Vec<Statement> {
        self.0
            .into_iter()
            .enumerate()
            .map(|(i, (bucket, patterns))| {
                let statement = Statement::allow(
                    &format!("ListBucket{}", i + 1),
                    ["s3:ListBucket"],
                    [format!("arn:{partition}:s3:::{bucket}")],
                );
                if patterns.iter().any(|p| p == "*") {
                    statement
                } else {
                    statement.when("StringLike", "s3:prefix", patterns)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pipeline::model::{RuntimeConfig, ScaleOut};
    use gluepipe_spec::pipeline::{DataQuality, Mapping, OnFailure, Source, Target};
    use serde_json::Value;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_brace_in_a_source_key_is_literal_as_the_etl_reads_it() {
        // gluepipe-etl matches `{a,b}` literally, so the grant is the key, not `orders/*`.
        let uri = S3Uri {
            bucket: "raw".into(),
            key: "orders/{a,b}.json".into(),
        };
        assert_eq!(
            source_key_patterns(&uri),
            vec![
                ("raw".to_string(), "orders/{a,b}.json".to_string()),
                ("raw".to_string(), "orders/{a,b}.json/*".to_string()),
            ]
        );
    }

    fn env() -> AwsEnv {
        AwsEnv::new("us-east-1", "123456789012")
    }

    fn path_config() -> PipelineConfig {
        let spec = PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "target": {"path": "s3://curated-bucket/orders/"}}"#,
        )
        .unwrap();
        PipelineConfig {
            spec,
            runtime: RuntimeConfig::new("artifact-bucket", "/tmp/gluepipe-etl"),
            tags: BTreeMap::from([("team".into(), "data".into())]),
        }
    }

    fn catalog_config() -> PipelineConfig {
        let mut config = path_config();
        config.spec.source = Source {
            catalog_database: Some("Raw".into()),
            catalog_table: Some("Orders_JSON".into()),
            ..Source::default()
        };
        config.spec.target = Target {
            catalog_database: Some("curated".into()),
            catalog_table: Some("orders".into()),
            ..config.spec.target.clone()
        };
        config.spec.mapping = vec![Mapping {
            from: "id".into(),
            to: "order_id".into(),
            data_type: "bigint".into(),
        }];
        config.spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [ ColumnCount > 0 ]".into(),
            on_failure: OnFailure::Quarantine,
            results_path: Some("s3://dq-bucket/results/".into()),
            quarantine_path: Some("s3://curated-bucket/orders/_quarantine/".into()),
        });
        config
    }

    fn run(config: &PipelineConfig, table_location: Option<&S3Uri>) -> DesiredPipeline {
        // As the provider computes it: default_tags overlaid with the config's tags.
        let tags_all = BTreeMap::from([
            ("env".to_string(), "test".to_string()),
            ("team".into(), "data".into()),
        ]);
        expand(&ExpandInput {
            config,
            env: &env(),
            etl_binary: &crate::pipeline::etl_binary::EtlBinary {
                path: "bin/gluepipe-etl".into(),
                sha256: SHA.to_string(),
                explicit: true,
            },
            tags_all: &tags_all,
            source_table_location: table_location,
        })
    }

    fn json(doc: &PolicyDocument) -> Value {
        serde_json::from_str(&doc.to_json()).unwrap()
    }

    /// (actions, resources) of each statement of a policy as it will be sent, by Sid.
    fn grants(doc: &PolicyDocument) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
        let strings = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        json(doc)["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["Sid"].as_str().unwrap().to_string(),
                    (strings(&s["Action"]), strings(&s["Resource"])),
                )
            })
            .collect()
    }

    fn assert_least_privilege(doc: &PolicyDocument) {
        for statement in &json(doc)["Statement"].as_array().unwrap().clone() {
            assert_eq!(statement["Effect"], "Allow");
            for action in statement["Action"].as_array().unwrap() {
                let action = action.as_str().unwrap();
                assert!(!action.contains('*'), "wildcard action {action}");
                assert!(
                    action
                        .split_once(':')
                        .is_some_and(|(s, a)| !s.is_empty() && !a.is_empty()),
                    "{action}"
                );
            }
            for resource in statement["Resource"].as_array().unwrap() {
                let resource = resource.as_str().unwrap();
                if statement["Action"] == serde_json::json!(["cloudwatch:PutMetricData"]) {
                    // No resource type: `*`, confined by the namespace condition.
                    assert_eq!(resource, "*");
                    assert_eq!(
                        statement["Condition"]["StringEquals"]["cloudwatch:namespace"],
                        serde_json::json!(["Glue Data Quality", "gluepipe"])
                    );
                    continue;
                }
                assert_ne!(resource, "*", "bare * resource in {statement}");
                assert!(resource.starts_with("arn:aws:"), "{resource}");
                // A wildcard may only end an ARN (a key under a prefix, a log stream).
                if let Some(i) = resource.find('*') {
                    assert_eq!(i, resource.len() - 1, "wildcard inside {resource}");
                }
            }
        }
    }

    #[test]
    fn metrics_grant_putting_metrics_in_their_two_namespaces_only() {
        let mut config = path_config();
        let without = run(&config, None);
        assert!(without.job_role.policy.statement("PutRunMetrics").is_none());
        config.spec.metrics = Some(Default::default());
        let with = run(&config, None);
        assert_least_privilege(&with.job_role.policy);
        let g = grants(&with.job_role.policy);
        assert_eq!(
            g["PutRunMetrics"],
            (vec!["cloudwatch:PutMetricData".into()], vec!["*".into()])
        );
    }

    #[test]
    fn notifications_grant_publishing_to_their_topic_only() {
        let mut config = path_config();
        let without = run(&config, None);
        assert!(
            without
                .job_role
                .policy
                .statement("PublishRunNotifications")
                .is_none()
        );
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
        config.spec.notifications = Some(gluepipe_spec::notifications::Notifications {
            sns_topic_arn: topic.into(),
            on: vec![],
        });
        let with = run(&config, None);
        assert_least_privilege(&with.job_role.policy);
        let g = grants(&with.job_role.policy);
        assert_eq!(
            g["PublishRunNotifications"],
            (vec!["sns:Publish".into()], vec![topic.into()])
        );
    }

    #[test]
    fn job_policy_for_a_path_source_is_scoped_to_its_prefixes() {
        let desired = run(&path_config(), None);
        assert!(desired.source_resolved);
        let policy = &desired.job_role.policy;
        assert_least_privilege(policy);
        let g = grants(policy);
        assert_eq!(
            g["ReadArtifacts"],
            (
                vec!["s3:GetObject".into()],
                vec!["arn:aws:s3:::artifact-bucket/gluepipe/orders/*".into()]
            )
        );
        assert_eq!(
            g["ReadSourceData"],
            (
                vec!["s3:GetObject".into()],
                vec!["arn:aws:s3:::raw-bucket/orders/*".into()]
            )
        );
        let (actions, resources) = &g["WriteOutput"];
        assert_eq!(
            actions,
            &[
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:PutObject"
            ]
        );
        assert_eq!(resources, &["arn:aws:s3:::curated-bucket/orders/*"]);
        // The source is read-only: no statement lets the job write there.
        for (sid, (actions, resources)) in &g {
            if actions
                .iter()
                .any(|a| a == "s3:PutObject" || a == "s3:DeleteObject")
            {
                assert!(
                    resources.iter().all(|r| !r.contains("raw-bucket")),
                    "{sid} writes the source"
                );
            }
        }
        // No catalog access when neither side is a catalog table.
        assert!(
            policy.actions().all(|a| !a.starts_with("glue:")),
            "{:?}",
            policy.actions().collect::<Vec<_>>()
        );
    }

    #[test]
    fn listing_is_limited_to_the_prefixes_used() {
        let desired = run(&path_config(), None);
        let doc = json(&desired.job_role.policy);
        let lists: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Action"] == serde_json::json!(["s3:ListBucket"]))
            .collect();
        assert_eq!(lists.len(), 2, "one per bucket: {lists:?}");
        let by_bucket: BTreeMap<&str, &Value> = lists
            .iter()
            .map(|s| {
                (
                    s["Resource"][0].as_str().unwrap(),
                    &s["Condition"]["StringLike"]["s3:prefix"],
                )
            })
            .collect();
        assert_eq!(
            by_bucket["arn:aws:s3:::raw-bucket"],
            &serde_json::json!(["orders/*"])
        );
        assert_eq!(
            by_bucket["arn:aws:s3:::curated-bucket"],
            &serde_json::json!(["orders/*"])
        );
    }

    #[test]
    fn the_default_quarantine_beside_the_target_is_granted_and_nothing_wider() {
        let mut config = path_config();
        config.spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [ IsComplete \"id\" ]".into(),
            on_failure: OnFailure::Quarantine,
            results_path: None,
            quarantine_path: None,
        });
        let desired = run(&config, None);
        let policy = &desired.job_role.policy;
        assert_least_privilege(policy);
        assert_eq!(
            grants(policy)["WriteOutput"].1,
            [
                "arn:aws:s3:::curated-bucket/orders/*",
                "arn:aws:s3:::curated-bucket/orders_quarantine/*"
            ]
        );
        let doc = json(policy);
        let list = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["Action"] == serde_json::json!(["s3:ListBucket"])
                    && s["Resource"][0] == "arn:aws:s3:::curated-bucket"
            })
            .unwrap();
        assert_eq!(
            list["Condition"]["StringLike"]["s3:prefix"],
            serde_json::json!(["orders/*", "orders_quarantine/*"])
        );
        // Without quarantining there is no quarantine location to grant.
        config.spec.data_quality.as_mut().unwrap().on_failure = OnFailure::Warn;
        assert_eq!(
            grants(&run(&config, None).job_role.policy)["WriteOutput"].1,
            ["arn:aws:s3:::curated-bucket/orders/*"]
        );
    }

    #[test]
    fn job_policy_for_catalog_tables_and_dq_locations() {
        let location = S3Uri::parse("s3://raw-bucket/tables/orders_json/").unwrap();
        let desired = run(&catalog_config(), Some(&location));
        let policy = &desired.job_role.policy;
        assert_least_privilege(policy);
        let g = grants(policy);
        let source_table = [
            "arn:aws:glue:us-east-1:123456789012:catalog",
            "arn:aws:glue:us-east-1:123456789012:database/raw",
            "arn:aws:glue:us-east-1:123456789012:table/raw/orders_json",
        ];
        assert_eq!(
            g["ReadSourceTable"].0,
            ["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"]
        );
        assert_eq!(g["ReadSourceTable"].1, source_table);
        assert_eq!(
            g["ReadSourceData"].1,
            ["arn:aws:s3:::raw-bucket/tables/orders_json/*"]
        );
        let (actions, resources) = &g["UpdateTargetTable"];
        assert!(
            actions.contains(&"glue:UpdateTable".to_string())
                && actions.contains(&"glue:CreateTable".to_string())
        );
        assert!(!actions.iter().any(|a| a.contains("Delete")), "{actions:?}");
        assert_eq!(
            resources[2],
            "arn:aws:glue:us-east-1:123456789012:table/curated/orders"
        );
        // Results elsewhere get their own grant; the quarantine under the target is already covered.
        assert_eq!(
            g["WriteOutput"].1,
            [
                "arn:aws:s3:::curated-bucket/orders/*",
                "arn:aws:s3:::dq-bucket/results/*"
            ]
        );
        // Results are written and read back, never listed.
        assert!(
            g.values()
                .all(|(a, r)| a != &["s3:ListBucket"] || !r.iter().any(|r| r.contains("dq-bucket"))),
            "{g:?}"
        );
    }

    #[test]
    fn unresolved_catalog_location_grants_no_source_data() {
        let desired = run(&catalog_config(), None);
        assert!(!desired.source_resolved);
        assert!(
            desired
                .job_role
                .policy
                .statement("ReadSourceData")
                .is_none()
        );
        assert!(
            desired
                .job_role
                .policy
                .statement("ReadSourceTable")
                .is_some()
        );
    }

    #[test]
    fn source_patterns_cover_files_folders_and_globs() {
        let cases = [
            ("s3://b-1/raw/orders/", vec!["raw/orders/*"]),
            ("s3://b-1/raw/orders", vec!["raw/orders", "raw/orders/*"]),
            (
                "s3://b-1/raw/orders.json.gz",
                vec!["raw/orders.json.gz", "raw/orders.json.gz/*"],
            ),
            ("s3://b-1/raw/2024-*/part.json", vec!["raw/2024-*"]),
            ("s3://b-1/raw/day=1?/x", vec!["raw/day=1*"]),
            ("s3://b-1", vec!["*"]),
        ];
        for (uri, want) in cases {
            let got: Vec<String> = source_key_patterns(&S3Uri::parse(uri).unwrap())
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            assert_eq!(got, want, "{uri}");
        }
    }

    #[test]
    fn log_permissions_name_glue_python_shell_groups_only() {
        let g = grants(&run(&path_config(), None).job_role.policy);
        assert_eq!(
            g["WriteLogs"],
            (
                vec!["logs:PutLogEvents".into()],
                vec![
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/python-jobs/error:log-stream:*".into(),
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/python-jobs/output:log-stream:*".into(),
                ]
            )
        );
        let groups = vec![
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/python-jobs/error:*"
                .to_string(),
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/python-jobs/output:*".into(),
        ];
        assert_eq!(
            g["CreateLogStreams"],
            (vec!["logs:CreateLogStream".into()], groups.clone())
        );
        assert_eq!(
            g["CreateLogGroups"],
            (vec!["logs:CreateLogGroup".into()], groups)
        );
    }

    #[test]
    fn state_machine_role_may_only_run_this_job() {
        let desired = run(&path_config(), None);
        let policy = &desired.state_machine_role.policy;
        assert_least_privilege(policy);
        let g = grants(policy);
        assert_eq!(g.len(), 1);
        let (actions, resources) = &g["RunThisGlueJob"];
        assert_eq!(
            actions,
            &[
                "glue:BatchStopJobRun",
                "glue:GetJobRun",
                "glue:GetJobRuns",
                "glue:StartJobRun"
            ]
        );
        assert_eq!(
            resources,
            &["arn:aws:glue:us-east-1:123456789012:job/orders"]
        );
    }

    #[test]
    fn trust_policies_name_one_service_each() {
        let desired = run(&path_config(), None);
        let glue = json(&desired.job_role.assume_role_policy);
        assert_eq!(glue["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(
            glue["Statement"][0]["Principal"],
            serde_json::json!({"Service": "glue.amazonaws.com"})
        );
        assert_eq!(
            glue["Statement"][0]["Action"],
            serde_json::json!(["sts:AssumeRole"])
        );
        let states = json(&desired.state_machine_role.assume_role_policy);
        let statement = &states["Statement"][0];
        assert_eq!(statement["Principal"]["Service"], "states.amazonaws.com");
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:SourceAccount"],
            serde_json::json!(["123456789012"])
        );
        assert_eq!(
            statement["Condition"]["ArnLike"]["aws:SourceArn"],
            serde_json::json!(["arn:aws:states:us-east-1:123456789012:stateMachine:orders"])
        );
    }

    #[test]
    fn job_is_a_pinned_python_shell_running_the_launcher() {
        let desired = run(&path_config(), None);
        assert_eq!(desired.job.name, "orders");
        let job = &desired.job.settings;
        assert_eq!(
            job.role_arn,
            "arn:aws:iam::123456789012:role/gluepipe/orders-glue"
        );
        assert_eq!(
            (
                job.command_name.as_str(),
                job.python_version.as_str(),
                job.glue_version.as_str()
            ),
            ("pythonshell", "3.9", "3.0")
        );
        assert_eq!(
            (
                job.max_capacity,
                job.timeout_minutes,
                job.max_retries,
                job.max_concurrent_runs
            ),
            (0.0625, 60, 0, 1)
        );
        let launcher = &desired.artifacts.launcher;
        assert_eq!(job.script_location, launcher.to_string());
        assert!(
            launcher.key.starts_with("gluepipe/orders/launcher-") && launcher.key.ends_with(".py"),
            "{launcher}"
        );
        assert_eq!(
            desired.artifacts.launcher_sha256,
            sha256_hex(LAUNCHER_SCRIPT.as_bytes())
        );
        assert_eq!(
            job.default_arguments,
            BTreeMap::from([("--job-language".into(), "python".into())])
        );
        assert_eq!(
            job.non_overridable_arguments,
            BTreeMap::from([
                ("--gluepipe_etl_sha256".into(), SHA.into()),
                (
                    "--gluepipe_etl_uri".into(),
                    format!("s3://artifact-bucket/gluepipe/orders/gluepipe-etl-{SHA}")
                ),
                (
                    "--gluepipe_spec_uri".into(),
                    "s3://artifact-bucket/gluepipe/orders/spec.json".into()
                ),
            ])
        );
    }

    #[test]
    fn the_uploaded_spec_carries_the_records_path() {
        let mut config = path_config();
        config.spec.source.records_path = Some("features".into());
        let a = run(&config, None).artifacts;
        let uploaded: serde_json::Value = serde_json::from_str(&a.spec_json).unwrap();
        assert_eq!(uploaded["source"]["records_path"], "features");
    }

    #[test]
    fn artifacts_live_in_one_folder_per_pipeline() {
        let mut config = path_config();
        config.runtime.artifact_prefix = String::new();
        let a = run(&config, None).artifacts;
        assert_eq!(a.folder.to_string(), "s3://artifact-bucket/orders/");
        for uri in [&a.spec, &a.launcher, &a.etl_binary] {
            assert!(uri.key.starts_with(&a.folder.key), "{uri}");
        }
        assert_eq!(
            PipelineSpec::from_json(&a.spec_json).unwrap(),
            config.spec.for_upload()
        );
        // A different binary is a different key.
        let other = expand_artifacts(
            &config,
            &EtlBinary {
                path: "bin/gluepipe-etl".into(),
                sha256: "f".repeat(64),
                explicit: true,
            },
        );
        assert_ne!(other.etl_binary, a.etl_binary);
        assert_eq!(other.launcher, a.launcher);
    }

    #[test]
    fn every_child_gets_tags_all() {
        let desired = run(&path_config(), None);
        let want = BTreeMap::from([
            ("env".to_string(), "test".to_string()),
            ("team".into(), "data".into()),
        ]);
        assert_eq!(desired.tags_all, want);
        for tags in [
            &desired.job.tags,
            &desired.job_role.tags,
            &desired.state_machine_role.tags,
            &desired.state_machine.tags,
        ] {
            assert_eq!(tags, &want);
        }
    }

    #[test]
    fn state_machine_runs_this_job_with_its_role() {
        let desired = run(&path_config(), None);
        assert_eq!(
            desired.state_machine.role_arn,
            desired.state_machine_role.arn
        );
        assert_eq!(
            desired.state_machine.definition,
            asl::definition("orders", "orders")
        );
        assert_eq!(
            desired.state_machine.arn,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
        );
    }

    fn sharded(mut config: PipelineConfig) -> PipelineConfig {
        config.runtime.scale_out = ScaleOut {
            parallelism: Some(3),
            files_per_shard: Some(2),
        };
        config.runtime.max_concurrent_runs = 3;
        config
    }

    #[test]
    fn parallelism_one_keeps_the_single_run_machine() {
        let mut config = path_config();
        config.runtime.scale_out.parallelism = Some(1);
        config.runtime.scale_out.files_per_shard = Some(5);
        let desired = run(&config, None);
        assert_eq!(desired, run(&path_config(), None));
        assert_eq!(
            desired.state_machine.definition,
            asl::definition("orders", "orders")
        );
    }

    #[test]
    fn a_scaled_out_path_source_maps_over_its_prefix() {
        let desired = run(&sharded(path_config()), None);
        assert!(desired.source_resolved);
        let asl: Value = serde_json::from_str(&desired.state_machine.definition).unwrap();
        let map = &asl["States"]["Shards"];
        assert_eq!(
            map["ItemReader"]["Parameters"],
            serde_json::json!({"Bucket": "raw-bucket", "Prefix": "orders/"})
        );
        assert_eq!(map["MaxConcurrency"], 3);
        assert_eq!(map["ItemBatcher"]["MaxItemsPerBatch"], 2);
        assert_eq!(asl["States"]["Merge"]["Parameters"]["JobName"], "orders");
        // The job is the same job, with the same role as a single run's (whose commits sweep
        // staged uploads too, so it lists them as well).
        let single = run(&path_config(), None).job_role.policy;
        let policy = &desired.job_role.policy;
        assert_eq!(policy, &single);
        let list_uploads = Statement::allow(
            "ListStagedUploads",
            ["s3:ListBucketMultipartUploads"],
            ["arn:aws:s3:::curated-bucket"],
        );
        assert!(policy.statements.contains(&list_uploads));
        assert_least_privilege(policy);
    }

    #[test]
    fn a_scaled_out_job_lists_uploads_where_shards_stage() {
        let mut config = sharded(path_config());
        config.spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [ RowCount > 0 ]".into(),
            on_failure: OnFailure::Quarantine,
            results_path: None,
            quarantine_path: Some("s3://quarantine-bucket/orders/".into()),
        });
        let desired = run(&config, None);
        let g = grants(&desired.job_role.policy);
        assert_eq!(
            g["ListStagedUploads"],
            (
                vec!["s3:ListBucketMultipartUploads".into()],
                vec![
                    "arn:aws:s3:::curated-bucket".into(),
                    "arn:aws:s3:::quarantine-bucket".into()
                ]
            )
        );
        // A single run lists them too: each commit sweeps what abandoned runs staged.
        config.runtime.scale_out = ScaleOut::default();
        assert_eq!(
            grants(&run(&config, None).job_role.policy)["ListStagedUploads"],
            g["ListStagedUploads"]
        );
    }

    #[test]
    fn a_scaled_out_machine_role_lists_the_source_and_runs_its_children() {
        let desired = run(&sharded(path_config()), None);
        let policy = &desired.state_machine_role.policy;
        assert_least_privilege(policy);
        let g = grants(policy);
        assert_eq!(
            g.keys().collect::<Vec<_>>(),
            [
                "ListSourceObjects",
                "RunThisGlueJob",
                "StartShardExecutions",
                "WatchShardExecutions"
            ]
        );
        assert_eq!(
            g["ListSourceObjects"],
            (
                vec!["s3:ListBucket".into()],
                vec!["arn:aws:s3:::raw-bucket".into()]
            )
        );
        let list = policy.statement("ListSourceObjects").unwrap();
        assert_eq!(
            list.condition["StringEquals"]["s3:prefix"],
            vec!["orders/".to_string()]
        );
        // Its own ARN, built from the name: no dependency on the created machine.
        assert_eq!(
            g["StartShardExecutions"],
            (
                vec!["states:StartExecution".into()],
                vec![desired.arns.state_machine.clone()]
            )
        );
        assert_eq!(
            g["WatchShardExecutions"],
            (
                vec![
                    "states:DescribeExecution".into(),
                    "states:StopExecution".into()
                ],
                vec![
                    "arn:aws:states:us-east-1:123456789012:execution:orders/*".into(),
                    "arn:aws:states:us-east-1:123456789012:execution:orders:*".into()
                ]
            )
        );
        assert_eq!(
            g["RunThisGlueJob"].1,
            ["arn:aws:glue:us-east-1:123456789012:job/orders"]
        );
        // Nothing that writes, and no S3 object access: the shards' runs do that.
        assert!(
            policy
                .actions()
                .all(|a| !a.starts_with("s3:") || a == "s3:ListBucket"),
            "{:?}",
            policy.actions().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_scaled_out_catalog_source_maps_over_the_table_location() {
        let location = S3Uri::parse("s3://raw-bucket/tables/orders_json/").unwrap();
        let desired = run(&sharded(catalog_config()), Some(&location));
        let asl: Value = serde_json::from_str(&desired.state_machine.definition).unwrap();
        assert_eq!(
            asl["States"]["Shards"]["ItemReader"]["Parameters"],
            serde_json::json!({"Bucket": "raw-bucket", "Prefix": "tables/orders_json/"})
        );
        let list = desired
            .state_machine_role
            .policy
            .statement("ListSourceObjects")
            .unwrap()
            .clone();
        assert_eq!(list.resources, ["arn:aws:s3:::raw-bucket"]);
        assert_eq!(
            list.condition["StringEquals"]["s3:prefix"],
            vec!["tables/orders_json/".to_string()]
        );

        // Not resolvable yet: not a listing of a guessed place (the plan shows it unknown).
        let desired = run(&sharded(catalog_config()), None);
        assert!(!desired.source_resolved);
        assert!(
            desired
                .state_machine_role
                .policy
                .statement("ListSourceObjects")
                .is_none()
        );
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
