//! A worker's open output files: one per Hive partition it has rows for, each rolled over to a
//! new file past the size limit. At most `max_open` files are open at once (each holds a row
//! group in memory); past that the least recently written one is finished, so memory stays
//! bounded however many partitions the data has.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::RecordBatch;
use serde::Serialize;

use super::parquet::{FileOptions, ParquetFile};
use super::partition::split_by_partition;
use crate::storage::Publisher;

/// A finished output file, as the run record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OutputFile {
    /// Full location once published.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// Writes batches into partitioned, size-bounded Parquet files through a publisher.
pub struct PartitionedWriter {
    publisher: Arc<Publisher>,
    options: FileOptions,
    /// File names are `part-<tag>-<seq>.<codec>.parquet`, unique per run and worker.
    tag: String,
    partition_columns: Vec<usize>,
    max_open: usize,
    /// Open files by partition folder, least recently written first.
    open: Vec<(String, ParquetFile)>,
    seq: u32,
    finished: Vec<OutputFile>,
}

impl PartitionedWriter {
    /// `tag` must be unique among the writers of a run (e.g. `<run_id>-<worker>`).
    pub fn new(
        publisher: Arc<Publisher>,
        options: FileOptions,
        tag: String,
        partition_columns: Vec<usize>,
        max_open: usize,
    ) -> PartitionedWriter {
        PartitionedWriter {
            publisher,
            options,
            tag,
            partition_columns,
            max_open: max_open.max(1),
            open: Vec::new(),
            seq: 0,
            finished: Vec::new(),
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (folder, rows) in split_by_partition(batch, &self.partition_columns)? {
            let pos = match self.open.iter().position(|(f, _)| *f == folder) {
                Some(pos) => {
                    let entry = self.open.remove(pos);
                    self.open.push(entry);
                    self.open.len() - 1
                }
                None => {
                    if self.open.len() >= self.max_open {
                        let (_, file) = self.open.remove(0);
                        self.close(file)?;
                    }
                    let file = self.create(&folder, &rows)?;
                    self.open.push((folder, file));
                    self.open.len() - 1
                }
            };
            let file = &mut self.open[pos].1;
            file.write(&rows)?;
            if file.size() >= self.options.file_bytes {
                let (_, file) = self.open.remove(pos);
                self.close(file)?;
            }
        }
        Ok(())
    }

    fn create(&mut self, folder: &str, first_rows: &RecordBatch) -> Result<ParquetFile> {
        let name = format!(
            "part-{}-{:05}.{}",
            self.tag,
            self.seq,
            self.options.suffix()
        );
        self.seq += 1;
        let key = if folder.is_empty() {
            name
        } else {
            format!("{folder}/{name}")
        };
        let out = self.publisher.create(&key)?;
        ParquetFile::create(out, first_rows.schema(), &self.options, Some(first_rows))
    }

    fn close(&mut self, file: ParquetFile) -> Result<()> {
        let done = file.finish()?;
        self.finished.push(OutputFile {
            path: done.object.uri,
            rows: done.rows,
            bytes: done.object.bytes,
        });
        Ok(())
    }

    /// Finishes every open file; returns all files this writer wrote.
    pub fn finish(mut self) -> Result<Vec<OutputFile>> {
        for (_, file) in std::mem::take(&mut self.open) {
            self.close(file)?;
        }
        Ok(self.finished)
    }
}
