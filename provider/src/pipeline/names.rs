//! Names and ARNs of everything a pipeline creates, derived from the pipeline name alone, and the
//! rule that makes one pipeline name valid for all of them at once.
//!
//! - Glue job and state machine: the pipeline name itself.
//! - IAM roles: `<name>-glue` (the job's) and `<name>-sfn` (the state machine's) under the path
//!   `/gluepipe/`, so a reader of the IAM console sees at once who owns them.
//! - S3 artifacts: under `s3://<artifact_bucket>/<artifact_prefix><name>/`.
//!
//! ARNs are built here (as the AWS provider does for `aws_glue_job`), so they can be known at plan
//! time: every one of them is fixed by partition, region, account and name.

use std::fmt;

/// Where the resources live: what an ARN needs besides the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsEnv {
    pub partition: String,
    pub region: String,
    pub account_id: String,
}

impl AwsEnv {
    /// The partition follows from the region (`cn-…` and `us-gov-…` are separate partitions).
    pub fn new(region: impl Into<String>, account_id: impl Into<String>) -> Self {
        let region = region.into();
        Self {
            partition: partition_of(&region).to_string(),
            region,
            account_id: account_id.into(),
        }
    }
}

pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// The IAM path of every role gluepipe creates.
pub const ROLE_PATH: &str = "/gluepipe/";
const JOB_ROLE_SUFFIX: &str = "-glue";
const STATE_MACHINE_ROLE_SUFFIX: &str = "-sfn";
/// Inline policy names (one per role; the role is owned by the pipeline).
pub const JOB_POLICY_NAME: &str = "gluepipe-job";
pub const STATE_MACHINE_POLICY_NAME: &str = "gluepipe-run-job";

/// IAM role names are at most 64 characters.
const IAM_ROLE_NAME_MAX: usize = 64;
/// The longest pipeline name whose derived role names still fit IAM's limit.
pub const MAX_NAME_LEN: usize = IAM_ROLE_NAME_MAX - JOB_ROLE_SUFFIX.len();

/// The names of one pipeline's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub pipeline: String,
    pub job: String,
    pub job_role: String,
    pub state_machine: String,
    pub state_machine_role: String,
}

impl Names {
    pub fn new(pipeline: &str) -> Self {
        Self {
            pipeline: pipeline.to_string(),
            job: pipeline.to_string(),
            job_role: format!("{pipeline}{JOB_ROLE_SUFFIX}"),
            state_machine: pipeline.to_string(),
            state_machine_role: format!("{pipeline}{STATE_MACHINE_ROLE_SUFFIX}"),
        }
    }
}

/// The ARNs of one pipeline's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    pub job: String,
    pub job_role: String,
    pub state_machine: String,
    pub state_machine_role: String,
}

impl Arns {
    pub fn new(env: &AwsEnv, names: &Names) -> Self {
        Self {
            job: glue_arn(env, &format!("job/{}", names.job)),
            job_role: role_arn(env, &names.job_role),
            state_machine: format!(
                "arn:{}:states:{}:{}:stateMachine:{}",
                env.partition, env.region, env.account_id, names.state_machine
            ),
            state_machine_role: role_arn(env, &names.state_machine_role),
        }
    }
}

/// `arn:…:iam::ACCOUNT:role/gluepipe/NAME` (IAM is global: no region).
pub fn role_arn(env: &AwsEnv, role_name: &str) -> String {
    format!(
        "arn:{}:iam::{}:role{ROLE_PATH}{role_name}",
        env.partition, env.account_id
    )
}

/// A Glue resource ARN: `catalog`, `database/DB`, `table/DB/TABLE`, `job/NAME`.
pub fn glue_arn(env: &AwsEnv, resource: &str) -> String {
    format!(
        "arn:{}:glue:{}:{}:{resource}",
        env.partition, env.region, env.account_id
    )
}

/// The account id inside an ARN (`arn:partition:service:region:account:…`), if it has one.
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Why a pipeline name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One name serves as Glue job name, state machine name and IAM role-name stem, so it must meet
/// the strictest of their rules: ASCII letters, digits, `-` and `_` (Step Functions logging and
/// IAM both accept these; Step Functions rejects most punctuation), starting with a letter or
/// digit, and short enough that `<name>-glue` fits IAM's 64-character role names.
pub fn check_pipeline_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError("the name is empty".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(NameError(format!(
            "'{name}' contains {c:?}; use ASCII letters, digits, '-' and '_' only (the name is also \
             the Step Functions state machine name and the stem of IAM role names)"
        )));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(NameError(format!(
            "'{name}' must start with a letter or a digit"
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError(format!(
            "'{name}' is {} characters long; at most {MAX_NAME_LEN} are allowed, because the Glue job's \
             IAM role is named '<name>{JOB_ROLE_SUFFIX}' and IAM role names are limited to \
             {IAM_ROLE_NAME_MAX} characters",
            name.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> AwsEnv {
        AwsEnv::new("eu-west-1", "123456789012")
    }

    #[test]
    fn children_are_named_after_the_pipeline() {
        let names = Names::new("orders-json-to-parquet");
        assert_eq!(names.job, "orders-json-to-parquet");
        assert_eq!(names.state_machine, "orders-json-to-parquet");
        assert_eq!(names.job_role, "orders-json-to-parquet-glue");
        assert_eq!(names.state_machine_role, "orders-json-to-parquet-sfn");
    }

    #[test]
    fn arns_follow_each_service_format() {
        let arns = Arns::new(&env(), &Names::new("orders"));
        assert_eq!(arns.job, "arn:aws:glue:eu-west-1:123456789012:job/orders");
        assert_eq!(
            arns.job_role,
            "arn:aws:iam::123456789012:role/gluepipe/orders-glue"
        );
        assert_eq!(
            arns.state_machine,
            "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"
        );
        assert_eq!(
            arns.state_machine_role,
            "arn:aws:iam::123456789012:role/gluepipe/orders-sfn"
        );
        let cn = Arns::new(&AwsEnv::new("cn-north-1", "123456789012"), &Names::new("o"));
        assert!(
            cn.job.starts_with("arn:aws-cn:glue:cn-north-1:"),
            "{}",
            cn.job
        );
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn account_is_read_back_from_arns() {
        let cases = [
            (
                "arn:aws:iam::123456789012:role/gluepipe/x-glue",
                Some("123456789012"),
            ),
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:x",
                Some("123456789012"),
            ),
            ("arn:aws:s3:::bucket", None),
            ("", None),
            ("not an arn", None),
        ];
        for (arn, want) in cases {
            assert_eq!(account_of_arn(arn), want, "{arn}");
        }
    }

    #[test]
    fn name_rules() {
        let longest = "a".repeat(MAX_NAME_LEN);
        assert_eq!(MAX_NAME_LEN, 59);
        assert_eq!(Names::new(&longest).job_role.len(), 64);
        let good = ["a", "orders", "Orders_2024-v2", "9lives", longest.as_str()];
        for name in good {
            assert_eq!(check_pipeline_name(name), Ok(()), "{name}");
        }
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        let bad = [
            ("", "empty"),
            ("orders json", "' '"),
            ("orders.json", "'.'"),
            ("ordres/x", "'/'"),
            ("-orders", "start with"),
            ("_orders", "start with"),
            ("ordérs", "'é'"),
            (too_long.as_str(), "60 characters long; at most 59"),
        ];
        for (name, why) in bad {
            let err = check_pipeline_name(name).expect_err(name);
            assert!(err.0.contains(why), "{name}: {err}");
        }
    }
}
