//! The `gluepipe_pipeline` schema (version 2): every attribute, its Markdown description (the
//! registry documentation is written from these), and the defaults the plan fills in for
//! optional attributes left unset.

use gluepipe_spec::notifications::DEFAULT_ON;
use gluepipe_spec::pipeline::DEFAULT_RULESET;

use super::model::defaults;
use crate::protocol::{Attribute, Block, NestedBlock, Number, Schema, Type, Value};

/// 2: `instance_id`, the owning instance's lineage id (see `ownership`).
pub const SCHEMA_VERSION: i64 = 2;

/// Computed attributes that mirror what AWS holds; a difference between them and the plan is
/// drift (or a change) that the next apply repairs.
pub const MIRRORED: [&str; 16] = [
    "glue_job_role_arn",
    "state_machine_arn",
    "state_machine_role_arn",
    "spec_uri",
    "launcher_uri",
    "etl_binary_uri",
    "etl_binary_sha256",
    "glue_version",
    "python_version",
    "glue_job_default_arguments",
    "glue_job_non_overridable_arguments",
    "glue_job_role_policy",
    "glue_job_role_assume_role_policy",
    "state_machine_role_policy",
    "state_machine_role_assume_role_policy",
    "state_machine_definition",
];

/// `(block, attribute, default)` for every optional attribute with a default.
pub fn defaults() -> Vec<(&'static str, &'static str, Value)> {
    let number = |v: f64| Value::Number(Number::from_f64(v).unwrap_or_else(|| Number::from(0)));
    vec![
        ("", "max_bad_records", Value::from(0)),
        ("source", "format", Value::from("json")),
        ("source", "incremental", Value::Bool(false)),
        ("data_quality", "ruleset", Value::from(DEFAULT_RULESET)),
        ("data_quality", "on_failure", Value::from("fail")),
        ("target", "compression", Value::from("snappy")),
        ("target", "write_mode", Value::from("append")),
        (
            "notifications",
            "on",
            Value::Set(DEFAULT_ON.iter().map(|o| Value::from(o.as_str())).collect()),
        ),
        ("runtime", "kind", Value::from(defaults::RUNTIME_KIND)),
        (
            "runtime",
            "artifact_prefix",
            Value::from(defaults::ARTIFACT_PREFIX),
        ),
        ("runtime", "max_capacity", number(defaults::MAX_CAPACITY)),
        (
            "runtime",
            "timeout_minutes",
            Value::from(defaults::TIMEOUT_MINUTES),
        ),
        ("runtime", "max_retries", Value::from(defaults::MAX_RETRIES)),
        (
            "runtime",
            "max_concurrent_runs",
            Value::from(defaults::MAX_CONCURRENT_RUNS),
        ),
    ]
}

fn optional_with_default(attribute: Attribute) -> Attribute {
    attribute.optional().computed()
}

pub fn schema() -> Schema {
    let schema = Schema::new()
        .version(SCHEMA_VERSION)
        .description(
            "A JSON-to-Parquet pipeline with data-quality gates, run on AWS: one resource creates \
             the Glue Python-shell job that runs `gluepipe-etl`, the job's IAM role (least privilege, \
             derived from the pipeline), a Step Functions state machine that runs the job and waits \
             for it, that machine's IAM role, and the artifacts in S3 (pipeline spec, launcher, ETL \
             binary). With `runtime { kind = \"ecs\" }`, a Fargate task definition and its task and \
             execution roles take the place of the Glue job and its role, and the state machine runs \
             the task with `ecs:runTask.sync`. Drift in any of them shows in the next plan and is \
             repaired by the next apply.",
        )
        .attribute(Attribute::string("id").computed().use_state_for_unknown().description("The pipeline name."))
        .attribute(Attribute::string("instance_id").computed().use_state_for_unknown().description(
            "Lineage id of this resource instance, made at create. Every child carries it (the tag \
             `gluepipe:instance` on the Glue job, the roles, the state machine and the task \
             definition; the user metadata `gluepipe-instance` on each S3 object), and the \
             pipeline creates, changes and deletes only children that carry it: a create whose \
             name is taken by another pipeline fails with `AlreadyExists` instead of adopting it.",
        ))
        .attribute(Attribute::string("name").required().requires_replace().description(
            "Name of the pipeline, the Glue job and the state machine; the IAM roles are named \
             `<name>-glue` and `<name>-sfn`. ASCII letters, digits, `-` and `_`, starting with a \
             letter or digit, at most 59 characters. Changing it replaces the pipeline.",
        ))
        .attribute(Attribute::string("description").optional().description("Description of the pipeline and its Glue job."))
        .attribute(optional_with_default(Attribute::number("max_bad_records")).description(
            "How many rejected records (malformed JSON, values that cannot be cast) a run may set \
             aside in its rejects file before it fails. `0` (default) fails on the first one, \
             before anything is published.",
        ))
        .attribute(Attribute::map("tags", Type::String).optional().description(
            "Tags for every AWS resource of the pipeline. They override the provider's \
             `default_tags` with the same key.",
        ))
        .attribute(Attribute::map("tags_all", Type::String).computed().description(
            "The tags every resource of the pipeline carries: the provider's `default_tags` \
             overlaid with `tags`.",
        ))
        .attribute(Attribute::string("glue_job_name").computed().use_state_for_unknown().description("Name of the Glue job (the pipeline name)."))
        .attribute(Attribute::string("glue_job_role_arn").computed().description("ARN of the Glue job's IAM role."))
        .attribute(Attribute::string("state_machine_arn").computed().description(
            "ARN of the Step Functions state machine. Start an execution to run the pipeline; an \
             input of `{\"arguments\": {\"--input\": \"s3://…\"}}` overrides run arguments.",
        ))
        .attribute(Attribute::string("state_machine_role_arn").computed().description("ARN of the state machine's IAM role."))
        .attribute(Attribute::string("spec_uri").computed().description(
            "S3 URI of the pipeline spec (JSON) the job runs; `gluepipe-etl run` runs the same file \
             locally.",
        ))
        .attribute(Attribute::string("launcher_uri").computed().description("S3 URI of the launcher script, the Glue job's script."))
        .attribute(Attribute::string("etl_binary_uri").computed().description(
            "S3 URI of the uploaded ETL binary; the key holds its SHA-256, so an unchanged binary \
             is never uploaded again.",
        ))
        .attribute(Attribute::string("etl_binary_sha256").computed().description(
            "SHA-256 of `runtime.etl_binary`; the launcher refuses to run a binary with another hash.",
        ))
        .attribute(Attribute::string("glue_version").computed().description("Glue version of the job (pinned to `3.0`)."))
        .attribute(Attribute::string("python_version").computed().description("Python version of the job's Python shell (pinned to `3.9`)."))
        .attribute(Attribute::map("glue_job_default_arguments", Type::String).computed().description(
            "The job's default arguments, as Glue holds them.",
        ))
        .attribute(Attribute::map("glue_job_non_overridable_arguments", Type::String).computed().description(
            "The job's non-overridable arguments: the spec, the binary and its SHA-256. A run cannot \
             change them.",
        ))
        .attribute(Attribute::string("glue_job_role_policy").computed().description(
            "The Glue job role's inline policy (JSON), generated from the pipeline: read the source, \
             write the target, results and quarantine locations, read the artifacts, write Glue's \
             Python-shell logs, and update the target catalog table when one is set.",
        ))
        .attribute(Attribute::string("glue_job_role_assume_role_policy").computed().description(
            "The Glue job role's trust policy (JSON): `glue.amazonaws.com` may assume it.",
        ))
        .attribute(Attribute::string("state_machine_role_policy").computed().description(
            "The state machine role's inline policy (JSON): start, watch and stop runs of this job \
             only; with `parallelism` above 1 also list the source prefix and start, watch and \
             stop this state machine's own child executions (the Distributed Map's).",
        ))
        .attribute(Attribute::string("state_machine_role_assume_role_policy").computed().description(
            "The state machine role's trust policy (JSON): `states.amazonaws.com`, for this state \
             machine in this account only.",
        ))
        .attribute(Attribute::string("state_machine_definition").computed().description(
            "The state machine definition (Amazon States Language): run the job with \
             `glue:startJobRun.sync`, retry Glue throttling and concurrency errors with backoff, and \
             end in a `Fail` state carrying the job's error. With `parallelism` above 1: a \
             Distributed Map of shard runs over the source's objects, then a merge run.",
        ));
    let schema = super::ecs::schema::computed_attributes()
        .into_iter()
        .fold(schema, Schema::attribute);
    schema
        .block(NestedBlock::single("source", source_block()).items(1, 1))
        .block(NestedBlock::list("mapping", mapping_block()))
        .block(NestedBlock::single("data_quality", data_quality_block()).items(0, 1))
        .block(NestedBlock::single("target", target_block()).items(1, 1))
        .block(NestedBlock::single("metrics", metrics_block()).items(0, 1))
        .block(NestedBlock::single("notifications", notifications_block()).items(0, 1))
        .block(NestedBlock::single("runtime", runtime_block()).items(1, 1))
}

fn source_block() -> Block {
    Block::new()
        .description(
            "Where the input comes from: a Glue catalog table (`catalog_database` and \
             `catalog_table`) or an S3 `path`, not both.",
        )
        .attribute(Attribute::string("catalog_database").optional().description("Glue database of the source table."))
        .attribute(Attribute::string("catalog_table").optional().description(
            "Glue table to read: its location, columns, types and partition keys. The job role may \
             read the table's S3 location, resolved from the catalog at plan time.",
        ))
        .attribute(Attribute::string("path").optional().description(
            "S3 URI of the input: a folder (`s3://bucket/raw/orders/`), an object, or a glob \
             (`s3://bucket/raw/2024-*/`).",
        ))
        .attribute(optional_with_default(Attribute::string("format")).description(
            "Input format: `json` (default) — newline-delimited JSON or a JSON array, plain, `.gz` or \
             `.zst`.",
        ))
        .attribute(Attribute::string("records_path").optional().description(
            "Take the records from the array at this dotted path inside each JSON document \
             (`features` for a GeoJSON FeatureCollection, `data.items` for an API dump) instead \
             of the documents themselves. Array indexes such as `features[*]` are refused at plan \
             time.",
        ))
        .attribute(optional_with_default(Attribute::bool("incremental")).description(
            "Convert only the input objects no earlier successful run converted (default \
             `false`): each run's manifest records its inputs, so every input is published \
             exactly once across retries, killed runs and runs started together. An object \
             rewritten after it was converted is reported, not converted again. Needs \
             `write_mode = \"append\"` and no scale-out (`parallelism`).",
        ))
}

fn mapping_block() -> Block {
    Block::new()
        .description(
            "One output column, in order (as Glue's ApplyMapping). Without any `mapping` block \
             every source column is written unchanged.",
        )
        .attribute(Attribute::string("from").required().description(
            "Source column; a dotted path reaches into nested fields (`customer.id`).",
        ))
        .attribute(
            Attribute::string("to")
                .required()
                .description("Output column name (unique, case-insensitively)."),
        )
        .attribute(Attribute::string("type").required().description(
            "Glue type of the output column, e.g. `bigint`, `decimal(10,2)`, `timestamp`, \
             `array<struct<sku:string,qty:int>>`.",
        ))
}

fn data_quality_block() -> Block {
    Block::new()
        .description("Data-quality rules evaluated on every run, in the same pass as the conversion.")
        .attribute(optional_with_default(Attribute::string("ruleset")).description(
            "DQDL ruleset, checked at plan time. Default: `Rules = [ ColumnCount > 0 ]`.",
        ))
        .attribute(optional_with_default(Attribute::string("on_failure")).description(
            "What a failed rule does: `fail` (default; publish nothing, the run fails naming the \
             rules), `warn` (publish and report), `quarantine` (rows failing row-level rules go to \
             `quarantine_path`, the rest is published).",
        ))
        .attribute(Attribute::string("results_path").optional().description(
            "S3 URI for rule results and metric history. Default: `_gluepipe/dq/` under the target.",
        ))
        .attribute(Attribute::string("quarantine_path").optional().description(
            "S3 URI for quarantined rows. Default: beside the target, its folder name plus \
             `_quarantine` (`s3://b/orders/` → `s3://b/orders_quarantine/`), outside the table.",
        ))
}

fn metrics_block() -> Block {
    Block::new()
        .description(
            "CloudWatch metrics after every run: Glue Data Quality's `glue.data.quality.rules.passed` \
             and `glue.data.quality.rules.failed` (namespace `Glue Data Quality`, dimension \
             `EvaluationContext`), so alarms made for Glue jobs work unchanged, and the run's rows \
             in, written, rejected, quarantined and discarded, its duration and its outcome \
             (namespace `gluepipe`, dimension `Pipeline`). The job's role may put metrics in \
             these two namespaces only.",
        )
        .attribute(Attribute::string("evaluation_context").optional().description(
            "The `EvaluationContext` dimension of the data-quality metrics (Glue's \
             `dataQualityEvaluationContext`). Default: the pipeline's name.",
        ))
}

fn notifications_block() -> Block {
    Block::new()
        .description(
            "An SNS message after every run whose outcome is listed in `on`: the run's status, \
             counts, the rules that did not pass with their reasons, the error, and where the run \
             record, rejects and quarantine are. Email and SMS subscribers get text; SQS, Lambda, \
             HTTP(S) and Firehose subscribers get the same summary as JSON. The message \
             attributes `pipeline`, `status` and `run_id` can be filtered on. The job's role may \
             publish to this topic only.",
        )
        .attribute(
            Attribute::string("sns_topic_arn")
                .required()
                .description("The topic's ARN."),
        )
        .attribute(
            optional_with_default(Attribute::set("on", Type::String)).description(
                "The outcomes that send a message: `succeeded`, `failed`, `data_quality_failed`. \
             Default: `[\"failed\", \"data_quality_failed\"]`.",
            ),
        )
}

fn target_block() -> Block {
    Block::new()
        .description("Where the Parquet output goes.")
        .attribute(Attribute::string("path").required().description("S3 URI of the output folder."))
        .attribute(optional_with_default(Attribute::string("compression")).description(
            "Parquet compression: `snappy` (default), `zstd`, `gzip` or `none`.",
        ))
        .attribute(Attribute::list("partition_by", Type::String).optional().description(
            "Output columns to partition by (Hive-style `col=value/` folders), in order.",
        ))
        .attribute(optional_with_default(Attribute::string("write_mode")).description(
            "`append` (default; add files next to earlier runs') or `overwrite` (earlier files \
             are removed once the new ones are complete).",
        ))
        .attribute(Attribute::string("catalog_database").optional().description(
            "Glue database of a table to create or update for the output (with `catalog_table`).",
        ))
        .attribute(Attribute::string("catalog_table").optional().description(
            "Glue table to create or update for the output; the job role may update only this table.",
        ))
}

fn runtime_block() -> Block {
    let block = Block::new()
        .description("Where and how the pipeline runs.")
        .attribute(optional_with_default(Attribute::string("kind")).description(
            "`python-shell` (default): a Glue Python-shell job runs the launcher, which runs \
             `gluepipe-etl`. `ecs`: a Fargate task runs `gluepipe-etl` from a container image \
             (`image`, `cluster`, `subnets`, …). Changing it replaces the pipeline.",
        ))
        .attribute(Attribute::string("artifact_bucket").required().description(
            "Existing S3 bucket for the pipeline's artifacts.",
        ))
        .attribute(optional_with_default(Attribute::string("artifact_prefix")).description(
            "Key prefix in `artifact_bucket`, empty or ending in `/` (default `gluepipe/`). The \
             pipeline keeps its objects under `<prefix><name>/`.",
        ))
        .attribute(Attribute::string("etl_binary").optional().description(
            "Python shell only: local path of the `gluepipe-etl` binary (Linux x86-64) to upload, \
             overriding the one found beside the provider (the release zip's \
             `gluepipe-etl_linux_amd64`, or `gluepipe-etl` in a development build). It must be of \
             the provider's release. It is hashed at plan time: a rebuilt binary is a planned change.",
        ))
        .attribute(optional_with_default(Attribute::number("max_capacity")).description(
            "Python shell only: DPUs of the job, `0.0625` (default, about 1 GB of memory) or `1`.",
        ))
        .attribute(optional_with_default(Attribute::number("timeout_minutes")).description(
            "Run timeout in minutes, 1 to 2880 (default 60): the Glue job's timeout, or the ECS \
             task state's (Step Functions then stops the task).",
        ))
        .attribute(optional_with_default(Attribute::number("max_retries")).description(
            "Python shell only: how often Glue retries a failed run, 0 to 10 (default 0).",
        ))
        .attribute(optional_with_default(Attribute::number("max_concurrent_runs")).description(
            "Python shell only: how many runs of the job may run at once, 1 to 1000 (default 1). \
             Executions that find the job busy retry with backoff.",
        ))
        .attribute(Attribute::number("parallelism").optional().description(
            "Python shell only: scale-out, 1 to 1000 (unset: 1). With 1 a single run converts \
             every source file. Above 1 the state machine lists the source's objects with a \
             Step Functions Distributed Map, runs the job on batches of `files_per_shard` files \
             (at most `parallelism` runs at once, each writing its own part files and partial \
             data-quality state), then runs it once more to merge: check that every file was \
             converted once, evaluate the ruleset over all of them, and publish. \
             `max_concurrent_runs` must be at least `parallelism`.",
        ))
        .attribute(Attribute::number("files_per_shard").optional().description(
            "Python shell only: how many source objects each shard run converts at most when \
             `parallelism` is above 1, 1 to 1000 (unset: 16). A shard also gets at most 64 KiB \
             of object keys, so with long keys its batches are smaller.",
        ));
    super::ecs::schema::runtime_attributes()
        .into_iter()
        .fold(block, Block::attribute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_is_described() {
        fn check(block: &Block, path: &str) {
            for a in &block.attributes {
                assert!(
                    !a.description.is_empty(),
                    "{path}{} has no description",
                    a.name
                );
                assert!(a.required || a.optional || a.computed, "{path}{}", a.name);
            }
            for b in &block.blocks {
                assert!(
                    !b.block.description.is_empty(),
                    "block {path}{} has no description",
                    b.name
                );
                check(&b.block, &format!("{path}{}.", b.name));
            }
        }
        let schema = schema();
        assert_eq!(schema.version, 2);
        check(&schema.block, "");
    }

    #[test]
    fn the_interface_names_are_all_there() {
        let schema = schema();
        let top = [
            "id",
            "name",
            "description",
            "tags",
            "tags_all",
            "glue_job_name",
            "glue_job_role_arn",
            "state_machine_arn",
            "state_machine_role_arn",
            "spec_uri",
            "launcher_uri",
            "etl_binary_uri",
            "etl_binary_sha256",
        ];
        for name in top.iter().chain(MIRRORED.iter()) {
            assert!(schema.block.find_attribute(name).is_some(), "{name}");
        }
        let blocks: [(&str, &[&str]); 7] = [
            ("metrics", &["evaluation_context"]),
            ("notifications", &["sns_topic_arn", "on"]),
            (
                "source",
                &[
                    "catalog_database",
                    "catalog_table",
                    "path",
                    "format",
                    "records_path",
                    "incremental",
                ],
            ),
            ("mapping", &["from", "to", "type"]),
            ("data_quality", &["ruleset", "on_failure", "results_path"]),
            (
                "target",
                &[
                    "path",
                    "compression",
                    "partition_by",
                    "catalog_database",
                    "catalog_table",
                ],
            ),
            (
                "runtime",
                &[
                    "kind",
                    "artifact_bucket",
                    "artifact_prefix",
                    "etl_binary",
                    "max_capacity",
                    "timeout_minutes",
                    "max_retries",
                    "max_concurrent_runs",
                    "parallelism",
                    "files_per_shard",
                ],
            ),
        ];
        for (block, attrs) in blocks {
            let b = schema
                .block
                .find_block(block)
                .unwrap_or_else(|| panic!("block {block}"));
            for a in attrs {
                assert!(b.block.find_attribute(a).is_some(), "{block}.{a}");
            }
        }
        let name = schema
            .block
            .find_attribute("name")
            .map(|a| a.requires_replace);
        assert_eq!(name, Some(true));
    }

    #[test]
    fn defaults_name_optional_computed_attributes() {
        let schema = schema();
        for (block, attr, _) in defaults() {
            let found = if block.is_empty() {
                schema.block.find_attribute(attr)
            } else {
                schema
                    .block
                    .find_block(block)
                    .and_then(|b| b.block.find_attribute(attr))
            };
            let a = found.unwrap_or_else(|| panic!("{block}.{attr}"));
            assert!(
                a.optional && a.computed,
                "{block}.{attr} must be optional and computed"
            );
        }
    }
}
