//! The command line as clap types, and nothing else: [`crate::settings`] resolves these (with the
//! pipeline spec file) into the settings a run uses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Streaming JSON to Parquet with Glue-style mapping and DQDL data-quality checks.
#[derive(Debug, Parser)]
#[command(name = "gluepipe-etl", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// `text` for people, `json` (one object per line on stderr) for cloud logs.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// No progress bar even on a terminal.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: from a spec file, from flags, or a spec file with flags overriding it.
    /// With `--shard-inputs`, convert one shard of a sharded run (published by `merge`).
    Run(Box<RunArgs>),
    /// Finish a sharded run: merge every shard's data-quality state, check that every input
    /// was converted exactly once, and publish (or discard) the shards' files together.
    Merge(Box<RunArgs>),
    /// Print the schema inferred from the input as Glue type strings.
    Schema(SchemaArgs),
    /// DQDL rulesets: validate, parse, or check data against one.
    #[command(subcommand)]
    Dq(crate::dq::cli::DqCommand),
    /// List a target's run history: id, start, status, counts, data-quality outcome.
    Runs(RunsArgs),
    /// Write a target's run history as one self-contained HTML page.
    Report(ReportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The pipeline spec (JSON) that the provider uploads; flags below override its values.
    #[arg(value_name = "PIPELINE.json")]
    pub pipeline: Option<PathBuf>,

    /// Input files, folders, globs or s3:// prefixes (replaces the spec's source).
    #[arg(long, value_name = "URI", num_args = 1..)]
    pub input: Vec<String>,

    /// Take the records from the array at this dotted path inside each JSON document
    /// (`features` for a GeoJSON FeatureCollection, `data.items`), not the documents themselves.
    #[arg(long, value_name = "PATH")]
    pub records_path: Option<String>,

    /// Where the Parquet output goes (replaces the spec's target path).
    #[arg(long, value_name = "URI")]
    pub output: Option<String>,

    /// Read the source from this Glue catalog database (with --catalog-table).
    #[arg(long, value_name = "DB", requires = "catalog_table")]
    pub catalog_database: Option<String>,

    /// Read the source from this Glue catalog table (with --catalog-database).
    #[arg(long, value_name = "TABLE", requires = "catalog_database")]
    pub catalog_table: Option<String>,

    /// Register the output as a table in this Glue catalog database.
    #[arg(long, value_name = "DB", requires = "target_catalog_table")]
    pub target_catalog_database: Option<String>,

    /// Register the output as this Glue catalog table.
    #[arg(long, value_name = "TABLE", requires = "target_catalog_database")]
    pub target_catalog_table: Option<String>,

    /// A JSON file with the ApplyMapping list: `[{"from": "a.b", "to": "ab", "type": "bigint"}, …]`.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// A DQDL ruleset file (`Rules = [ … ]`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// What a failed data-quality check does.
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_dq_failure: Option<OnDqFailure>,

    /// Parquet compression codec.
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,

    /// Hive-partition the output by these columns (`col=value/` folders).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    pub partition_by: Vec<String>,

    /// `append` adds files next to earlier ones; `overwrite` replaces them once the new ones are complete.
    #[arg(long, value_enum)]
    pub write_mode: Option<WriteModeArg>,

    /// Convert only inputs no earlier committed run to this target converted (append only):
    /// each input is in exactly one published run.
    #[arg(long)]
    pub incremental: bool,

    /// How many bad records may be set aside in the rejects file before the run fails.
    #[arg(long, value_name = "N")]
    pub max_bad_records: Option<u64>,

    /// After the run, publish CloudWatch metrics: Glue Data Quality's rule counts (namespace
    /// `Glue Data Quality`) and the run's counts and duration (namespace `gluepipe`).
    #[arg(long)]
    pub cloudwatch_metrics: bool,

    /// The `EvaluationContext` dimension of the data-quality metrics (default: the pipeline's
    /// name); implies --cloudwatch-metrics.
    #[arg(long, value_name = "NAME")]
    pub evaluation_context: Option<String>,

    /// After the run, send its summary to this SNS topic (when its outcome is in --notify-on).
    #[arg(long, value_name = "ARN")]
    pub sns_topic_arn: Option<String>,

    /// The outcomes that send a notification, comma-separated: succeeded, failed,
    /// data_quality_failed (default: failed,data_quality_failed).
    #[arg(
        long,
        value_name = "OUTCOMES",
        value_delimiter = ',',
        requires = "sns_topic_arn"
    )]
    pub notify_on: Option<Vec<String>>,

    /// Write the run record (JSON) here, local path or s3:// URI.
    #[arg(long, value_name = "PATH")]
    pub results: Option<String>,

    /// S3/Glue endpoint (e.g. a local emulator); `AWS_ENDPOINT_URL` is honoured too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Decode/encode worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// How many records schema inference samples when there is no catalog schema or mapping.
    #[arg(long, value_name = "N")]
    pub sample_rows: Option<usize>,

    /// Target size of a Parquet row group, encoded, in MiB (default 16). Each worker holds up
    /// to one row group per open file in memory.
    #[arg(long, value_name = "MIB")]
    pub row_group_mb: Option<usize>,

    /// The run's id (default: a new one). Every shard of a sharded run and its merge share it.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// The evaluation time of data-quality rules (`now()`, DataFreshness), RFC 3339; default
    /// the start of the run. Shards and merge of one run must share it.
    #[arg(long, value_name = "TIME")]
    pub evaluated_at: Option<String>,

    /// Convert only these inputs of the source, as one shard of run `--run-id`: a JSON array
    /// (or `@FILE` holding one) of `s3://` URIs, local paths, or S3 listing objects
    /// (`{"Key": …}`, as a Step Functions Distributed Map passes them). Objects that are not
    /// inputs of the source (hidden files, folder markers) are skipped.
    #[arg(long, value_name = "JSON|@FILE", requires = "run_id")]
    pub shard_inputs: Option<String>,

    /// `merge` only: discard every shard of the run instead of publishing (the clean-up after
    /// a failed sharded execution); needs no `--evaluated-at`.
    #[arg(long)]
    pub discard: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Input files, folders, globs or s3:// prefixes.
    #[arg(long, value_name = "URI", num_args = 1.., required = true)]
    pub input: Vec<String>,

    /// How many records to sample.
    #[arg(long, value_name = "N")]
    pub sample_rows: Option<usize>,

    /// Take the records from the array at this dotted path inside each JSON document.
    #[arg(long, value_name = "PATH")]
    pub records_path: Option<String>,

    /// `text`: one `name<TAB>type` line per column; `json`: Glue `Columns` (`[{"Name","Type"}]`).
    #[arg(long, value_enum, default_value_t = SchemaFormat::Text)]
    pub format: SchemaFormat,

    /// S3 endpoint (e.g. a local emulator).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The pipeline's target (its `target.path`): local folder or s3:// prefix.
    #[arg(long, value_name = "URI")]
    pub target: String,

    /// How many of the latest runs to list.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub last: usize,

    /// `text`: aligned columns; `json`: one object per run.
    #[arg(long, value_enum, default_value_t = SchemaFormat::Text)]
    pub format: SchemaFormat,

    /// S3 endpoint (e.g. a local emulator).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The pipeline's target (its `target.path`): local folder or s3:// prefix.
    #[arg(long, value_name = "URI")]
    pub target: String,

    /// Where the page goes: a local file or an s3:// key.
    #[arg(long, value_name = "PATH")]
    pub out: String,

    /// How many of the latest runs the page shows.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub last: usize,

    /// S3 endpoint (e.g. a local emulator).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDqFailure {
    Fail,
    Warn,
    Quarantine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    Snappy,
    Zstd,
    Gzip,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WriteModeArg {
    Append,
    Overwrite,
}
