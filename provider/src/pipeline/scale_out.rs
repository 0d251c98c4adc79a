//! Scale-out (`runtime { parallelism = N }` with N above 1): the state machine converts the
//! source in shards, then merges them, instead of one run over everything.
//!
//! ```text
//! CheckArguments ─► (NoArguments) ─► Shards: Distributed Map over the source's objects
//!       │                              each batch of at most `files_per_shard` objects and
//!       │                              MAX_BATCH_BYTES, at most `parallelism` at once, in its
//!       │                              own child execution:
//!       │                                ShardArguments ─► RunShard (Glue run, shard mode)
//!       │                         ─► MergeArguments ─► Merge (Glue run, merge mode) ─► end
//!       │                                                 └─ failed ─► JobFailed · Failed
//!       └─ the map failed ─► DiscardArguments ─► Discard (Glue run, discard mode)
//!                              ─► AfterDiscard ─► ShardFailed (a shard failed) · Failed (else)
//! ```
//! - `Shards` lists the source with the `s3:listObjectsV2` item reader (bucket and the key
//!   prefix before any glob; the binary ignores listed objects that are not the source's
//!   inputs), keeps only each object's key (`ItemSelector`) and batches the keys
//!   (`ItemBatcher`). `BatchInput` carries what every shard must share with the merge, taken
//!   from the parent execution: the run id (the execution's name, which the launcher turns
//!   into a run id the binary takes, the same way in every run), the evaluation time (its
//!   start time) and the execution's run arguments.
//! - A batch is cut at `files_per_shard` keys or [`MAX_BATCH_BYTES`], whichever comes first, so
//!   a shard's payload stays within Step Functions' and Glue's size limits whatever the keys.
//! - Each shard run gets the execution's arguments plus `--gluepipe_mode shard`, the run id,
//!   the evaluation time and its batch as JSON (`--gluepipe_shard_inputs`); the merge run gets
//!   the arguments plus `--gluepipe_mode merge`, the run id and the evaluation time. The mode
//!   keys are merged last, so an execution's arguments cannot override them.
//! - Every Glue run retries busy errors as the single run does (`asl::GLUE_RUN_ERRORS`). A
//!   failed shard fails its child execution, and with a tolerated failure of 0 % the map; a
//!   failed merge (e.g. data quality, exit 3) ends the execution in `JobFailed` with the run as
//!   the cause, as a single run would; the merge discards the shards itself, unless it refused
//!   them (then they stay for another merge of the run id).
//! - A failed map leaves the staged files and states of the shards that succeeded under the
//!   target's `_gluepipe/shards/<run id>/`, which no merge will ever claim (the next execution
//!   has another run id). So every map failure first runs the job in discard mode (the same
//!   run id), which aborts them, then ends in `ShardFailed` (a shard failed) or `Failed`
//!   (anything else) with the map's own error and cause: the discard's outcome goes to
//!   `$.discard`, and a failed discard is caught and does not hide the original error.
//! - The map's result is discarded (`ResultPath: null`): shards report through S3 (their part
//!   files and partial state under the target's `_gluepipe/shards/<run id>/`), not through the
//!   execution's payload.

use std::collections::BTreeSet;

use gluepipe_spec::location::glob_start;
use gluepipe_spec::{Location, PipelineSpec, S3Uri};
use serde_json::{Map, Value, json};

use super::asl::{GLUE_RUN_ERRORS, add_argument_states, glue_run_task, to_pretty};
use super::expand::args;
use super::model::{ScaleOut, defaults};
use super::names::AwsEnv;
use super::policy::Statement;

/// The item reader that lists an S3 prefix (every page) for a Distributed Map.
pub const LIST_OBJECTS_V2: &str = "arn:aws:states:::s3:listObjectsV2";

/// Error name of the `Fail` state for a failed shard.
pub const SHARD_FAILED: &str = "gluepipe.ShardFailed";

/// The error a Distributed Map fails with when more child executions failed than tolerated
/// (here: any).
pub const MAP_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";

/// The values of `--gluepipe_mode` (the launcher's `run`, the default, is the single run).
pub const SHARD_MODE: &str = "shard";
pub const MERGE_MODE: &str = "merge";
pub const DISCARD_MODE: &str = "discard";

/// The largest batch a shard gets, in bytes of its JSON array of `{"Key": …}` items (about
/// 1 KiB each for S3's longest, 1024-byte keys; more only for keys full of characters JSON
/// escapes). A batch travels as its child execution's input, then as JSON text in a run
/// argument, whose quotes the state escapes once more (at most twice as long). 64 KiB keeps
/// every payload of a shard under Step Functions' 256 KiB, with room for the execution's
/// arguments, and the run's arguments far under Glue's 260 KB.
pub const MAX_BATCH_BYTES: i64 = 64 * 1024;

/// The run arguments of every Glue run of a scaled-out pipeline: the execution's arguments,
/// overlaid with the mode keys a Pass state put at `$.gluepipe`.
const RUN_ARGUMENTS: &str = "States.JsonMerge($.arguments, $.gluepipe, false)";

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
        let prefix = glob_start(key).map_or(key.as_str(), |i| &key[..i]);
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
            "Comment": "This shard's run arguments: the execution's, and its mode, the parent's run id and evaluation time and its batch of objects. The state keeps the batch only as that JSON text.",
            "Parameters": {
                "arguments.$": "$.BatchInput.arguments",
                "gluepipe": mode_arguments(
                    SHARD_MODE,
                    "$.BatchInput.run_id",
                    Some("$.BatchInput.evaluated_at"),
                    Some("States.JsonToString($.Items)"),
                )
            },
            "Next": "RunShard"
        },
        "RunShard": glue_run_task(job_name, RUN_ARGUMENTS)
    });
    GLUE_RUN_ERRORS.add_fail_states(&mut shard_states);

    let mut asl = json!({
        "Comment": format!(
            "gluepipe pipeline {pipeline}: converts the source in shards of at most {files} \
             objects, at most {parallelism} Glue runs of {job_name} at once, then merges them \
             in one more run. Start with {{\"arguments\": {{\"--key\": \"value\"}}}} to override \
             run arguments."
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
                "ItemSelector": {"Key.$": "$$.Map.Item.Value.Key"},
                "ItemBatcher": {
                    "MaxItemsPerBatch": files,
                    "MaxInputBytesPerBatch": MAX_BATCH_BYTES,
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
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DiscardArguments"}
                ],
                "Next": "MergeArguments"
            },
            "MergeArguments": {
                "Type": "Pass",
                "Comment": "The merge run's arguments: the run id and evaluation time the shards got.",
                "Parameters": mode_arguments(MERGE_MODE, "$$.Execution.Name", Some("$$.Execution.StartTime"), None),
                "ResultPath": "$.gluepipe",
                "Next": "Merge"
            },
            "Merge": glue_run_task(job_name, RUN_ARGUMENTS),
            "DiscardArguments": {
                "Type": "Pass",
                "Comment": "The map failed: a run in discard mode aborts what the shards of this run id staged. The map's error stays in $.error.",
                "Parameters": mode_arguments(DISCARD_MODE, "$$.Execution.Name", None, None),
                "ResultPath": "$.gluepipe",
                "Next": "Discard"
            },
            "Discard": discard_task(job_name, "AfterDiscard"),
            "AfterDiscard": {
                "Type": "Choice",
                "Comment": "End with the map's error, whatever the discard did (its outcome is in $.discard).",
                "Choices": [
                    {"Variable": "$.error.Error", "StringEquals": MAP_FAILURE_THRESHOLD, "Next": "ShardFailed"}
                ],
                "Default": "Failed"
            },
            "ShardFailed": {
                "Type": "Fail",
                "Comment": "A shard run failed; the map run's child executions say which and why. Nothing was published.",
                "Error": SHARD_FAILED,
                "CausePath": "States.Format('{}: {}', $.error.Error, $.error.Cause)"
            }
        }
    });
    add_argument_states(&mut asl["States"], "Shards");
    GLUE_RUN_ERRORS.add_fail_states(&mut asl["States"]);
    to_pretty(&asl)
}

/// The discard run: a Glue run task like the others (busy errors retried) that goes on to
/// `next` whatever happens, keeping its result or error at `$.discard`, away from `$.error`.
fn discard_task(job_name: &str, next: &str) -> Value {
    let mut task = glue_run_task(job_name, RUN_ARGUMENTS);
    if let Some(fields) = task.as_object_mut() {
        fields.remove("End");
        fields.insert("ResultPath".into(), json!("$.discard"));
        fields.insert(
            "Catch".into(),
            json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.discard", "Next": next}]),
        );
        fields.insert("Next".into(), json!(next));
    }
    task
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

/// The run arguments a mode adds: `--gluepipe_mode`, the run id and (for a shard and the
/// merge) the evaluation time from the given paths, and a shard's batch as JSON text.
fn mode_arguments(
    mode: &str,
    run_id: &str,
    evaluated_at: Option<&str>,
    shard_inputs: Option<&str>,
) -> Value {
    let mut arguments = Map::new();
    arguments.insert(args::MODE.into(), json!(mode));
    arguments.insert(format!("{}.$", args::RUN_ID), json!(run_id));
    if let Some(path) = evaluated_at {
        arguments.insert(format!("{}.$", args::EVALUATED_AT), json!(path));
    }
    if let Some(items) = shard_inputs {
        arguments.insert(format!("{}.$", args::SHARD_INPUTS), json!(items));
    }
    Value::Object(arguments)
}

/// Listing the multipart uploads in the buckets a run stages its files in (the target's and
/// the quarantine location's): every commit sweeps what abandoned runs staged there, and a
/// sharded run's merge and discard find the uploads of its shards and abort them. Every role
/// that runs the ETL gets it (a single run's sweep needs it too). The listing is granted on
/// the bucket (it shows upload keys, no data); aborting stays limited to the prefixes the run
/// writes.
pub(crate) fn job_statements(spec: &PipelineSpec, env: &AwsEnv) -> Vec<Statement> {
    let quarantine = spec.quarantine_location().and_then(Result::ok);
    let buckets: BTreeSet<String> = S3Uri::parse(&spec.target.path)
        .ok()
        .into_iter()
        .chain(quarantine.as_ref().and_then(Location::as_s3).cloned())
        .map(|uri| uri.bucket)
        .collect();
    if buckets.is_empty() {
        return Vec::new();
    }
    vec![Statement::allow(
        "ListStagedUploads",
        ["s3:ListBucketMultipartUploads"],
        buckets
            .iter()
            .map(|bucket| format!("arn:{}:s3:::{bucket}", env.partition)),
    )]
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
    use crate::pipeline::asl::{FAILED, JOB_FAILED, assert_transitions_closed, next_states};

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
        let states = &asl["States"];
        assert_eq!(states["CheckArguments"]["Choices"][0]["Next"], "Shards");
        assert_eq!(states["NoArguments"]["Next"], "Shards");
        assert_eq!(states["Shards"]["Next"], "MergeArguments");
        assert_eq!(states["MergeArguments"]["Next"], "Merge");
        assert_eq!(states["Merge"]["End"], true);
        // A failed map: the discard, then one of two Fail states.
        assert_eq!(states["DiscardArguments"]["Next"], "Discard");
        assert_eq!(states["Discard"]["Next"], "AfterDiscard");
        assert!(states["Discard"].get("End").is_none());
        let mut ends = next_states(&states["AfterDiscard"]);
        ends.sort();
        assert_eq!(ends, ["Failed", "ShardFailed"]);
        for end in ends {
            assert_eq!(states[end.as_str()]["Type"], "Fail", "{end}");
        }
    }

    #[test]
    fn the_map_is_distributed_over_the_keys_of_the_source_listing() {
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
        // Each listed object is reduced to its key before batching.
        assert_eq!(
            map["ItemSelector"],
            json!({"Key.$": "$$.Map.Item.Value.Key"})
        );
        assert_eq!(
            map["ItemBatcher"],
            json!({
                "MaxItemsPerBatch": 2,
                "MaxInputBytesPerBatch": 65536,
                "BatchInput": {
                    "run_id.$": "$$.Execution.Name",
                    "evaluated_at.$": "$$.Execution.StartTime",
                    "arguments.$": "$.arguments"
                }
            })
        );
        assert_eq!(map["MaxConcurrency"], 3);
        assert_eq!(map["ToleratedFailurePercentage"], 0);
        assert!(map.get("ResultPath").unwrap().is_null(), "result discarded");
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
        // The Pass state replaces the child's input: the batch stays only as JSON text.
        assert!(states["ShardArguments"].get("ResultPath").is_none());
        assert_eq!(
            states["ShardArguments"]["Parameters"],
            json!({
                "arguments.$": "$.BatchInput.arguments",
                "gluepipe": {
                    "--gluepipe_mode": "shard",
                    "--gluepipe_run_id.$": "$.BatchInput.run_id",
                    "--gluepipe_evaluated_at.$": "$.BatchInput.evaluated_at",
                    "--gluepipe_shard_inputs.$": "States.JsonToString($.Items)"
                }
            })
        );
        assert_runs_the_job_with_merged_arguments(&states["RunShard"]);
    }

    /// A task that runs the job with the execution's arguments first and the mode keys last,
    /// so an execution cannot override them.
    fn assert_runs_the_job_with_merged_arguments(task: &Value) {
        assert_eq!(task["Resource"], "arn:aws:states:::glue:startJobRun.sync");
        assert_eq!(task["Parameters"]["JobName"], "orders-job");
        assert_eq!(
            task["Parameters"]["Arguments.$"],
            "States.JsonMerge($.arguments, $.gluepipe, false)"
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
        assert_eq!(states["MergeArguments"]["ResultPath"], "$.gluepipe");
        assert_runs_the_job_with_merged_arguments(&states["Merge"]);
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
        // The discard retries busy errors too, but catches everything itself.
        assert_eq!(
            asl["States"]["Discard"]["Retry"],
            single["States"]["RunJob"]["Retry"]
        );
        assert_eq!(asl["States"]["JobFailed"]["Error"], JOB_FAILED);
        assert_eq!(asl["States"]["JobFailed"]["CausePath"], "$.error.Cause");
    }

    #[test]
    fn a_failed_map_discards_the_run_in_discard_mode() {
        let asl = parsed();
        let states = &asl["States"];
        let catch = states["Shards"]["Catch"].as_array().unwrap().clone();
        assert_eq!(
            catch,
            [
                json!({"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DiscardArguments"})
            ]
        );
        // The run id the shards and the merge get; no evaluation time, no batch.
        assert_eq!(
            states["DiscardArguments"]["Parameters"],
            json!({
                "--gluepipe_mode": "discard",
                "--gluepipe_run_id.$": "$$.Execution.Name"
            })
        );
        assert_eq!(
            states["DiscardArguments"]["Parameters"]["--gluepipe_run_id.$"],
            states["MergeArguments"]["Parameters"]["--gluepipe_run_id.$"]
        );
        assert_eq!(states["DiscardArguments"]["ResultPath"], "$.gluepipe");
        // The execution's arguments (e.g. --output) with the mode keys merged last.
        assert_runs_the_job_with_merged_arguments(&states["Discard"]);
    }

    #[test]
    fn the_map_error_survives_the_discard_whatever_it_does() {
        let asl = parsed();
        let states = &asl["States"];
        let discard = &states["Discard"];
        // Success and failure of the discard land at $.discard, never on the map's $.error.
        assert_eq!(discard["ResultPath"], "$.discard");
        assert_eq!(
            discard["Catch"],
            json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.discard", "Next": "AfterDiscard"}])
        );
        for (name, state) in states.as_object().unwrap() {
            if name != "Shards" && state.get("Catch").is_some() {
                let catchers = state["Catch"].as_array().unwrap();
                let after_error = catchers.iter().all(|c| c["Next"] != "DiscardArguments");
                assert!(after_error, "{name} must not reach the discard");
            }
        }
        for name in ["DiscardArguments", "Discard"] {
            assert_ne!(states[name]["ResultPath"], "$.error", "{name}");
        }
        // The map's error decides the end.
        assert_eq!(
            states["AfterDiscard"]["Choices"],
            json!([{
                "Variable": "$.error.Error",
                "StringEquals": "States.ExceedToleratedFailureThreshold",
                "Next": "ShardFailed"
            }])
        );
        assert_eq!(states["AfterDiscard"]["Default"], "Failed");
        let shard_failed = &states["ShardFailed"];
        assert_eq!(shard_failed["Type"], "Fail");
        assert_eq!(shard_failed["Error"], SHARD_FAILED);
        assert_eq!(
            shard_failed["CausePath"],
            "States.Format('{}: {}', $.error.Error, $.error.Cause)"
        );
        assert_eq!(states["Failed"]["Error"], FAILED);
        assert_eq!(
            states["Failed"]["CausePath"],
            "States.Format('{}: {}', $.error.Error, $.error.Cause)"
        );
    }

    /// The largest batch, of the longest keys and the keys JSON escapes most, still fits every
    /// payload a shard makes: its child execution's input, the state after `ShardArguments`
    /// (the batch as escaped text) and the run's arguments.
    #[test]
    fn the_largest_batch_fits_step_functions_and_glue() {
        const STATE_LIMIT: usize = 256 * 1024; // Step Functions: input, output, state
        const GLUE_ARGUMENTS_LIMIT: usize = 260 * 1000; // Glue: a run's arguments
        let arguments = json!({"--output": format!("s3://{}/", "o".repeat(1000)), "--input": "x".repeat(8 * 1024)});
        let batch_input = json!({
            "run_id": "r".repeat(80),
            "evaluated_at": "2024-05-01T10:00:00.000Z",
            "arguments": arguments,
        });
        for key_char in ['k', '"', '\\', 'é'] {
            // Keys of 1024 bytes, as many as MaxInputBytesPerBatch lets into one batch.
            let key: String = std::iter::repeat_n(key_char, 1024 / key_char.len_utf8()).collect();
            let mut items = Vec::new();
            while serde_json::to_vec(&json!(
                items
                    .iter()
                    .chain([&json!({"Key": key})])
                    .collect::<Vec<_>>()
            ))
            .unwrap()
            .len()
                <= MAX_BATCH_BYTES as usize
            {
                items.push(json!({"Key": key}));
            }
            assert!(!items.is_empty(), "{key_char}: a key fits a batch");
            let child_input = json!({"BatchInput": batch_input, "Items": items});
            let text = serde_json::to_string(&items).unwrap();
            let mut run_arguments = arguments.as_object().unwrap().clone();
            run_arguments.insert("--gluepipe_mode".into(), json!("shard"));
            run_arguments.insert("--gluepipe_run_id".into(), batch_input["run_id"].clone());
            run_arguments.insert(
                "--gluepipe_evaluated_at".into(),
                batch_input["evaluated_at"].clone(),
            );
            run_arguments.insert("--gluepipe_shard_inputs".into(), json!(text));
            let shard_state = json!({"arguments": arguments, "gluepipe": run_arguments});
            for (what, payload) in [("child input", &child_input), ("shard state", &shard_state)] {
                let size = serde_json::to_vec(payload).unwrap().len();
                assert!(
                    size < STATE_LIMIT * 3 / 4,
                    "{key_char}: {what} is {size} bytes"
                );
            }
            let glue_size: usize = run_arguments
                .iter()
                .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                .sum();
            assert!(
                glue_size < GLUE_ARGUMENTS_LIMIT / 2,
                "{key_char}: {glue_size}"
            );
        }
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
            // Braces are literal, as gluepipe-etl matches them.
            ("s3://b-1/raw/{a,b}/", "raw/{a,b}/"),
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
