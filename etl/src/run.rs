//! The pipeline loop and the run record.
//!
//! ```text
//! reader thread:  files → decompress → Splitter ──chunks──► bounded channel
//! N workers:      chunk → RecordDecoder → partition values → MappingPlan → quality stage
//!                 → PartitionedWriter (own files, staged)      rejects → RejectsSink (shared)
//! main thread:    join → quality verdict → commit (files visible, manifest last) → catalog
//! ```
//!
//! Memory is bounded by the channel (1 chunk per worker), one decoded batch per worker and the
//! open files' row groups; it does not grow with the input. Each worker writes its own files,
//! so Parquet encoding (the costliest stage) runs on every core. A run that fails at any point,
//! including a failed `on_failure = fail` check, aborts its publishers: the target stays as it
//! was, and only the rejects file (under `_gluepipe/`) is kept for inspection.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, new_null_array};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use gluepipe_spec::pipeline::{OnFailure, WriteMode};
use gluepipe_spec::{GlueType, Location, PipelineSpec};
use serde::Serialize;

use crate::catalog::{Catalog, OutputTable};
use crate::decode::records_path::{self, RecordsPath};
use crate::decode::unknown::UnknownFields;
use crate::decode::{BufferPool, Chunk, RecordDecoder, Splitter};
use crate::error::{EtlError, usage};
use crate::ledger::{Entry, Ledger};
use crate::mapping::{MappingPlan, PathsSeen, UnmatchedPath};
use crate::progress::{Counters, Log, Progress};
use crate::quality::{HistoryAt, QualityReport, QualityStage};
use crate::rejects::{Reject, RejectsSink, TooManyBadRecords};
use crate::schema::infer::{infer_columns, starts_object};
use crate::schema::names::{RenamedColumn, readable_columns};
use crate::schema::{InferOptions, arrow_to_glue, schema_from_glue};
use crate::settings::{RunMode, RunSettings, Tuning};
use crate::sink::partition::{check_partition_columns, unnameable_rows};
use crate::sink::{FileOptions, OutputFile, PartitionedWriter};
use crate::source::open_decompressed;
use crate::storage::commit::Recovered;
use crate::storage::hive::PartitionValue;
use crate::storage::inputs::open_ahead;
use crate::storage::publish::begin;
use crate::storage::{
    AwsClients, AwsOptions, InputFile, Publisher, Store, resolve_catalog_inputs, resolve_inputs,
};

/// The JSON document `--results` receives, and what `run` returns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    /// The gluepipe release of the binary that ran.
    pub gluepipe_version: String,
    /// `succeeded`, `failed` or `data_quality_failed`.
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
    pub input_files: usize,
    pub input_bytes: u64,
    pub rows_in: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_quarantined: u64,
    /// Rows a failed run read, did not reject, and did not publish.
    #[serde(default)]
    pub rows_discarded: u64,
    pub outputs: Vec<OutputFile>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quarantine_outputs: Vec<OutputFile>,
    pub rejects_path: Option<String>,
    pub manifest_path: Option<String>,
    /// Where this record is kept in the target's history (`gluepipe-etl runs`); unset for one
    /// shard of a sharded run, whose merge keeps the run's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_path: Option<String>,
    /// Incremental runs: inputs earlier runs converted, so this one did not.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inputs_skipped: usize,
    /// Incremental runs: inputs rewritten after an earlier run converted them (not converted
    /// again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs_changed: Vec<String>,
    /// Commits of killed runs to this target that this run completed (or took back) first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered_commits: Vec<String>,
    pub data_quality: Option<serde_json::Value>,
    pub error: Option<String>,
    /// With an inferred schema: fields records had that the schema lacks (first seen after the
    /// sample), with how many values each had. They are not in the output.
    #[serde(skip_serializing_if = "UnknownFields::is_empty")]
    pub fields_not_in_schema: UnknownFields,
    /// With an inferred schema: columns (or struct fields) whose input names differ only by
    /// case from an earlier one's, or are empty, and the names they are written under.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renamed_columns: Vec<RenamedColumn>,
    /// Mapping entries whose `from` matched no value in any record (their columns are all
    /// null): a misspelt path, or a field the data does not have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched_mapping_paths: Vec<UnmatchedPath>,
    /// Set when this process converted one shard of a sharded run: its files are staged, and
    /// `gluepipe-etl merge` publishes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A new run id: UTC time and 8 random hex digits, sortable and unique.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{now}-{}", &random[..8])
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the I/O runtime")
}

/// Where the rows come from and what they look like.
struct SourcePlan {
    files: Vec<InputFile>,
    /// The catalog's columns (partition keys included), if the source is a catalog table.
    catalog_schema: Option<Schema>,
    partition_keys: Vec<String>,
}

async fn resolve_source(spec: &PipelineSpec, aws: &AwsClients) -> Result<SourcePlan> {
    let s = &spec.source;
    if let (Some(db), Some(table)) = (&s.catalog_database, &s.catalog_table) {
        let catalog = Catalog::connect(aws).await;
        let table = catalog.table(db, table).await?;
        if !table.format.is_json() && table.format.classification.is_some() {
            bail!(usage(format!(
                "catalog table {} is classified as {:?}; gluepipe-etl reads JSON",
                table.qualified_name(),
                table.format.classification.as_deref().unwrap_or("")
            )));
        }
        let partitions = catalog.partitions(&table).await?;
        let files = resolve_catalog_inputs(&table, &partitions, aws).await?;
        let columns: Vec<(String, GlueType)> = table
            .columns
            .iter()
            .chain(&table.partition_keys)
            .map(|c| (c.name.clone(), c.glue_type.clone()))
            .collect();
        return Ok(SourcePlan {
            files,
            catalog_schema: Some(schema_from_glue(&columns)),
            partition_keys: table.partition_key_names(),
        });
    }
    let files = resolve_inputs(&s.paths, aws).await?;
    Ok(SourcePlan {
        files,
        catalog_schema: None,
        partition_keys: Vec::new(),
    })
}

/// Up to `rows` raw records from the start of the inputs, for schema inference.
pub fn sample_records(
    files: &[InputFile],
    rows: usize,
    chunk_bytes: usize,
    records_path: Option<&RecordsPath>,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let uri = file.uri();
        let raw = file.open()?.into_boxed();
        let reader = open_decompressed(raw, &uri, Arc::default())?;
        let chunks = Splitter::new(reader, uri.as_str().into(), index, chunk_bytes.min(1 << 20))
            .with_records_path(records_path.cloned());
        for chunk in chunks {
            let chunk = chunk?;
            for i in 0..chunk.records.len() {
                out.push(chunk.raw(i).to_vec());
                if out.len() >= rows {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// `gluepipe-etl schema`: the inferred `(column, Glue type)` list of the inputs.
pub fn infer_input_schema(
    inputs: &[String],
    endpoint_url: Option<String>,
    sample_rows: usize,
    records_path: Option<&str>,
) -> Result<Vec<(String, String)>> {
    let records_path = records_path::parse(records_path)?;
    let rt = runtime()?;
    let aws = AwsClients::new(AwsOptions::with_endpoint(endpoint_url));
    let files = rt.block_on(resolve_inputs(inputs, &aws))?;
    let records = sample_records(
        &files,
        sample_rows,
        Tuning::default().chunk_bytes,
        records_path.as_ref(),
    )?;
    let columns = infer_columns(
        records.iter().map(Vec::as_slice),
        InferOptions { sample_rows },
    );
    // Named as a run writes them.
    let (readable, _) = readable_columns(&columns);
    Ok(readable
        .into_iter()
        .map(|(name, ty)| (name, ty.to_string()))
        .collect())
}

/// State shared by the reader and the workers.
struct Shared {
    cancel: AtomicBool,
    error: Mutex<Option<anyhow::Error>>,
    rejects: Mutex<RejectsSink>,
    counters: Arc<Counters>,
    rows_written: AtomicU64,
    rows_quarantined: AtomicU64,
    unknown: Mutex<UnknownFields>,
    paths_seen: PathsSeen,
}

impl Shared {
    fn fail(&self, err: anyhow::Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(err);
        }
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || crate::interrupt::received().is_some()
    }

    fn reject(&self, file_index: usize, reject: Reject) -> Result<()> {
        self.rejects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add_at(file_index, reject)
    }
}

struct Job {
    chunk: Chunk,
    partition_values: Arc<Vec<PartitionValue>>,
}

/// Everything a worker needs, shared read-only.
struct WorkerPlan {
    decode_schema: SchemaRef,
    /// Where the records are inside each document, if not the documents themselves.
    records_path: Option<RecordsPath>,
    /// The schema was inferred: count the fields records have beyond it.
    count_unknown: bool,
    plan: MappingPlan,
    partition_keys: Vec<String>,
    partition_indices: Vec<usize>,
    quarantine: bool,
    file_options: FileOptions,
    max_open_files: usize,
}

/// Runs a pipeline to the end: publishes on success, leaves the target untouched on failure.
/// The run record is written to `settings.results` either way.
pub fn run(settings: &RunSettings) -> Result<RunRecord> {
    let log = Log {
        format: settings.log_format,
    };
    let started = Instant::now();
    let mut record = RunRecord {
        run_id: settings.run_id.clone().unwrap_or_else(new_run_id),
        pipeline: settings.spec.name.clone(),
        gluepipe_version: gluepipe_spec::version::VERSION.to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ..RunRecord::default()
    };
    let rt = runtime()?;
    crate::interrupt::install(&rt);
    let aws = AwsClients::new(AwsOptions::with_endpoint(settings.endpoint_url.clone()));
    let env = RunEnv {
        settings,
        rt: &rt,
        aws: &aws,
        log: &log,
    };
    let result = execute(&env, &mut record);
    if let Err(e) = &result {
        settle_counts(&mut record, e);
    }
    record.finished_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    record.duration_seconds = started.elapsed().as_secs_f64();
    record.status = match &result {
        Ok(()) => "succeeded",
        Err(e) if matches!(e.downcast_ref(), Some(EtlError::DataQuality(_))) => {
            "data_quality_failed"
        }
        Err(_) => "failed",
    }
    .to_string();
    if let Err(e) = &result {
        record.error = Some(format!("{e:#}"));
    }
    // A discard is the clean-up of a run whose shard failed: its record (the history, the
    // metrics, the notification) tells that run's outcome, not the clean-up's.
    let discarded = settings.mode == RunMode::Discard && result.is_ok();
    if discarded {
        record.status = "failed".to_string();
        record.error = Some(format!(
            "a shard of run {} failed; the files its shards staged were discarded and nothing \
             was published",
            record.run_id
        ));
        count_as_discarded(&mut record);
    }
    // A shard's outcome is part of its run's, which the merge (or the discard) records,
    // measures and notifies.
    if !matches!(settings.mode, RunMode::Shard(_)) {
        if let Err(e) = rt.block_on(keep_in_history(settings, &mut record, &aws)) {
            record.record_path = None;
            log.warn(&format!(
                "the run record could not be kept in the target's history: {e:#}"
            ));
        }
        if let Some(context) = settings.spec.evaluation_context() {
            let data = crate::metrics::data(&record, context);
            if let Err(e) = rt.block_on(crate::metrics::put(&aws, &data)) {
                log.warn(&format!(
                    "the run's CloudWatch metrics were not published: {e:#}"
                ));
            }
        }
        if let Some(notifications) = &settings.spec.notifications {
            let sent = crate::notify::send(&aws, notifications, &settings.spec, &record);
            if let Err(e) = rt.block_on(sent) {
                log.warn(&format!(
                    "the run's notification to {} was not sent: {e:#}",
                    notifications.sns_topic_arn
                ));
            }
        }
    }
    if let Some(path) = &settings.results {
        let written = rt.block_on(write_results(path, &record, &aws));
        if let Err(e) = written {
            let e = e.context(format!("writing the run record to {path}"));
            return Err(match result {
                Ok(()) => e,
                Err(first) => first.context(format!("{e:#}")),
            });
        }
    }
    print_summary(&log, &record, settings, discarded);
    result.map(|()| record)
}

/// Says which commits of killed runs this run completed (or took back) before its own.
fn note_recovered(env: &RunEnv<'_>, record: &mut RunRecord, recovered: &[Recovered]) {
    for done in recovered {
        let note = match done {
            Recovered::RolledForward { run_id } => {
                format!("completed the commit of run {run_id}, which was killed while publishing")
            }
            Recovered::RolledBack { run_id, lost } => format!(
                "took back the commit of run {run_id}, killed while publishing: {} staged \
                 file(s) were lost before they were published, e.g. {}",
                lost.len(),
                lost.first().map_or("", String::as_str)
            ),
        };
        env.log
            .warn(&format!("{}: {note}", env.settings.spec.target.path));
        record.recovered_commits.push(note);
    }
}

/// A failed run's counts say what was published: every row it read and did not reject is
/// `rows_discarded` (converted or not), none written or quarantined. (A run that failed after its commit — registering the
/// catalog table, say — or whose commit the next run completes keeps its counts.)
fn settle_counts(record: &mut RunRecord, err: &anyhow::Error) {
    let unfinished = matches!(
        err.downcast_ref::<crate::storage::StorageError>(),
        Some(crate::storage::StorageError::Unfinished(_))
    );
    if record.manifest_path.is_some() || unfinished {
        return;
    }
    count_as_discarded(record);
}

/// Nothing of the run is published: the rows it read and did not reject are discarded.
fn count_as_discarded(record: &mut RunRecord) {
    record.rows_discarded = record.rows_in.saturating_sub(record.rows_rejected);
    record.rows_written = 0;
    record.rows_quarantined = 0;
    record.outputs.clear();
    record.quarantine_outputs.clear();
}

/// Keeps the record in the target's run history (every run that ends, whatever its outcome).
async fn keep_in_history(
    settings: &RunSettings,
    record: &mut RunRecord,
    aws: &AwsClients,
) -> Result<()> {
    let target = Location::parse(&settings.spec.target.path)?;
    let store = Store::at(&target, aws).await?;
    record.record_path = Some(store.uri(&crate::run_history::record_key(record)));
    crate::run_history::save(&store, record).await?;
    Ok(())
}

async fn write_results(path: &str, record: &RunRecord, aws: &AwsClients) -> Result<()> {
    let (store, name) = Store::for_object(path, aws).await?;
    store
        .put_bytes(&name, serde_json::to_vec_pretty(record)?)
        .await?;
    Ok(())
}

/// What a run resolves before it reads any data: the same for a single run, every shard of a
/// sharded run and its merge (so that all of them agree on the schema and the rules).
pub(crate) struct Prepared {
    /// The source's files, all of them (a shard converts some).
    pub files: Vec<InputFile>,
    worker_plan: Arc<WorkerPlan>,
    /// Inferred columns written under another name (see `schema::names`).
    pub renamed_columns: Vec<RenamedColumn>,
    pub output_schema: SchemaRef,
    pub target: Location,
    pub target_store: Store,
    pub on_failure: OnFailure,
}

/// What every stage of a run reads: the settings, the I/O runtime, the AWS clients, the log.
pub(crate) struct RunEnv<'a> {
    pub settings: &'a RunSettings,
    pub rt: &'a tokio::runtime::Runtime,
    pub aws: &'a AwsClients,
    pub log: &'a Log,
}

pub(crate) fn prepare(env: &RunEnv<'_>) -> Result<Prepared> {
    let RunEnv {
        settings,
        rt,
        aws,
        log,
    } = *env;
    let spec = &settings.spec;
    let tuning = &settings.tuning;
    let source = rt.block_on(resolve_source(spec, aws))?;

    // What to decode and what to write. Inference samples the start of the whole source, so
    // every shard of a sharded run infers the schema a single run would.
    let mut has_records = true;
    let mut renamed_columns = Vec::new();
    let records_path = records_path::parse(spec.source.records_path.as_deref())?;
    let plan = if !spec.mapping.is_empty() {
        MappingPlan::new(&spec.mapping, source.catalog_schema.as_ref())?
    } else if let Some(schema) = &source.catalog_schema {
        MappingPlan::identity(Arc::new(schema.clone()))
    } else {
        let sample = sample_records(
            &source.files,
            tuning.sample_rows,
            tuning.chunk_bytes,
            records_path.as_ref(),
        )?;
        // Only objects make rows: a sample of nothing else goes on, so that each record is
        // rejected with its file and line (and the first one fails a run that allows none).
        has_records = sample.iter().any(|r| starts_object(r));
        if !has_records && !sample.is_empty() {
            log.warn("schema inference found no JSON object in the sample; every record will be rejected");
        }
        let columns = infer_columns(
            sample.iter().map(Vec::as_slice),
            InferOptions {
                sample_rows: tuning.sample_rows,
            },
        );
        let (readable, renamed) = readable_columns(&columns);
        let source = Arc::new(schema_from_glue(&columns));
        if renamed.is_empty() {
            MappingPlan::identity(source)
        } else {
            renamed_columns = renamed;
            MappingPlan::renaming(source, Arc::new(schema_from_glue(&readable)))
        }
    };
    let decode_schema = Arc::new(Schema::new(
        plan.source_schema()
            .fields()
            .iter()
            .filter(|f| !source.partition_keys.contains(f.name()))
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let output_schema = plan.output_schema().clone();
    if output_schema.fields().is_empty() && has_records {
        bail!(usage(
            "the output has no columns: the input has no fields, or the mapping selects none"
        ));
    }
    let partition_indices = check_partition_columns(&output_schema, &spec.target.partition_by)?;
    let on_failure = spec
        .data_quality
        .as_ref()
        .map(|d| d.on_failure)
        .unwrap_or_default();
    let target = Location::parse(&spec.target.path).map_err(|e| usage(e.to_string()))?;
    let target_store = rt.block_on(Store::at(&target, aws))?;
    let worker_plan = Arc::new(WorkerPlan {
        decode_schema,
        records_path,
        count_unknown: spec.mapping.is_empty() && source.catalog_schema.is_none(),
        plan,
        partition_keys: source.partition_keys,
        partition_indices,
        quarantine: spec.data_quality.is_some() && on_failure == OnFailure::Quarantine,
        file_options: FileOptions {
            compression: spec.target.compression,
            row_group_bytes: tuning.row_group_bytes,
            row_group_rows: tuning.row_group_rows,
            file_bytes: tuning.file_bytes,
        },
        max_open_files: tuning.max_open_files,
    });
    Ok(Prepared {
        files: source.files,
        worker_plan,
        renamed_columns,
        output_schema,
        target,
        target_store,
        on_failure,
    })
}

impl Prepared {
    /// The data-quality stage, when the spec has a ruleset, evaluated at `evaluated_at`.
    pub fn quality_stage(
        &self,
        env: &RunEnv<'_>,
        run_id: &str,
        evaluated_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Box<dyn QualityStage>>> {
        let (spec, rt, aws) = (&env.settings.spec, env.rt, env.aws);
        let Some(dq) = &spec.data_quality else {
            return Ok(None);
        };
        // Metric history for dynamic rules: in the results path, else the target's
        // `_gluepipe/dq/`, local or S3 alike.
        let results = match dq.results_path.as_deref() {
            Some(path) => Location::parse(path).map_err(|e| usage(e.to_string()))?,
            None => match &self.target {
                Location::Local(dir) => Location::Local(dir.join("_gluepipe/dq")),
                Location::S3(uri) => Location::S3(uri.join("_gluepipe/dq")),
            },
        };
        let history = match results {
            Location::Local(dir) => HistoryAt::Local(dir),
            s3 => HistoryAt::Store(rt.block_on(Store::at(&s3, aws))?, rt.handle().clone()),
        };
        let stage = crate::quality::build(
            dq,
            &self.output_schema,
            run_id,
            &spec.name,
            history,
            evaluated_at,
        )?;
        Ok(Some(stage))
    }

    /// Where quarantined rows go, when the spec quarantines them.
    pub fn quarantine_store(&self, env: &RunEnv<'_>) -> Result<Option<Store>> {
        let (spec, rt, aws) = (&env.settings.spec, env.rt, env.aws);
        let Some(location) = spec.quarantine_location() else {
            return Ok(None);
        };
        let location = location.map_err(|e| usage(e.to_string()))?;
        Ok(Some(rt.block_on(Store::at(&location, aws))?))
    }
}

fn execute(env: &RunEnv<'_>, record: &mut RunRecord) -> Result<()> {
    let prepared = prepare(env)?;
    record.renamed_columns = prepared.renamed_columns.clone();
    if env.settings.spec.source.incremental && env.settings.mode != RunMode::Single {
        return Err(usage(
            "incremental runs cannot be sharded yet: run them as one process (no --shard-inputs or merge)",
        ));
    }
    match &env.settings.mode {
        RunMode::Single => {}
        RunMode::Shard(items) => return crate::shard::run_shard(env, &prepared, items, record),
        RunMode::Merge => return crate::shard::merge(env, &prepared, record),
        RunMode::Discard => return crate::shard::discard_run(env, &prepared, record),
    }
    let spec = &env.settings.spec;
    let evaluated_at = env.settings.evaluated_at.unwrap_or_else(chrono::Utc::now);
    let quality = prepared.quality_stage(env, &record.run_id, evaluated_at)?;
    let target_base = env
        .rt
        .block_on(begin(&prepared.target_store, &record.run_id))?;
    note_recovered(env, record, &target_base.recovered);
    let mut publisher = Publisher::new(
        prepared.target_store.clone(),
        &record.run_id,
        spec.target.write_mode,
    )?
    .with_base(target_base);
    // Incremental: the ledger is read after `begin`, so a run committing after it was read
    // makes this run's commit refuse (nothing converted twice).
    let ledger = match spec.source.incremental {
        true => Some(env.rt.block_on(Ledger::load(&prepared.target_store))?),
        false => None,
    };
    let files = match &ledger {
        None => prepared.files.clone(),
        Some(ledger) => {
            let split = ledger.split(&prepared.files);
            record.inputs_skipped = split.done;
            for (uri, run) in &split.changed {
                env.log.warn(&format!(
                    "{uri} changed after run {run} converted it; not converted again (its \
                     earlier rows are published)"
                ));
                record.inputs_changed.push(uri.clone());
            }
            if split.new.is_empty() {
                env.log.event(
                    "nothing_new",
                    &format!(
                        "gluepipe-etl: run {}: no new inputs ({} already converted); nothing to publish",
                        record.run_id, split.done
                    ),
                    serde_json::json!({"run_id": record.run_id, "inputs_skipped": split.done}),
                );
                return Ok(());
            }
            let entries: Vec<Entry> = split.new.iter().map(Entry::of).collect();
            publisher = publisher.with_inputs(serde_json::to_value(&entries)?);
            split.new
        }
    };
    let quarantine = match prepared.quarantine_store(env)? {
        Some(store) => {
            let base = env.rt.block_on(begin(&store, &record.run_id))?;
            Some(Publisher::new(store, &record.run_id, WriteMode::Append)?.with_base(base))
        }
        None => None,
    };
    let converted = convert(
        env,
        &prepared,
        &files,
        Outputs {
            publisher,
            quarantine,
            quality,
            file_tag: record.run_id.clone(),
            rejects_key: format!("_gluepipe/rejects/{}.jsonl", record.run_id),
        },
        record,
    )?;
    let report = match converted.quality {
        Some(stage) => Some(stage.finish()?),
        None => None,
    };
    publish(
        env,
        &prepared,
        record,
        report,
        converted.publisher,
        converted.quarantine,
        converted.outputs,
        converted.quarantine_outputs,
    )?;
    if let Some(mut ledger) = ledger {
        let inputs = files.iter().map(Entry::of).collect();
        ledger.add(&record.run_id, inputs);
        env.rt.block_on(ledger.save(&prepared.target_store));
    }
    Ok(())
}

/// Where one conversion writes: its publishers (files stay invisible until they commit), its
/// quality stage, the tag in its file names and its rejects file.
pub(crate) struct Outputs {
    pub publisher: Publisher,
    pub quarantine: Option<Publisher>,
    pub quality: Option<Box<dyn QualityStage>>,
    pub file_tag: String,
    pub rejects_key: String,
}

/// A finished conversion: nothing is visible yet.
pub(crate) struct Converted {
    pub publisher: Publisher,
    pub quarantine: Option<Publisher>,
    pub quality: Option<Box<dyn QualityStage>>,
    pub outputs: Vec<OutputFile>,
    pub quarantine_outputs: Vec<OutputFile>,
}

/// Converts `files` into staged output. Counts go to `record`; on failure both publishers are
/// aborted (nothing of this conversion stays, except the rejects file for inspection).
pub(crate) fn convert(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    files: &[InputFile],
    out: Outputs,
    record: &mut RunRecord,
) -> Result<Converted> {
    let RunEnv {
        settings, rt, log, ..
    } = *env;
    let spec = &settings.spec;
    let tuning = &settings.tuning;
    record.input_files = files.len();
    record.input_bytes = files.iter().map(InputFile::size).sum();
    let publisher = Arc::new(out.publisher);
    let quarantine_publisher = out.quarantine.map(Arc::new);
    let rejects = RejectsSink::new(
        prepared.target_store.clone(),
        out.rejects_key,
        spec.max_bad_records,
    );

    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        cancel: AtomicBool::new(false),
        error: Mutex::new(None),
        rejects: Mutex::new(rejects),
        counters: counters.clone(),
        rows_written: AtomicU64::new(0),
        rows_quarantined: AtomicU64::new(0),
        unknown: Mutex::new(UnknownFields::default()),
        paths_seen: prepared.worker_plan.plan.paths_seen(),
    });
    let worker_plan = &prepared.worker_plan;

    log.event(
        "start",
        &format!(
            "gluepipe-etl: run {} reading {} file(s), {} → {}",
            record.run_id,
            record.input_files,
            human_bytes(record.input_bytes),
            spec.target.path
        ),
        serde_json::json!({ "run_id": record.run_id, "input_files": record.input_files, "input_bytes": record.input_bytes }),
    );
    let progress = Progress::start(settings.progress, record.input_bytes, counters.clone());
    let mut quality = out.quality;
    let outcome = pump(
        files,
        tuning,
        &shared,
        worker_plan,
        Sinks {
            publisher: &publisher,
            quarantine: quarantine_publisher.as_ref(),
            file_tag: &out.file_tag,
        },
        quality.as_deref(),
    );
    progress.finish();

    let abort_all = |p: Arc<Publisher>, q: Option<Arc<Publisher>>| {
        let owned = std::iter::once(p)
            .chain(q)
            .filter_map(|p| Arc::try_unwrap(p).ok());
        discard(rt, owned);
    };
    let shared = Arc::try_unwrap(shared)
        .map_err(|_| anyhow!("internal: pipeline state still shared after the workers ended"))?;
    let rejects = shared
        .rejects
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    record.rows_in = counters.rows_in.load(Ordering::Relaxed);
    record.rows_rejected = rejects.count().min(record.rows_in);
    record.rows_written = shared.rows_written.load(Ordering::Relaxed);
    record.rows_quarantined = shared.rows_quarantined.load(Ordering::Relaxed);
    record.fields_not_in_schema = shared
        .unknown
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    record.unmatched_mapping_paths = shared.paths_seen.unmatched(&worker_plan.plan);
    let first_excess = rejects.first_excess();
    let rejects_path = rejects.finish();
    let mut failure = shared.error.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(signal) = crate::interrupt::received() {
        // Whatever else went wrong, the signal is why the run stopped.
        failure = Some(signal.into());
    }
    if failure
        .as_ref()
        .is_some_and(|e| e.is::<TooManyBadRecords>())
    {
        // Name the earliest bad record past the limit, not the first a worker happened to report.
        if let Some(first) = first_excess {
            failure = Some(first.into());
        }
    }
    let Pumped {
        data: outputs,
        quarantined: quarantine_outputs,
        stages,
    } = match (outcome, failure) {
        (_, Some(err)) | (Err(err), None) => {
            record.rejects_path = rejects_path.ok().flatten();
            abort_all(publisher, quarantine_publisher);
            return Err(err);
        }
        (Ok(pumped), None) => pumped,
    };
    if let Err(err) = merge_workers(quality.as_deref_mut(), stages) {
        abort_all(publisher, quarantine_publisher);
        return Err(err);
    }
    record.rejects_path = rejects_path?;
    if record.rows_in != record.rows_written + record.rows_rejected + record.rows_quarantined {
        abort_all(publisher, quarantine_publisher);
        bail!(
            "internal error: rows_in {} != rows_written {} + rows_rejected {} + rows_quarantined {}; nothing was published",
            record.rows_in,
            record.rows_written,
            record.rows_rejected,
            record.rows_quarantined
        );
    }
    let publisher =
        Arc::try_unwrap(publisher).map_err(|_| anyhow!("internal: publisher still shared"))?;
    let quarantine = quarantine_publisher
        .map(|q| {
            Arc::try_unwrap(q).map_err(|_| anyhow!("internal: quarantine publisher still shared"))
        })
        .transpose()?;
    Ok(Converted {
        publisher,
        quarantine,
        quality,
        outputs,
        quarantine_outputs,
    })
}

/// Discards what `publishers` staged, best effort: what cannot be removed now stays invisible
/// (an incomplete upload) and is left to the sweep; the run fails for its own reason either way.
pub(crate) fn discard(
    rt: &tokio::runtime::Runtime,
    publishers: impl IntoIterator<Item = Publisher>,
) {
    for p in publishers {
        let _ = rt.block_on(p.abort());
    }
}

/// The data-quality verdict, then (unless it stops the run) publication: files become
/// visible, earlier ones go (overwrite), the manifest comes last, then the catalog.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    record: &mut RunRecord,
    report: Option<QualityReport>,
    publisher: Publisher,
    quarantine: Option<Publisher>,
    outputs: Vec<OutputFile>,
    quarantine_outputs: Vec<OutputFile>,
) -> Result<()> {
    let RunEnv { rt, aws, log, .. } = *env;
    let spec = &env.settings.spec;
    if let Some(report) = &report {
        record.data_quality = Some(report.results.clone());
        if !report.passed {
            match prepared.on_failure {
                OnFailure::Fail => {
                    discard(rt, std::iter::once(publisher).chain(quarantine));
                    return Err(EtlError::DataQuality(report.failures.join("; ")).into());
                }
                OnFailure::Warn | OnFailure::Quarantine => {
                    for f in &report.failures {
                        log.warn(&format!("data quality: {f}"));
                    }
                }
            }
        }
    }
    let manifest_note = serde_json::json!({
        "run_id": record.run_id,
        "pipeline": record.pipeline,
        "rows_in": record.rows_in,
        "rows_written": record.rows_written,
        "rows_rejected": record.rows_rejected,
        "rows_quarantined": record.rows_quarantined,
    });
    if let Some(signal) = crate::interrupt::received() {
        discard(rt, std::iter::once(publisher).chain(quarantine));
        return Err(signal.into());
    }
    // The table first: if it cannot commit (another run holds or changed it), nothing is
    // published, quarantine included; a rerun then cannot publish quarantined rows twice.
    let published = match rt.block_on(publisher.commit(manifest_note.clone())) {
        Ok(published) => published,
        Err(e) => {
            discard(rt, quarantine);
            return Err(e.into());
        }
    };
    record.manifest_path = Some(published.manifest.clone());
    if let Some(q) = quarantine {
        rt.block_on(q.commit(manifest_note)).map_err(|e| {
            anyhow!(
                "the table's rows are published ({}), but committing the quarantined rows \
                 failed: {e}",
                published.manifest
            )
        })?;
        record.quarantine_outputs = quarantine_outputs;
    }
    note_recovered(env, record, &published.recovered);
    let mut outputs = outputs;
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    record.outputs = outputs;

    if let (Some(db), Some(table)) = (&spec.target.catalog_database, &spec.target.catalog_table) {
        register_output(
            rt,
            aws,
            db,
            table,
            &prepared.target,
            &prepared.output_schema,
            &prepared.worker_plan.partition_indices,
            spec,
            &record.outputs,
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn register_output(
    rt: &tokio::runtime::Runtime,
    aws: &AwsClients,
    db: &str,
    table: &str,
    target: &Location,
    schema: &Schema,
    partition_indices: &[usize],
    spec: &PipelineSpec,
    outputs: &[OutputFile],
) -> Result<()> {
    let mut columns = Vec::new();
    let mut partition_keys = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let ty = arrow_to_glue(field.data_type())?;
        if partition_indices.contains(&i) {
            partition_keys.push((field.name().clone(), ty));
        } else {
            columns.push((field.name().clone(), ty));
        }
    }
    // Keep partition keys in partition_by order.
    partition_keys.sort_by_key(|(name, _)| spec.target.partition_by.iter().position(|p| p == name));
    let output = OutputTable {
        database: db.to_string(),
        name: table.to_string(),
        location: target.clone(),
        columns,
        partition_keys,
        compression: spec.target.compression,
    };
    let keys: Vec<String> = spec.target.partition_by.clone();
    let mut partitions: Vec<Vec<PartitionValue>> = Vec::new();
    if !keys.is_empty() {
        let root = target.to_string();
        for out in outputs {
            let rel = out
                .path
                .strip_prefix(root.trim_end_matches('/'))
                .unwrap_or(&out.path)
                .trim_start_matches('/');
            if let Some(values) = crate::storage::hive::values_for(rel, &keys) {
                if !partitions.contains(&values) {
                    partitions.push(values);
                }
            }
        }
    }
    rt.block_on(async {
        let catalog = Catalog::connect(aws).await;
        catalog.register_table(&output).await?;
        if !partitions.is_empty() {
            catalog.add_partitions(&output, &partitions).await?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .with_context(|| format!("registering the output as {db}.{table} (the data is published)"))
}

/// Adds each worker's quality state to the run's stage, as a merge adds shards' states; each
/// worker's stage is dropped once added, so its distinct-value tables are not held twice.
fn merge_workers(
    quality: Option<&mut (dyn QualityStage + 'static)>,
    stages: Vec<Box<dyn QualityStage>>,
) -> Result<()> {
    let Some(stage) = quality else {
        return Ok(());
    };
    for worker in stages {
        stage.merge(&worker.save())?;
    }
    Ok(())
}

/// Where the workers write.
struct Sinks<'a> {
    publisher: &'a Arc<Publisher>,
    quarantine: Option<&'a Arc<Publisher>>,
    file_tag: &'a str,
}

/// What the workers produced: the files written, and each worker's quality stage (not yet
/// merged into the run's).
struct Pumped {
    data: Vec<OutputFile>,
    quarantined: Vec<OutputFile>,
    stages: Vec<Box<dyn QualityStage>>,
}

/// Runs the reader and the workers. Each worker evaluates data quality with its own fork of
/// `quality`: no lock on the hot path.
fn pump(
    files: &[InputFile],
    tuning: &Tuning,
    shared: &Arc<Shared>,
    plan: &Arc<WorkerPlan>,
    sinks: Sinks<'_>,
    quality: Option<&dyn QualityStage>,
) -> Result<Pumped> {
    let Sinks {
        publisher,
        quarantine,
        file_tag,
    } = sinks;
    let threads = tuning.threads.max(1);
    // One chunk waiting per worker keeps every worker busy; more would only hold memory.
    let (tx, rx) = crossbeam_channel::bounded::<Job>(threads);
    let pool = BufferPool::new(threads + 2);
    std::thread::scope(|scope| {
        let reader = {
            let shared = shared.clone();
            let pool = pool.clone();
            scope.spawn(move || {
                let records_path = plan.records_path.clone();
                if let Err(e) =
                    read_inputs(files, tuning.chunk_bytes, records_path, &shared, &tx, &pool)
                {
                    shared.fail(e);
                }
            })
        };
        let mut workers = Vec::new();
        for w in 0..threads {
            let rx = rx.clone();
            let shared = shared.clone();
            let plan = plan.clone();
            let pool = pool.clone();
            let mut writer = PartitionedWriter::new(
                publisher.clone(),
                plan.file_options.clone(),
                format!("{file_tag}-{w:02}"),
                plan.partition_indices.clone(),
                plan.max_open_files,
            );
            let mut stage = quality.map(QualityStage::fork);
            let mut qwriter = quarantine.map(|q| {
                PartitionedWriter::new(
                    q.clone(),
                    plan.file_options.clone(),
                    format!("{file_tag}-{w:02}"),
                    Vec::new(),
                    4,
                )
            });
            type Done = (
                Vec<OutputFile>,
                Vec<OutputFile>,
                Option<Box<dyn QualityStage>>,
            );
            workers.push(scope.spawn(move || -> Done {
                let result = (|| -> Result<()> {
                    let mut decoder = RecordDecoder::new(plan.decode_schema.clone())?;
                    if plan.count_unknown {
                        decoder = decoder.counting_unknown_fields();
                    }
                    while let Ok(job) = rx.recv() {
                        if shared.cancelled() {
                            break;
                        }
                        let data = process(
                            job,
                            &mut decoder,
                            &plan,
                            &shared,
                            &mut writer,
                            qwriter.as_mut(),
                            stage.as_deref_mut(),
                        )?;
                        pool.give(data);
                    }
                    Ok(())
                })();
                if let Err(e) = result {
                    shared.fail(e);
                    return (Vec::new(), Vec::new(), None);
                }
                let data = writer.finish();
                let quarantined = qwriter.map(PartitionedWriter::finish).transpose();
                match (data, quarantined) {
                    (Ok(d), Ok(q)) => (d, q.unwrap_or_default(), stage),
                    (Err(e), _) | (_, Err(e)) => {
                        shared.fail(e);
                        (Vec::new(), Vec::new(), None)
                    }
                }
            }));
        }
        drop(rx);
        let mut pumped = Pumped {
            data: Vec::new(),
            quarantined: Vec::new(),
            stages: Vec::new(),
        };
        for w in workers {
            match w.join() {
                Ok((d, q, stage)) => {
                    pumped.data.extend(d);
                    pumped.quarantined.extend(q);
                    pumped.stages.extend(stage);
                }
                Err(_) => shared.fail(anyhow!("a worker thread panicked")),
            }
        }
        if reader.join().is_err() {
            shared.fail(anyhow!("the reader thread panicked"));
        }
        Ok(pumped)
    })
}

fn read_inputs(
    files: &[InputFile],
    chunk_bytes: usize,
    records_path: Option<RecordsPath>,
    shared: &Shared,
    tx: &crossbeam_channel::Sender<Job>,
    pool: &BufferPool,
) -> Result<()> {
    // The next file starts downloading (S3) while this one is decoded.
    for (index, (file, opened)) in open_ahead(files.to_vec(), 2).enumerate() {
        if shared.cancelled() {
            return Ok(());
        }
        let uri = file.uri();
        let raw = opened?.into_boxed();
        let reader = open_decompressed(raw, &uri, shared.counters.bytes_read.clone())?;
        let values = Arc::new(file.partition_values.clone());
        for chunk in Splitter::new(reader, uri.as_str().into(), index, chunk_bytes)
            .with_pool(pool.clone())
            .with_records_path(records_path.clone())
        {
            let chunk = chunk?;
            if shared.cancelled()
                || tx
                    .send(Job {
                        chunk,
                        partition_values: values.clone(),
                    })
                    .is_err()
            {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// One chunk through decode, partition values, mapping, quality and the sink; returns the
/// chunk's buffer for reuse.
fn process(
    job: Job,
    decoder: &mut RecordDecoder,
    plan: &WorkerPlan,
    shared: &Shared,
    writer: &mut PartitionedWriter,
    quarantine: Option<&mut PartitionedWriter>,
    quality: Option<&mut (dyn QualityStage + 'static)>,
) -> Result<Vec<u8>> {
    let chunk = job.chunk;
    shared
        .counters
        .rows_in
        .fetch_add(chunk.rows_in(), Ordering::Relaxed);
    for reject in chunk.rejects.iter().cloned() {
        shared.reject(chunk.file_index, reject)?;
    }
    let decoded = decoder.decode(&chunk)?;
    if !decoded.unknown.is_empty() {
        shared
            .unknown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .merge(&decoded.unknown);
    }
    for reject in decoded.rejects {
        shared.reject(chunk.file_index, reject)?;
    }
    let batch = if plan.partition_keys.is_empty() {
        decoded.batch
    } else {
        with_partition_columns(
            &decoded.batch,
            plan.plan.source_schema(),
            &job.partition_values,
            &chunk.file,
        )?
    };
    let mapped = plan.plan.apply(&batch)?;
    shared.paths_seen.note(&mapped, batch.num_rows());
    // Rejects the record of row `row` of the decoded batch.
    let reject_row = |row: usize, reason: &str| {
        let record = decoded.row_records[row] as usize;
        shared.reject(
            chunk.file_index,
            Reject {
                file: chunk.file.clone(),
                line: chunk.records[record].line,
                reason: reason.to_string(),
                raw: chunk.raw(record).to_vec(),
            },
        )
    };
    for rejection in &mapped.rejected {
        reject_row(rejection.row, &rejection.reason)?;
    }
    let mut batch = mapped.batch;
    let unnameable = unnameable_rows(&batch, &plan.partition_indices)?;
    if !unnameable.is_empty() {
        // The mapped batch lacks the rows the mapping rejected: find each row's decoded row.
        let mapping_rejected: HashSet<usize> = mapped.rejected.iter().map(|r| r.row).collect();
        let decoded_rows: Vec<usize> = (0..batch.num_rows() + mapping_rejected.len())
            .filter(|r| !mapping_rejected.contains(r))
            .collect();
        let mut keep = vec![true; batch.num_rows()];
        for (row, reason) in &unnameable {
            reject_row(decoded_rows[*row], reason)?;
            keep[*row] = false;
        }
        batch = filter_record_batch(&batch, &BooleanArray::from(keep))?;
    }
    if let Some(stage) = quality {
        let verdicts = stage.update(&batch)?;
        if let (Some(verdicts), Some(qwriter)) = (verdicts, quarantine) {
            if plan.quarantine && verdicts.quarantine.num_rows() > 0 {
                qwriter.write(&verdicts.quarantine)?;
                shared
                    .rows_quarantined
                    .fetch_add(verdicts.quarantine.num_rows() as u64, Ordering::Relaxed);
                batch = filter_record_batch(&batch, &verdicts.passed)?;
            }
        }
    }
    shared
        .rows_written
        .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
    writer.write(&batch)?;
    Ok(chunk.data)
}

/// The decoded columns plus the file's partition values, in the order of `schema`.
fn with_partition_columns(
    batch: &RecordBatch,
    schema: &SchemaRef,
    values: &[PartitionValue],
    file: &str,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns = schema
        .fields()
        .iter()
        .map(|field: &Arc<Field>| -> Result<ArrayRef> {
            if let Some(col) = batch.column_by_name(field.name()) {
                return Ok(col.clone());
            }
            match values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field.name()))
            {
                Some((_, value)) => {
                    let text: ArrayRef = Arc::new(StringArray::from(vec![value.as_deref(); rows]));
                    let typed = cast(&text, field.data_type())?;
                    if typed.null_count() > text.null_count() {
                        bail!(
                            "{file}: partition value {:?} of '{}' is not a {}",
                            value,
                            field.name(),
                            field.data_type()
                        );
                    }
                    Ok(typed)
                }
                None => Ok(new_null_array(field.data_type(), rows)),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// `12.3 MB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn print_summary(log: &Log, r: &RunRecord, settings: &RunSettings, discarded: bool) {
    let rate = r.input_bytes as f64 / r.duration_seconds.max(0.001);
    let written_bytes: u64 = r.outputs.iter().map(|o| o.bytes).sum();
    let mut lines = vec![
        format!(
            "gluepipe-etl: run {} {} in {:.2}s",
            r.run_id, r.status, r.duration_seconds
        ),
        format!(
            "  read      {} record(s) from {} file(s), {} ({}/s)",
            r.rows_in,
            r.input_files,
            human_bytes(r.input_bytes),
            human_bytes(rate as u64)
        ),
    ];
    if discarded {
        lines.push(format!(
            "  discarded the staged files of {} record(s) from {} file(s); nothing was published",
            r.rows_in, r.input_files
        ));
    } else if let (Some(shard), "succeeded") = (&r.shard, r.status.as_str()) {
        lines.push(format!(
            "  staged    {} row(s) in {} file(s), {}, as shard {shard}: `gluepipe-etl merge --run-id {}` publishes them",
            r.rows_written,
            r.outputs.len(),
            human_bytes(written_bytes),
            r.run_id
        ));
    } else if r.status == "succeeded" {
        lines.push(format!(
            "  written   {} row(s) in {} file(s), {} → {}",
            r.rows_written,
            r.outputs.len(),
            human_bytes(written_bytes),
            settings.spec.target.path
        ));
    } else if r.manifest_path.is_some() {
        lines.push(format!(
            "  written   {} row(s) in {} file(s), {} → {}, then the run failed",
            r.rows_written,
            r.outputs.len(),
            human_bytes(written_bytes),
            settings.spec.target.path
        ));
    } else if r.rows_written > 0 {
        lines.push(format!(
            "  unfinished: {} row(s) are visible in {} but their commit did not finish; the next \
             run to it completes the commit",
            r.rows_written, settings.spec.target.path
        ));
    } else {
        lines.push(format!(
            "  published nothing: {} is as it was{}",
            settings.spec.target.path,
            if r.rows_discarded > 0 {
                format!(" ({} converted row(s) discarded)", r.rows_discarded)
            } else {
                String::new()
            }
        ));
    }
    if r.rows_rejected > 0 || r.rejects_path.is_some() {
        lines.push(format!(
            "  rejected  {} record(s){}",
            r.rows_rejected,
            r.rejects_path
                .as_deref()
                .map(|p| format!(" → {p}"))
                .unwrap_or_default()
        ));
    }
    if r.rows_quarantined > 0 {
        lines.push(format!("  quarantined {} row(s)", r.rows_quarantined));
    }
    if !r.fields_not_in_schema.is_empty() {
        let fields: Vec<String> = r
            .fields_not_in_schema
            .iter()
            .map(|(path, n)| format!("{path} ({n})"))
            .collect();
        lines.push(format!(
            "  warning   fields the inferred schema lacks, not in the output: {} — first seen after \
             the sample; raise --sample-rows or declare the schema (catalog table or mapping)",
            fields.join(", ")
        ));
    }
    if !r.renamed_columns.is_empty() {
        let renamed: Vec<String> = r
            .renamed_columns
            .iter()
            .map(|c| format!("{:?} → {:?}", c.from, c.to))
            .collect();
        lines.push(format!(
            "  warning   columns renamed, as Glue, Athena and Spark ignore case and need a name: {}",
            renamed.join(", ")
        ));
    }
    if !r.unmatched_mapping_paths.is_empty() {
        let paths: Vec<String> = r
            .unmatched_mapping_paths
            .iter()
            .map(|u| format!("mapping[{}].from '{}'", u.mapping, u.from))
            .collect();
        lines.push(format!(
            "  warning   mapping path(s) matched no value in any record, their columns are all \
             null: {} — check the spelling against the input",
            paths.join(", ")
        ));
    }
    if let Some(dq) = &r.data_quality {
        let outcome = dq
            .get("outcome")
            .and_then(|o| o.as_str())
            .unwrap_or("evaluated");
        lines.push(format!("  quality   {outcome}"));
    }
    if let Some(m) = &r.manifest_path {
        lines.push(format!("  manifest  {m}"));
    }
    let fields = serde_json::to_value(r).unwrap_or_default();
    log.event("summary", &lines.join("\n"), fields);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn run_ids_are_unique_and_publishable() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }

    #[test]
    fn formats_sizes() {
        let cases = [
            (0, "0 B"),
            (999, "999 B"),
            (1000, "1.0 KB"),
            (1_500_000, "1.5 MB"),
            (400_000_000_000, "400.0 GB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_bytes(n), want);
        }
    }
}
