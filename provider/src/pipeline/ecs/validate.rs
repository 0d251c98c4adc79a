//! Plan-time checks of the ECS runtime, at the attribute each problem is about:
//!
//! - [`check_kind_attributes`]: a `runtime` attribute set for the other kind (`cpu` with
//!   Python shell, `max_capacity` with ECS). Judged on the configuration as written, since the
//!   plan fills in defaults.
//! - [`check_settings`]: the ECS settings themselves — image, cluster, subnets and security
//!   groups present and well formed, and a cpu/memory pair Fargate offers.

use super::schema::{ECS_ATTRIBUTES, PYTHON_SHELL_ATTRIBUTES};
use super::settings::{
    CPU_ARCHITECTURES, EcsSettings, KIND, MAX_SECURITY_GROUPS, MAX_SUBNETS, TaskSizeError,
    check_cluster, check_ec2_id, check_image, check_task_size,
};
use crate::protocol::{AttributePath, Diagnostic, Diagnostics, Value};

fn runtime(field: &str) -> AttributePath {
    AttributePath::root("runtime").attr(field)
}

/// Attributes of `runtime` that the configured kind does not take. `config` is the resource
/// configuration as written (no defaults filled in).
pub fn check_kind_attributes(config: &Value) -> Diagnostics {
    let rt = config.attr("runtime");
    let kind = rt.attr("kind");
    let mut diags = Diagnostics::new();
    if !kind.is_known() {
        return diags;
    }
    let (foreign, detail): (&[&str], fn(&str) -> String) = if kind.as_str() == Some(KIND) {
        (&PYTHON_SHELL_ATTRIBUTES, |name| {
            format!(
                "{name} is a setting of the Glue Python-shell runtime; the ECS runtime runs the \
                 binary from `image` and sizes the task with `cpu` and `memory`. Remove it."
            )
        })
    } else {
        (&ECS_ATTRIBUTES, |name| {
            format!(
                "{name} is a setting of the ECS runtime; set kind = \"ecs\" to run the pipeline \
                 as an ECS task, or remove it."
            )
        })
    };
    for name in foreign {
        if !rt.attr(name).is_null() {
            diags.push(
                Diagnostic::error("Attribute not used by this runtime kind", detail(name))
                    .at(runtime(name)),
            );
        }
    }
    diags
}

/// Problems with the ECS settings of a pipeline whose kind is `ecs`, reported through `err`
/// (the caller drops those under attributes not known yet).
pub fn check_settings(ecs: &EcsSettings, err: &mut impl FnMut(AttributePath, &str, String)) {
    if let Err(detail) = check_image(&ecs.image) {
        let summary = if ecs.image.trim().is_empty() {
            "Missing container image"
        } else {
            "Invalid container image"
        };
        err(runtime("image"), summary, detail);
    }

    if ecs.cluster.is_empty() {
        err(
            runtime("cluster"),
            "Missing ECS cluster",
            "give the name or ARN of the ECS cluster the task runs in".into(),
        );
    } else if let Err(detail) = check_cluster(&ecs.cluster) {
        err(runtime("cluster"), "Invalid ECS cluster", detail);
    }

    let lists = [
        ("subnets", "subnet", &ecs.subnets, MAX_SUBNETS),
        (
            "security_groups",
            "sg",
            &ecs.security_groups,
            MAX_SECURITY_GROUPS,
        ),
    ];
    for (field, prefix, ids, max) in lists {
        if ids.len() > max {
            err(
                runtime(field),
                "Too many network settings",
                format!(
                    "{} {field} given; a Fargate task takes at most {max}",
                    ids.len()
                ),
            );
        }
        for (i, id) in ids.iter().enumerate() {
            if let Err(detail) = check_ec2_id(id, prefix) {
                err(runtime(field).index(i), "Invalid id", detail);
            } else if ids[..i].contains(id) {
                err(
                    runtime(field).index(i),
                    "Duplicate id",
                    format!("{id} is listed twice"),
                );
            }
        }
    }
    if ecs.subnets.is_empty() {
        err(
            runtime("subnets"),
            "Missing subnets",
            "a Fargate task needs at least one subnet (awsvpc networking)".into(),
        );
    }

    if !CPU_ARCHITECTURES.contains(&ecs.cpu_architecture.as_str()) {
        err(
            runtime("cpu_architecture"),
            "Invalid CPU architecture",
            format!(
                "{:?} is not a Fargate CPU architecture; use {}",
                ecs.cpu_architecture,
                CPU_ARCHITECTURES.join(" or ")
            ),
        );
    }
    match check_task_size(ecs.cpu, ecs.memory) {
        Ok(()) => {}
        Err(TaskSizeError::Cpu(detail)) => err(runtime("cpu"), "Invalid Fargate task size", detail),
        Err(TaskSizeError::Memory(detail)) => {
            err(runtime("memory"), "Invalid Fargate task size", detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EcsSettings {
        EcsSettings {
            cluster: "etl".into(),
            subnets: vec!["subnet-0a1b2c3d".into()],
            security_groups: vec!["sg-12345678".into()],
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl:1".into(),
            cpu: 1024,
            memory: 2048,
            assign_public_ip: false,
            cpu_architecture: "X86_64".into(),
        }
    }

    fn problems(ecs: &EcsSettings) -> Vec<(String, String)> {
        let mut found = Vec::new();
        check_settings(
            ecs,
            &mut |path: AttributePath, summary: &str, _detail: String| {
                found.push((path.to_string(), summary.to_string()));
            },
        );
        found
    }

    #[test]
    fn a_complete_configuration_passes() {
        assert_eq!(problems(&settings()), Vec::<(String, String)>::new());
        let no_groups = EcsSettings {
            security_groups: Vec::new(),
            ..settings()
        };
        assert_eq!(problems(&no_groups), Vec::<(String, String)>::new());
    }

    #[test]
    fn each_problem_is_reported_at_its_attribute() {
        type Edit = fn(&mut EcsSettings);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                |s| s.image.clear(),
                "runtime.image",
                "Missing container image",
            ),
            (
                |s| s.image = "a b".into(),
                "runtime.image",
                "Invalid container image",
            ),
            (
                |s| s.cluster.clear(),
                "runtime.cluster",
                "Missing ECS cluster",
            ),
            (
                |s| s.cluster = "my/cluster".into(),
                "runtime.cluster",
                "Invalid ECS cluster",
            ),
            (|s| s.subnets.clear(), "runtime.subnets", "Missing subnets"),
            (
                |s| s.subnets.push("subnet-xyz".into()),
                "runtime.subnets[1]",
                "Invalid id",
            ),
            (
                |s| s.subnets.push("subnet-0a1b2c3d".into()),
                "runtime.subnets[1]",
                "Duplicate id",
            ),
            (
                |s| s.subnets = (0..17).map(|i| format!("subnet-{i:08x}")).collect(),
                "runtime.subnets",
                "Too many network settings",
            ),
            (
                |s| s.security_groups = vec!["subnet-0a1b2c3d".into()],
                "runtime.security_groups[0]",
                "Invalid id",
            ),
            (
                |s| s.security_groups = (0..6).map(|i| format!("sg-{i:08x}")).collect(),
                "runtime.security_groups",
                "Too many network settings",
            ),
            (|s| s.cpu = 1000, "runtime.cpu", "Invalid Fargate task size"),
            (
                |s| s.cpu_architecture = "arm64".into(),
                "runtime.cpu_architecture",
                "Invalid CPU architecture",
            ),
            (
                |s| s.memory = 1024,
                "runtime.memory",
                "Invalid Fargate task size",
            ),
            (
                |s| {
                    s.cpu = 256;
                    s.memory = 4096;
                },
                "runtime.memory",
                "Invalid Fargate task size",
            ),
        ];
        for (edit, path, summary) in cases {
            let mut s = settings();
            edit(&mut s);
            let found = problems(&s);
            assert_eq!(
                found,
                vec![(path.to_string(), summary.to_string())],
                "{path} {summary}"
            );
        }
    }

    fn config(runtime: Value) -> Value {
        Value::object([("name", Value::from("orders")), ("runtime", runtime)])
    }

    fn paths(diags: &Diagnostics) -> Vec<String> {
        diags
            .iter()
            .map(|d| {
                assert!(d.is_error());
                d.attribute
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn glue_settings_are_rejected_for_ecs() {
        let c = config(Value::object([
            ("kind", Value::from("ecs")),
            ("image", Value::from("etl:1")),
            ("cpu", Value::from(512)),
            ("etl_binary", Value::from("target/release/gluepipe-etl")),
            ("max_capacity", Value::from(1)),
            ("max_retries", Value::Null),
            ("timeout_minutes", Value::from(30)),
        ]));
        let d = check_kind_attributes(&c);
        assert_eq!(paths(&d), ["runtime.etl_binary", "runtime.max_capacity"]);
        assert!(d.iter().all(|d| d.detail.contains("Python-shell")));
    }

    #[test]
    fn ecs_settings_are_rejected_for_python_shell() {
        for kind in [Value::Null, Value::from("python-shell")] {
            let c = config(Value::object([
                ("kind", kind),
                ("etl_binary", Value::from("bin")),
                ("max_capacity", Value::from(1)),
                ("image", Value::from("etl:1")),
                ("subnets", Value::Unknown), // set, value not known yet
                ("assign_public_ip", Value::Bool(false)),
            ]));
            let d = check_kind_attributes(&c);
            assert_eq!(
                paths(&d),
                [
                    "runtime.subnets",
                    "runtime.image",
                    "runtime.assign_public_ip"
                ]
            );
            assert!(d.iter().all(|d| d.detail.contains("kind = \"ecs\"")));
        }
    }

    #[test]
    fn nothing_to_say_without_a_known_kind_or_foreign_attributes() {
        let unknown_kind = config(Value::object([
            ("kind", Value::Unknown),
            ("image", Value::from("etl:1")),
            ("max_capacity", Value::from(1)),
        ]));
        assert!(check_kind_attributes(&unknown_kind).is_empty());
        assert!(check_kind_attributes(&config(Value::Null)).is_empty());
        let glue = config(Value::object([
            ("etl_binary", Value::from("bin")),
            ("max_capacity", Value::from(1)),
        ]));
        assert!(check_kind_attributes(&glue).is_empty());
    }

    #[test]
    fn an_unknown_kind_defers_every_kind_check() {
        use crate::pipeline::model::{PipelineConfig, RuntimeConfig};
        let spec = gluepipe_spec::PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "target": {"path": "s3://curated-bucket/orders/"}}"#,
        )
        .expect("a valid spec");
        let mut rt = RuntimeConfig::new("artifact-bucket", "");
        rt.kind = String::new(); // the placeholder of an unknown value
        rt.max_capacity = 3.0;
        let config = PipelineConfig {
            spec,
            runtime: rt,
            tags: Default::default(),
        };
        let unknown = [runtime("kind")];
        let diags = crate::pipeline::validate::validate(&config, &unknown);
        assert!(diags.is_empty(), "{diags}");
        // Once known, each kind's own checks apply.
        let mut glue = config.clone();
        glue.runtime.kind = "python-shell".into();
        let found: Vec<String> = crate::pipeline::validate::validate(&glue, &[])
            .iter()
            .map(|d| d.summary.clone())
            .collect();
        assert!(
            found.contains(&"Invalid capacity for a Python shell job".to_string()),
            "{found:?}"
        );
        let mut ecs = config;
        ecs.runtime.kind = KIND.into();
        let found: Vec<String> = crate::pipeline::validate::validate(&ecs, &[])
            .iter()
            .map(|d| d.summary.clone())
            .collect();
        assert!(
            found.contains(&"Missing container image".to_string()),
            "{found:?}"
        );
        assert!(
            !found.iter().any(|s| s.contains("Python shell")),
            "{found:?}"
        );
    }
}
