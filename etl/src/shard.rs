//! Sharded runs: a source of many files converted by several processes at once (the
//! provider's Step Functions Distributed Map), then published by one merge, so that the outcome
//! equals one run over all the data.
//!
//! ```text
//! shard (run --shard-inputs): some inputs → part files, staged (invisible)
//!                             → <target>/_gluepipe/shards/<run>/<shard>.dq-state (DQ accumulators)
//!                             → <target>/_gluepipe/shards/<run>/<shard>.json
//!                               (inputs, counts, staged files; written last)
//! merge:  every shard state → every source input converted exactly once? same schema, spec,
//!         evaluation time? → data-quality states merged → verdict → publish all, or discard
//! merge --discard: every shard state → discard all (a failed execution's clean-up)
//! ```
//!
//! Every process of a run shares its run id and evaluation time (`--run-id`, `--evaluated-at`),
//! and plans from the whole source (schema inference samples the source's first files, not the
//! shard's), so shards agree on the schema and rules as a single run would. A shard's id is a
//! digest of its inputs: a retried shard writes the same state file, and the merge aborts the
//! uploads its earlier attempt left.
//!
//! What the merge does when it cannot publish:
//! - **refuses, touching nothing** when an input was converted by no shard or by two, or a shard
//!   planned other columns, ran another spec or at another evaluation time: the shard can be
//!   run (again) and the merge repeated;
//! - **keeps everything** when reading a shard's data-quality state or rejects fails (I/O, a
//!   corrupt file): a second merge may succeed;
//! - **discards everything** on a verdict — too many bad records in all shards, or a failed
//!   data-quality gate — and when publishing itself fails; the states are then removed.
//!
//! A state file names its shard, and every key the merge touches is built from the run id and
//! that shard id (16 hex digits), never read from the file, so a crafted state cannot make the
//! merge touch anything outside the run's own files.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{Context, Result, bail};
use gluepipe_spec::pipeline::WriteMode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decode::unknown::UnknownFields;
use crate::dq::partial::PartialState;
use crate::error::usage;
use crate::mapping::UnmatchedPath;
use crate::run::{Outputs, Prepared, RunEnv, RunRecord, convert, discard, publish};
use crate::settings::RunSettings;
use crate::sink::OutputFile;
use crate::storage::publish::{Base, MANIFEST_DIR, StagedFile, begin};
use crate::storage::{InputFile, Publisher, Store};

/// Version of the shard state format; a merge refuses any other.
const FORMAT: u32 = 1;

/// The keys of one shard's files under the target, all built from the run and shard ids.
struct ShardKeys {
    state: String,
    data_quality: String,
    rejects: String,
    /// Its publishers' name: staging folder, file-name tag.
    publisher: String,
}

impl ShardKeys {
    fn new(run_id: &str, shard: &str) -> Self {
        ShardKeys {
            state: format!("{}{shard}.json", states_dir(run_id)),
            data_quality: format!("{}{shard}.dq-state", states_dir(run_id)),
            rejects: format!("_gluepipe/rejects/{run_id}.{shard}.jsonl"),
            publisher: format!("{run_id}.{shard}"),
        }
    }
}

/// Where a run's shard states live under the target.
fn states_dir(run_id: &str) -> String {
    format!("_gluepipe/shards/{run_id}/")
}

/// A shard id: 16 lowercase hex digits.
fn is_shard_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a file name is one of the run's shards' output files: `part-<run>.<shard>-…`.
fn is_shard_file(name: &str, run_id: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|n| n.strip_prefix(run_id))
        .and_then(|n| n.strip_prefix('.'))
        .is_some_and(|n| n.len() > 17 && is_shard_id(&n[..16]) && n.as_bytes()[16] == b'-')
}

/// What one shard leaves for the merge.
#[derive(Debug, Serialize, Deserialize)]
struct ShardState {
    gluepipe_shard: u32,
    run_id: String,
    shard: String,
    /// The evaluation time it ran with (RFC 3339).
    evaluated_at: String,
    /// Digest of the pipeline spec it ran (overrides applied).
    spec_digest: String,
    /// The inputs it converted (full locations).
    inputs: Vec<String>,
    input_bytes: u64,
    rows_in: u64,
    rows_written: u64,
    rows_rejected: u64,
    rows_quarantined: u64,
    /// The output columns it planned: `(name, Arrow type)`.
    schema: Vec<(String, String)>,
    files: Vec<StagedFile>,
    quarantine_files: Vec<StagedFile>,
    outputs: Vec<OutputFile>,
    quarantine_outputs: Vec<OutputFile>,
    /// Whether it wrote a rejects file.
    has_rejects: bool,
    /// Whether it wrote a data-quality state (a file of its own, so that the merge holds one
    /// shard's distinct-value tables at a time).
    has_data_quality: bool,
    /// Fields its records had beyond an inferred schema.
    #[serde(default)]
    fields_not_in_schema: UnknownFields,
    /// The target's commits when the shard began: the merge refuses if another run committed
    /// after any shard began.
    #[serde(default)]
    base: Option<Base>,
    /// Mapping entries that matched no value in its records.
    #[serde(default)]
    unmatched_mapping_paths: Vec<UnmatchedPath>,
}

/// Reads `--shard-inputs`: JSON text, or `@FILE` holding it — an array of locations or of
/// S3 listing objects (`{"Key": …}`).
pub fn parse_items(arg: &str) -> Result<Vec<String>> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| usage(format!("--shard-inputs {arg}: {e}")))?,
        None => arg.to_string(),
    };
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "--shard-inputs: not a JSON array ({e}); give [\"s3://…\", …] or [{{\"Key\": …}}, …]"
        ))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Object(o) => match o.get("Key").or_else(|| o.get("key")) {
                Some(serde_json::Value::String(k)) => Ok(k.clone()),
                _ => Err(usage(format!(
                    "--shard-inputs: element {i} is an object without a \"Key\" string"
                ))),
            },
            other => Err(usage(format!(
                "--shard-inputs: element {i} is {other}, not a location or an object with \"Key\""
            ))),
        })
        .collect()
}

/// Matches `--shard-inputs` items against the source's inputs (full locations): by location,
/// or by S3 key. Returns the indices of the matched inputs (source order, once each) and the
/// items that name no input; a key that names inputs in two buckets is an error.
fn match_items(uris: &[String], items: &[String]) -> Result<(Vec<usize>, Vec<String>)> {
    let mut by_uri: HashMap<&str, usize> = HashMap::new();
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, uri) in uris.iter().enumerate() {
        by_uri.insert(uri, i);
        if let Some((_, key)) = uri.strip_prefix("s3://").and_then(|r| r.split_once('/')) {
            by_key.entry(key).or_default().push(i);
        }
    }
    let mut picked = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        if let Some(&i) = by_uri.get(item.as_str()) {
            picked.push(i);
            continue;
        }
        match by_key.get(item.as_str()).map(Vec::as_slice) {
            Some([i]) => picked.push(*i),
            Some(several) => bail!(usage(format!(
                "--shard-inputs: key {item} names inputs in several buckets ({}); give s3:// URIs",
                several
                    .iter()
                    .map(|&i| uris[i].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            None => skipped.push(item.clone()),
        }
    }
    // Source order, once each (the reader's file order fixes row order within the shard).
    picked.sort_unstable();
    picked.dedup();
    Ok((picked, skipped))
}

/// A shard's id: a digest of its inputs, so a retry of the same batch gets the same id.
fn shard_id(inputs: &[InputFile]) -> String {
    let mut h = Sha256::new();
    for f in inputs {
        h.update(f.uri().as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())[..16].to_string()
}

fn schema_columns(prepared: &Prepared) -> Vec<(String, String)> {
    prepared
        .output_schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect()
}

fn spec_digest(settings: &RunSettings) -> Result<String> {
    Ok(hex::encode(Sha256::digest(serde_json::to_vec(
        &settings.spec,
    )?)))
}

fn required_time(settings: &RunSettings) -> Result<chrono::DateTime<chrono::Utc>> {
    settings.evaluated_at.ok_or_else(|| {
        usage(
            "a sharded run needs --evaluated-at (the same for every shard and the merge, e.g. the \
             state machine's $$.Execution.StartTime) so that time-based rules agree",
        )
    })
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Converts the shard's inputs, stages the files, and writes the shard state.
pub(crate) fn run_shard(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    items: &[String],
    record: &mut RunRecord,
) -> Result<()> {
    let RunEnv { rt, log, .. } = *env;
    let spec = &env.settings.spec;
    let evaluated_at = required_time(env.settings)?;
    let uris: Vec<String> = prepared.files.iter().map(InputFile::uri).collect();
    let (picked, skipped) = match_items(&uris, items)?;
    if !skipped.is_empty() {
        log.warn(&format!(
            "shard: skipping {} listed object(s) that are not inputs of the source, e.g. {}",
            skipped.len(),
            skipped[0]
        ));
    }
    let files: Vec<InputFile> = picked.iter().map(|&i| prepared.files[i].clone()).collect();
    let shard = shard_id(&files);
    record.shard = Some(shard.clone());
    let keys = ShardKeys::new(&record.run_id, &shard);
    let quality = prepared.quality_stage(env, &record.run_id, evaluated_at)?;
    let store = &prepared.target_store;
    let base = rt.block_on(begin(store, &record.run_id))?;
    let publisher = Publisher::new(store.clone(), &keys.publisher, spec.target.write_mode)?;
    let quarantine_store = prepared.quarantine_store(env)?;
    let quarantine = match &quarantine_store {
        Some(q) => Some(Publisher::new(
            q.clone(),
            &keys.publisher,
            WriteMode::Append,
        )?),
        None => None,
    };
    let converted = convert(
        env,
        prepared,
        &files,
        Outputs {
            publisher,
            quarantine,
            quality,
            file_tag: keys.publisher.clone(),
            rejects_key: keys.rejects.clone(),
        },
        record,
    )?;
    let staged = rt.block_on(converted.publisher.detach())?;
    let quarantine_staged = match converted.quarantine {
        Some(q) => rt.block_on(q.detach())?,
        None => Vec::new(),
    };
    let state = ShardState {
        gluepipe_shard: FORMAT,
        run_id: record.run_id.clone(),
        shard: shard.clone(),
        evaluated_at: rfc3339(evaluated_at),
        spec_digest: spec_digest(env.settings)?,
        inputs: files.iter().map(InputFile::uri).collect(),
        input_bytes: record.input_bytes,
        rows_in: record.rows_in,
        rows_written: record.rows_written,
        rows_rejected: record.rows_rejected,
        rows_quarantined: record.rows_quarantined,
        schema: schema_columns(prepared),
        files: staged.clone(),
        quarantine_files: quarantine_staged.clone(),
        outputs: converted.outputs.clone(),
        quarantine_outputs: converted.quarantine_outputs.clone(),
        has_rejects: record.rejects_path.is_some(),
        has_data_quality: converted.quality.is_some(),
        fields_not_in_schema: record.fields_not_in_schema.clone(),
        base: Some(base),
        unmatched_mapping_paths: record.unmatched_mapping_paths.clone(),
    };
    // The data-quality state first: the shard state, written last, is what the merge looks for.
    let put = |key: &str, body: serde_json::Result<Vec<u8>>| -> Result<()> {
        Ok(rt.block_on(store.put_bytes(key, body?))?)
    };
    let written = match &converted.quality {
        Some(q) => put(&keys.data_quality, serde_json::to_vec(&q.save())),
        None => Ok(()),
    }
    .and_then(|()| put(&keys.state, serde_json::to_vec(&state)));
    if let Err(e) = written {
        // Without its state the merge cannot publish these files: discard them now.
        let _ = rt.block_on(store.delete(&keys.data_quality));
        let stores = [
            (Some(store.clone()), staged),
            (quarantine_store, quarantine_staged),
        ];
        let mut taken = Vec::new();
        for (s, files) in stores {
            if let Some(s) = s {
                let ids = vec![keys.publisher.clone()];
                taken.push(Publisher::resume(
                    s,
                    &record.run_id,
                    WriteMode::Append,
                    files,
                    ids,
                    None,
                )?);
            }
        }
        discard(rt, taken);
        return Err(e.context(format!(
            "writing the shard state {}",
            store.uri(&keys.state)
        )));
    }
    record.outputs = converted.outputs;
    record.quarantine_outputs = converted.quarantine_outputs;
    Ok(())
}

/// Reads every shard state of the run, sorted by shard id. A file under the run's states folder
/// that is not `<shard id>.json` (or its `.dq-state`), or whose content names another run or
/// shard, is an error.
fn load_states(
    store: &Store,
    run_id: &str,
    rt: &tokio::runtime::Runtime,
) -> Result<Vec<ShardState>> {
    let dir = states_dir(run_id);
    let listed = rt.block_on(store.list(&dir))?;
    let mut states = Vec::new();
    for object in &listed {
        let at = store.uri(&object.key);
        let name = object.key.strip_prefix(&dir).unwrap_or(&object.key);
        let shard = match name.rsplit_once('.') {
            Some((id, "json")) if is_shard_id(id) => id,
            Some((id, "dq-state")) if is_shard_id(id) => continue,
            _ => bail!("{at}: not a shard state of run {run_id} (expected <16 hex digits>.json)"),
        };
        let body = rt.block_on(store.get_bytes(&object.key))?;
        let state: ShardState =
            serde_json::from_slice(&body).with_context(|| format!("reading shard state {at}"))?;
        if state.gluepipe_shard != FORMAT || state.run_id != run_id || state.shard != shard {
            bail!(
                "{at}: a shard state of format {} for run {}, shard {}; expected format {FORMAT} for run {run_id}, shard {shard}",
                state.gluepipe_shard,
                state.run_id,
                state.shard
            );
        }
        states.push(state);
    }
    states.sort_by(|a, b| a.shard.cmp(&b.shard));
    Ok(states)
}

/// Every input of the source converted by exactly one shard, and nothing else.
fn check_coverage(prepared: &Prepared, states: &[ShardState]) -> Result<()> {
    let mut converted_by: BTreeMap<&str, &str> = BTreeMap::new();
    for s in states {
        for input in &s.inputs {
            if let Some(other) = converted_by.insert(input, &s.shard) {
                bail!(
                    "{input} was converted by two shards ({other} and {}); nothing was published",
                    s.shard
                );
            }
        }
    }
    let source: Vec<String> = prepared.files.iter().map(InputFile::uri).collect();
    let missing: Vec<&String> = source
        .iter()
        .filter(|f| !converted_by.contains_key(f.as_str()))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).map(|s| s.as_str()).collect();
        bail!(
            "{} input(s) of the source were converted by no shard ({}{}): a shard failed or did \
             not run, the files arrived after the run listed the source, or they lie outside the \
             listed prefix (catalog partitions elsewhere). Nothing was published; convert them \
             with `run --shard-inputs` and merge again",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    let source: HashSet<&str> = source.iter().map(String::as_str).collect();
    if let Some((input, shard)) = converted_by
        .iter()
        .find(|(input, _)| !source.contains(*input))
    {
        bail!(
            "shard {shard} converted {input}, which is no longer an input of the source; nothing was published"
        );
    }
    Ok(())
}

/// Every shard ran what this merge runs: the same columns, spec and evaluation time.
fn check_agreement(env: &RunEnv<'_>, prepared: &Prepared, states: &[ShardState]) -> Result<()> {
    let store = &prepared.target_store;
    let schema = schema_columns(prepared);
    let digest = spec_digest(env.settings)?;
    let at = rfc3339(required_time(env.settings)?);
    for s in states {
        let state = store.uri(&ShardKeys::new(&s.run_id, &s.shard).state);
        if s.schema != schema {
            bail!(
                "{state} planned other columns than this merge ({}); nothing was published",
                schema
                    .iter()
                    .map(|(n, t)| format!("{n}: {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if s.evaluated_at != at {
            bail!(
                "{state} ran with --evaluated-at {}, this merge with {at}: time-based rules would \
                 disagree; run that shard again with {at}. Nothing was published",
                s.evaluated_at
            );
        }
        if s.spec_digest != digest {
            bail!(
                "{state} ran another pipeline spec than this merge (different settings or \
                 overrides); run that shard again with the merge's. Nothing was published"
            );
        }
    }
    Ok(())
}

/// Why there is nothing to merge: never sharded, or already merged.
fn no_states(store: &Store, run_id: &str, rt: &tokio::runtime::Runtime) -> anyhow::Error {
    let manifest = format!("{MANIFEST_DIR}/{run_id}.json");
    match rt.block_on(store.head(&manifest)) {
        Ok(Some(_)) => anyhow::anyhow!(
            "run {run_id} was already merged and published (manifest {})",
            store.uri(&manifest)
        ),
        _ => anyhow::anyhow!(
            "no shard of run {run_id} has finished: nothing under {}",
            store.uri(&states_dir(run_id))
        ),
    }
}

/// The shards' staged files, taken over by one publisher per store (target, quarantine).
fn take_over(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    run_id: &str,
    states: &[ShardState],
) -> Result<(Publisher, Option<(Store, Publisher)>)> {
    let staging_ids: Vec<String> = states
        .iter()
        .map(|s| ShardKeys::new(run_id, &s.shard).publisher)
        .collect();
    let files = states
        .iter()
        .flat_map(|s| s.files.iter().cloned())
        .collect();
    // Shards of an earlier release recorded no base: then only the lock guards the merge.
    let bases: Option<Vec<Base>> = states.iter().map(|s| s.base.clone()).collect();
    let publisher = Publisher::resume(
        prepared.target_store.clone(),
        run_id,
        env.settings.spec.target.write_mode,
        files,
        staging_ids.clone(),
        bases.as_deref().and_then(Base::common),
    )?;
    let quarantine = match prepared.quarantine_store(env)? {
        Some(store) => {
            let files = states
                .iter()
                .flat_map(|s| s.quarantine_files.iter().cloned())
                .collect();
            let p = Publisher::resume(
                store.clone(),
                run_id,
                WriteMode::Append,
                files,
                staging_ids,
                None,
            )?;
            Some((store, p))
        }
        None => None,
    };
    Ok((publisher, quarantine))
}

/// Merges the run's shards and publishes them.
pub(crate) fn merge(env: &RunEnv<'_>, prepared: &Prepared, record: &mut RunRecord) -> Result<()> {
    let rt = env.rt;
    let spec = &env.settings.spec;
    let store = &prepared.target_store;
    let run_id = record.run_id.clone();
    let states = load_states(store, &run_id, rt)?;
    if states.is_empty() && !prepared.files.is_empty() {
        return Err(no_states(store, &run_id, rt));
    }
    check_coverage(prepared, &states)?;
    check_agreement(env, prepared, &states)?;
    let (outputs, quarantine_outputs) = tally(env, record, &states, "merging");
    let (publisher, quarantine) = take_over(env, prepared, &run_id, &states)?;
    let quarantine_store = quarantine.as_ref().map(|(s, _)| s.clone());
    let quarantine = quarantine.map(|(_, p)| p);
    let outcome = if record.rows_rejected > spec.max_bad_records {
        discard(rt, std::iter::once(publisher).chain(quarantine));
        record.rejects_path = gather_rejects(store, &run_id, &states, rt).unwrap_or_default();
        Err(anyhow::anyhow!(
            "{} bad record(s) in all shards, more than max_bad_records = {}; nothing was published",
            record.rows_rejected,
            spec.max_bad_records
        ))
    } else {
        match merge_quality(env, prepared, &run_id, &states)
            .and_then(|report| Ok((report, gather_rejects(store, &run_id, &states, rt)?)))
        {
            Ok((report, rejects)) => {
                record.rejects_path = rejects;
                publish(
                    env,
                    prepared,
                    record,
                    report,
                    publisher,
                    quarantine,
                    outputs,
                    quarantine_outputs,
                )
            }
            Err(e) => {
                // Nothing decided yet: keep every staged file and state for another merge.
                for p in std::iter::once(publisher).chain(quarantine) {
                    let _ = rt.block_on(p.detach());
                }
                return Err(e.context(format!(
                    "nothing was published; the shard states under {} are kept: fix the cause and merge again",
                    store.uri(&states_dir(&run_id))
                )));
            }
        }
    };
    clean_up(env, store, quarantine_store, &run_id, &states);
    outcome
}

/// Discards every shard of the run (`merge --discard`, after a failed shard): their staged
/// files, their states and what earlier attempts left; their rejects are gathered as a merge
/// would, for inspection.
pub(crate) fn discard_run(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    record: &mut RunRecord,
) -> Result<()> {
    let store = &prepared.target_store;
    let run_id = record.run_id.clone();
    let states = load_states(store, &run_id, env.rt)?;
    tally(env, record, &states, "discarding");
    let (publisher, quarantine) = take_over(env, prepared, &run_id, &states)?;
    let quarantine_store = quarantine.as_ref().map(|(s, _)| s.clone());
    discard(
        env.rt,
        std::iter::once(publisher).chain(quarantine.map(|(_, p)| p)),
    );
    record.rejects_path = gather_rejects(store, &run_id, &states, env.rt).unwrap_or_default();
    clean_up(env, store, quarantine_store, &run_id, &states);
    Ok(())
}

/// Adds the shards' counts to the run record (logging what `doing` is about to happen); returns
/// their output files.
fn tally(
    env: &RunEnv<'_>,
    record: &mut RunRecord,
    states: &[ShardState],
    doing: &str,
) -> (Vec<OutputFile>, Vec<OutputFile>) {
    env.log.event(
        "merge",
        &format!(
            "gluepipe-etl: run {} {doing} {} shard(s)",
            record.run_id,
            states.len()
        ),
        serde_json::json!({ "run_id": record.run_id, "shards": states.len(), "doing": doing }),
    );
    let mut outputs = Vec::new();
    let mut quarantine_outputs = Vec::new();
    for s in states {
        record.input_files += s.inputs.len();
        record.input_bytes += s.input_bytes;
        record.rows_in += s.rows_in;
        record.rows_written += s.rows_written;
        record.rows_rejected += s.rows_rejected;
        record.rows_quarantined += s.rows_quarantined;
        record.fields_not_in_schema.merge(&s.fields_not_in_schema);
        outputs.extend(s.outputs.iter().cloned());
        quarantine_outputs.extend(s.quarantine_outputs.iter().cloned());
    }
    // Unmatched in the run: unmatched in every shard that read records.
    let mut reading = states.iter().filter(|s| s.rows_in > 0);
    record.unmatched_mapping_paths = match reading.next() {
        Some(first) => {
            let rest: Vec<&ShardState> = reading.collect();
            first
                .unmatched_mapping_paths
                .iter()
                .filter(|u| rest.iter().all(|s| s.unmatched_mapping_paths.contains(u)))
                .cloned()
                .collect()
        }
        None => Vec::new(),
    };
    (outputs, quarantine_outputs)
}

/// Merges every shard's data-quality state (one at a time) and decides the ruleset.
fn merge_quality(
    env: &RunEnv<'_>,
    prepared: &Prepared,
    run_id: &str,
    states: &[ShardState],
) -> Result<Option<crate::quality::QualityReport>> {
    let store = &prepared.target_store;
    let Some(mut stage) = prepared.quality_stage(env, run_id, required_time(env.settings)?)? else {
        return Ok(None);
    };
    for s in states {
        let key = ShardKeys::new(run_id, &s.shard).data_quality;
        if !s.has_data_quality {
            bail!(
                "shard {} has no data-quality state, but the pipeline has a ruleset",
                s.shard
            );
        }
        let body = env.rt.block_on(store.get_bytes(&key))?;
        let state: PartialState = serde_json::from_slice(&body)
            .with_context(|| format!("reading {}", store.uri(&key)))?;
        stage
            .merge(&state)
            .with_context(|| format!("merging {}", store.uri(&key)))?;
    }
    stage.finish().map(Some)
}

/// After a publish or a discard: removes the shard states and the shards' rejects files (gathered
/// into the run's), and aborts the uploads earlier attempts of the run's shards left (a killed
/// or retried shard uploads under the same names), now that nothing of the run is pending.
fn clean_up(
    env: &RunEnv<'_>,
    store: &Store,
    quarantine_store: Option<Store>,
    run_id: &str,
    states: &[ShardState],
) {
    let (rt, log) = (env.rt, env.log);
    let keys: Vec<String> = states
        .iter()
        .flat_map(|s| {
            let k = ShardKeys::new(run_id, &s.shard);
            [
                Some(k.state),
                s.has_data_quality.then_some(k.data_quality),
                s.has_rejects.then_some(k.rejects),
            ]
        })
        .flatten()
        .collect();
    if let Err(e) = rt.block_on(store.delete_many(&keys)) {
        log.warn(&format!(
            "could not remove the shard states under {}: {e}",
            store.uri(&states_dir(run_id))
        ));
    }
    for s in std::iter::once(store.clone()).chain(quarantine_store) {
        match rt.block_on(Publisher::sweep_run(&s, |name| is_shard_file(name, run_id))) {
            Ok(0) => {}
            Ok(n) => log.warn(&format!(
                "aborted {n} upload(s) that earlier attempts of this run's shards left under {}",
                s.uri("")
            )),
            Err(e) => log.warn(&format!(
                "could not abort the uploads earlier shard attempts left under {}: {e}",
                s.uri("")
            )),
        }
    }
}

/// Concatenates the shards' rejects files (in shard order) into the run's rejects file;
/// returns its location.
fn gather_rejects(
    store: &Store,
    run_id: &str,
    states: &[ShardState],
    rt: &tokio::runtime::Runtime,
) -> Result<Option<String>> {
    let keys: Vec<String> = states
        .iter()
        .filter(|s| s.has_rejects)
        .map(|s| ShardKeys::new(run_id, &s.shard).rejects)
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for key in &keys {
        all.extend(rt.block_on(store.get_bytes(key))?);
    }
    let key = format!("_gluepipe/rejects/{run_id}.jsonl");
    rt.block_on(store.put_bytes(&key, all))?;
    Ok(Some(store.uri(&key)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn items_match_inputs_by_location_or_by_key_within_one_bucket() {
        let uris: Vec<String> = [
            "s3://a/in/1.json",
            "s3://a/in/2.json",
            "s3://b/in/2.json",
            "/local/3.json",
        ]
        .map(String::from)
        .to_vec();
        let items: Vec<String> = [
            "in/1.json",
            "s3://b/in/2.json",
            "/local/3.json",
            "in/_SUCCESS",
            "in/1.json",
        ]
        .map(String::from)
        .to_vec();
        let (picked, skipped) = match_items(&uris, &items).unwrap();
        assert_eq!(picked, [0, 2, 3]);
        assert_eq!(skipped, ["in/_SUCCESS"]);
        let e = match_items(&uris, &["in/2.json".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("several buckets (s3://a/in/2.json, s3://b/in/2.json)"),
            "{e}"
        );
    }

    #[test]
    fn shard_files_are_recognised_by_run_and_shard_id() {
        let run = "nightly";
        assert!(is_shard_file(
            "part-nightly.0123456789abcdef-00-00001.snappy.parquet",
            run
        ));
        for other in [
            "part-nightly.backfill.0123456789abcdef-00-00001.snappy.parquet",
            "part-nightly-00-00001.snappy.parquet",
            "part-nightly.0123456789ABCDEF-00-00001.snappy.parquet",
            "part-nightly.0123456789abcde-00-00001.snappy.parquet",
            "part-nightlyx.0123456789abcdef-00-00001.snappy.parquet",
        ] {
            assert!(!is_shard_file(other, run), "{other}");
        }
        assert!(is_shard_id("0123456789abcdef"));
        for bad in [
            "",
            "../../../../etc0",
            "0123456789abcdeg",
            "0123456789abcdef0",
        ] {
            assert!(!is_shard_id(bad), "{bad}");
        }
    }

    #[test]
    fn items_are_locations_or_listing_objects() {
        let items =
            parse_items(r#"["s3://b/in/a.json", {"Key": "in/b.json", "Size": 3}]"#).unwrap();
        assert_eq!(items, ["s3://b/in/a.json", "in/b.json"]);
        for (bad, says) in [
            ("{}", "not a JSON array"),
            ("[1]", "element 0 is 1"),
            (r#"["a", {"Size": 1}]"#, "element 1 is an object without"),
        ] {
            let e = parse_items(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("items.json");
        std::fs::write(&path, r#"[{"Key": "k"}]"#).unwrap();
        assert_eq!(parse_items(&format!("@{}", path.display())).unwrap(), ["k"]);
        let e = parse_items("@/nonexistent/items.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/items.json"), "{e}");
    }
}
