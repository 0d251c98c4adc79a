//! `gluepipe_pipeline` with the ECS runtime under the real Terraform CLI (v1.0.3) on the
//! emulator: create, then verify through the SDK the task definition, the three roles and their
//! policies, the state machine and the spec; a no-op second plan; an execution as far as moto
//! takes it; an in-place update that registers a new revision; drift (a task role policy, a
//! deregistered revision) shown and repaired; import; destroy leaving nothing. Plus plan-time
//! validation of ECS settings.
//!
//! What this cannot prove: moto's ECS runs no containers, and its `ecs:runTask.sync`
//! integration is broken (it passes `Cluster` where its ECS client expects `cluster`), so no
//! execution succeeds here, and moto evaluates no IAM policy. See `docs/resources/pipeline.md`.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_ecs::types::{TaskDefinitionField, TaskDefinitionStatus};
use gluepipe_tests::tf_helpers::{
    SdkClients, apply, assert_no_changes, decode_policy, plan_code, run_execution, timed,
};
use gluepipe_tests::{Emulator, Terraform, bins};
use serde_json::{Value, json};

const NAME: &str = "orders-ecs";
const SM_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-ecs";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl";
const ROLE_PREFIX: &str = "arn:aws:iam::123456789012:role/gluepipe/orders-ecs";

/// Knobs of the test configuration.
struct Config<'a> {
    subnet: &'a str,
    security_group: &'a str,
    tag: &'a str,
    memory: u32,
    /// `runtime.cpu_architecture`, or none to take the default.
    arch: Option<&'a str>,
}

fn main_tf(c: &Config<'_>) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    gluepipe = {{ source = "gluepipe/gluepipe" }}
  }}
}}

provider "gluepipe" {{
  default_tags = {{ env = "test" }}
}}

resource "gluepipe_pipeline" "orders" {{
  name = "{NAME}"
  source {{
    path = "s3://raw-bucket/orders/"
  }}
  mapping {{
    from = "id"
    to   = "order_id"
    type = "bigint"
  }}
  target {{
    path = "s3://curated-bucket/orders/"
  }}
  runtime {{
    kind            = "ecs"
    artifact_bucket = "artifact-bucket"
    cluster         = "etl"
    subnets         = ["{subnet}"]
    security_groups = ["{sg}"]
    image           = "{IMAGE}:{tag}"
    cpu             = 512
    memory          = {memory}
    timeout_minutes = 30{arch}
  }}
  tags = {{ team = "data" }}
}}

output "task_definition_arn" {{
  value = gluepipe_pipeline.orders.task_definition_arn
}}
"#,
        subnet = c.subnet,
        sg = c.security_group,
        tag = c.tag,
        memory = c.memory,
        arch = c
            .arch
            .map(|a| format!("\n    cpu_architecture = \"{a}\""))
            .unwrap_or_default(),
    )
}

/// The shared clients (reached through `Deref`) plus ECS, which only this test reads.
struct Aws {
    sdk: SdkClients,
    ecs: aws_sdk_ecs::Client,
}

impl std::ops::Deref for Aws {
    type Target = SdkClients;
    fn deref(&self) -> &SdkClients {
        &self.sdk
    }
}

impl Aws {
    async fn new(emu: &Emulator) -> Aws {
        Aws {
            sdk: SdkClients::new(emu).await,
            ecs: aws_sdk_ecs::Client::new(&emu.sdk_config().await),
        }
    }

    async fn trust(&self, role: &str) -> Result<Value> {
        let out = self.iam.get_role().role_name(role).send().await?;
        let role = out.role.context("role")?;
        assert_eq!(role.path(), "/gluepipe/", "{}", role.role_name());
        decode_policy(role.assume_role_policy_document().unwrap_or_default())
    }

    /// The family's revisions with `status`, as ARNs.
    async fn revisions(&self, status: TaskDefinitionStatus) -> Result<Vec<String>> {
        let out = self
            .ecs
            .list_task_definitions()
            .family_prefix(NAME)
            .status(status)
            .send()
            .await?;
        Ok(out.task_definition_arns().to_vec())
    }

    /// What is left of any pipeline (see `SdkClients::leftovers`) plus the family's task
    /// definitions, whatever their status.
    async fn leftovers(&self) -> Result<Vec<String>> {
        let mut left = self.sdk.leftovers().await?;
        for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
            left.extend(
                self.revisions(status.clone())
                    .await?
                    .into_iter()
                    .map(|arn| format!("task definition {arn} ({status:?})")),
            );
        }
        Ok(left)
    }
}

/// The statement with `sid`.
fn statement<'a>(policy: &'a Value, sid: &str) -> Result<&'a Value> {
    policy["Statement"]
        .as_array()
        .context("statements")?
        .iter()
        .find(|s| s["Sid"] == sid)
        .with_context(|| format!("no statement {sid} in {policy}"))
}

/// A list of strings or a single string (IAM accepts both) as a list.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        _ => v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    }
}

fn output(tf: &Terraform, name: &str) -> Result<String> {
    let out = tf.run(&["output", "-raw", name])?;
    out.ok()?;
    Ok(out.stdout.trim().to_owned())
}

/// The default VPC's first subnet and its default security group, as moto created them (read
/// with boto3: the Rust EC2 client is a large build for two lookups).
fn default_network(emu: &Emulator) -> Result<(String, String)> {
    let script = r#"
import boto3, json
ec2 = boto3.client("ec2", region_name="us-east-1")
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
groups = ec2.describe_security_groups(
    Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
)["SecurityGroups"]
print(json.dumps([subnets[0]["SubnetId"], groups[0]["GroupId"]]))
"#;
    let out = Command::new(bins::python()?)
        .arg("-c")
        .arg(script)
        .envs(emu.env())
        .output()?;
    if !out.status.success() {
        bail!(
            "default VPC lookup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ids: (String, String) = serde_json::from_slice(&out.stdout)?;
    Ok(ids)
}

async fn setup() -> Result<(Emulator, Terraform, Aws, (String, String))> {
    let emu = Emulator::start()?;
    let aws = Aws::new(&emu).await;
    aws.buckets().await?;
    aws.ecs.create_cluster().cluster_name("etl").send().await?;
    let network = default_network(&emu)?;
    let tf = Terraform::new(&emu)?;
    Ok((emu, tf, aws, network))
}

/// The current task definition, every field gluepipe sets.
async fn verify_task_definition(aws: &Aws, tag: &str, memory: &str, arch: &str) -> Result<String> {
    let active = aws.revisions(TaskDefinitionStatus::Active).await?;
    assert_eq!(active.len(), 1, "exactly one ACTIVE revision: {active:?}");
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(&active[0])
        .include(TaskDefinitionField::Tags)
        .send()
        .await?;
    let td = out.task_definition().context("task definition")?;
    assert_eq!(td.family(), Some(NAME));
    assert_eq!(
        td.requires_compatibilities()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["FARGATE"]
    );
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some(memory)));
    let platform = td.runtime_platform().context("runtime platform")?;
    assert_eq!(
        platform.operating_system_family().map(|f| f.as_str()),
        Some("LINUX")
    );
    assert_eq!(platform.cpu_architecture().map(|a| a.as_str()), Some(arch));
    assert_eq!(
        td.task_role_arn(),
        Some(format!("{ROLE_PREFIX}-task").as_str())
    );
    assert_eq!(
        td.execution_role_arn(),
        Some(format!("{ROLE_PREFIX}-exec").as_str())
    );
    let [container] = td.container_definitions() else {
        bail!("one container expected: {:?}", td.container_definitions());
    };
    assert_eq!(container.name(), Some("gluepipe-etl"));
    assert_eq!(container.image(), Some(format!("{IMAGE}:{tag}").as_str()));
    assert_eq!(
        container.entry_point(),
        [
            "gluepipe-etl",
            "run",
            "s3://artifact-bucket/gluepipe/orders-ecs/spec.json"
        ]
    );
    assert_eq!(container.command(), ["--no-progress"]);
    let env: Vec<(&str, &str)> = container
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap_or(""), kv.value().unwrap_or("")))
        .collect();
    assert_eq!(env, [("AWS_REGION", "us-east-1")]);
    let log = container.log_configuration().context("log configuration")?;
    assert_eq!(log.log_driver().as_str(), "awslogs");
    let options = log.options().context("log options")?;
    assert_eq!(
        options.get("awslogs-group").map(String::as_str),
        Some("/gluepipe/orders-ecs")
    );
    assert_eq!(
        options.get("awslogs-region").map(String::as_str),
        Some("us-east-1")
    );
    let mut tags: Vec<(&str, &str)> = out
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    tags.sort();
    // Besides tags_all, the owning instance's marker (see docs: Lifecycle, Ownership).
    assert!(
        tags.iter()
            .any(|(k, v)| *k == "gluepipe:instance" && v.len() == 32),
        "{tags:?}"
    );
    tags.retain(|(k, _)| *k != "gluepipe:instance");
    assert_eq!(tags, [("env", "test"), ("team", "data")]);
    Ok(active[0].clone())
}

/// Roles, policies, the state machine and the spec, as the expansion generated them.
async fn verify_children(aws: &Aws, subnet: &str, sg: &str) -> Result<()> {
    // Task role: the container's credentials — the spec and the pipeline's data, nothing else.
    let trust = aws.trust("orders-ecs-task").await?;
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );
    let task = aws.role_policy("orders-ecs-task", "gluepipe-task").await?;
    assert_eq!(
        strings(&statement(&task, "ReadSpec")?["Resource"]),
        ["arn:aws:s3:::artifact-bucket/gluepipe/orders-ecs/spec.json"]
    );
    assert_eq!(
        strings(&statement(&task, "WriteOutput")?["Resource"]),
        ["arn:aws:s3:::curated-bucket/orders/*"]
    );
    for s in task["Statement"].as_array().context("statements")? {
        for action in strings(&s["Action"]) {
            assert!(!action.contains('*'), "wildcard action {action}");
        }
        for resource in strings(&s["Resource"]) {
            assert_ne!(resource, "*", "{s}");
        }
    }

    // Execution role: pull from its ECR repository, write its log group.
    let trust = aws.trust("orders-ecs-exec").await?;
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );
    let exec = aws
        .role_policy("orders-ecs-exec", "gluepipe-pull-and-log")
        .await?;
    assert_eq!(
        strings(&statement(&exec, "PullImage")?["Resource"]),
        ["arn:aws:ecr:us-east-1:123456789012:repository/gluepipe-etl"]
    );
    assert_eq!(
        strings(&statement(&exec, "WriteLogs")?["Resource"]),
        ["arn:aws:logs:us-east-1:123456789012:log-group:/gluepipe/orders-ecs:log-stream:*"]
    );

    // State machine role: run this family on this cluster, pass these two roles to ECS tasks.
    let sfn = aws
        .role_policy("orders-ecs-sfn", "gluepipe-run-task")
        .await?;
    let run = statement(&sfn, "RunTask")?;
    assert_eq!(
        strings(&run["Resource"]),
        ["arn:aws:ecs:us-east-1:123456789012:task-definition/orders-ecs:*"]
    );
    assert_eq!(
        strings(&run["Condition"]["ArnEquals"]["ecs:cluster"]),
        ["arn:aws:ecs:us-east-1:123456789012:cluster/etl"]
    );
    let pass = statement(&sfn, "PassTaskRoles")?;
    assert_eq!(
        strings(&pass["Resource"]),
        [
            format!("{ROLE_PREFIX}-exec").as_str(),
            format!("{ROLE_PREFIX}-task").as_str()
        ]
    );
    assert_eq!(
        strings(&pass["Condition"]["StringEquals"]["iam:PassedToService"]),
        ["ecs-tasks.amazonaws.com"]
    );
    assert_eq!(
        strings(&statement(&sfn, "ReceiveTaskEvents")?["Resource"]),
        ["arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"]
    );

    // State machine: runTask.sync on Fargate in the default VPC's subnet.
    let sm = aws
        .sfn
        .describe_state_machine()
        .state_machine_arn(SM_ARN)
        .send()
        .await?;
    assert_eq!(sm.role_arn(), format!("{ROLE_PREFIX}-sfn"));
    let definition: Value = serde_json::from_str(sm.definition())?;
    let task = &definition["States"]["RunTask"];
    assert_eq!(task["Resource"], "arn:aws:states:::ecs:runTask.sync");
    assert_eq!(task["TimeoutSeconds"], 1800);
    let p = &task["Parameters"];
    assert_eq!(
        p["Cluster"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/etl"
    );
    assert_eq!(p["TaskDefinition"], NAME);
    assert_eq!(p["LaunchType"], "FARGATE");
    assert_eq!(
        p["NetworkConfiguration"]["AwsvpcConfiguration"],
        json!({"Subnets": [subnet], "SecurityGroups": [sg], "AssignPublicIp": "DISABLED"})
    );

    // Artifacts: the spec only (the image holds the binary); no Glue job, no Glue role.
    assert_eq!(
        aws.keys("artifact-bucket", "gluepipe/").await?,
        ["gluepipe/orders-ecs/spec.json"]
    );
    assert!(aws.glue.get_jobs().send().await?.jobs().is_empty());
    assert!(
        aws.iam
            .get_role()
            .role_name("orders-ecs-glue")
            .send()
            .await
            .is_err()
    );
    Ok(())
}

/// Starts an execution with run flags and waits for it to end. moto's `runTask.sync` fails
/// (see the module docs); what can be checked is what the state machine asked ECS for.
async fn execution_parameters(emu: &Emulator, aws: &Aws) -> Result<(String, Value)> {
    let input = json!({
        "args": ["--input", "s3://raw-bucket/orders/2024-05-01/"],
        "environment": [{"Name": "RUST_LOG", "Value": "debug"}]
    });
    let out = run_execution(
        emu,
        &aws.sfn,
        SM_ARN,
        Some("run-1"),
        &input,
        Duration::from_secs(60),
    )
    .await?;
    let status = out.status().as_str().to_owned();
    eprintln!(
        "execution ended {status}: {:?} {:?}",
        out.error(),
        out.cause()
    );
    let arn = out.execution_arn().to_owned();
    let history = aws
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .send()
        .await?;
    let scheduled = history
        .events()
        .iter()
        .find_map(|e| e.task_scheduled_event_details())
        .context("no TaskScheduled event: the execution never reached RunTask")?;
    assert_eq!(scheduled.resource_type(), "ecs");
    assert_eq!(scheduled.resource(), "runTask.sync");
    Ok((status, serde_json::from_str(scheduled.parameters())?))
}

#[tokio::test]
async fn ecs_pipeline_lifecycle() -> Result<()> {
    let (emu, tf, aws, (subnet, sg)) = setup().await?;
    let mut config = Config {
        subnet: &subnet,
        security_group: &sg,
        tag: "1.0",
        memory: 1024,
        arch: None,
    };
    tf.write("main.tf", &main_tf(&config))?;

    // Create, then every child as planned.
    timed("apply (create)", || apply(&tf))?;
    let first = verify_task_definition(&aws, "1.0", "1024", "X86_64").await?;
    assert_eq!(output(&tf, "task_definition_arn")?, first);
    verify_children(&aws, &subnet, &sg).await?;
    timed("no-op plan", || assert_no_changes(&tf, "create"))?;

    // An execution: the input becomes the container overrides of the RunTask call.
    let (status, params) = execution_parameters(&emu, &aws).await?;
    assert_ne!(status, "SUCCEEDED", "moto runs no ECS task");
    assert_eq!(
        params["Cluster"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/etl"
    );
    assert_eq!(params["TaskDefinition"], NAME);
    assert_eq!(params["LaunchType"], "FARGATE");
    assert_eq!(
        params["Overrides"]["ContainerOverrides"],
        json!([{
            "Name": "gluepipe-etl",
            "Command": ["--input", "s3://raw-bucket/orders/2024-05-01/"],
            "Environment": [{"Name": "RUST_LOG", "Value": "debug"}]
        }])
    );

    // A new image, size and CPU (Graviton): a new revision in place (no replacement), the old
    // one deregistered.
    config.tag = "1.1";
    config.memory = 2048;
    config.arch = Some("ARM64");
    tf.write("main.tf", &main_tf(&config))?;
    let (code, plan) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        plan.stdout.contains("1 to change") && !plan.stdout.contains("must be replaced"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("task_definition_arn") && plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    timed("apply (update)", || apply(&tf))?;
    let second = verify_task_definition(&aws, "1.1", "2048", "ARM64").await?;
    assert_ne!(second, first);
    assert_eq!(
        aws.revisions(TaskDefinitionStatus::Inactive).await?,
        std::slice::from_ref(&first)
    );
    assert_eq!(output(&tf, "task_definition_arn")?, second);
    assert_no_changes(&tf, "update")?;

    // Drift: a broader task role policy is shown and put back.
    aws.iam
        .put_role_policy()
        .role_name("orders-ecs-task")
        .policy_name("gluepipe-task")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await?;
    let (code, plan) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(plan.stdout.contains("task_role_policy"), "{}", plan.stdout);
    apply(&tf)?;
    let task = aws.role_policy("orders-ecs-task", "gluepipe-task").await?;
    assert!(statement(&task, "ReadSpec").is_ok(), "{task}");
    assert_no_changes(&tf, "repairing the task role policy")?;

    // Drift: the revision deregistered out of band. No child is the anchor: the pipeline stays
    // in state, the plan registers a revision in place, and the roles and state machine stay.
    aws.ecs
        .deregister_task_definition()
        .task_definition(&second)
        .send()
        .await?;
    let (code, plan) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        plan.stdout.contains("1 to change") && !plan.stdout.contains("must be replaced"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("task_definition_arn") && plan.stdout.contains("(known after apply)"),
        "{}",
        plan.stdout
    );
    apply(&tf)?;
    let third = verify_task_definition(&aws, "1.1", "2048", "ARM64").await?;
    assert_ne!(third, second);
    verify_children(&aws, &subnet, &sg).await?;
    assert_no_changes(&tf, "re-creating the task definition")?;

    // Import rebuilds the state from AWS and the spec; the plan after it changes nothing (only
    // the output, which `state rm` dropped, is written again).
    tf.run(&["state", "rm", "gluepipe_pipeline.orders"])?.ok()?;
    tf.run(&["import", "-no-color", "gluepipe_pipeline.orders", NAME])?
        .ok()?;
    let (_, plan) = plan_code(&tf)?;
    assert!(
        !plan.stdout.contains("will perform the following actions"),
        "plan after import is not empty:\n{}",
        plan.stdout
    );
    apply(&tf)?;
    assert_eq!(output(&tf, "task_definition_arn")?, third);
    assert_no_changes(&tf, "import")?;

    // Destroy: nothing left, no revision in any status.
    timed("destroy", || {
        tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
        Ok(())
    })?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn ecs_settings_are_checked_at_plan_time() -> Result<()> {
    let emu = Emulator::start()?;
    let tf = Terraform::new(&emu)?;
    let config = main_tf(&Config {
        subnet: "subnet-12345678",
        security_group: "sg-12345678",
        tag: "1.0",
        memory: 3000,
        arch: Some("arm64"),
    })
    .replace(
        "timeout_minutes = 30",
        "timeout_minutes = 30\n    max_capacity    = 1",
    )
    .replace("subnet-12345678", "subnet-xyz");
    tf.write("main.tf", &config)?;
    let out = tf.run(&["plan", "-no-color"])?;
    assert_ne!(out.code, 0);
    for want in [
        "Invalid Fargate task size",
        "3000 MiB is not allowed with 512 CPU units",
        "Invalid id",
        "'subnet-xyz' is not a subnet id",
        "Attribute not used by this runtime kind",
        "max_capacity is a setting of the Glue Python-shell runtime",
        "Invalid CPU architecture",
        "\"arm64\" is not a Fargate CPU architecture; use X86_64 or ARM64",
    ] {
        assert!(
            out.stderr.contains(want),
            "missing {want:?} in:\n{}",
            out.stderr
        );
    }
    // Attribute paths: Terraform points at the line of each attribute.
    for line in [
        "memory          = 3000",
        "max_capacity    = 1",
        "subnets         =",
    ] {
        assert!(
            out.stderr.contains(line),
            "no pointer to {line:?}:\n{}",
            out.stderr
        );
    }
    Ok(())
}

/// The ECS example validates against the provider's schema (and its own `validation` blocks).
#[test]
fn the_ecs_example_validates() -> Result<()> {
    let tf = Terraform::from_repo(vec![], "examples/ecs")?;
    tf.run(&["validate", "-no-color"])?.ok()?;
    let bad = tf.run(&[
        "plan",
        "-no-color",
        "-var",
        "image=gluepipe-etl:1",
        "-var",
        "subnets=[\"subnet-1\"]",
        "-var",
        "cpu=300",
    ])?;
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("Give 1 to 16 subnet ids"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("The cpu must be a Fargate size"),
        "{}",
        bad.stderr
    );
    Ok(())
}

/// Changing `runtime.kind` replaces the pipeline: the other runtime's children are deleted
/// first, and nothing of them is left behind, in either direction.
#[tokio::test]
async fn changing_the_runtime_kind_replaces_the_pipeline() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let (_emu, tf, aws, (subnet, sg)) = setup().await?;
    let standin = tf.path().join("etl-standin");
    std::fs::write(&standin, bins::standin_script("exit 0"))?;
    std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755))?;
    let ecs = main_tf(&Config {
        subnet: &subnet,
        security_group: &sg,
        tag: "1.0",
        memory: 1024,
        arch: None,
    });
    let start = ecs.find("  runtime {").context("runtime block")?;
    let end = start + ecs[start..].find("  }\n").context("end of runtime")? + 4;
    let glue = format!(
        "{}  runtime {{\n    artifact_bucket = \"artifact-bucket\"\n    etl_binary      = \"etl-standin\"\n  }}\n{}",
        &ecs[..start],
        &ecs[end..]
    );

    tf.write("main.tf", &glue)?;
    apply(&tf)?;
    assert_eq!(aws.glue.get_jobs().send().await?.jobs().len(), 1);

    tf.write("main.tf", &ecs)?;
    let (code, plan) = plan_code(&tf)?;
    assert_eq!(code, 2);
    assert!(
        plan.stdout.contains("must be replaced") && plan.stdout.contains("forces replacement"),
        "{}",
        plan.stdout
    );
    apply(&tf)?;
    assert!(
        aws.glue.get_jobs().send().await?.jobs().is_empty(),
        "Glue job left"
    );
    verify_task_definition(&aws, "1.0", "1024", "X86_64").await?;
    verify_children(&aws, &subnet, &sg).await?;
    assert_no_changes(&tf, "switching to ECS")?;

    tf.write("main.tf", &glue)?;
    apply(&tf)?;
    assert!(
        aws.revisions(TaskDefinitionStatus::Active)
            .await?
            .is_empty()
    );
    for role in ["orders-ecs-task", "orders-ecs-exec"] {
        assert!(
            aws.iam.get_role().role_name(role).send().await.is_err(),
            "{role} left"
        );
    }
    assert_eq!(aws.glue.get_jobs().send().await?.jobs().len(), 1);
    assert_no_changes(&tf, "switching back to Python shell")?;

    tf.run(&["destroy", "-auto-approve", "-no-color"])?.ok()?;
    assert_eq!(aws.leftovers().await?, Vec::<String>::new());
    Ok(())
}
