//! Plan-time validation of a `gluepipe_pipeline` configuration, before any AWS call: every
//! problem AWS would only find at run time (or never), reported at the attribute it is about.
//!
//! The pipeline part is checked by the spec crate's [`PipelineSpec::validate`] — the same checks
//! `gluepipe-etl run` makes — and its field paths are translated to the resource's attribute
//! paths here. This module adds what only matters in AWS: names valid for Glue, Step Functions
//! and IAM at once, S3-only locations, runtime options Glue accepts for Python shell, and tags.
//!
//! Values unknown at plan time are skipped: a problem located at (or under) an unknown attribute
//! is dropped, and so are checks that compare mapping columns while any of them is unknown.
//! Terraform plans again with every value known before applying, so nothing escapes.

use gluepipe_spec::pipeline::{PathStep as SpecStep, SpecIssue, overlap};
use gluepipe_spec::{Location, PipelineSpec, S3Uri};

use super::ecs;
use super::model::{PYTHON_SHELL_CAPACITIES, PipelineConfig, defaults};
use super::names::check_pipeline_name;
use crate::protocol::{AttributePath, Diagnostic, Diagnostics};

/// Glue's limits for a Python-shell job.
pub const MAX_TIMEOUT_MINUTES: i64 = 2880;
pub const MAX_RETRIES: i64 = 10;
pub const MAX_CONCURRENT_RUNS: i64 = 1000;
/// A Distributed Map runs at most this many child executions at once (our bound, well under
/// Step Functions' 10,000) and batches at most this many objects. A batch is also cut at
/// `scale_out::MAX_BATCH_BYTES` of keys, which keeps it within Step Functions' and Glue's
/// payload limits whatever the keys, so this bound needs no margin for long keys.
pub const MAX_PARALLELISM: i64 = 1000;
pub const MAX_FILES_PER_SHARD: i64 = 1000;
/// Glue, IAM and Step Functions each allow 50 tags per resource.
pub const MAX_TAGS: usize = 50;

/// Validates `config`. `unknown` lists the attributes whose values are not known yet (their
/// placeholders in `config` must not be reported).
pub fn validate(config: &PipelineConfig, unknown: &[AttributePath]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut err = |path: AttributePath, summary: &str, detail: String| {
        diags.push(Diagnostic::error(summary, detail).at(path));
    };

    if let Err(e) = check_pipeline_name(config.name()) {
        err(AttributePath::root("name"), "Invalid pipeline name", e.0);
    }

    let mapping_unknown = unknown
        .iter()
        .any(|p| p.steps().first() == AttributePath::root("mapping").steps().first());
    for issue in config.spec.validate() {
        if issue.path.first() == Some(&SpecStep::Field("name")) {
            continue; // reported above, with the stricter rule
        }
        let cross_field = matches!(
            issue.summary.as_str(),
            "Mapping collision" | "Unknown partition column"
        );
        if cross_field && mapping_unknown {
            continue;
        }
        err(attribute_path(&issue), &issue.summary, issue.detail.clone());
    }

    // The job runs in AWS: every data location is in S3.
    let spec = &config.spec;
    if let Some(path) = spec.source.paths.first() {
        require_s3(&mut err, AttributePath::root("source").attr("path"), path);
    }
    let written = written_locations(spec);
    for (path, location) in &written {
        require_s3(&mut err, path.clone(), location);
    }

    let rt = &config.runtime;
    let runtime = |field: &str| AttributePath::root("runtime").attr(field);
    match rt.kind.as_str() {
        defaults::RUNTIME_KIND => {}
        ecs::KIND => ecs::validate::check_settings(&rt.ecs, &mut err),
        other => err(
            runtime("kind"),
            "Unsupported runtime kind",
            format!("'{other}' is not a runtime kind; use \"python-shell\" or \"ecs\""),
        ),
    }
    if let Err(e) = S3Uri::parse(&format!("s3://{}/", rt.artifact_bucket)) {
        err(runtime("artifact_bucket"), "Invalid bucket name", e.reason);
    }
    if let Err(detail) = check_key_prefix(&rt.artifact_prefix) {
        err(runtime("artifact_prefix"), "Invalid key prefix", detail);
    }
    // The Glue job's settings (the ECS runtime takes none of them; see ecs::validate; an
    // unknown kind reads as "" and is checked once known).
    let python_shell = rt.kind == defaults::RUNTIME_KIND;
    if python_shell && !PYTHON_SHELL_CAPACITIES.contains(&rt.max_capacity) {
        err(
            runtime("max_capacity"),
            "Invalid capacity for a Python shell job",
            format!(
                "{} DPU is not allowed; Glue Python shell jobs run with 0.0625 or 1 DPU",
                rt.max_capacity
            ),
        );
    }
    for (field, value, low, high) in [
        (
            "timeout_minutes",
            rt.timeout_minutes,
            1,
            MAX_TIMEOUT_MINUTES,
        ),
        ("max_retries", rt.max_retries, 0, MAX_RETRIES),
        (
            "max_concurrent_runs",
            rt.max_concurrent_runs,
            1,
            MAX_CONCURRENT_RUNS,
        ),
        (
            "parallelism",
            rt.scale_out.parallelism(),
            1,
            MAX_PARALLELISM,
        ),
        (
            "files_per_shard",
            rt.scale_out.files_per_shard(),
            1,
            MAX_FILES_PER_SHARD,
        ),
    ] {
        if !(low..=high).contains(&value) {
            err(
                runtime(field),
                "Value out of range",
                format!("{value} is not between {low} and {high}"),
            );
        }
    }

    check_scale_out(config, &mut err);
    check_tags(&mut err, "tags", config.tags.iter());
    if let Some(description) = &spec.description {
        check_description(&mut err, description);
    }
    for (path, location) in &written {
        check_exact_location(&mut err, path.clone(), location);
    }
    if rt.artifact_prefix.contains(['*', '?']) || rt.artifact_prefix.contains("${") {
        err(
            runtime("artifact_prefix"),
            "Wildcard in a written location",
            format!(
                "'{}' contains '*', '?' or '${{'; the job's grant on its artifacts would match \
                 other prefixes",
                rt.artifact_prefix
            ),
        );
    }

    diags
        .into_iter()
        .filter(|d| !is_under_unknown(d, unknown))
        .collect()
}

/// Scale-out needs the Glue runtime and room for its shard runs: each shard is a run of the
/// same job, so a job that allows fewer concurrent runs would make the shards queue.
fn check_scale_out(config: &PipelineConfig, err: &mut impl FnMut(AttributePath, &str, String)) {
    let rt = &config.runtime;
    let parallelism = rt.scale_out.parallelism();
    if !rt.scale_out.is_sharded() || parallelism > MAX_PARALLELISM {
        return;
    }
    let runtime = |field: &str| AttributePath::root("runtime").attr(field);
    if config.spec.source.incremental {
        err(
            AttributePath::root("source").attr("incremental"),
            "Incremental runs cannot be sharded",
            format!(
                "parallelism = {parallelism} converts the source in shards, which incremental runs \
                 do not support yet; remove parallelism or set incremental = false"
            ),
        );
    }
    if rt.kind == ecs::KIND {
        err(
            runtime("parallelism"),
            "Scale-out not available for this runtime",
            format!(
                "parallelism = {parallelism} needs kind = \"python-shell\"; the ECS runtime runs \
                 one task per execution. Remove parallelism or use the Glue runtime."
            ),
        );
    } else if rt.kind == defaults::RUNTIME_KIND && rt.max_concurrent_runs < parallelism {
        err(
            runtime("max_concurrent_runs"),
            "Too few concurrent runs for the parallelism",
            format!(
                "{} concurrent runs of the job cannot hold {parallelism} shard runs at once; set \
                 max_concurrent_runs to at least {parallelism} (more if executions may overlap)",
                rt.max_concurrent_runs
            ),
        );
    }
}

/// Tag rules shared by Glue, IAM and Step Functions (IAM's are the strictest); `attribute` is
/// `tags` or `tags_all`.
pub fn check_tags<'a>(
    err: &mut impl FnMut(AttributePath, &str, String),
    attribute: &str,
    tags: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) {
    if tags.len() > MAX_TAGS {
        err(
            AttributePath::root(attribute),
            "Too many tags",
            format!(
                "{} tags; AWS allows at most {MAX_TAGS} per resource",
                tags.len()
            ),
        );
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in tags {
        let path = AttributePath::root(attribute).key(key.clone());
        let bad_char = |text: &str| text.chars().find(|c| !is_tag_char(*c));
        if key.is_empty() || key.chars().count() > 128 {
            err(
                path,
                "Invalid tag key",
                format!("'{key}' must be 1 to 128 characters long"),
            );
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            err(
                path,
                "Invalid tag key",
                format!("'{key}': the aws: prefix is reserved for AWS"),
            );
        } else if let Some(c) = bad_char(key) {
            err(
                path,
                "Invalid tag key",
                format!(
                    "'{}' contains {c:?}; IAM tag keys take letters, digits, spaces and _ . : / = + - @",
                    key.escape_debug()
                ),
            );
        } else if let Some(first) = seen.iter().find(|k| k.eq_ignore_ascii_case(key)) {
            err(
                path,
                "Invalid tag key",
                format!(
                    "'{key}' and '{first}' differ only in case; IAM takes tag keys \
                     case-insensitively and refuses both"
                ),
            );
        } else if value.chars().count() > 256 {
            err(
                path,
                "Invalid tag value",
                format!("the value of '{key}' is longer than 256 characters"),
            );
        } else if let Some(c) = bad_char(value) {
            err(
                path,
                "Invalid tag value",
                format!(
                    "the value of '{key}' contains {c:?}; IAM tag values take letters, digits, \
                     spaces and _ . : / = + - @"
                ),
            );
        }
        seen.push(key);
    }
}

/// IAM's tag alphabet: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// Glue's job description: at most 2048 characters, and no control character but tab, line
/// feed and carriage return.
pub const MAX_DESCRIPTION: usize = 2048;

fn check_description(err: &mut impl FnMut(AttributePath, &str, String), description: &str) {
    let path = AttributePath::root("description");
    let length = description.chars().count();
    if length > MAX_DESCRIPTION {
        err(
            path,
            "Invalid description",
            format!("{length} characters; Glue takes at most {MAX_DESCRIPTION}"),
        );
    } else if let Some(c) = description.chars().find(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }) {
        err(
            path,
            "Invalid description",
            format!("it contains the control character {c:?}, which Glue refuses"),
        );
    }
}

/// Locations the generated policies grant exactly: a `*` or `?` there would become an IAM
/// wildcard the user never asked for, and `${` a policy variable. Globs are for the source
/// (whose grant is a wildcard by design, see the docs' Permissions section).
fn check_exact_location(
    err: &mut impl FnMut(AttributePath, &str, String),
    path: AttributePath,
    value: &str,
) {
    let Ok(Location::S3(uri)) = Location::parse(value) else {
        return;
    };
    if let Some(c) = uri.key.chars().find(|c| matches!(c, '*' | '?')) {
        err(
            path,
            "Wildcard in a written location",
            format!(
                "'{value}' contains '{c}'; this location is written to, not matched, and its \
                 IAM grant would be a wildcard over other prefixes; use a name without '*' or '?'"
            ),
        );
    } else if uri.key.contains("${") {
        err(
            path,
            "Policy variable in a location",
            format!("'{value}' contains '${{', which IAM reads as a policy variable"),
        );
    }
}

/// A catalog source is known by its table's S3 location only once the table is read (at plan
/// time, from AWS): the target and the data-quality outputs must not lie inside it, nor it
/// inside them — a run would read its own output.
pub fn check_table_location(spec: &PipelineSpec, location: &S3Uri) -> Diagnostics {
    let input = Location::S3(location.clone());
    let results = spec
        .data_quality
        .as_ref()
        .and_then(|dq| dq.results_path.as_deref())
        .map(Location::parse);
    let outputs = [
        (
            AttributePath::root("target").attr("path"),
            Some(Location::parse(&spec.target.path)),
        ),
        (
            AttributePath::root("data_quality").attr("results_path"),
            results,
        ),
        (
            AttributePath::root("data_quality").attr("quarantine_path"),
            spec.quarantine_location(),
        ),
    ];
    let mut diags = Diagnostics::new();
    for (path, output) in outputs {
        let Some(Ok(output)) = output else {
            continue;
        };
        if let Some(detail) = overlap(&input, &output) {
            diags.push(
                Diagnostic::error(
                    "Input and output overlap",
                    format!(
                        "the source table's location {location} {detail} {output}: a run would \
                         read what it wrote; keep them apart"
                    ),
                )
                .at(path),
            );
        }
    }
    diags
}

/// Every location the job writes, with its attribute: the target and the data-quality outputs.
fn written_locations(spec: &PipelineSpec) -> Vec<(AttributePath, &str)> {
    let mut written = vec![(
        AttributePath::root("target").attr("path"),
        spec.target.path.as_str(),
    )];
    if let Some(dq) = &spec.data_quality {
        for (field, value) in [
            ("results_path", &dq.results_path),
            ("quarantine_path", &dq.quarantine_path),
        ] {
            if let Some(v) = value {
                written.push((AttributePath::root("data_quality").attr(field), v.as_str()));
            }
        }
    }
    written
}

fn require_s3(err: &mut impl FnMut(AttributePath, &str, String), path: AttributePath, value: &str) {
    if let Ok(Location::Local(_)) = Location::parse(value) {
        err(
            path,
            "Location must be in S3",
            format!(
                "'{value}' is a local path, but the pipeline runs in AWS; use s3://bucket/prefix/"
            ),
        );
    }
}

/// An S3 key prefix: empty, or ending in `/`, without a leading `/` or empty segments.
fn check_key_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.starts_with('/') {
        return Err(format!(
            "'{prefix}' must not start with '/' (S3 keys have no leading slash)"
        ));
    }
    if !prefix.ends_with('/') {
        return Err(format!("'{prefix}' must end with '/' (e.g. \"{prefix}/\")"));
    }
    if prefix.contains("//") {
        return Err(format!("'{prefix}' has an empty path segment ('//')"));
    }
    Ok(())
}

/// The resource attribute for a spec field: the same names, except that the resource's
/// `source.path` is the spec's `source.paths[0]`.
pub fn attribute_path(issue: &SpecIssue) -> AttributePath {
    let mut path = AttributePath::empty();
    let mut steps = issue.path.iter().peekable();
    while let Some(step) = steps.next() {
        path = match step {
            SpecStep::Field("paths") => {
                if matches!(steps.peek(), Some(SpecStep::Index(_))) {
                    steps.next();
                }
                path.attr("path")
            }
            SpecStep::Field(name) => path.attr(*name),
            SpecStep::Index(i) => path.index(*i),
        };
    }
    path
}

/// Whether a problem cannot be judged yet: it sits at or under an unknown value, or it is about
/// a block (e.g. "give either a catalog table or paths") some of whose contents are unknown —
/// as in a module whose variables are unknown during `terraform validate`.
fn is_under_unknown(diag: &Diagnostic, unknown: &[AttributePath]) -> bool {
    let Some(path) = &diag.attribute else {
        return false;
    };
    let at = path.steps();
    unknown.iter().any(|u| {
        let u = u.steps();
        at.starts_with(u) || (!at.is_empty() && u.starts_with(at))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;
    use crate::pipeline::model::RuntimeConfig;
    use gluepipe_spec::PipelineSpec;
    use gluepipe_spec::pipeline::{DataQuality, Mapping};

    fn config() -> PipelineConfig {
        PipelineConfig {
            spec: PipelineSpec::from_json(
                r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                    "target": {"path": "s3://curated-bucket/orders/"}}"#,
            )
            .unwrap(),
            runtime: RuntimeConfig::new("artifact-bucket", "target/release/gluepipe-etl"),
            tags: BTreeMap::new(),
        }
    }

    /// `(path, summary)` of each problem.
    fn problems(config: &PipelineConfig, unknown: &[AttributePath]) -> Vec<(String, String)> {
        validate(config, unknown)
            .iter()
            .map(|d| {
                assert!(d.is_error());
                (
                    d.attribute
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    d.summary.clone(),
                )
            })
            .collect()
    }

    fn m(from: &str, to: &str, ty: &str) -> Mapping {
        Mapping {
            from: from.into(),
            to: to.into(),
            data_type: ty.into(),
        }
    }

    #[test]
    fn a_valid_config_has_no_problems() {
        assert_eq!(problems(&config(), &[]), Vec::<(String, String)>::new());
    }

    #[test]
    fn each_problem_is_reported_at_its_attribute() {
        type Edit = fn(&mut PipelineConfig);
        let cases: Vec<(&str, Edit, &str, &str)> = vec![
            (
                "name too long",
                |c| c.spec.name = "x".repeat(60),
                "name",
                "Invalid pipeline name",
            ),
            (
                "name with dot",
                |c| c.spec.name = "a.b".into(),
                "name",
                "Invalid pipeline name",
            ),
            (
                "bad source uri",
                |c| c.spec.source.paths = vec!["s3://Bad_Bucket/x".into()],
                "source.path",
                "Invalid source path",
            ),
            (
                "local source",
                |c| c.spec.source.paths = vec!["data/in.json".into()],
                "source.path",
                "Location must be in S3",
            ),
            (
                "no source",
                |c| c.spec.source.paths.clear(),
                "source",
                "Missing source",
            ),
            (
                "local target",
                |c| c.spec.target.path = "/tmp/out".into(),
                "target.path",
                "Location must be in S3",
            ),
            (
                "gs target",
                |c| c.spec.target.path = "gs://b/x".into(),
                "target.path",
                "Invalid target path",
            ),
            (
                "bad type",
                |c| c.spec.mapping = vec![m("id", "id", "bigitn")],
                "mapping[0].type",
                "Invalid Glue type",
            ),
            (
                "indexed mapping path",
                |c| c.spec.mapping = vec![m("items[0].id", "id", "bigint")],
                "mapping[0].from",
                "Invalid source column",
            ),
            (
                "wildcard records path",
                |c| c.spec.source.records_path = Some("features[*]".into()),
                "source.records_path",
                "Invalid records path",
            ),
            (
                "collision",
                |c| c.spec.mapping = vec![m("a", "x", "int"), m("b", "X", "int")],
                "mapping[1].to",
                "Mapping collision",
            ),
            (
                "local results",
                |c| {
                    c.spec.data_quality = Some(DataQuality {
                        ruleset: "Rules = [ ColumnCount > 0 ]".into(),
                        on_failure: Default::default(),
                        results_path: Some("results/".into()),
                        quarantine_path: None,
                    })
                },
                "data_quality.results_path",
                "Location must be in S3",
            ),
            (
                "bad dqdl",
                |c| {
                    c.spec.data_quality = Some(DataQuality {
                        ruleset: "Rules = [ ColumnCount > ]".into(),
                        on_failure: Default::default(),
                        results_path: None,
                        quarantine_path: None,
                    })
                },
                "data_quality.ruleset",
                "Invalid DQDL ruleset",
            ),
            (
                "unknown kind",
                |c| c.runtime.kind = "lambda".into(),
                "runtime.kind",
                "Unsupported runtime kind",
            ),
            (
                "ecs without its settings",
                |c| {
                    c.runtime.kind = "ecs".into();
                    c.runtime.ecs.cluster = "etl".into();
                    c.runtime.ecs.subnets = vec!["subnet-0a1b2c3d".into()];
                },
                "runtime.image",
                "Missing container image",
            ),
            (
                "bucket",
                |c| c.runtime.artifact_bucket = "My_Bucket".into(),
                "runtime.artifact_bucket",
                "Invalid bucket name",
            ),
            (
                "prefix slash",
                |c| c.runtime.artifact_prefix = "gluepipe".into(),
                "runtime.artifact_prefix",
                "Invalid key prefix",
            ),
            (
                "prefix lead",
                |c| c.runtime.artifact_prefix = "/g/".into(),
                "runtime.artifact_prefix",
                "Invalid key prefix",
            ),
            (
                "capacity",
                |c| c.runtime.max_capacity = 2.0,
                "runtime.max_capacity",
                "Invalid capacity for a Python shell job",
            ),
            (
                "timeout",
                |c| c.runtime.timeout_minutes = 0,
                "runtime.timeout_minutes",
                "Value out of range",
            ),
            (
                "retries",
                |c| c.runtime.max_retries = 11,
                "runtime.max_retries",
                "Value out of range",
            ),
            (
                "concurrency",
                |c| c.runtime.max_concurrent_runs = 0,
                "runtime.max_concurrent_runs",
                "Value out of range",
            ),
            (
                "parallelism",
                |c| c.runtime.scale_out.parallelism = Some(0),
                "runtime.parallelism",
                "Value out of range",
            ),
            (
                "parallelism too high",
                |c| {
                    c.runtime.scale_out.parallelism = Some(1001);
                    c.runtime.max_concurrent_runs = 1000;
                },
                "runtime.parallelism",
                "Value out of range",
            ),
            (
                "sharded incremental",
                |c| {
                    c.spec.source.incremental = true;
                    c.runtime.scale_out.parallelism = Some(4);
                    c.runtime.max_concurrent_runs = 8;
                },
                "source.incremental",
                "Incremental runs cannot be sharded",
            ),
            (
                "files per shard",
                |c| c.runtime.scale_out.files_per_shard = Some(0),
                "runtime.files_per_shard",
                "Value out of range",
            ),
            (
                "files per shard too high",
                |c| c.runtime.scale_out.files_per_shard = Some(1001),
                "runtime.files_per_shard",
                "Value out of range",
            ),
            (
                "shards queue",
                |c| {
                    c.runtime.scale_out.parallelism = Some(4);
                    c.runtime.max_concurrent_runs = 3;
                },
                "runtime.max_concurrent_runs",
                "Too few concurrent runs for the parallelism",
            ),
            (
                "ecs scale-out",
                |c| {
                    c.runtime.kind = "ecs".into();
                    c.runtime.ecs.cluster = "etl".into();
                    c.runtime.ecs.subnets = vec!["subnet-0a1b2c3d".into()];
                    c.runtime.ecs.image =
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1".into();
                    c.runtime.scale_out.parallelism = Some(2);
                },
                "runtime.parallelism",
                "Scale-out not available for this runtime",
            ),
            (
                "aws tag",
                |c| c.tags = BTreeMap::from([("AWS:x".into(), "v".into())]),
                "tags[\"AWS:x\"]",
                "Invalid tag key",
            ),
            (
                "tag value",
                |c| c.tags = BTreeMap::from([("k".into(), "v".repeat(257))]),
                "tags[\"k\"]",
                "Invalid tag value",
            ),
            (
                "tag key character IAM refuses",
                |c| c.tags = BTreeMap::from([("team#1".into(), "v".into())]),
                "tags[\"team#1\"]",
                "Invalid tag key",
            ),
            (
                "tag value character IAM refuses",
                |c| c.tags = BTreeMap::from([("k".into(), "a,b".into())]),
                "tags[\"k\"]",
                "Invalid tag value",
            ),
            (
                "tag keys equal but for case",
                |c| {
                    c.tags =
                        BTreeMap::from([("Env".into(), "a".into()), ("env".into(), "b".into())])
                },
                "tags[\"env\"]",
                "Invalid tag key",
            ),
            (
                "description too long",
                |c| c.spec.description = Some("d".repeat(2049)),
                "description",
                "Invalid description",
            ),
            (
                "description with a control character",
                |c| c.spec.description = Some("bell\u{7}".into()),
                "description",
                "Invalid description",
            ),
            (
                "target name with a star",
                |c| c.spec.target.path = "s3://curated-bucket/x-*/".into(),
                "target.path",
                "Wildcard in a written location",
            ),
            (
                "results path with a question mark",
                |c| {
                    c.spec.data_quality = Some(DataQuality {
                        ruleset: "Rules = [ ColumnCount > 0 ]".into(),
                        on_failure: Default::default(),
                        results_path: Some("s3://dq-bucket/r?/".into()),
                        quarantine_path: None,
                    })
                },
                "data_quality.results_path",
                "Wildcard in a written location",
            ),
            (
                "artifact prefix with a star",
                |c| c.runtime.artifact_prefix = "gp-*/".into(),
                "runtime.artifact_prefix",
                "Wildcard in a written location",
            ),
            (
                "partition by a struct",
                |c| {
                    c.spec.mapping = vec![m("id", "id", "bigint"), m("c", "c", "struct<a:int>")];
                    c.spec.target.partition_by = vec!["c".into()];
                },
                "target.partition_by[0]",
                "Cannot partition by this column",
            ),
            (
                "target catalog name Glue refuses",
                |c| {
                    c.spec.target.catalog_database = Some("curated db".into());
                    c.spec.target.catalog_table = Some("orders".into());
                },
                "target.catalog_database",
                "Invalid catalog name",
            ),
            (
                "rule on an unmapped column",
                |c| {
                    c.spec.mapping = vec![m("id", "order_id", "bigint")];
                    c.spec.data_quality = Some(DataQuality {
                        ruleset: "Rules = [ IsComplete \"id\" ]".into(),
                        on_failure: Default::default(),
                        results_path: None,
                        quarantine_path: None,
                    });
                },
                "data_quality.ruleset",
                "Rule on a column the mapping does not produce",
            ),
        ];
        for (case, edit, path, summary) in cases {
            let mut c = config();
            edit(&mut c);
            assert_eq!(
                problems(&c, &[]),
                vec![(path.to_string(), summary.to_string())],
                "{case}"
            );
        }
    }

    #[test]
    fn outputs_inside_a_source_table_location_are_refused() {
        let location = S3Uri::parse("s3://raw-bucket/tables/orders/").unwrap();
        let paths = |spec: &PipelineSpec| -> Vec<String> {
            check_table_location(spec, &location)
                .iter()
                .map(|d| d.attribute.as_ref().unwrap().to_string())
                .collect()
        };
        let mut c = config();
        assert!(paths(&c.spec).is_empty());
        c.spec.target.path = "s3://raw-bucket/tables/orders/curated/".into();
        assert_eq!(paths(&c.spec), ["target.path"]);
        c.spec.target.path = "s3://raw-bucket/tables/".into();
        assert_eq!(
            paths(&c.spec),
            ["target.path"],
            "the source inside the target"
        );
    }

    #[test]
    fn both_python_shell_capacities_are_accepted() {
        for capacity in [0.0625, 1.0] {
            let mut c = config();
            c.runtime.max_capacity = capacity;
            assert!(problems(&c, &[]).is_empty(), "{capacity}");
        }
    }

    #[test]
    fn scale_out_within_limits_is_accepted() {
        for (parallelism, files, runs) in [
            (None, Some(1000), 1),
            (Some(1), None, 1),
            (Some(2), Some(1), 2),
            (Some(1000), None, 1000),
        ] {
            let mut c = config();
            c.runtime.scale_out.parallelism = parallelism;
            c.runtime.scale_out.files_per_shard = files;
            c.runtime.max_concurrent_runs = runs;
            assert!(problems(&c, &[]).is_empty(), "{parallelism:?} {files:?}");
        }
        // One run per execution on ECS is not scale-out.
        let mut c = config();
        c.runtime.kind = "ecs".into();
        c.runtime.scale_out.parallelism = Some(1);
        assert!(
            !problems(&c, &[])
                .iter()
                .any(|(path, _)| path == "runtime.parallelism")
        );
    }

    #[test]
    fn too_many_tags() {
        let mut c = config();
        c.tags = (0..51)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert_eq!(
            problems(&c, &[]),
            vec![("tags".to_string(), "Too many tags".to_string())]
        );
    }

    #[test]
    fn unknown_values_are_not_judged() {
        let mut c = config();
        c.runtime.artifact_bucket = String::new(); // placeholder of an unknown value
        c.spec.mapping = vec![m("a", "", "int"), m("b", "", "int")];
        c.spec.target.partition_by = vec!["day".into()];
        let unknown = [
            AttributePath::root("runtime").attr("artifact_bucket"),
            AttributePath::root("mapping").index(0).attr("to"),
            AttributePath::root("mapping").index(1).attr("to"),
        ];
        assert_eq!(problems(&c, &unknown), Vec::<(String, String)>::new());
        // Known problems elsewhere are still reported.
        c.runtime.max_retries = -1;
        assert_eq!(
            problems(&c, &unknown),
            vec![(
                "runtime.max_retries".to_string(),
                "Value out of range".to_string()
            )]
        );
    }

    #[test]
    fn block_level_checks_wait_for_unknown_contents() {
        // A catalog source whose path is unknown (a module's variable during `validate`):
        // "conflicting source" cannot be decided yet.
        let mut c = config();
        c.spec.source.catalog_database = Some("raw".into());
        c.spec.source.catalog_table = Some("orders".into());
        c.spec.source.paths = vec![String::new()];
        let unknown = [AttributePath::root("source").attr("path")];
        assert_eq!(problems(&c, &unknown), Vec::<(String, String)>::new());
        assert!(
            !problems(&c, &[]).is_empty(),
            "known values are still judged"
        );
    }

    #[test]
    fn spec_paths_translate_to_attributes() {
        let issue = |path: Vec<SpecStep>| SpecIssue {
            path,
            summary: String::new(),
            detail: String::new(),
        };
        let cases = [
            (
                vec![
                    SpecStep::Field("source"),
                    SpecStep::Field("paths"),
                    SpecStep::Index(0),
                ],
                "source.path",
            ),
            (
                vec![
                    SpecStep::Field("mapping"),
                    SpecStep::Index(3),
                    SpecStep::Field("type"),
                ],
                "mapping[3].type",
            ),
            (
                vec![
                    SpecStep::Field("target"),
                    SpecStep::Field("partition_by"),
                    SpecStep::Index(1),
                ],
                "target.partition_by[1]",
            ),
            (vec![], ""),
        ];
        for (steps, want) in cases {
            assert_eq!(attribute_path(&issue(steps)).to_string(), want);
        }
    }
}
