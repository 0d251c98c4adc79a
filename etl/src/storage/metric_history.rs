//! Metric history for dynamic DQ rules (`avg(last(10))`, DetectAnomalies) kept in a [`Store`]:
//! `<results>/<context>/metric-history.jsonl`, the same layout as the local history, on S3.
//!
//! S3 has no append: `append` reads the object, adds one line and writes it back whole (a single
//! PUT, so readers see the old or the new history). Two runs of one pipeline appending at the
//! same moment could lose one line; the provider's job runs one at a time by default
//! (`max_concurrent_runs = 1`).

use tokio::runtime::Handle;

use crate::dq::history::{HISTORY_FILE, context_folder, parse_lines};
use crate::dq::{DqError, MetricHistory, RunRecord};
use crate::storage::Store;
use crate::storage::blocking::block_on;

pub struct StoreMetricHistory {
    store: Store,
    key: String,
    handle: Handle,
}

impl StoreMetricHistory {
    /// The history of `context` under `results` (a folder or S3 prefix); async work runs on
    /// `handle`.
    pub fn new(results: Store, context: &str, handle: Handle) -> Self {
        StoreMetricHistory {
            store: results,
            key: format!("{}/{HISTORY_FILE}", context_folder(context)),
            handle,
        }
    }

    fn location(&self) -> String {
        self.store.uri(&self.key)
    }

    fn error(&self, e: impl std::fmt::Display) -> DqError {
        DqError::store(self.location(), e.to_string())
    }

    fn read(&self) -> Result<String, DqError> {
        let found =
            block_on(&self.handle, self.store.head(&self.key)).map_err(|e| self.error(e))?;
        if found.is_none() {
            return Ok(String::new());
        }
        let bytes =
            block_on(&self.handle, self.store.get_bytes(&self.key)).map_err(|e| self.error(e))?;
        String::from_utf8(bytes).map_err(|e| self.error(e))
    }
}

impl MetricHistory for StoreMetricHistory {
    fn load(&self) -> Result<Vec<RunRecord>, DqError> {
        parse_lines(&self.read()?, &self.location())
    }

    fn append(&self, record: &RunRecord) -> Result<(), DqError> {
        let mut text = self.read()?;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(record).map_err(|e| self.error(e))?);
        text.push('\n');
        block_on(
            &self.handle,
            self.store.put_bytes(&self.key, text.into_bytes()),
        )
        .map_err(|e| self.error(e))
    }
}
