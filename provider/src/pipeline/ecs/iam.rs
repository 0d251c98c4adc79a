//! The IAM policies of an ECS pipeline's three roles, derived from the pipeline's shape:
//!
//! - **task role** (the container's credentials): read the pipeline spec object, plus exactly
//!   the data access the Glue job role gets ([`data_access_statements`], shared);
//! - **execution role** (used by ECS to start the container): pull the image when it lives in
//!   a private ECR repository, and write the pipeline's own log group;
//! - **state machine role**: what `ecs:runTask.sync` needs — run this task definition family
//!   on this cluster, watch and stop tasks of this cluster, manage the EventBridge rule Step
//!   Functions uses to learn that a task stopped, and pass the two roles to ECS tasks only.
//!
//! An inline least-privilege execution policy is used instead of the managed
//! `AmazonECSTaskExecutionRolePolicy`, because that one grants every ECR repository and every
//! log group of the account. The one `*` resource is `ecr:GetAuthorizationToken`, which has
//! no resource type (the token is per registry, not per repository).

use gluepipe_spec::{PipelineSpec, S3Uri};

use super::settings::{Cluster, EcrRepository};
use crate::pipeline::expand::data_access_statements;
use crate::pipeline::names::AwsEnv;
use crate::pipeline::policy::{PolicyDocument, Statement};

/// The service principal that assumes both task roles.
pub const ECS_TASKS_PRINCIPAL: &str = "ecs-tasks.amazonaws.com";
/// The EventBridge rule Step Functions creates to learn that a task stopped (fixed by AWS).
pub const ECS_EVENTS_RULE: &str = "StepFunctionsGetEventsForECSTaskRule";

/// ECS assumes the task role on behalf of tasks of this account and region only (the
/// confused-deputy conditions the ECS documentation recommends for task roles).
pub fn task_trust_policy(env: &AwsEnv) -> PolicyDocument {
    PolicyDocument::new(vec![
        Statement::trust("EcsTasksAssumeRole", ECS_TASKS_PRINCIPAL)
            .when(
                "StringEquals",
                "aws:SourceAccount",
                [env.account_id.as_str()],
            )
            .when(
                "ArnLike",
                "aws:SourceArn",
                [format!(
                    "arn:{}:ecs:{}:{}:*",
                    env.partition, env.region, env.account_id
                )],
            ),
    ])
}

/// ECS assumes the execution role to pull the image and send the logs. (No source conditions:
/// ECS does not document them for execution roles, and one it does not send would stop every
/// task from starting.)
pub fn execution_trust_policy() -> PolicyDocument {
    PolicyDocument::new(vec![Statement::trust(
        "EcsTasksAssumeRole",
        ECS_TASKS_PRINCIPAL,
    )])
}

/// The container's permissions: its spec object, then the pipeline's data.
pub fn task_policy(
    spec: &PipelineSpec,
    env: &AwsEnv,
    spec_object: &S3Uri,
    source: Option<&Vec<S3Uri>>,
) -> PolicyDocument {
    let mut statements = vec![Statement::allow(
        "ReadSpec",
        ["s3:GetObject"],
        [format!(
            "arn:{}:s3:::{}/{}",
            env.partition, spec_object.bucket, spec_object.key
        )],
    )];
    statements.extend(data_access_statements(spec, env, source));
    PolicyDocument::new(statements)
}

/// Pull the image (private ECR only) and write the pipeline's log group.
pub fn execution_policy(env: &AwsEnv, image: &str, log_group: &str) -> PolicyDocument {
    let mut statements = Vec::new();
    if let Some(repo) = EcrRepository::of_image(image) {
        statements.push(Statement::allow(
            "PullImage",
            [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            [repo.arn()],
        ));
        // GetAuthorizationToken has no resource type: AWS accepts only "*" here.
        statements.push(Statement::allow(
            "GetEcrToken",
            ["ecr:GetAuthorizationToken"],
            ["*"],
        ));
    }
    let log_group_arn = format!(
        "arn:{}:logs:{}:{}:log-group:{log_group}",
        env.partition, env.region, env.account_id
    );
    // The awslogs driver creates the group on the first run (`awslogs-create-group`), and a
    // stream per task: CreateLogStream is authorized against the group (IAM's `…:NAME:*`).
    statements.push(Statement::allow(
        "CreateLogGroup",
        ["logs:CreateLogGroup", "logs:CreateLogStream"],
        [format!("{log_group_arn}:*")],
    ));
    // ECS names each stream after the task, so streams are matched within the group.
    statements.push(Statement::allow(
        "WriteLogs",
        ["logs:PutLogEvents"],
        [format!("{log_group_arn}:log-stream:*")],
    ));
    PolicyDocument::new(statements)
}

/// What the state machine runs: one task definition family on one cluster, with two roles.
#[derive(Debug, Clone, Copy)]
pub struct RunTaskScope<'a> {
    pub cluster: &'a Cluster,
    pub family: &'a str,
    pub task_role_arn: &'a str,
    pub execution_role_arn: &'a str,
}

/// `ecs:runTask.sync`'s needs, each scoped as tightly as IAM allows.
pub fn state_machine_policy(env: &AwsEnv, scope: &RunTaskScope<'_>) -> PolicyDocument {
    let p = &env.partition;
    let (region, account) = cluster_region_and_account(scope.cluster, env);
    PolicyDocument::new(vec![
        // Any revision of the family (the state machine names the family, so a new revision
        // needs no policy change), and only on this cluster.
        Statement::allow(
            "RunTask",
            ["ecs:RunTask"],
            [format!(
                "arn:{p}:ecs:{}:{}:task-definition/{}:*",
                env.region, env.account_id, scope.family
            )],
        )
        .when("ArnEquals", "ecs:cluster", [scope.cluster.arn.as_str()]),
        // Task ARNs name their cluster: arn:…:task/CLUSTER/ID.
        Statement::allow(
            "WatchAndStopTasks",
            ["ecs:DescribeTasks", "ecs:StopTask"],
            [format!(
                "arn:{p}:ecs:{region}:{account}:task/{}/*",
                scope.cluster.name
            )],
        ),
        Statement::allow(
            "ReceiveTaskEvents",
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            [format!(
                "arn:{p}:events:{}:{}:rule/{ECS_EVENTS_RULE}",
                env.region, env.account_id
            )],
        ),
        Statement::allow(
            "PassTaskRoles",
            ["iam:PassRole"],
            [scope.task_role_arn, scope.execution_role_arn],
        )
        .when("StringEquals", "iam:PassedToService", [ECS_TASKS_PRINCIPAL]),
    ])
}

/// Tasks live in their cluster's region and account (an ARN may name another account's).
fn cluster_region_and_account<'a>(cluster: &'a Cluster, env: &'a AwsEnv) -> (&'a str, &'a str) {
    let parts: Vec<&str> = cluster.arn.splitn(6, ':').collect();
    match parts[..] {
        [_, _, _, region, account, _] if !region.is_empty() && !account.is_empty() => {
            (region, account)
        }
        _ => (&env.region, &env.account_id),
    }
}
