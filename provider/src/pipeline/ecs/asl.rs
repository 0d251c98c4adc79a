//! The state machine definition (Amazon States Language) that runs an ECS pipeline's task.
//!
//! ```text
//! CheckArgs ──► [NoArgs: args = []] ──► CheckEnvironment ──► [NoEnvironment: environment = []]
//!                                                                   │
//!                                                                   ▼
//!            RunTask (ecs:runTask.sync, Fargate, awsvpc) ──► CheckExitCode ──(0)──► Succeeded
//!              │                                                  └──(other, none)──► ExitCodeNotZero
//!              ├── the task failed (States.TaskFailed) ──► TaskFailed (Fail: cause = the task)
//!              └── any other error, after retries      ──► Failed     (Fail: "<error>: <cause>")
//! ```
//! - The task definition's entry point is `gluepipe-etl run <spec>`; an execution input
//!   `{"args": ["--input", "s3://…"]}` becomes the container's command, i.e. flags appended to
//!   it that override the spec for this run (`--input`, `--output`, `--on-dq-failure`, …), and
//!   `{"environment": [{"Name": "RUST_LOG", "Value": "debug"}]}` adds environment variables. A
//!   run cannot swap the spec or the binary: neither is in the command.
//! - The task runs on Fargate in the configured subnets and security groups; the state waits
//!   until it stops (`.sync`) and times out after `runtime.timeout_minutes` (Step Functions
//!   then stops the task).
//! - Starting a task is retried with backoff on ECS throttling, server errors and capacity
//!   shortages (`RunTask` failures surface as `AmazonECS.Unknown`), never on a task that ran
//!   and failed: a failed ETL run must not be repeated behind the user's back.
//! - Every error ends in a `Fail` state with a `gluepipe.*` error name (a `Fail` state cannot
//!   re-raise `States.*`, as in the Python-shell definition): `gluepipe.TaskFailed` when the
//!   task failed — the cause is the ECS task description, with its stop reason and exit code —
//!   and `gluepipe.Failed` when it could not be started or watched (cause `<error>: <cause>`).
//! - `CheckExitCode` fails the execution (`gluepipe.TaskFailed` again) unless the container
//!   exited with 0, so the outcome never rests on how the integration treats exit codes alone.

use serde_json::{Value, json};

/// The Step Functions service integration that runs an ECS task and waits for it to stop.
pub const ECS_RUN_TASK_SYNC: &str = "arn:aws:states:::ecs:runTask.sync";
/// The one container of the task definition.
pub const CONTAINER_NAME: &str = "gluepipe-etl";

/// Errors worth retrying when starting a task: ECS is busy or short of capacity, not broken.
/// Step Functions reports ECS throttling under the generic `ECS.AmazonECSException`.
pub const RETRIED_ECS_ERRORS: [&str; 4] = [
    "AmazonECS.Unknown",
    "ECS.AmazonECSException",
    "ECS.ServerException",
    "ECS.ThrottlingException",
];

/// The error of a `Fail` state when the task failed (ran and did not exit with 0).
pub const TASK_FAILED: &str = "gluepipe.TaskFailed";
pub use crate::pipeline::asl::FAILED;
use crate::pipeline::asl::{TaskErrors, to_pretty};

/// Retry schedule: 10 s, 20 s, 40 s, … (5 attempts, about 5 minutes in all).
pub const RETRY_INTERVAL_SECONDS: u64 = 10;
pub const RETRY_MAX_ATTEMPTS: u64 = 5;
pub const RETRY_BACKOFF_RATE: f64 = 2.0;

/// Where and how the task runs: everything the definition depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTaskTarget {
    pub cluster_arn: String,
    /// The task definition family; RunTask takes its latest ACTIVE revision.
    pub family: String,
    pub subnets: Vec<String>,
    /// Empty: the VPC's default security group.
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub timeout_seconds: i64,
}

/// The definition for `target`, as pretty JSON.
pub fn definition(pipeline: &str, target: &RunTaskTarget) -> String {
    let errors = TaskErrors {
        retried: &RETRIED_ECS_ERRORS,
        interval_seconds: RETRY_INTERVAL_SECONDS,
        max_attempts: RETRY_MAX_ATTEMPTS,
        backoff_rate: RETRY_BACKOFF_RATE,
        failed_state: "TaskFailed",
        failed_error: TASK_FAILED,
        failed_comment: "The task failed; the cause is the ECS task description (stop reason, exit code).",
        other_comment: "Starting or watching the task failed.",
    };
    let mut vpc = json!({
        "Subnets": target.subnets,
        "AssignPublicIp": if target.assign_public_ip { "ENABLED" } else { "DISABLED" },
    });
    if !target.security_groups.is_empty() {
        vpc["SecurityGroups"] = json!(target.security_groups);
    }
    let mut asl = json!({
        "Comment": format!(
            "gluepipe pipeline {pipeline}: runs gluepipe-etl in an ECS task of family {} and \
             waits for it. Start with {{\"args\": [\"--input\", \"s3://…\"]}} to add flags to \
             the run, {{\"environment\": [{{\"Name\": \"…\", \"Value\": \"…\"}}]}} to add \
             environment variables.",
            target.family
        ),
        "StartAt": "CheckArgs",
        "States": {
            "CheckArgs": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.args", "IsPresent": true, "Next": "CheckEnvironment"}],
                "Default": "NoArgs"
            },
            "NoArgs": {
                "Type": "Pass",
                "Result": [],
                "ResultPath": "$.args",
                "Next": "CheckEnvironment"
            },
            "CheckEnvironment": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.environment", "IsPresent": true, "Next": "RunTask"}],
                "Default": "NoEnvironment"
            },
            "NoEnvironment": {
                "Type": "Pass",
                "Result": [],
                "ResultPath": "$.environment",
                "Next": "RunTask"
            },
            "RunTask": {
                "Type": "Task",
                "Resource": ECS_RUN_TASK_SYNC,
                "Parameters": {
                    "Cluster": target.cluster_arn,
                    "TaskDefinition": target.family,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {"AwsvpcConfiguration": vpc},
                    "Overrides": {
                        "ContainerOverrides": [{
                            "Name": CONTAINER_NAME,
                            "Command.$": "$.args",
                            "Environment.$": "$.environment"
                        }]
                    }
                },
                "TimeoutSeconds": target.timeout_seconds,
                "ResultSelector": {
                    "TaskArn.$": "$.TaskArn",
                    "LastStatus.$": "$.LastStatus",
                    "Containers.$": "$.Containers"
                },
                "ResultPath": "$.task",
                "Retry": errors.retry(),
                "Catch": errors.catch(),
                "Next": "CheckExitCode"
            },
            "CheckExitCode": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.task.Containers[0].ExitCode", "IsPresent": false, "Next": "ExitCodeNotZero"},
                    {"Variable": "$.task.Containers[0].ExitCode", "NumericEquals": 0, "Next": "Succeeded"}
                ],
                "Default": "ExitCodeNotZero"
            },
            "Succeeded": {
                "Type": "Succeed",
                "OutputPath": "$.task"
            },
            "ExitCodeNotZero": {
                "Type": "Fail",
                "Error": TASK_FAILED,
                "Cause": "gluepipe-etl did not exit with code 0 (a data-quality failure exits with a non-zero code). The RunTask result in the execution history has the task and its exit code; the task's log stream has the run's output."
            }
        }
    });
    errors.add_fail_states(&mut asl["States"]);
    to_pretty(&asl)
}

/// Reads the target back from a definition this module wrote (import, refresh); `None` if the
/// definition is not one (edited out of band beyond recognition).
pub fn run_task_target(definition: &str) -> Option<RunTaskTarget> {
    let asl: Value = serde_json::from_str(definition).ok()?;
    let task = asl.get("States")?.get("RunTask")?;
    let params = task.get("Parameters")?;
    let vpc = params
        .get("NetworkConfiguration")?
        .get("AwsvpcConfiguration")?;
    let strings = |v: Option<&Value>| -> Option<Vec<String>> {
        match v {
            None => Some(Vec::new()),
            Some(v) => v
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect(),
        }
    };
    Some(RunTaskTarget {
        cluster_arn: params.get("Cluster")?.as_str()?.to_owned(),
        family: params.get("TaskDefinition")?.as_str()?.to_owned(),
        subnets: strings(vpc.get("Subnets"))?,
        security_groups: strings(vpc.get("SecurityGroups"))?,
        assign_public_ip: vpc.get("AssignPublicIp").and_then(Value::as_str) == Some("ENABLED"),
        timeout_seconds: task.get("TimeoutSeconds")?.as_i64()?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn target() -> RunTaskTarget {
        RunTaskTarget {
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/etl".into(),
            family: "orders".into(),
            subnets: vec!["subnet-0a1b2c3d".into(), "subnet-1a2b3c4d".into()],
            security_groups: vec!["sg-12345678".into()],
            assign_public_ip: false,
            timeout_seconds: 3600,
        }
    }

    fn parsed(target: &RunTaskTarget) -> Value {
        serde_json::from_str(&definition("orders", target)).unwrap()
    }

    /// Every `Next`/`Default`/`StartAt` names a state, every state is reachable, and every
    /// path ends in a terminal state.
    #[test]
    fn transitions_are_closed() {
        let asl = parsed(&target());
        crate::pipeline::asl::assert_transitions_closed(
            asl["StartAt"].as_str().unwrap(),
            &asl["States"],
        );
    }

    #[test]
    fn runs_the_task_on_fargate_in_the_configured_network() {
        let asl = parsed(&target());
        let task = &asl["States"]["RunTask"];
        assert_eq!(task["Type"], "Task");
        assert_eq!(task["Resource"], "arn:aws:states:::ecs:runTask.sync");
        let p = &task["Parameters"];
        assert_eq!(
            p["Cluster"],
            "arn:aws:ecs:us-east-1:123456789012:cluster/etl"
        );
        assert_eq!(p["TaskDefinition"], "orders");
        assert_eq!(p["LaunchType"], "FARGATE");
        let vpc = &p["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(
            vpc["Subnets"],
            json!(["subnet-0a1b2c3d", "subnet-1a2b3c4d"])
        );
        assert_eq!(vpc["SecurityGroups"], json!(["sg-12345678"]));
        assert_eq!(vpc["AssignPublicIp"], "DISABLED");
        assert_eq!(task["TimeoutSeconds"], 3600);

        let mut open = target();
        open.security_groups.clear();
        open.assign_public_ip = true;
        let asl = parsed(&open);
        let vpc =
            &asl["States"]["RunTask"]["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(vpc["AssignPublicIp"], "ENABLED");
        assert!(vpc.get("SecurityGroups").is_none(), "default SG: {vpc}");
    }

    #[test]
    fn execution_input_becomes_container_overrides() {
        let asl = parsed(&target());
        let overrides = &asl["States"]["RunTask"]["Parameters"]["Overrides"]["ContainerOverrides"];
        assert_eq!(overrides.as_array().unwrap().len(), 1);
        assert_eq!(overrides[0]["Name"], CONTAINER_NAME);
        assert_eq!(overrides[0]["Command.$"], "$.args");
        assert_eq!(overrides[0]["Environment.$"], "$.environment");
        // Missing inputs become empty lists, not JSONPath errors.
        for (check, default, path) in [
            ("CheckArgs", "NoArgs", "$.args"),
            ("CheckEnvironment", "NoEnvironment", "$.environment"),
        ] {
            let choice = &asl["States"][check];
            assert_eq!(choice["Choices"][0]["Variable"], path);
            assert_eq!(choice["Choices"][0]["IsPresent"], true);
            assert_eq!(choice["Default"], default);
            assert_eq!(asl["States"][default]["Result"], json!([]));
            assert_eq!(asl["States"][default]["ResultPath"], path);
        }
    }

    #[test]
    fn retries_only_busy_errors_with_backoff() {
        let asl = parsed(&target());
        let retry = &asl["States"]["RunTask"]["Retry"];
        assert_eq!(retry.as_array().unwrap().len(), 1);
        let errors: Vec<&str> = retry[0]["ErrorEquals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(errors.contains(&"ECS.AmazonECSException"), "throttling");
        assert!(errors.contains(&"AmazonECS.Unknown"), "capacity");
        assert!(
            !errors.iter().any(|e| e.starts_with("States.")),
            "a task that ran and failed is not retried: {errors:?}"
        );
        assert!(retry[0]["BackoffRate"].as_f64().unwrap() > 1.0);
        assert!(retry[0]["MaxAttempts"].as_u64().unwrap() >= 3);
    }

    #[test]
    fn failures_end_in_fail_states_with_their_cause() {
        let asl = parsed(&target());
        let catch = asl["States"]["RunTask"]["Catch"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(catch.len(), 2);
        assert_eq!(catch[0]["ErrorEquals"], json!(["States.TaskFailed"]));
        assert_eq!(
            catch[1]["ErrorEquals"],
            json!(["States.ALL"]),
            "catch-all last"
        );
        for c in &catch {
            assert_eq!(c["ResultPath"], "$.error");
            let fail = &asl["States"][c["Next"].as_str().unwrap()];
            assert_eq!(fail["Type"], "Fail");
            let error = fail["Error"].as_str().unwrap();
            assert!(
                error.starts_with("gluepipe."),
                "a Fail state cannot re-raise {error}"
            );
            assert!(
                fail["CausePath"]
                    .as_str()
                    .unwrap()
                    .contains("$.error.Cause")
            );
        }
        assert_eq!(asl["States"]["TaskFailed"]["Error"], TASK_FAILED);
        assert_eq!(asl["States"]["TaskFailed"]["CausePath"], "$.error.Cause");
        assert_eq!(asl["States"]["Failed"]["Error"], "gluepipe.Failed");

        // Success needs an exit code, and it must be 0; a missing one is checked first, so the
        // numeric comparison never meets a missing path.
        let check = &asl["States"]["CheckExitCode"];
        assert_eq!(asl["States"]["RunTask"]["Next"], "CheckExitCode");
        assert_eq!(asl["States"]["RunTask"]["ResultPath"], "$.task");
        let choices = check["Choices"].as_array().unwrap();
        assert_eq!(choices[0]["IsPresent"], false);
        assert_eq!(choices[0]["Next"], "ExitCodeNotZero");
        assert_eq!(choices[1]["NumericEquals"], 0);
        assert_eq!(choices[1]["Next"], "Succeeded");
        assert_eq!(check["Default"], "ExitCodeNotZero");
        assert_eq!(asl["States"]["ExitCodeNotZero"]["Type"], "Fail");
        assert_eq!(asl["States"]["ExitCodeNotZero"]["Error"], TASK_FAILED);
        assert_eq!(asl["States"]["Succeeded"]["Type"], "Succeed");
    }

    #[test]
    fn target_reads_back_from_the_definition() {
        for t in [
            target(),
            RunTaskTarget {
                security_groups: Vec::new(),
                assign_public_ip: true,
                timeout_seconds: 60,
                ..target()
            },
        ] {
            assert_eq!(run_task_target(&definition("orders", &t)), Some(t.clone()));
        }
        assert_eq!(run_task_target("not json"), None);
        assert_eq!(run_task_target(r#"{"States": {}}"#), None);
        let glue = crate::pipeline::asl::definition("orders", "orders");
        assert_eq!(run_task_target(&glue), None);
    }

    #[test]
    fn deterministic() {
        assert_eq!(definition("p", &target()), definition("p", &target()));
    }
}
