//! A target's run history: every run that reaches its end — succeeded, failed its
//! data-quality gate, or failed — leaves its run record under `<target>/_gluepipe/runs/`, and
//! `gluepipe-etl runs` and `gluepipe-etl report` read them back.
//!
//! The history is a record of what happened, not part of the commit protocol: the manifests
//! and the ledger decide what is published. A run whose record cannot be written says so and
//! keeps its outcome. Records are named `<started_at>_<run_id>.json` (UTC, fixed width) so that
//! a listing is in start order whatever the run ids look like (Glue's `jr_…` ids are not), and
//! the last N runs are found without reading the others.

pub mod commands;
pub mod report;
pub mod table;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::dq::results::DqResults;
use crate::run::RunRecord;
use crate::storage::Store;

/// The folder of the run records, relative to the target.
pub const RUNS_FOLDER: &str = "_gluepipe/runs";

/// Where `record` is kept in its target's store.
pub fn record_key(record: &RunRecord) -> String {
    // `2026-12-07T15:15:20.123Z` → `20261207T151520.123Z`: sortable and a valid key.
    let stamp: String = record
        .started_at
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{RUNS_FOLDER}/{stamp}_{}.json", record.run_id)
}

/// Keeps `record` in the history of the target `store` is rooted at; returns its location.
pub async fn save(store: &Store, record: &RunRecord) -> Result<String> {
    let key = record_key(record);
    store
        .put_bytes(&key, serde_json::to_vec_pretty(record)?)
        .await?;
    Ok(store.uri(&key))
}

/// One run as its record tells it. Only what the history shows is read, and every field has
/// a default, so records of older and newer releases read alike.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PastRun {
    pub run_id: String,
    pub pipeline: String,
    pub gluepipe_version: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_seconds: f64,
    pub input_files: usize,
    pub inputs_skipped: usize,
    pub input_bytes: u64,
    pub rows_in: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_quarantined: u64,
    pub rows_discarded: u64,
    pub rejects_path: Option<String>,
    pub manifest_path: Option<String>,
    pub quarantine_outputs: Vec<PastOutput>,
    pub data_quality: Option<DqResults>,
    pub error: Option<String>,
}

/// A file a run wrote.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PastOutput {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

impl PastRun {
    /// `Passed 4/5`-style summary of the data-quality outcome, or `-` without rules.
    pub fn dq_summary(&self) -> String {
        match &self.data_quality {
            Some(dq) if !dq.rule_outcomes.is_empty() => {
                let passed = dq
                    .rule_outcomes
                    .iter()
                    .filter(|r| r.outcome == crate::dq::results::Outcome::Passed)
                    .count();
                format!("{} {passed}/{}", dq.outcome, dq.rule_outcomes.len())
            }
            _ => "-".to_string(),
        }
    }
}

/// What was read of a target's history.
#[derive(Debug, Default)]
pub struct History {
    /// The runs read, oldest first.
    pub runs: Vec<PastRun>,
    /// How many records the target holds (the runs read are the last of them).
    pub total: usize,
    /// Records that could not be read: key and why. Shown, never silently dropped.
    pub unreadable: Vec<(String, String)>,
}

/// Reads the last `last` run records of the target `store` is rooted at (all with `None`).
pub async fn load(store: &Store, last: Option<usize>) -> Result<History> {
    let listed = store
        .list(RUNS_FOLDER)
        .await
        .with_context(|| format!("listing {}", store.uri(RUNS_FOLDER)))?;
    let mut keys: Vec<String> = listed
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(".json"))
        .collect();
    let total = keys.len();
    if let Some(n) = last {
        keys.drain(..total.saturating_sub(n));
    }
    let mut history = History {
        total,
        ..History::default()
    };
    for key in keys {
        let read = store
            .get_bytes(&key)
            .await
            .map_err(anyhow::Error::from)
            .and_then(|bytes| Ok(serde_json::from_slice::<PastRun>(&bytes)?));
        match read {
            Ok(run) => history.runs.push(run),
            Err(e) => history.unreadable.push((store.uri(&key), format!("{e:#}"))),
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(run_id: &str, started_at: &str) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            started_at: started_at.into(),
            status: "succeeded".into(),
            ..RunRecord::default()
        }
    }

    #[test]
    fn keys_sort_by_start_whatever_the_run_id() {
        let early = record_key(&record("zz", "2026-12-07T09:00:00.000Z"));
        let late = record_key(&record("aa", "2026-12-07T10:00:00.000Z"));
        assert_eq!(early, "_gluepipe/runs/20261207T090000.000Z_zz.json");
        assert!(early < late);
    }

    #[test]
    fn loads_the_last_runs_in_start_order_and_reports_unreadable_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            for (id, at) in [
                ("c", "2026-12-07T11:00:00.000Z"),
                ("a", "2026-12-07T09:00:00.000Z"),
                ("b", "2026-12-07T10:00:00.000Z"),
            ] {
                save(&store, &record(id, at)).await.unwrap();
            }
            store
                .put_bytes("_gluepipe/runs/20261207T120000.000Z_d.json", b"{".to_vec())
                .await
                .unwrap();
            let all = load(&store, None).await.unwrap();
            let ids: Vec<_> = all.runs.iter().map(|r| r.run_id.as_str()).collect();
            assert_eq!(ids, ["a", "b", "c"]);
            assert_eq!(all.total, 4);
            assert_eq!(all.unreadable.len(), 1);
            assert!(
                all.unreadable[0].0.ends_with("_d.json"),
                "{:?}",
                all.unreadable
            );

            let last = load(&store, Some(2)).await.unwrap();
            let ids: Vec<_> = last.runs.iter().map(|r| r.run_id.as_str()).collect();
            assert_eq!(
                ids,
                ["c"],
                "the last two records are c and the unreadable d"
            );
        });
    }

    #[test]
    fn an_empty_target_has_no_history() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let history = rt
            .block_on(load(&Store::local(dir.path().join("none")), Some(5)))
            .unwrap();
        assert!(history.runs.is_empty());
        assert_eq!(history.total, 0);
    }
}
