//! Rejected records: input that could not become a row (malformed JSON, a value that does not fit
//! its column type, a damaged compressed stream). Each one is kept with its file, line, reason
//! and raw text, counted, and either set aside in the rejects file (up to `max_bad_records`) or
//! turned into the error that fails the run before anything is published.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use crate::storage::{ObjectWriter, Store};

/// One input record that did not become a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub file: Arc<str>,
    /// 1-based line where the record starts.
    pub line: u64,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// The run failed because of bad records: more than `max_bad_records` of them.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.limit, .reject))]
pub struct TooManyBadRecords {
    pub limit: u64,
    pub reject: Reject,
}

fn describe(limit: &u64, r: &Reject) -> String {
    let raw = String::from_utf8_lossy(&r.raw);
    let mut preview: String = raw.chars().take(120).collect();
    if preview.len() < raw.len() {
        preview.push('…');
    }
    let head = format!(
        "bad record at {} line {}: {}\n  record: {}",
        r.file,
        r.line,
        r.reason,
        preview.trim_end()
    );
    if *limit == 0 {
        format!(
            "{head}\n  hint: max_bad_records is 0; set --max-bad-records N to set up to N bad records aside and go on"
        )
    } else {
        format!(
            "{head}\n  more than max_bad_records ({limit}) bad records; the rejects file lists them, this one last"
        )
    }
}

#[derive(Serialize)]
struct RejectLine<'a> {
    file: &'a str,
    line: u64,
    reason: &'a str,
    raw: std::borrow::Cow<'a, str>,
}

/// Collects the rejects of a run; writes the rejects file only if there is one.
pub struct RejectsSink {
    store: Store,
    key: String,
    limit: u64,
    count: u64,
    writer: Option<ObjectWriter>,
    /// The earliest record (by input order) past the limit: what a failed run names.
    first_excess: Option<(usize, Reject)>,
}

impl RejectsSink {
    /// Rejects go to `key` in `store` (JSON lines: file, line, reason, raw), created on the
    /// first one and visible even if the run fails, so the bad records can be looked at.
    pub fn new(store: Store, key: String, limit: u64) -> RejectsSink {
        RejectsSink {
            store,
            key,
            limit,
            count: 0,
            writer: None,
            first_excess: None,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sets `reject` aside, or fails with [`TooManyBadRecords`] once the limit is passed.
    pub fn add(&mut self, reject: Reject) -> Result<()> {
        self.add_at(0, reject)
    }

    /// As [`add`](Self::add), for a record of the `file_index`-th input: workers decode chunks
    /// in parallel, so the first bad record to arrive need not be the first in the input;
    /// [`first_excess`](Self::first_excess) keeps the earliest.
    pub fn add_at(&mut self, file_index: usize, reject: Reject) -> Result<()> {
        self.count += 1;
        if self.count > self.limit {
            let earlier = match &self.first_excess {
                Some((f, r)) => (file_index, reject.line) < (*f, r.line),
                None => true,
            };
            if earlier {
                self.first_excess = Some((file_index, reject.clone()));
            }
            return Err(TooManyBadRecords {
                limit: self.limit,
                reject,
            }
            .into());
        }
        self.write(&reject)
    }

    fn write(&mut self, reject: &Reject) -> Result<()> {
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self.writer.insert(self.store.create(&self.key)?),
        };
        let line = RejectLine {
            file: &reject.file,
            line: reject.line,
            reason: &reject.reason,
            raw: String::from_utf8_lossy(&reject.raw),
        };
        serde_json::to_writer(&mut *writer, &line)?;
        writer.write_all(b"\n")?;
        Ok(())
    }

    /// The error naming the earliest record past the limit, if the limit was passed.
    pub fn first_excess(&self) -> Option<TooManyBadRecords> {
        self.first_excess
            .as_ref()
            .map(|(_, reject)| TooManyBadRecords {
                limit: self.limit,
                reject: reject.clone(),
            })
    }

    /// Completes the rejects file; returns its URI if any record was set aside.
    pub fn finish(mut self) -> Result<Option<String>> {
        // The record that failed the run belongs in the file with the ones set aside before it
        // (with a limit of 0 there is no such file: the error names the record).
        if let Some((_, reject)) = self.first_excess.take().filter(|_| self.limit > 0) {
            self.write(&reject)?;
        }
        match self.writer {
            Some(w) => Ok(Some(w.finish()?.uri)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reject(line: u64) -> Reject {
        Reject {
            file: "in/a.json".into(),
            line,
            reason: "expected value".into(),
            raw: b"{\"a\": }".to_vec(),
        }
    }

    #[test]
    fn zero_limit_fails_on_the_first_with_file_line_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("r.jsonl").to_str().unwrap().to_string();
        let mut sink = RejectsSink::new(Store::local(dir.path()), "r.jsonl".into(), 0);
        let err = sink.add(reject(7)).unwrap_err().to_string();
        assert!(err.contains("in/a.json line 7: expected value"), "{err}");
        assert!(err.contains("--max-bad-records"), "{err}");
        assert_eq!(sink.finish().unwrap(), None);
        assert!(!std::path::Path::new(&uri).exists());
    }

    #[test]
    fn sets_aside_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("r.jsonl").to_str().unwrap().to_string();
        let mut sink = RejectsSink::new(Store::local(dir.path()), "r.jsonl".into(), 2);
        sink.add(reject(1)).unwrap();
        sink.add(reject(2)).unwrap();
        let err = sink.add(reject(3)).unwrap_err();
        assert!(err.downcast_ref::<TooManyBadRecords>().is_some());
        assert_eq!(sink.count(), 3);
        // Workers may report out of order: the earliest in input order is what the run names.
        sink.add_at(0, reject(1)).unwrap_err();
        sink.add_at(1, reject(0)).unwrap_err();
        assert_eq!(sink.first_excess().unwrap().reject.line, 1);
        assert_eq!(sink.finish().unwrap(), Some(uri.clone()));
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&uri)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            3,
            "the two set aside, then the one that failed the run"
        );
        assert_eq!(lines[2]["line"], 1, "the earliest past the limit");
        assert_eq!(lines[1]["line"], 2);
        assert_eq!(lines[1]["raw"], "{\"a\": }");
        assert_eq!(lines[1]["reason"], "expected value");
    }
}
