//! Sharded runs: a source of many files converted by several processes at once (the
//! provider's Step Functions Distributed Map), then published by one merge, so that the outcome
//! equals one run over all the data.
//!
//! ```text
//! shard (run --shard-inputs): some inputs → part files, staged (invisible)
//!                             → <target>/_gluepipe/shards/<run>/<shard>.dq-state (DQ accumulators)
//!                             → <target>/_gluepipe/shards/<run>/<shard>.json
//!                               (inputs, counts, staged files; written last)
//! merge:  every shard state → every source input converted exactly once? same schema?
//!         → data-quality states merged → verdict → publish all staged files, or discard them
//! ```
//!
//! Every process of a run shares its run id and evaluation time (`--run-id`, `--evaluated-at`),
//! and plans from the whole source (schema inference samples the source's first files, not the
//! shard's), so shards agree on the schema and rules as a single run would. A shard's id is a
//! digest of its inputs: a retried shard writes the same state file, and its earlier attempt's
//! uploads are left invisible for the sweep. The merge refuses — touching nothing, so a missing
//! shard can be re-run and the merge repeated — when an input was converted by no shard or by
//! two, or a shard planned another schema; once it has started publishing, the state files are
//! removed whatever the outcome (their staged files are then published or discarded).

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, anyhow, bail};
use gluepipe_spec::pipeline::WriteMode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dq::partial::PartialState;
use crate::error::usage;
use crate::run::{Outputs, Prepared, RunEnv, RunRecord, convert, publish};
use crate::settings::RunSettings;
use crate::sink::OutputFile;
use crate::storage::publish::StagedFile;
use crate::storage::{InputFile, Publisher, Store};

/// Version of the shard state format; a merge refuses any other.
const FORMAT: u32 = 1;

/// The name ending of a shard's data-quality state, next to its shard state.
const DQ_SUFFIX: &str = ".dq-state";

/// Where a run's shard states live under the target.
fn states_dir(run_id: &str) -> String {
    format!("_gluepipe/shards/{run_id}/")
}

/// What one shard leaves for the merge.
#[derive(Debug, Serialize, Deserialize)]
struct ShardState {
    gluepipe_shard: u32,
    run_id: String,
    shard: String,
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
    /// Its rejects file, relative to the target.
    rejects_key: Option<String>,
    /// Its data-quality state, a file of its own (relative to the target) so that the merge
    /// holds one shard's distinct-value tables at a time, not every shard's.
    data_quality_key: Option<String>,
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

/// The inputs of the source named by `items` (by full location, or by S3 key within the
/// file's bucket), and the items that name no input of the source.
fn select_inputs(files: &[InputFile], items: &[String]) -> (Vec<InputFile>, Vec<String>) {
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let uri = f.uri();
        if let Some(rest) = uri.strip_prefix("s3://") {
            if let Some((_, key)) = rest.split_once('/') {
                by_name.insert(key.to_string(), i);
            }
        }
        by_name.insert(uri, i);
    }
    let mut picked: Vec<usize> = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        match by_name.get(item.as_str()) {
            Some(&i) => picked.push(i),
            None => skipped.push(item.clone()),
        }
    }
    // Source order, once each (the reader's file order fixes row order within the shard).
    picked.sort_unstable();
    picked.dedup();
    (
        picked.into_iter().map(|i| files[i].clone()).collect(),
        skipped,
    )
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

fn required_time(settings: &RunSettings) -> Result<chrono::DateTime<chrono::Utc>> {
    settings.evaluated_at.ok_or_else(|| {
        usage(
            "a sharded run needs --evaluated-at (the same for every shard and the merge, e.g. the \
             state machine's $$.Execution.StartTime) so that time-based rules agree",
        )
    })
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
    let (files, skipped) = select_inputs(&prepared.files, items);
    if !skipped.is_empty() {
        log.warn(&format!(
            "shard: skipping {} listed object(s) that are not inputs of the source, e.g. {}",
            skipped.len(),
            skipped[0]
        ));
    }
    let shard = shard_id(&files);
    record.shard = Some(shard.clone());
    // Names of this shard's publishers, files and rejects: unique within the run.
    let id = format!("{}.{shard}", record.run_id);
    let quality = prepared.quality_stage(env, &record.run_id, evaluated_at)?;
    let publisher = Publisher::new(prepared.target_store.clone(), &id, spec.target.write_mode)?;
    let quarantine_store = prepared.quarantine_store(env)?;
    let quarantine = match &quarantine_store {
        Some(store) => Some(Publisher::new(store.clone(), &id, WriteMode::Append)?),
        None => None,
    };
    let rejects_key = format!("_gluepipe/rejects/{id}.jsonl");
    let converted = convert(
        env,
        prepared,
        &files,
        Outputs {
            publisher,
            quarantine,
            quality,
            file_tag: id.clone(),
            rejects_key: rejects_key.clone(),
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
        rejects_key: record.rejects_path.is_some().then_some(rejects_key),
        data_quality_key: converted
            .quality
            .as_ref()
            .map(|_| format!("{}{shard}{DQ_SUFFIX}", states_dir(&record.run_id))),
    };
    let key = format!("{}{shard}.json", states_dir(&record.run_id));
    // The data-quality state first: the shard state, written last, is what the merge looks for.
    let put = |key: &str, body: serde_json::Result<Vec<u8>>| -> Result<()> {
        Ok(rt.block_on(prepared.target_store.put_bytes(key, body?))?)
    };
    let written = match (&converted.quality, &state.data_quality_key) {
        (Some(q), Some(dq_key)) => put(dq_key, serde_json::to_vec(&q.save())),
        _ => Ok(()),
    }
    .and_then(|()| put(&key, serde_json::to_vec(&state)));
    if let Err(e) = written {
        // Without its state the merge cannot publish these files: discard them now.
        if let Some(dq_key) = &state.data_quality_key {
            let _ = rt.block_on(prepared.target_store.delete(dq_key));
        }
        let run_id = &record.run_id;
        let _ = rt.block_on(
            Publisher::resume(
                prepared.target_store.clone(),
                run_id,
                WriteMode::Append,
                staged,
                vec![id.clone()],
            )?
            .abort(),
        );
        if let Some(store) = quarantine_store {
            let q = Publisher::resume(
                store,
                run_id,
                WriteMode::Append,
                quarantine_staged,
                vec![id],
            )?;
            let _ = rt.block_on(q.abort());
        }
        return Err(e.context(format!(
            "writing the shard state {}",
            prepared.target_store.uri(&key)
        )));
    }
    record.outputs = converted.outputs;
    record.quarantine_outputs = converted.quarantine_outputs;
    Ok(())
}

/// Reads every shard state of the run, sorted by shard id.
fn load_states(
    store: &Store,
    run_id: &str,
    rt: &tokio::runtime::Runtime,
) -> Result<Vec<(String, ShardState)>> {
    let dir = states_dir(run_id);
    let listed = rt.block_on(store.list(&dir))?;
    let mut states = Vec::new();
    for object in listed.iter().filter(|o| o.key.ends_with(".json")) {
        let at = store.uri(&object.key);
        let body = rt.block_on(store.get_bytes(&object.key))?;
        let state: ShardState =
            serde_json::from_slice(&body).with_context(|| format!("reading shard state {at}"))?;
        if state.gluepipe_shard != FORMAT || state.run_id != run_id {
            bail!(
                "{at}: a shard state of format {} for run {}, expected format {FORMAT} for run {run_id}",
                state.gluepipe_shard,
                state.run_id
            );
        }
        states.push((object.key.clone(), state));
    }
    states.sort_by(|a, b| a.1.shard.cmp(&b.1.shard));
    Ok(states)
}

/// Every input of the source converted by exactly one shard, and nothing else.
fn check_coverage(prepared: &Prepared, states: &[(String, ShardState)]) -> Result<()> {
    let mut converted_by: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, s) in states {
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
             not run, or the files arrived after the run listed the source. Nothing was published; \
             convert them with `run --shard-inputs` and merge again",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    if let Some((input, shard)) = converted_by
        .iter()
        .find(|(input, _)| !source.iter().any(|s| s == *input))
    {
        bail!(
            "shard {shard} converted {input}, which is no longer an input of the source; nothing was published"
        );
    }
    Ok(())
}

/// Merges the run's shards and publishes them.
pub(crate) fn merge(env: &RunEnv<'_>, prepared: &Prepared, record: &mut RunRecord) -> Result<()> {
    let RunEnv { rt, log, .. } = *env;
    let spec = &env.settings.spec;
    let evaluated_at = required_time(env.settings)?;
    let store = &prepared.target_store;
    let states = load_states(store, &record.run_id, rt)?;
    check_coverage(prepared, &states)?;
    let schema = schema_columns(prepared);
    if let Some((key, _)) = states.iter().find(|(_, s)| s.schema != schema) {
        bail!(
            "{} planned other columns than this merge ({}); nothing was published",
            store.uri(key),
            schema
                .iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    log.event(
        "merge",
        &format!(
            "gluepipe-etl: run {} merging {} shard(s)",
            record.run_id,
            states.len()
        ),
        serde_json::json!({ "run_id": record.run_id, "shards": states.len() }),
    );

    // From here on the staged files are taken over: published, or discarded on any failure.
    let run_id = record.run_id.clone();
    let staging_ids: Vec<String> = states
        .iter()
        .map(|(_, s)| format!("{run_id}.{}", s.shard))
        .collect();
    let mut files = Vec::new();
    let mut quarantine_files = Vec::new();
    let mut outputs = Vec::new();
    let mut quarantine_outputs = Vec::new();
    for (_, s) in &states {
        record.input_files += s.inputs.len();
        record.input_bytes += s.input_bytes;
        record.rows_in += s.rows_in;
        record.rows_written += s.rows_written;
        record.rows_rejected += s.rows_rejected;
        record.rows_quarantined += s.rows_quarantined;
        files.extend(s.files.iter().cloned());
        quarantine_files.extend(s.quarantine_files.iter().cloned());
        outputs.extend(s.outputs.iter().cloned());
        quarantine_outputs.extend(s.quarantine_outputs.iter().cloned());
    }
    let publisher = Publisher::resume(
        store.clone(),
        &run_id,
        spec.target.write_mode,
        files,
        staging_ids.clone(),
    )?;
    let quarantine_store = prepared.quarantine_store(env)?;
    let quarantine = match quarantine_store.clone() {
        Some(q) => Some(Publisher::resume(
            q,
            &run_id,
            WriteMode::Append,
            quarantine_files,
            staging_ids,
        )?),
        None => None,
    };
    let result = (|| -> Result<_> {
        record.rejects_path = gather_rejects(store, &run_id, &states, rt)?;
        if record.rows_rejected > spec.max_bad_records {
            bail!(
                "{} bad record(s) in all shards, more than max_bad_records = {} (see {}); nothing was published",
                record.rows_rejected,
                spec.max_bad_records,
                record
                    .rejects_path
                    .as_deref()
                    .unwrap_or("the rejects files")
            );
        }
        let mut quality = prepared.quality_stage(env, &run_id, evaluated_at)?;
        if let Some(stage) = &mut quality {
            for (key, s) in &states {
                let dq_key = s.data_quality_key.as_ref().ok_or_else(|| {
                    anyhow!(
                        "{} has no data-quality state, but the pipeline has a ruleset",
                        store.uri(key)
                    )
                })?;
                let body = rt.block_on(store.get_bytes(dq_key))?;
                let state: PartialState = serde_json::from_slice(&body)
                    .with_context(|| format!("reading {}", store.uri(dq_key)))?;
                stage
                    .merge(&state)
                    .with_context(|| format!("merging {}", store.uri(dq_key)))?;
            }
        }
        quality.map(|q| q.finish()).transpose()
    })();
    let outcome = match result {
        Ok(report) => publish(
            env,
            prepared,
            record,
            report,
            publisher,
            quarantine,
            outputs,
            quarantine_outputs,
        ),
        Err(e) => {
            let _ = rt.block_on(publisher.abort());
            if let Some(q) = quarantine {
                let _ = rt.block_on(q.abort());
            }
            Err(e)
        }
    };
    // What earlier attempts of this run's shards left (a killed or retried shard uploads under
    // the same names) is invisible, but would stay forever: abort it now that nothing of the
    // run is pending any more.
    let name_prefix = format!("part-{run_id}.");
    let stores = std::iter::once(store.clone()).chain(quarantine_store);
    for s in stores {
        match rt.block_on(Publisher::sweep_run(&s, &name_prefix)) {
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
    // The staged files are gone either way; so is any use of the states.
    let keys: Vec<String> = states
        .iter()
        .flat_map(|(k, s)| std::iter::once(k.clone()).chain(s.data_quality_key.clone()))
        .collect();
    if let Err(e) = rt.block_on(store.delete_many(&keys)) {
        log.warn(&format!(
            "could not remove the shard states under {}: {e}",
            store.uri(&states_dir(&run_id))
        ));
    }
    outcome
}

/// Concatenates the shards' rejects files into the run's, as a single run would have written
/// it; returns its location.
fn gather_rejects(
    store: &Store,
    run_id: &str,
    states: &[(String, ShardState)],
    rt: &tokio::runtime::Runtime,
) -> Result<Option<String>> {
    let keys: Vec<&String> = states
        .iter()
        .filter_map(|(_, s)| s.rejects_key.as_ref())
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
    let owned: Vec<String> = keys.into_iter().cloned().collect();
    rt.block_on(store.delete_many(&owned))?;
    Ok(Some(store.uri(&key)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
