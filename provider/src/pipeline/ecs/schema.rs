//! The ECS part of the `gluepipe_pipeline` schema: the `runtime` block's ECS attributes, the
//! top-level computed attributes of an ECS pipeline, which attributes belong to which runtime
//! kind, and the defaults that depend on the kind.

use super::settings::{
    CPU_ARCHITECTURES, DEFAULT_ASSIGN_PUBLIC_IP, DEFAULT_CPU, DEFAULT_CPU_ARCHITECTURE,
    DEFAULT_MEMORY, KIND,
};
use crate::protocol::{Attribute, AttributePath, Type, Value};

/// The `runtime` attributes only the ECS runtime takes.
pub const ECS_ATTRIBUTES: [&str; 8] = [
    "cluster",
    "subnets",
    "security_groups",
    "image",
    "cpu",
    "memory",
    "assign_public_ip",
    "cpu_architecture",
];

/// The `runtime` attributes only the Python-shell runtime takes (Glue job settings).
pub const PYTHON_SHELL_ATTRIBUTES: [&str; 4] = [
    "etl_binary",
    "max_capacity",
    "max_retries",
    "max_concurrent_runs",
];

/// Top-level computed attributes that only a Python-shell pipeline has (null for ECS).
pub const PYTHON_SHELL_COMPUTED: [&str; 11] = [
    "glue_job_name",
    "glue_job_role_arn",
    "launcher_uri",
    "etl_binary_uri",
    "etl_binary_sha256",
    "glue_version",
    "python_version",
    "glue_job_default_arguments",
    "glue_job_non_overridable_arguments",
    "glue_job_role_policy",
    "glue_job_role_assume_role_policy",
];

/// Top-level computed attributes of an ECS pipeline that mirror what AWS holds (null for
/// Python shell). `task_definition_arn` is not one: it changes with every revision.
pub const MIRRORED: [&str; 7] = [
    "task_role_arn",
    "execution_role_arn",
    "task_definition",
    "task_role_policy",
    "task_role_assume_role_policy",
    "execution_role_policy",
    "execution_role_assume_role_policy",
];

/// Every top-level computed attribute only an ECS pipeline has.
pub fn ecs_computed() -> impl Iterator<Item = &'static str> {
    std::iter::once("task_definition_arn").chain(MIRRORED)
}

/// The ECS attributes of the `runtime` block.
pub fn runtime_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("cluster")
            .optional()
            .description("ECS only (required): name or ARN of the ECS cluster the task runs in."),
        Attribute::list("subnets", Type::String)
            .optional()
            .description(
                "ECS only (required, 1 to 16): subnet ids (`subnet-…`) for the task's network \
             interface. Private subnets need a NAT gateway or VPC endpoints (ECR, S3, Glue, \
             CloudWatch Logs) to pull the image and reach the data.",
            ),
        Attribute::list("security_groups", Type::String)
            .optional()
            .description(
                "ECS only: up to 5 security group ids (`sg-…`) for the task. Default: the VPC's \
             default security group. The task needs outbound HTTPS only.",
            ),
        Attribute::string("image").optional().description(
            "ECS only (required): the container image holding `gluepipe-etl` on its `PATH` \
             (built from the repository's `Dockerfile`). The execution role may pull it when it \
             is in a private ECR repository of this partition.",
        ),
        Attribute::number("cpu").optional().computed().description(
            "ECS only: CPU units of the Fargate task: 256, 512, 1024 (default), 2048, 4096, 8192 \
             or 16384.",
        ),
        Attribute::number("memory")
            .optional()
            .computed()
            .description(
                "ECS only: memory of the Fargate task in MiB (default 2048); it must be a size \
             Fargate offers with `cpu` (e.g. 2048–8192 in steps of 1024 for 1024 CPU units).",
            ),
        Attribute::bool("assign_public_ip")
            .optional()
            .computed()
            .description(
                "ECS only: give the task a public IP (default `false`). Needed in public subnets \
             without a NAT gateway, to pull the image and reach S3.",
            ),
        Attribute::string("cpu_architecture")
            .optional()
            .computed()
            .description(format!(
                "ECS only: the task's CPU architecture, `{}` (default) or `{}` (Graviton). The \
                 image must hold the `gluepipe-etl` for it: the release ships both \
                 (`gluepipe-etl_<version>_linux_amd64` and `_linux_arm64`) and the `Dockerfile` \
                 builds either, or both with `docker buildx --platform`.",
                CPU_ARCHITECTURES[0], CPU_ARCHITECTURES[1]
            )),
    ]
}

/// The top-level computed attributes of an ECS pipeline.
pub fn computed_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("task_definition_arn").computed().description(
            "ECS only: ARN of the task definition's current revision. A changed task definition \
             is registered as a new revision (and the old one deregistered), so this is known \
             after apply when the task definition changes.",
        ),
        Attribute::string("task_definition").computed().description(
            "ECS only: the task definition (JSON, the `RegisterTaskDefinition` fields gluepipe \
             sets): Fargate, `awsvpc`, Linux on `runtime.cpu_architecture`, one container `gluepipe-etl` whose entry \
             point is `gluepipe-etl run <spec_uri>`, `AWS_REGION` set, logs to `/gluepipe/<name>`.",
        ),
        Attribute::string("task_role_arn").computed().description(
            "ECS only: ARN of the task's IAM role (`<name>-task`), the container's credentials.",
        ),
        Attribute::string("execution_role_arn").computed().description(
            "ECS only: ARN of the task execution role (`<name>-exec`), which ECS uses to pull \
             the image and write the logs.",
        ),
        Attribute::string("task_role_policy").computed().description(
            "ECS only: the task role's inline policy (JSON): read the spec, plus the same data \
             access the Glue job role gets (source, target, results and quarantine locations, \
             catalog tables).",
        ),
        Attribute::string("task_role_assume_role_policy").computed().description(
            "ECS only: the task role's trust policy (JSON): `ecs-tasks.amazonaws.com`, for tasks \
             of this account and region.",
        ),
        Attribute::string("execution_role_policy").computed().description(
            "ECS only: the execution role's inline policy (JSON): pull the image from its ECR \
             repository (if it is in ECR) and write the pipeline's log group.",
        ),
        Attribute::string("execution_role_assume_role_policy").computed().description(
            "ECS only: the execution role's trust policy (JSON): `ecs-tasks.amazonaws.com`.",
        ),
    ]
}

/// The optional `runtime` attributes whose default depends on the kind.
const KIND_DEFAULTED: [&str; 7] = [
    "cpu",
    "memory",
    "assign_public_ip",
    "cpu_architecture",
    "max_capacity",
    "max_retries",
    "max_concurrent_runs",
];

/// Sets the defaults that depend on `runtime.kind`, after the schema-wide defaults: for ECS,
/// `cpu`, `memory` and `assign_public_ip` get theirs and the Glue job settings none; for
/// Python shell, the ECS attributes stay null; while the kind is unknown, every attribute whose
/// default depends on it is unknown too (a guess would make the final plan inconsistent). Only
/// attributes the configuration leaves unset are touched.
pub fn apply_kind_defaults(planned: &mut Value, config: &Value) {
    let runtime_config = config.attr("runtime");
    if runtime_config.is_null() || !runtime_config.is_known() {
        return;
    }
    let Some(runtime) = planned.get_mut(&AttributePath::root("runtime")) else {
        return;
    };
    let unset = |name: &str| runtime_config.attr(name).is_null();
    if !runtime.attr("kind").is_known() {
        for name in KIND_DEFAULTED {
            if unset(name) {
                runtime.set_attr(name, Value::Unknown);
            }
        }
    } else if runtime.attr("kind").as_str() == Some(KIND) {
        for name in PYTHON_SHELL_ATTRIBUTES {
            if unset(name) {
                runtime.set_attr(name, Value::Null);
            }
        }
        for (name, default) in [
            ("cpu", Value::from(DEFAULT_CPU)),
            ("memory", Value::from(DEFAULT_MEMORY)),
            ("assign_public_ip", Value::Bool(DEFAULT_ASSIGN_PUBLIC_IP)),
            ("cpu_architecture", Value::from(DEFAULT_CPU_ARCHITECTURE)),
        ] {
            if unset(name) {
                runtime.set_attr(name, default);
            }
        }
    } else {
        for name in ECS_ATTRIBUTES {
            if unset(name) {
                runtime.set_attr(name, Value::Null);
            }
        }
    }
}

/// The kind a resource value runs on (`python-shell` when unset).
pub fn kind_of(value: &Value) -> &str {
    value
        .attr("runtime")
        .attr("kind")
        .as_str()
        .unwrap_or(crate::pipeline::model::defaults::RUNTIME_KIND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Number;

    fn number(v: f64) -> Value {
        Value::Number(Number::from_f64(v).unwrap_or_else(|| Number::from(0)))
    }

    /// A planned `runtime` after the schema-wide defaults, for `config`.
    fn planned(config: &Value) -> Value {
        let mut runtime = config.attr("runtime").clone();
        for (name, default) in [
            ("max_capacity", number(0.0625)),
            ("max_retries", Value::from(0)),
            ("max_concurrent_runs", Value::from(1)),
            ("timeout_minutes", Value::from(60)),
        ] {
            if runtime.attr(name).is_null() {
                runtime.set_attr(name, default);
            }
        }
        for name in ["cpu", "memory", "assign_public_ip"] {
            if runtime.attr(name).is_null() {
                runtime.set_attr(name, Value::Unknown); // optional + computed, unset
            }
        }
        Value::object([("runtime", runtime)])
    }

    #[test]
    fn ecs_gets_task_size_defaults_and_no_glue_settings() {
        let config = Value::object([(
            "runtime",
            Value::object([("kind", Value::from("ecs")), ("memory", Value::from(4096))]),
        )]);
        let mut plan = planned(&config);
        apply_kind_defaults(&mut plan, &config);
        let rt = plan.attr("runtime");
        assert_eq!(rt.attr("cpu"), &Value::from(1024));
        assert_eq!(
            rt.attr("memory"),
            &Value::from(4096),
            "configured value kept"
        );
        assert_eq!(rt.attr("assign_public_ip"), &Value::Bool(false));
        for name in ["max_capacity", "max_retries", "max_concurrent_runs"] {
            assert!(rt.attr(name).is_null(), "{name}");
        }
        assert_eq!(
            rt.attr("timeout_minutes"),
            &Value::from(60),
            "shared setting"
        );
    }

    #[test]
    fn python_shell_leaves_ecs_attributes_null() {
        let config = Value::object([(
            "runtime",
            Value::object([("artifact_bucket", Value::from("b"))]),
        )]);
        let mut plan = planned(&config);
        plan.set_at(
            &AttributePath::root("runtime").attr("kind"),
            Value::from("python-shell"),
        );
        apply_kind_defaults(&mut plan, &config);
        let rt = plan.attr("runtime");
        for name in ECS_ATTRIBUTES {
            assert!(rt.attr(name).is_null(), "{name}");
        }
        assert!(rt.attr("max_capacity").is_known() && !rt.attr("max_capacity").is_null());
    }

    #[test]
    fn an_unknown_kind_leaves_its_defaults_unknown() {
        let config = Value::object([(
            "runtime",
            Value::object([("kind", Value::Unknown), ("cpu", Value::from(512))]),
        )]);
        let mut plan = planned(&config);
        apply_kind_defaults(&mut plan, &config);
        let rt = plan.attr("runtime");
        assert_eq!(rt.attr("cpu"), &Value::from(512), "configured value kept");
        for name in ["memory", "assign_public_ip", "max_capacity", "max_retries"] {
            assert_eq!(rt.attr(name), &Value::Unknown, "{name}");
        }
        assert_eq!(
            rt.attr("timeout_minutes"),
            &Value::from(60),
            "not kind-dependent"
        );
    }

    #[test]
    fn kind_lists_are_disjoint_and_in_the_schema() {
        let names: Vec<String> = runtime_attributes().into_iter().map(|a| a.name).collect();
        assert_eq!(names, ECS_ATTRIBUTES);
        for name in PYTHON_SHELL_ATTRIBUTES {
            assert!(!ECS_ATTRIBUTES.contains(&name));
        }
        let computed: Vec<String> = computed_attributes().into_iter().map(|a| a.name).collect();
        let mut listed: Vec<&str> = ecs_computed().collect();
        listed.sort_unstable();
        let mut sorted = computed.clone();
        sorted.sort();
        assert_eq!(sorted, listed);
        for a in computed_attributes() {
            assert!(
                a.computed && !a.optional && !a.description.is_empty(),
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn kind_of_values() {
        assert_eq!(kind_of(&Value::Null), "python-shell");
        let v = Value::object([("runtime", Value::object([("kind", Value::from("ecs"))]))]);
        assert_eq!(kind_of(&v), "ecs");
    }
}
