//! The state machine definition (Amazon States Language) that runs a pipeline's Glue job.
//!
//! ```text
//! CheckArguments ──(input has "arguments")──────────────► RunJob ──► end (SUCCEEDED)
//!        └──(no "arguments")──► NoArguments ({}) ─────────┘   │
//!                          the run failed (States.TaskFailed) ├──► JobFailed (Fail: cause = the run)
//!                          any other error, after retries     └──► Failed    (Fail: "<error>: <cause>")
//! ```
//! - `RunJob` uses the `.sync` integration, so the execution lasts as long as the job run and ends
//!   with the run's outcome.
//! - An execution input `{"arguments": {"--key": "value"}}` becomes the run's arguments, which
//!   override the job's default arguments (e.g. `--input` or `--run_date`); the job's
//!   non-overridable arguments (the spec and the binary) cannot be changed by an execution.
//! - Starting a run is retried with backoff on Glue throttling and concurrency errors, never on
//!   a failed run (Glue's own `max_retries` decides that).
//! - Every error ends in a `Fail` state. For a failed run (`gluepipe.JobFailed`) the cause is the
//!   Glue job run as JSON, whose `ErrorMessage` is the launcher's message (for a data-quality
//!   failure: the rules that failed); for anything else (`gluepipe.Failed`) it is the original
//!   error name and cause.

use serde_json::{Value, json};

/// The Step Functions service integration that starts a Glue job run and waits for it.
pub const GLUE_START_JOB_RUN_SYNC: &str = "arn:aws:states:::glue:startJobRun.sync";

/// Errors worth retrying when starting a run: the account or the job is busy, not broken.
/// `Glue.AWSGlueException` is included because Step Functions reports Glue's "Rate exceeded"
/// throttling under that generic name.
pub const RETRIED_GLUE_ERRORS: [&str; 5] = [
    "Glue.AWSGlueException",
    "Glue.ConcurrentRunsExceededException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
    "Glue.ThrottlingException",
];

/// Retry schedule: 15 s, 30 s, 60 s, … (6 attempts, about 16 minutes in all) — long enough for a
/// previous run of a `max_concurrent_runs = 1` job to finish.
pub const RETRY_INTERVAL_SECONDS: u64 = 15;
pub const RETRY_MAX_ATTEMPTS: u64 = 6;
pub const RETRY_BACKOFF_RATE: f64 = 2.0;

/// Error names of the two `Fail` states. (A `Fail` state may not re-raise a `States.*` name,
/// so the original error name goes into the cause instead.)
pub const JOB_FAILED: &str = "gluepipe.JobFailed";
pub const FAILED: &str = "gluepipe.Failed";

/// How a runtime's one task state handles errors, the shape every runtime shares: retry what
/// is busy with backoff; catch a run that failed (`States.TaskFailed`) into `failed_state` and
/// anything else, after retries, into `Failed`; both are `Fail` states with `gluepipe.*` error
/// names and the error's cause.
pub struct TaskErrors<'a> {
    /// Errors that mean "busy, not broken"; never `States.*`, so a failed run is not repeated.
    pub retried: &'a [&'a str],
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    /// The `Fail` state for a failed run, its error name and comment.
    pub failed_state: &'a str,
    pub failed_error: &'a str,
    pub failed_comment: &'a str,
    /// The comment of `Failed`, the state for every other error.
    pub other_comment: &'a str,
}

impl TaskErrors<'_> {
    /// The task state's `Retry` list.
    pub fn retry(&self) -> Value {
        json!([{
            "ErrorEquals": self.retried,
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate
        }])
    }

    /// The task state's `Catch` list: the failed run first, the catch-all last.
    pub fn catch(&self) -> Value {
        json!([
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": self.failed_state},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
        ])
    }

    /// Adds the two `Fail` states the catchers lead to. (A `Fail` state may not re-raise a
    /// `States.*` name, so `Failed` puts the original error name into the cause.)
    pub fn add_fail_states(&self, states: &mut Value) {
        states[self.failed_state] = json!({
            "Type": "Fail",
            "Comment": self.failed_comment,
            "Error": self.failed_error,
            "CausePath": "$.error.Cause"
        });
        states["Failed"] = json!({
            "Type": "Fail",
            "Comment": self.other_comment,
            "Error": FAILED,
            "CausePath": "States.Format('{}: {}', $.error.Error, $.error.Cause)"
        });
    }
}

/// How every task state that runs the Glue job handles errors.
pub(crate) const GLUE_RUN_ERRORS: TaskErrors<'static> = TaskErrors {
    retried: &RETRIED_GLUE_ERRORS,
    interval_seconds: RETRY_INTERVAL_SECONDS,
    max_attempts: RETRY_MAX_ATTEMPTS,
    backoff_rate: RETRY_BACKOFF_RATE,
    failed_state: "JobFailed",
    failed_error: JOB_FAILED,
    failed_comment: "The job run failed; the cause is the run, whose ErrorMessage says why.",
    other_comment: "Starting or watching the run failed.",
};

/// The definition for a pipeline whose Glue job is `job_name`, as pretty JSON.
pub fn definition(pipeline: &str, job_name: &str) -> String {
    let mut asl = json!({
        "Comment": format!(
            "gluepipe pipeline {pipeline}: runs Glue job {job_name} and waits for it. Start with \
             {{\"arguments\": {{\"--key\": \"value\"}}}} to override run arguments."
        ),
        "StartAt": "CheckArguments",
        "States": {
            "RunJob": glue_run_task(job_name, "$.arguments")
        }
    });
    add_argument_states(&mut asl["States"], "RunJob");
    GLUE_RUN_ERRORS.add_fail_states(&mut asl["States"]);
    to_pretty(&asl)
}

/// `CheckArguments` (the start) and `NoArguments`: an execution started without `arguments`
/// gets an empty map there, not a JSONPath error, and both go on to `next`.
pub(crate) fn add_argument_states(states: &mut Value, next: &str) {
    states["CheckArguments"] = json!({
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.arguments", "IsPresent": true, "Next": next}
        ],
        "Default": "NoArguments"
    });
    states["NoArguments"] = json!({
        "Type": "Pass",
        "Result": {},
        "ResultPath": "$.arguments",
        "Next": next
    });
}

/// A task state that runs the Glue job with the run arguments at `arguments_path` (a JSONPath
/// or an intrinsic function), waits for the run and ends; busy errors are retried and failures
/// caught into the [`GLUE_RUN_ERRORS`] `Fail` states.
pub(crate) fn glue_run_task(job_name: &str, arguments_path: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": GLUE_START_JOB_RUN_SYNC,
        "Parameters": {
            "JobName": job_name,
            "Arguments.$": arguments_path
        },
        "ResultSelector": {
            "JobName.$": "$.JobName",
            "JobRunId.$": "$.Id",
            "JobRunState.$": "$.JobRunState"
        },
        "Retry": GLUE_RUN_ERRORS.retry(),
        "Catch": GLUE_RUN_ERRORS.catch(),
        "End": true
    })
}

/// A definition as pretty JSON.
pub(crate) fn to_pretty(asl: &Value) -> String {
    // A `json!` literal of strings, numbers and objects always serialises.
    serde_json::to_string_pretty(asl).expect("ASL serialises")
}

/// The states a state can lead to (`Next`, `Default`, and the `Next` of its choices and
/// catchers), for the definitions' transition tests.
#[cfg(test)]
pub(crate) fn next_states(state: &Value) -> Vec<String> {
    let mut next = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(t) = state.get(key) {
            next.push(t.as_str().expect("a state name").to_string());
        }
    }
    for list in ["Choices", "Catch"] {
        for item in state
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            next.push(item["Next"].as_str().expect("a state name").to_string());
        }
    }
    next
}

/// Asserts that every transition in `states` (and `start`) names one of them, that every state
/// is reached, and that every state that is not terminal leads somewhere.
#[cfg(test)]
pub(crate) fn assert_transitions_closed(start: &str, states: &Value) {
    let states = states.as_object().expect("States is an object");
    let mut targets = vec![start.to_string()];
    for (name, state) in states {
        let next = next_states(state);
        let terminal = matches!(state["Type"].as_str(), Some("Succeed" | "Fail"))
            || state.get("End") == Some(&Value::Bool(true));
        assert!(terminal || !next.is_empty(), "{name} leads nowhere");
        targets.extend(next);
    }
    for t in &targets {
        assert!(states.contains_key(t), "transition to missing state {t}");
    }
    for name in states.keys() {
        assert!(targets.contains(name), "state {name} is unreachable");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parsed() -> Value {
        serde_json::from_str(&definition("orders", "orders")).unwrap()
    }

    /// Every `Next`/`Default`/`StartAt` names a state, and every state is reachable.
    #[test]
    fn transitions_are_closed() {
        let asl = parsed();
        assert_transitions_closed(asl["StartAt"].as_str().unwrap(), &asl["States"]);
    }

    #[test]
    fn runs_the_job_synchronously_with_input_arguments() {
        let asl = parsed();
        let task = &asl["States"]["RunJob"];
        assert_eq!(task["Type"], "Task");
        assert_eq!(task["Resource"], "arn:aws:states:::glue:startJobRun.sync");
        assert_eq!(task["Parameters"]["JobName"], "orders");
        assert_eq!(task["Parameters"]["Arguments.$"], "$.arguments");
        assert_eq!(task["End"], true);
        // Without input arguments the run gets an empty map, not a JSONPath error.
        assert_eq!(
            asl["States"]["CheckArguments"]["Choices"][0]["Variable"],
            "$.arguments"
        );
        assert_eq!(asl["States"]["NoArguments"]["Result"], json!({}));
        assert_eq!(asl["States"]["NoArguments"]["ResultPath"], "$.arguments");
    }

    #[test]
    fn retries_only_busy_errors_with_backoff() {
        let asl = parsed();
        let retry = &asl["States"]["RunJob"]["Retry"];
        assert_eq!(retry.as_array().unwrap().len(), 1);
        let errors: Vec<&str> = retry[0]["ErrorEquals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(errors.contains(&"Glue.ConcurrentRunsExceededException"));
        assert!(errors.contains(&"Glue.ThrottlingException"));
        assert!(
            !errors.iter().any(|e| e.starts_with("States.")),
            "a failed run is not retried: {errors:?}"
        );
        assert!(retry[0]["BackoffRate"].as_f64().unwrap() > 1.0);
        assert!(retry[0]["MaxAttempts"].as_u64().unwrap() >= 3);
    }

    #[test]
    fn every_error_ends_in_a_fail_state_with_its_cause() {
        let asl = parsed();
        let catch = asl["States"]["RunJob"]["Catch"].as_array().unwrap().clone();
        assert_eq!(catch.len(), 2);
        assert_eq!(catch[0]["ErrorEquals"], json!(["States.TaskFailed"]));
        assert_eq!(
            catch[1]["ErrorEquals"],
            json!(["States.ALL"]),
            "the catch-all comes last"
        );
        for c in &catch {
            assert_eq!(c["ResultPath"], "$.error");
            let fail = &asl["States"][c["Next"].as_str().unwrap()];
            assert_eq!(fail["Type"], "Fail");
            assert!(
                !fail["Error"].as_str().unwrap().starts_with("States."),
                "{fail}"
            );
            assert!(
                fail["CausePath"]
                    .as_str()
                    .unwrap()
                    .contains("$.error.Cause"),
                "{fail}"
            );
        }
        assert_eq!(asl["States"]["JobFailed"]["CausePath"], "$.error.Cause");
        assert!(
            asl["States"]["Failed"]["CausePath"]
                .as_str()
                .unwrap()
                .contains("$.error.Error")
        );
    }

    /// The single-run definition is exactly what pipelines created before scale-out hold: any
    /// change to it plans an update of every existing pipeline.
    #[test]
    fn single_run_definition_is_unchanged() {
        let definition = definition("orders", "orders");
        assert_eq!(
            crate::pipeline::expand::sha256_hex(definition.as_bytes()),
            "326f0b1dbeaf9d626a3187fd8ad3ec6e75f5d4930c60010d9f5724449634d3f9"
        );
    }

    #[test]
    fn deterministic_and_named_after_the_job() {
        assert_eq!(definition("p", "j"), definition("p", "j"));
        let asl: Value = serde_json::from_str(&definition("p", "other-job")).unwrap();
        assert_eq!(
            asl["States"]["RunJob"]["Parameters"]["JobName"],
            "other-job"
        );
    }
}
