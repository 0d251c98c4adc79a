//! The test bench tests itself: the emulator starts, mends what it claims to mend, runs job
//! commands through Step Functions `.sync`, injects faults and stops; Terraform runs offline.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use aws_sdk_glue::types::{JobCommand, JobUpdate};
use aws_sdk_sfn::types::ExecutionStatus;
use gluepipe_tests::{Emulator, Terraform};

const ROLE: &str = "arn:aws:iam::123456789012:role/bench";

async fn create_job(glue: &aws_sdk_glue::Client, name: &str) {
    glue.create_job()
        .name(name)
        .role(ROLE)
        .command(
            JobCommand::builder()
                .name("pythonshell")
                .script_location("s3://b/launcher.py")
                .build(),
        )
        .default_arguments("--pipeline", "s3://b/spec.json")
        .send()
        .await
        .unwrap();
}

/// A state machine that runs job `job` with `.sync` and fails with the job's error as cause.
async fn create_sync_state_machine(sfn: &aws_sdk_sfn::Client, job: &str) -> String {
    let definition = serde_json::json!({
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": { "JobName": job, "Arguments.$": "$.args" },
                "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed" }],
                "End": true
            },
            // A Fail state may not raise a `States.*` error name, so ours is fixed and the cause passed on.
            "Failed": { "Type": "Fail", "Error": "JobFailed", "CausePath": "$.error.Cause" }
        }
    });
    sfn.create_state_machine()
        .name(format!("{job}-sm"))
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

async fn run_to_end(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    // No name: the emulator must give each unnamed execution its own.
    let execution = sfn
        .start_execution()
        .state_machine_arn(arn)
        .input(r#"{"args": {"--run_date": "2026-11-25"}}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .unwrap();
        if d.status != ExecutionStatus::Running {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "execution still running after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn step_functions_sync_runs_the_job_command_and_reports_its_outcome() {
    let emu = Emulator::start().unwrap();
    let cfg = emu.sdk_config().await;
    let glue = aws_sdk_glue::Client::new(&cfg);
    let sfn = aws_sdk_sfn::Client::new(&cfg);
    create_job(&glue, "bench-job").await;
    let sm = create_sync_state_machine(&sfn, "bench-job").await;

    // Exit 0: SUCCEEDED, and the command saw the job's and the run's arguments.
    let marker = tempfile::NamedTempFile::new().unwrap();
    let script = format!("printf '%s ' \"$@\" > {}; exit 0", marker.path().display());
    emu.set_job_runner(&["sh", "-c", &script, "job"], &[])
        .unwrap();
    let ok = run_to_end(&sfn, &sm).await;
    assert_eq!(ok.status, ExecutionStatus::Succeeded, "{ok:?}");
    let args = std::fs::read_to_string(marker.path()).unwrap();
    assert!(args.contains("--JOB_NAME bench-job "), "{args}");
    assert!(args.contains("--pipeline s3://b/spec.json "), "{args}");
    assert!(args.contains("--run_date 2026-11-25 "), "{args}");
    let output: serde_json::Value = serde_json::from_str(ok.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["JobRunState"], "SUCCEEDED");

    // Non-zero exit: FAILED, with the command's last stderr line in the cause.
    emu.set_job_runner(
        &[
            "sh",
            "-c",
            "echo working; echo 'rule IsComplete \"id\" failed' >&2; exit 3",
        ],
        &[],
    )
    .unwrap();
    let failed = run_to_end(&sfn, &sm).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    let cause = failed.cause.unwrap_or_default();
    assert!(
        cause.contains("rule IsComplete \\\"id\\\" failed")
            || cause.contains("rule IsComplete \"id\" failed"),
        "{cause}"
    );
    assert_ne!(
        ok.execution_arn, failed.execution_arn,
        "unnamed executions must get distinct names"
    );

    let runs = emu.job_runs().unwrap();
    let exit_codes: Vec<i64> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(exit_codes, [0, 3]);
}

#[tokio::test]
async fn glue_update_job_round_trips_and_batch_stop_stops_a_run() {
    let emu = Emulator::start().unwrap();
    let glue = aws_sdk_glue::Client::new(&emu.sdk_config().await);
    create_job(&glue, "j").await;

    // CreateJob on an existing name is refused, as on AWS.
    let dup = glue
        .create_job()
        .name("j")
        .role(ROLE)
        .command(JobCommand::builder().name("pythonshell").build())
        .send()
        .await
        .unwrap_err();
    assert!(format!("{:?}", dup.into_service_error()).contains("AlreadyExists"));

    glue.update_job()
        .job_name("j")
        .job_update(
            JobUpdate::builder()
                .role(ROLE)
                .command(
                    JobCommand::builder()
                        .name("pythonshell")
                        .python_version("3.9")
                        .script_location("s3://b/v2.py")
                        .build(),
                )
                .default_arguments("--pipeline", "s3://b/spec-v2.json")
                .max_capacity(0.0625)
                .timeout(60)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let job = glue
        .get_job()
        .job_name("j")
        .send()
        .await
        .unwrap()
        .job
        .unwrap();
    assert_eq!(
        job.command.unwrap().script_location.as_deref(),
        Some("s3://b/v2.py")
    );
    assert_eq!(
        job.default_arguments.unwrap()["--pipeline"],
        "s3://b/spec-v2.json"
    );
    assert_eq!(job.max_capacity, Some(0.0625));
    assert_eq!(job.timeout, Some(60));

    // `sh -c` ignores the appended job arguments (sleep would reject them).
    emu.set_job_runner(&["sh", "-c", "sleep 30", "job"], &[])
        .unwrap();
    let run_id = glue
        .start_job_run()
        .job_name("j")
        .send()
        .await
        .unwrap()
        .job_run_id
        .unwrap();
    let state = |r: aws_sdk_glue::operation::get_job_run::GetJobRunOutput| {
        r.job_run.unwrap().job_run_state.unwrap()
    };
    let running = glue
        .get_job_run()
        .job_name("j")
        .run_id(&run_id)
        .send()
        .await
        .unwrap();
    assert_eq!(state(running).as_str(), "RUNNING");
    let stop = glue
        .batch_stop_job_run()
        .job_name("j")
        .job_run_ids(&run_id)
        .send()
        .await
        .unwrap();
    assert_eq!(stop.successful_submissions().len(), 1);
    let stopped = glue
        .get_job_run()
        .job_name("j")
        .run_id(&run_id)
        .send()
        .await
        .unwrap();
    assert_eq!(state(stopped).as_str(), "STOPPED");
}

#[tokio::test]
async fn faults_fail_exactly_the_next_calls_of_an_action() {
    let emu = Emulator::start().unwrap();
    let iam = aws_sdk_iam::Client::new(&emu.sdk_config().await);
    emu.inject_fault("CreateRole", "ServiceFailure", 1).unwrap();
    let create = || {
        iam.create_role()
            .role_name("r")
            .assume_role_policy_document("{}")
            .send()
    };
    let err = create().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("ServiceFailure"));
    create().await.unwrap();
    // Managed policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES=true).
    iam.get_policy()
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole")
        .send()
        .await
        .unwrap();
}

#[test]
fn emulator_stops_when_dropped() {
    let emu = Emulator::start().unwrap();
    let port = emu.port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(emu);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still served"
    );
}

#[test]
fn terraform_runs_a_provider_less_config_offline() {
    let tf = Terraform::with_env(vec![]).unwrap();
    tf.write("main.tf", "locals {\n  greeting = \"hello\"\n}\noutput \"greeting\" {\n  value = \"${local.greeting}, gluepipe\"\n}\n").unwrap();
    tf.run(&["init", "-no-color"]).unwrap().ok().unwrap();
    tf.run(&["apply", "-auto-approve", "-no-color"])
        .unwrap()
        .ok()
        .unwrap();
    let out = tf.run(&["output", "-raw", "greeting"]).unwrap();
    assert_eq!(out.ok().unwrap().stdout, "hello, gluepipe");
    let version = tf.run(&["version"]).unwrap();
    assert!(
        version.stdout.starts_with("Terraform v1.0.3"),
        "{}",
        version.stdout
    );
}
