//! Resolves the command line and the pipeline spec file into [`RunSettings`], the one value a run
//! reads. Flags override the spec's values; the merged spec is validated here (with the same
//! checks the provider runs at plan time), so a run never starts on a bad configuration.

use std::path::Path;

use anyhow::Context;
use gluepipe_spec::PipelineSpec;
use gluepipe_spec::notifications::{Notifications, RunOutcome};
use gluepipe_spec::pipeline::{
    Compression, DEFAULT_RULESET, DataQuality, Mapping, OnFailure, Source, Target, WriteMode,
};

use crate::cli::{CompressionArg, LogFormat, OnDqFailure, RunArgs, WriteModeArg};
use crate::error::usage;
use crate::storage::{AwsClients, AwsOptions, Store};

/// Everything a run needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The merged, validated pipeline.
    pub spec: PipelineSpec,
    /// Where the run record goes, if anywhere.
    pub results: Option<String>,
    /// S3/Glue endpoint override.
    pub endpoint_url: Option<String>,
    pub tuning: Tuning,
    pub log_format: LogFormat,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
    /// A single run, a shard, or a merge.
    pub mode: RunMode,
    /// The run id given on the command line.
    pub run_id: Option<String>,
    /// The data-quality evaluation time given on the command line.
    pub evaluated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// How this process takes part in a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum RunMode {
    /// Convert everything and publish.
    #[default]
    Single,
    /// Convert these inputs (the `--shard-inputs` list, unresolved) and stage them.
    Shard(Vec<String>),
    /// Merge the shards of the run and publish.
    Merge,
    /// Discard every shard of the run (a failed sharded execution's clean-up).
    Discard,
}

/// Knobs with defaults chosen for a 1 GB Glue Python-shell job; see the sink for row groups.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Decode/encode workers.
    pub threads: usize,
    /// Records schema inference samples.
    pub sample_rows: usize,
    /// Bytes of input per decode chunk (one `RecordBatch` each).
    pub chunk_bytes: usize,
    /// Encoded bytes buffered per open Parquet file before a row group is flushed.
    pub row_group_bytes: usize,
    /// Upper bound on rows per row group.
    pub row_group_rows: usize,
    /// A Parquet file is closed and a new one started past this size.
    pub file_bytes: u64,
    /// Open files per worker (partitions) before the oldest is closed.
    pub max_open_files: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            sample_rows: 10_000,
            chunk_bytes: 2 << 20,
            row_group_bytes: 16 << 20,
            row_group_rows: 1 << 20,
            file_bytes: 512 << 20,
            max_open_files: 32,
        }
    }
}

impl RunSettings {
    /// Merges `args` over the spec file (if any) and validates the result.
    pub fn resolve(
        args: &RunArgs,
        log_format: LogFormat,
        no_progress: bool,
    ) -> anyhow::Result<RunSettings> {
        let base = match &args.pipeline {
            Some(path) => Some(read_spec(path, args.endpoint_url.as_ref())?),
            None => None,
        };
        let spec = merge(base, args)?;
        let issues = spec.validate();
        if !issues.is_empty() {
            let lines: Vec<String> = issues.iter().map(|i| format!("  - {i}")).collect();
            return Err(usage(format!("invalid pipeline:\n{}", lines.join("\n"))));
        }
        let mut tuning = Tuning::default();
        if let Some(n) = args.threads {
            if n == 0 {
                return Err(usage("--threads must be at least 1"));
            }
            tuning.threads = n;
        }
        if let Some(mb) = args.row_group_mb {
            if mb == 0 {
                return Err(usage("--row-group-mb must be at least 1"));
            }
            tuning.row_group_bytes = mb << 20;
        }
        if let Some(n) = args.sample_rows {
            if n == 0 {
                return Err(usage("--sample-rows must be at least 1"));
            }
            tuning.sample_rows = n;
        }
        let evaluated_at = args
            .evaluated_at
            .as_deref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|e| {
                        usage(format!(
                            "--evaluated-at {t}: {e} (use RFC 3339, e.g. 2026-11-25T10:00:00Z)"
                        ))
                    })
            })
            .transpose()?;
        if let Some(id) = &args.run_id {
            crate::storage::publish::check_run_id(id)
                .map_err(|e| usage(format!("--run-id: {e}")))?;
        }
        if args.discard {
            return Err(usage("--discard is for `gluepipe-etl merge`"));
        }
        let mode = match &args.shard_inputs {
            Some(items) => RunMode::Shard(crate::shard::parse_items(items)?),
            None => RunMode::Single,
        };
        Ok(RunSettings {
            spec,
            results: args.results.clone(),
            endpoint_url: args.endpoint_url.clone(),
            tuning,
            log_format,
            progress: !no_progress && log_format == LogFormat::Text,
            mode,
            run_id: args.run_id.clone(),
            evaluated_at,
        })
    }

    /// The settings of `gluepipe-etl merge`: as `run`, in merge mode, with a run id required.
    pub fn resolve_merge(
        args: &RunArgs,
        log_format: LogFormat,
        no_progress: bool,
    ) -> anyhow::Result<RunSettings> {
        if args.run_id.is_none() {
            return Err(usage("merge needs the --run-id its shards ran with"));
        }
        if args.shard_inputs.is_some() {
            return Err(usage(
                "merge takes no --shard-inputs: it merges every shard of the run",
            ));
        }
        let discard = args.discard;
        let args = RunArgs {
            discard: false,
            ..args.clone()
        };
        let mut settings = RunSettings::resolve(&args, log_format, no_progress)?;
        settings.mode = if discard {
            RunMode::Discard
        } else {
            RunMode::Merge
        };
        Ok(settings)
    }
}

/// Reads the spec from a local file or, as an ECS task does, from the `s3://` object the
/// provider uploaded.
fn read_spec(path: &Path, endpoint_url: Option<&String>) -> anyhow::Result<PipelineSpec> {
    let shown = path.display();
    let text = match path.to_str().filter(|p| p.starts_with("s3://")) {
        Some(uri) => read_s3_text(uri, endpoint_url)
            .map_err(|e| anyhow::anyhow!("cannot read pipeline spec {uri}: {e:#}"))?,
        None => std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read pipeline spec {shown}: {e}")))?,
    };
    let spec = PipelineSpec::from_json(&text)
        .map_err(|e| usage(format!("invalid pipeline spec {shown}: {e}")))?;
    check_release(&spec, &shown.to_string())?;
    Ok(spec)
}

/// A spec written by another gluepipe release may use a field differently: refuse it, naming
/// both releases, rather than run it with this binary's reading (the provider refuses the
/// same mismatch at plan time; this catches a binary swapped in S3 or on an ECS image).
fn check_release(spec: &PipelineSpec, shown: &str) -> anyhow::Result<()> {
    match spec.gluepipe_version.as_deref() {
        Some(theirs) if theirs != gluepipe_spec::version::VERSION => Err(usage(format!(
            "pipeline spec {shown} was written by gluepipe {theirs}, but this gluepipe-etl is {}: \
             deploy the matching binary (the provider uploads its own release's) or run \
             `terraform apply` with a provider of release {}",
            gluepipe_spec::version::VERSION,
            gluepipe_spec::version::VERSION
        ))),
        _ => Ok(()),
    }
}

/// One small object from S3, as text.
fn read_s3_text(uri: &str, endpoint_url: Option<&String>) -> anyhow::Result<String> {
    let location = gluepipe_spec::Location::parse(uri).map_err(|e| usage(e.to_string()))?;
    let object = location
        .as_s3()
        .ok_or_else(|| usage(format!("{uri} is not an S3 object")))?;
    let (folder, name) = match object.key.rsplit_once('/') {
        Some((folder, name)) => (
            format!("s3://{}/{folder}/", object.bucket),
            name.to_string(),
        ),
        None => (format!("s3://{}/", object.bucket), object.key.clone()),
    };
    let folder = gluepipe_spec::Location::parse(&folder).map_err(|e| usage(e.to_string()))?;
    let aws = AwsClients::new(AwsOptions::with_endpoint(endpoint_url.cloned()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bytes = rt.block_on(async {
        let store = Store::at(&folder, &aws).await?;
        store.get_bytes(&name).await
    })?;
    Ok(String::from_utf8(bytes)?)
}

/// Reads an ApplyMapping file: a JSON list of `{from, to, type}`.
pub fn read_mapping_file(path: &Path) -> anyhow::Result<Vec<Mapping>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read mapping file {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "invalid mapping file {}: {e} (expected a JSON list of {{\"from\", \"to\", \"type\"}})",
            path.display()
        ))
    })
}

/// The spec file's values with every given flag laid over them.
fn merge(base: Option<PipelineSpec>, args: &RunArgs) -> anyhow::Result<PipelineSpec> {
    let mut spec = match base {
        Some(spec) => spec,
        None => {
            let output = args.output.clone().ok_or_else(|| {
                usage("give a pipeline spec file (gluepipe-etl run PIPELINE.json) or --input and --output")
            })?;
            PipelineSpec {
                version: gluepipe_spec::pipeline::SPEC_VERSION,
                gluepipe_version: None,
                name: "gluepipe-etl".to_string(),
                description: None,
                source: Source::default(),
                mapping: Vec::new(),
                data_quality: None,
                target: Target {
                    path: output,
                    compression: Compression::default(),
                    partition_by: Vec::new(),
                    catalog_database: None,
                    catalog_table: None,
                    write_mode: WriteMode::default(),
                },
                max_bad_records: 0,
                metrics: None,
                notifications: None,
            }
        }
    };
    if !args.input.is_empty() {
        spec.source = Source {
            paths: args.input.clone(),
            ..Source::default()
        };
    }
    if let (Some(db), Some(table)) = (&args.catalog_database, &args.catalog_table) {
        spec.source = Source {
            catalog_database: Some(db.clone()),
            catalog_table: Some(table.clone()),
            paths: args.input.clone(),
            ..Source::default()
        };
    }
    if let Some(path) = &args.records_path {
        spec.source.records_path = Some(path.clone());
    }
    if args.cloudwatch_metrics || args.evaluation_context.is_some() {
        let metrics = spec.metrics.get_or_insert_with(Default::default);
        if let Some(context) = &args.evaluation_context {
            metrics.evaluation_context = Some(context.clone());
        }
    }
    if let Some(arn) = &args.sns_topic_arn {
        let on = match &args.notify_on {
            None => gluepipe_spec::notifications::DEFAULT_ON.to_vec(),
            Some(words) => words
                .iter()
                .map(|w| {
                    RunOutcome::parse(w).ok_or_else(|| {
                        usage(format!(
                            "--notify-on: {w:?} is not an outcome; use succeeded, failed or \
                             data_quality_failed"
                        ))
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        spec.notifications = Some(Notifications {
            sns_topic_arn: arn.clone(),
            on,
        });
    }
    if let Some(output) = &args.output {
        spec.target.path = output.clone();
    }
    if let (Some(db), Some(table)) = (&args.target_catalog_database, &args.target_catalog_table) {
        spec.target.catalog_database = Some(db.clone());
        spec.target.catalog_table = Some(table.clone());
    }
    if let Some(path) = &args.mapping {
        spec.mapping = read_mapping_file(path)?;
    }
    if let Some(path) = &args.rules {
        let ruleset = std::fs::read_to_string(path)
            .with_context(|| format!("reading DQDL rules {}", path.display()))
            .map_err(|e| usage(format!("{e:#}")))?;
        dq_mut(&mut spec).ruleset = ruleset;
    }
    if let Some(mode) = args.on_dq_failure {
        dq_mut(&mut spec).on_failure = match mode {
            OnDqFailure::Fail => OnFailure::Fail,
            OnDqFailure::Warn => OnFailure::Warn,
            OnDqFailure::Quarantine => OnFailure::Quarantine,
        };
    }
    if let Some(c) = args.compression {
        spec.target.compression = match c {
            CompressionArg::Snappy => Compression::Snappy,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::None => Compression::None,
        };
    }
    if !args.partition_by.is_empty() {
        spec.target.partition_by = args.partition_by.clone();
    }
    if let Some(mode) = args.write_mode {
        spec.target.write_mode = match mode {
            WriteModeArg::Append => WriteMode::Append,
            WriteModeArg::Overwrite => WriteMode::Overwrite,
        };
    }
    if let Some(n) = args.max_bad_records {
        spec.max_bad_records = n;
    }
    if args.incremental {
        spec.source.incremental = true;
    }
    Ok(spec)
}

fn dq_mut(spec: &mut PipelineSpec) -> &mut DataQuality {
    spec.data_quality.get_or_insert_with(|| DataQuality {
        ruleset: DEFAULT_RULESET.to_string(),
        on_failure: OnFailure::default(),
        results_path: None,
        quarantine_path: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn resolve(argv: &[&str]) -> anyhow::Result<RunSettings> {
        let cli = Cli::try_parse_from(argv)?;
        match cli.command {
            Command::Run(args) => RunSettings::resolve(&args, cli.log_format, true),
            _ => unreachable!("run only"),
        }
    }

    #[test]
    fn flags_alone_make_a_pipeline() {
        let s = resolve(&[
            "gluepipe-etl",
            "run",
            "--input",
            "a.json",
            "b/",
            "--output",
            "out/",
            "--compression",
            "zstd",
            "--partition-by",
            "day,country",
            "--write-mode",
            "overwrite",
            "--max-bad-records",
            "5",
        ])
        .unwrap();
        assert_eq!(s.spec.source.paths, ["a.json", "b/"]);
        assert_eq!(s.spec.target.path, "out/");
        assert_eq!(s.spec.target.compression, Compression::Zstd);
        assert_eq!(s.spec.target.partition_by, ["day", "country"]);
        assert_eq!(s.spec.target.write_mode, WriteMode::Overwrite);
        assert_eq!(s.spec.max_bad_records, 5);
        assert!(s.spec.data_quality.is_none());
    }

    #[test]
    fn flags_override_the_spec_file() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("p.json");
        std::fs::write(
            &spec,
            r#"{"name": "orders", "source": {"paths": ["in/"]}, "target": {"path": "out/", "compression": "gzip"},
                "data_quality": {"ruleset": "Rules = [ RowCount > 0 ]"}}"#,
        )
        .unwrap();
        let spec = spec.to_str().unwrap();
        let s = resolve(&[
            "gluepipe-etl",
            "run",
            spec,
            "--output",
            "other/",
            "--on-dq-failure",
            "warn",
        ])
        .unwrap();
        assert_eq!(s.spec.name, "orders");
        assert_eq!(s.spec.source.paths, ["in/"]);
        assert_eq!(s.spec.target.path, "other/");
        assert_eq!(s.spec.target.compression, Compression::Gzip);
        let dq = s.spec.data_quality.unwrap();
        assert_eq!(dq.ruleset, "Rules = [ RowCount > 0 ]");
        assert_eq!(dq.on_failure, OnFailure::Warn);
    }

    #[test]
    fn bad_configurations_are_usage_errors() {
        let cases: &[(&[&str], &str)] = &[
            (&["gluepipe-etl", "run"], "give a pipeline spec file"),
            (
                &["gluepipe-etl", "run", "--output", "out/"],
                "Missing source",
            ),
            (
                &[
                    "gluepipe-etl",
                    "run",
                    "--input",
                    "x",
                    "--output",
                    "gs://b/x",
                ],
                "unsupported scheme",
            ),
            (
                &["gluepipe-etl", "run", "/nonexistent/p.json"],
                "cannot read pipeline spec",
            ),
            (
                &[
                    "gluepipe-etl",
                    "run",
                    "--input",
                    "x",
                    "--output",
                    "o",
                    "--threads",
                    "0",
                ],
                "--threads",
            ),
        ];
        for (argv, message) in cases {
            let err = resolve(argv).unwrap_err();
            assert!(
                matches!(err.downcast_ref(), Some(crate::error::EtlError::Usage(_))),
                "{argv:?}: {err:#}"
            );
            assert!(format!("{err:#}").contains(message), "{argv:?}: {err:#}");
        }
    }
}
