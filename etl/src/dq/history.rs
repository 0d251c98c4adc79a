//! Metric history: every run appends its metrics to a results store, and dynamic rules
//! (`> avg(last(10))`) and DetectAnomalies read the earlier runs back.
//!
//! [`MetricHistory`] is the storage seam (load everything, append one record); this module
//! provides the local-folder implementation, [`LocalMetricHistory`]: one JSON-lines file per
//! evaluation context, `<results dir>/<context>/metric-history.jsonl`, one [`RunRecord`] per
//! line. An S3 implementation only has to store the same lines under a prefix.
//!
//! History keys are the published metric names, made unique per rule where the name alone is
//! ambiguous: a rule with `where` adds ` (where: <clause>)` (as deequ does internally), and a
//! numeric CustomSql adds ` (sql: <statement>)`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dq::error::DqError;
use crate::dq::results::Outcome;

/// One run's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Identifies the run (the pipeline's run id, or a generated one).
    pub run_id: String,
    /// When the run was evaluated, RFC 3339 in UTC.
    pub evaluated_at: String,
    /// The ruleset outcome.
    pub outcome: Outcome,
    /// History key → value.
    pub metrics: BTreeMap<String, f64>,
}

/// Where runs' metrics are kept. Implementations must be safe to call from one thread at a time;
/// the engine loads once at construction and appends once in `finish`.
pub trait MetricHistory: Send {
    /// Every earlier record, oldest first (empty when the store does not exist yet).
    fn load(&self) -> Result<Vec<RunRecord>, DqError>;
    /// Appends one record.
    fn append(&self, record: &RunRecord) -> Result<(), DqError>;
}

/// The file name of a context's history, in its folder.
pub const HISTORY_FILE: &str = "metric-history.jsonl";

/// The folder name of a context's history: characters other than letters, digits, `.`, `_` and
/// `-` become `_`; an empty or dots-only name is `default_context`.
pub fn context_folder(context: &str) -> String {
    let safe: String = context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        "default_context".to_string()
    } else {
        safe
    }
}

/// Metric history in a local JSON-lines file.
#[derive(Debug, Clone)]
pub struct LocalMetricHistory {
    path: PathBuf,
}

impl LocalMetricHistory {
    /// The history of `context` under `results_dir`: `<results_dir>/<context>/metric-history.jsonl`
    /// (characters other than letters, digits, `.`, `_` and `-` in `context` become `_`).
    pub fn new(results_dir: impl AsRef<Path>, context: &str) -> Self {
        LocalMetricHistory {
            path: results_dir
                .as_ref()
                .join(context_folder(context))
                .join(HISTORY_FILE),
        }
    }

    /// A history kept in exactly this file.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        LocalMetricHistory { path: path.into() }
    }

    /// The file used.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl MetricHistory for LocalMetricHistory {
    fn load(&self) -> Result<Vec<RunRecord>, DqError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(DqError::io(&self.path, e)),
        };
        parse_lines(&text, &self.path.display().to_string())
    }

    fn append(&self, record: &RunRecord) -> Result<(), DqError> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(|e| DqError::io(dir, e))?;
        }
        let mut line = serde_json::to_string(record)
            .map_err(|e| DqError::store(self.path.display().to_string(), e.to_string()))?;
        line.push('\n');
        // One write of a whole line in append mode: concurrent appenders never interleave lines.
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| DqError::io(&self.path, e))?;
        file.write_all(line.as_bytes())
            .map_err(|e| DqError::io(&self.path, e))
    }
}

/// Parses JSON-lines history text; `location` names the source in errors (`file:line`).
pub fn parse_lines(text: &str, location: &str) -> Result<Vec<RunRecord>, DqError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                DqError::store(
                    format!("{location}:{}", i + 1),
                    format!("not a metric-history record: {e}"),
                )
            })
        })
        .collect()
}

/// The loaded history, queried by key.
#[derive(Debug, Clone, Default)]
pub struct History {
    records: Vec<RunRecord>,
}

impl History {
    /// Wraps records, oldest first.
    pub fn new(records: Vec<RunRecord>) -> Self {
        History { records }
    }

    /// Up to `k` earlier values of `key`, most recent first (runs without the key are skipped).
    pub fn last(&self, key: &str, k: usize) -> Vec<f64> {
        self.records
            .iter()
            .rev()
            .filter_map(|r| r.metrics.get(key).copied())
            .take(k)
            .collect()
    }

    /// Number of runs loaded.
    pub fn runs(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(run: &str, metrics: &[(&str, f64)]) -> RunRecord {
        RunRecord {
            run_id: run.into(),
            evaluated_at: "2024-05-01T00:00:00Z".into(),
            outcome: Outcome::Passed,
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn missing_store_is_empty_and_appends_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalMetricHistory::new(dir.path(), "orders/checks 1");
        assert!(
            store
                .path()
                .ends_with("orders_checks_1/metric-history.jsonl")
        );
        assert_eq!(store.load().unwrap(), vec![]);
        let a = record("r1", &[("Dataset.*.RowCount", 10.0)]);
        let b = record(
            "r2",
            &[("Dataset.*.RowCount", 12.0), ("Column.x.Mean", 1.5)],
        );
        store.append(&a).unwrap();
        store.append(&b).unwrap();
        assert_eq!(store.load().unwrap(), vec![a, b]);
    }

    #[test]
    fn last_reads_most_recent_first_and_skips_runs_without_the_key() {
        let h = History::new(vec![
            record("1", &[("k", 1.0)]),
            record("2", &[("k", 2.0)]),
            record("3", &[("other", 9.0)]),
            record("4", &[("k", 4.0)]),
        ]);
        assert_eq!(h.last("k", 2), vec![4.0, 2.0]);
        assert_eq!(h.last("k", 10), vec![4.0, 2.0, 1.0]);
        assert_eq!(h.last("nothing", 3), Vec::<f64>::new());
        assert_eq!(h.runs(), 4);
    }

    #[test]
    fn corrupt_lines_are_located() {
        let text = "\n{\"run_id\":\"a\",\"evaluated_at\":\"2024-01-01T00:00:00Z\",\"outcome\":\"Passed\",\"metrics\":{}}\nnot json\n";
        let e = parse_lines(text, "h.jsonl").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("h.jsonl:3: not a metric-history record"),
            "{e}"
        );
    }
}
