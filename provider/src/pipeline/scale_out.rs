//! Scale-out (`runtime { parallelism = N }` with N above 1): the state machine converts the
//! source in shards, then merges them, instead of one run over everything.
//!
//! ```text
//! CheckArguments ─► (NoArguments) ─► Shards: Distributed Map over the source's objects
//!       │                              each batch of `files_per_shard` objects, at most
//!       │                              `parallelism` at once, in its own child execution:
//!       │                                ShardArguments ─► RunShard (Glue run, shard mode)
//!       │                         ─► MergeArguments ─► Merge (Glue run, merge mode) ─► end
//!       └─ a shard failed ─► ShardFailed · the merge failed ─► JobFailed · anything else ─► Failed
//! ```
//! - `Shards` lists the source with the `s3:listObjectsV2` item reader (bucket and the key
//!   prefix before any glob; the binary ignores listed objects that are not the source's
//!   inputs) and batches the objects. `ItemBatcher.BatchInput` carries what every shard must
//!   share with the merge, taken from the parent execution: the run id (the execution's name),
//!   the evaluation time (its start time) and the execution's run arguments.
//! - Each shard run gets those arguments plus `--gluepipe_mode shard`, the run id, the
//!   evaluation time and its batch as JSON (`--gluepipe_shard_inputs`); the merge run gets the
//!   arguments plus `--gluepipe_mode merge`, the run id and the evaluation time. The mode keys
//!   are merged last, so an execution's arguments cannot override them.
//! - Every Glue run retries busy errors as the single run does (`asl::GLUE_RUN_ERRORS`). A
//!   failed shard fails its child execution, and with a tolerated failure of 0 % the map, which
//!   ends the execution in `ShardFailed`; a failed merge (e.g. data quality, exit 3) ends it in
//!   `JobFailed` with the run as the cause, as a single run would.
//! - The map's result is discarded (`ResultPath: null`): shards report through S3 (their part
//!   files and partial state under the target's `_gluepipe/shards/<run id>/`), not through the
//!   execution's payload.

use gluepipe_spec::S3Uri;
use serde_json::{Map, Value, json};

use super::asl::{GLUE_RUN_ERRORS, add_argument_states, glue_run_task, to_pretty};
use super::expand::{GLOB_CHARS, args};
use super::model::{ScaleOut, defaults};
use super::names::AwsEnv;
use super::policy::Statement;

/// The item reader that lists an S3 prefix (every page) for a Distributed Map.
pub const LIST_OBJECTS_V2: &str = "arn:aws:states:::s3:listObjectsV2";

/// Error name of the `Fail` state for a failed shard.
pub const SHARD_FAILED: &str = "gluepipe.ShardFailed";

/// The values of `--gluepipe_mode` (the launcher's `run`, the default, is the single run).
pub const SHARD_MODE: &str = "shard";
pub const MERGE_MODE: &str = "merge";

/// What the map lists: a bucket and a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceListing {
    pub bucket: String,
    pub prefix: String,
}

impl SourceListing {
    /// The listing that covers a source location: a folder or an object is its own prefix
    /// (`raw/orders` also lists `raw/orders-old/…`, which the binary ignores); a glob is cut
    /// at its first wildcard (`raw/2024-*/` lists `raw/2024-`).
    pub fn of(source: &S3Uri) -> Self {
        let key = &source.key;
        let prefix = key.find(GLOB_CHARS).map_or(key.as_str(), |i| &key[..i]);
        Self {
            bucket: source.bucket.clone(),
            prefix: prefix.to_string(),
        }
    }
}

/// The definition for a scaled-out pipeline whose Glue job is `job_name`, as pretty JSON.
pub fn definition(
    pipeline: &str,
    job_name: &str,
    listing: &SourceListing,
    scale_out: ScaleOut,
) -> String {
    let (parallelism, files) = (scale_out.parallelism(), scale_out.files_per_shard());
    let mut shard_states = json!({
        "ShardArguments": {
            "Type": "Pass",
            "Comment": "This shard's run arguments: its batch of objects, the parent's run id and evaluation time.",
            "Parameters": mode_arguments(SHARD_MODE, "$.BatchInput.run_id", "$.BatchInput.evaluated_at", true),
            "ResultPath": "$.gluepipe",
            "Next": "RunShard"
        },
        "RunShard": glue_run_task(job_name, "States.JsonMerge($.BatchInput.arguments, $.gluepipe, false)")
    });
    GLUE_RUN_ERRORS.add_fail_states(&mut shard_states);

    let mut asl = json!({
        "Comment": format!(
            "gluepipe pipeline {pipeline}: converts the source in shards of {files} objects, at \
             most {parallelism} Glue runs of {job_name} at once, then merges them in one more \
             run. Start with {{\"arguments\": {{\"--key\": \"value\"}}}} to override run arguments."
        ),
        "StartAt": "CheckArguments",
        "States": {
            "Shards": {
                "Type": "Map",
                "Comment": "One child execution per batch of source objects; each converts its batch in a shard run.",
                "ItemReader": {
                    "Resource": LIST_OBJECTS_V2,
                    "Parameters": {"Bucket": listing.bucket, "Prefix": listing.prefix}
                },
                "ItemBatcher": {
                    "MaxItemsPerBatch": files,
                    "BatchInput": {
                        "run_id.$": "$$.Execution.Name",
                        "evaluated_at.$": "$$.Execution.StartTime",
                        "arguments.$": "$.arguments"
                    }
                },
                "MaxConcurrency": parallelism,
                "ToleratedFailurePercentage": 0,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "ShardArguments",
                    "States": shard_states
                },
                "ResultPath": null,
                "Catch": [
                    {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "ResultPath": "$.error", "Next": "ShardFailed"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
                ],
                "Next": "MergeArguments"
            },
            "ShardFailed": {
                "Type": "Fail",
                "Comment": "A shard run failed; the map run's child executions say which and why. Nothing was published.",
                "Error": SHARD_FAILED,
                "CausePath": "States.Format('{}: {}', $.error.Error, $.error.Cause)"
            },
            "MergeArguments": {
                "Type": "Pass",
                "Comment": "The merge run's arguments: the run id and evaluation time the shards got.",
                "Parameters": mode_arguments(MERGE_MODE, "$$.Execution.Name", "$$.Execution.StartTime", false),
                "ResultPath": "$.gluepipe",
                "Next": "Merge"
            },
            "Merge": glue_run_task(job_name, "States.JsonMerge($.arguments, $.gluepipe, false)")
        }
    });
    add_argument_states(&mut asl["States"], "Shards");
    GLUE_RUN_ERRORS.add_fail_states(&mut asl["States"]);
    to_pretty(&asl)
}

/// The scale-out a definition written by [`definition`] runs with, read back (for import);
/// `None` for any other definition. A batch size equal to the default reads as unset.
pub fn observed(definition: &str) -> Option<ScaleOut> {
    let asl: Value = serde_json::from_str(definition).ok()?;
    let map = asl.get("States")?.get("Shards")?;
    let parallelism = map.get("MaxConcurrency")?.as_i64()?;
    let files = map.get("ItemBatcher")?.get("MaxItemsPerBatch")?.as_i64()?;
    Some(ScaleOut {
        parallelism: Some(parallelism),
        files_per_shard: (files != defaults::FILES_PER_SHARD).then_some(files),
    })
}

/// The run arguments a mode adds: `--gluepipe_mode`, the run id and evaluation time (from the
/// given paths) and, for a shard, its batch as JSON text.
fn mode_arguments(mode: &str, run_id: &str, evaluated_at: &str, with_items: bool) -> Value {
    let mut arguments = Map::new();
    arguments.insert(args::MODE.into(), json!(mode));
    arguments.insert(format!("{}.$", args::RUN_ID), json!(run_id));
    arguments.insert(format!("{}.$", args::EVALUATED_AT), json!(evaluated_at));
    if with_items {
        arguments.insert(
            format!("{}.$", args::SHARD_INPUTS),
            json!("States.JsonToString($.Items)"),
        );
    }
    Value::Object(arguments)
}

/// What the state machine role needs besides running the job: list the source (under its
/// prefix only) for the item reader, and start, watch and stop its own child executions.
/// The state machine's ARN is built from its name, so the role does not depend on it.
pub(crate) fn state_machine_statements(
    env: &AwsEnv,
    state_machine_name: &str,
    state_machine_arn: &str,
    listing: &SourceListing,
) -> Vec<Statement> {
    let p = &env.partition;
    let list = Statement::allow(
        "ListSourceObjects",
        ["s3:ListBucket"],
        [format!("arn:{p}:s3:::{}", listing.bucket)],
    );
    let list = if listing.prefix.is_empty() {
        list // the whole bucket: a request without a prefix carries no s3:prefix to match
    } else {
        list.when("StringEquals", "s3:prefix", [listing.prefix.as_str()])
    };
    // Child executions are named `<machine>/<map run>:<id>`; the parent's own `<machine>:<id>`.
    let executions = |separator: char| {
        format!(
            "arn:{p}:states:{}:{}:execution:{state_machine_name}{separator}*",
            env.region, env.account_id
        )
    };
    vec![
        list,
        Statement::allow(
            "StartShardExecutions",
            ["states:StartExecution"],
            [state_machine_arn],
        ),
        Statement::allow(
            "WatchShardExecutions",
            ["states:DescribeExecution", "states:StopExecution"],
            [executions(':'), executions('/')],
        ),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pipeline::asl::{FAILED, JOB_FAILED, assert_transitions_closed};

    fn listing() -> SourceListing {
        SourceListing {
            bucket: "raw-bucket".into(),
            prefix: "orders/".into(),
        }
    }

    fn scale(parallelism: i64, files: Option<i64>) -> ScaleOut {
        ScaleOut {
            parallelism: Some(parallelism),
            files_per_shard: files,
        }
    }

    fn parsed() -> Value {
        serde_json::from_str(&definition(
            "orders",
            "orders-job",
            &listing(),
            scale(3, Some(2)),
        ))
        .unwrap()
    }

    #[test]
    fn transitions_are_closed_in_the_parent_and_the_shards() {
        let asl = parsed();
        assert_transitions_closed(asl["StartAt"].as_str().unwrap(), &asl["States"]);
        let processor = &asl["States"]["Shards"]["ItemProcessor"];
        assert_transitions_closed(processor["StartAt"].as_str().unwrap(), &processor["States"]);
        // The arguments are checked first, then the map, then the merge.
        assert_eq!(
            asl["States"]["CheckArguments"]["Choices"][0]["Next"],
            "Shards"
        );
        assert_eq!(asl["States"]["NoArguments"]["Next"], "Shards");
        assert_eq!(asl["States"]["Shards"]["Next"], "MergeArguments");
        assert_eq!(asl["States"]["MergeArguments"]["Next"], "Merge");
        assert_eq!(asl["States"]["Merge"]["End"], true);
    }

    #[test]
    fn the_map_is_distributed_over_the_source_listing() {
        let asl = parsed();
        let map = &asl["States"]["Shards"];
        assert_eq!(map["Type"], "Map");
        assert_eq!(
            map["ItemProcessor"]["ProcessorConfig"],
            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        );
        assert_eq!(
            map["ItemReader"],
            json!({
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "raw-bucket", "Prefix": "orders/"}
            })
        );
        assert_eq!(map["ItemBatcher"]["MaxItemsPerBatch"], 2);
        assert_eq!(
            map["ItemBatcher"]["BatchInput"],
            json!({
                "run_id.$": "$$.Execution.Name",
                "evaluated_at.$": "$$.Execution.StartTime",
                "arguments.$": "$.arguments"
            })
        );
        assert_eq!(map["MaxConcurrency"], 3);
        assert_eq!(map["ToleratedFailurePercentage"], 0);
        assert!(map.get("ResultPath").unwrap().is_null(), "result discarded");
        assert!(
            map.get("ItemSelector").is_none(),
            "batches hold the listing"
        );
    }

    #[test]
    fn files_per_shard_defaults_to_16() {
        let asl: Value =
            serde_json::from_str(&definition("p", "j", &listing(), scale(5, None))).unwrap();
        assert_eq!(
            asl["States"]["Shards"]["ItemBatcher"]["MaxItemsPerBatch"],
            16
        );
        assert_eq!(asl["States"]["Shards"]["MaxConcurrency"], 5);
    }

    #[test]
    fn a_shard_runs_the_job_in_shard_mode_on_its_batch() {
        let asl = parsed();
        let states = &asl["States"]["Shards"]["ItemProcessor"]["States"];
        assert_eq!(
            states["ShardArguments"]["Parameters"],
            json!({
                "--gluepipe_mode": "shard",
                "--gluepipe_run_id.$": "$.BatchInput.run_id",
                "--gluepipe_evaluated_at.$": "$.BatchInput.evaluated_at",
                "--gluepipe_shard_inputs.$": "States.JsonToString($.Items)"
            })
        );
        assert_eq!(states["ShardArguments"]["ResultPath"], "$.gluepipe");
        let run = &states["RunShard"];
        assert_eq!(run["Resource"], "arn:aws:states:::glue:startJobRun.sync");
        assert_eq!(run["Parameters"]["JobName"], "orders-job");
        // The execution's arguments first, the mode keys last: they cannot be overridden.
        assert_eq!(
            run["Parameters"]["Arguments.$"],
            "States.JsonMerge($.BatchInput.arguments, $.gluepipe, false)"
        );
    }

    #[test]
    fn the_merge_runs_the_job_in_merge_mode_with_the_same_run_id() {
        let asl = parsed();
        let states = &asl["States"];
        assert_eq!(
            states["MergeArguments"]["Parameters"],
            json!({
                "--gluepipe_mode": "merge",
                "--gluepipe_run_id.$": "$$.Execution.Name",
                "--gluepipe_evaluated_at.$": "$$.Execution.StartTime"
            })
        );
        let merge = &states["Merge"];
        assert_eq!(merge["Resource"], "arn:aws:states:::glue:startJobRun.sync");
        assert_eq!(merge["Parameters"]["JobName"], "orders-job");
        assert_eq!(
            merge["Parameters"]["Arguments.$"],
            "States.JsonMerge($.arguments, $.gluepipe, false)"
        );
        // The shards' run id and evaluation time come from the same context values.
        let batch = &states["Shards"]["ItemBatcher"]["BatchInput"];
        assert_eq!(
            batch["run_id.$"],
            states["MergeArguments"]["Parameters"]["--gluepipe_run_id.$"]
        );
        assert_eq!(
            batch["evaluated_at.$"],
            states["MergeArguments"]["Parameters"]["--gluepipe_evaluated_at.$"]
        );
    }

    #[test]
    fn every_run_retries_and_catches_as_the_single_run_does() {
        let asl = parsed();
        let single: Value =
            serde_json::from_str(&crate::pipeline::asl::definition("orders", "orders-job"))
                .unwrap();
        let shard_states = &asl["States"]["Shards"]["ItemProcessor"]["States"];
        for (states, task) in [(&asl["States"], "Merge"), (shard_states, "RunShard")] {
            for key in ["Retry", "Catch", "ResultSelector"] {
                assert_eq!(
                    states[task][key], single["States"]["RunJob"][key],
                    "{task}.{key}"
                );
            }
            for fail in ["JobFailed", "Failed"] {
                assert_eq!(states[fail], single["States"][fail], "{task}: {fail}");
            }
        }
        assert_eq!(asl["States"]["JobFailed"]["Error"], JOB_FAILED);
        assert_eq!(asl["States"]["JobFailed"]["CausePath"], "$.error.Cause");
    }

    #[test]
    fn a_failed_shard_fails_the_execution() {
        let asl = parsed();
        let catch = asl["States"]["Shards"]["Catch"].as_array().unwrap().clone();
        assert_eq!(
            catch[0]["ErrorEquals"],
            json!(["States.ExceedToleratedFailureThreshold"])
        );
        assert_eq!(catch[0]["Next"], "ShardFailed");
        assert_eq!(catch[1]["ErrorEquals"], json!(["States.ALL"]));
        assert_eq!(catch[1]["Next"], "Failed");
        for c in &catch {
            assert_eq!(c["ResultPath"], "$.error");
        }
        let fail = &asl["States"]["ShardFailed"];
        assert_eq!(fail["Type"], "Fail");
        assert_eq!(fail["Error"], SHARD_FAILED);
        assert!(
            fail["CausePath"]
                .as_str()
                .unwrap()
                .contains("$.error.Cause")
        );
        assert_eq!(asl["States"]["Failed"]["Error"], FAILED);
    }

    #[test]
    fn the_scale_out_reads_back_from_the_definition() {
        for scale_out in [scale(3, Some(2)), scale(7, None)] {
            let text = definition("p", "j", &listing(), scale_out);
            assert_eq!(observed(&text), Some(scale_out));
        }
        let single = crate::pipeline::asl::definition("p", "j");
        for text in [single.as_str(), "", "{}", "not json"] {
            assert_eq!(observed(text), None, "{text}");
        }
    }

    #[test]
    fn listings_cover_folders_objects_and_globs() {
        let cases = [
            ("s3://b-1/raw/orders/", "raw/orders/"),
            ("s3://b-1/raw/orders", "raw/orders"),
            ("s3://b-1/raw/2024-*/part.json", "raw/2024-"),
            ("s3://b-1/raw/day=1?/x", "raw/day=1"),
            ("s3://b-1/raw/{a,b}/", "raw/"),
            ("s3://b-1", ""),
        ];
        for (uri, prefix) in cases {
            let listing = SourceListing::of(&S3Uri::parse(uri).unwrap());
            assert_eq!(listing.bucket, "b-1", "{uri}");
            assert_eq!(listing.prefix, prefix, "{uri}");
        }
    }

    #[test]
    fn the_role_lists_the_prefix_and_runs_only_its_own_children() {
        let env = AwsEnv::new("eu-west-1", "123456789012");
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders";
        let statements = state_machine_statements(&env, "orders", arn, &listing());
        let json: Vec<Value> = statements
            .iter()
            .map(|s| serde_json::to_value(s).unwrap())
            .collect();
        assert_eq!(
            json[0],
            json!({
                "Sid": "ListSourceObjects",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::raw-bucket"],
                "Condition": {"StringEquals": {"s3:prefix": ["orders/"]}}
            })
        );
        assert_eq!(json[1]["Action"], json!(["states:StartExecution"]));
        assert_eq!(json[1]["Resource"], json!([arn]));
        assert_eq!(
            json[2]["Action"],
            json!(["states:DescribeExecution", "states:StopExecution"])
        );
        assert_eq!(
            json[2]["Resource"],
            json!([
                "arn:aws:states:eu-west-1:123456789012:execution:orders/*",
                "arn:aws:states:eu-west-1:123456789012:execution:orders:*"
            ])
        );
        // A whole-bucket source: no prefix to condition on.
        let whole = SourceListing {
            bucket: "raw-bucket".into(),
            prefix: String::new(),
        };
        let statements = state_machine_statements(&env, "orders", arn, &whole);
        assert!(statements[0].condition.is_empty());
    }
}
