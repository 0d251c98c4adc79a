//! The few rows a report shows of the latest rejects and quarantined rows, read from where the
//! run record says they are. A sample that cannot be read is shown as such; it never fails the
//! report.

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::storage::{AwsClients, Store};

/// How many rows a sample shows.
pub const SAMPLE_ROWS: usize = 10;
/// Files larger than this are not fetched for a sample (the report must stay quick
/// and small in memory; row groups of a large file would be read whole).
const MAX_SAMPLED_FILE: u64 = 64 << 20;

/// Rows shown as a table: header and cells, all text.
#[derive(Debug, Default)]
pub struct Sample {
    pub run_id: String,
    /// Where the rows were read from.
    pub source: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Why there are no rows, or fewer than the file has.
    pub note: Option<String>,
}

#[derive(Deserialize)]
struct RejectLine {
    #[serde(default)]
    file: String,
    #[serde(default)]
    line: u64,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    raw: String,
}

/// The first rejected records of a run's rejects file (JSON lines: file, line, reason, raw).
pub async fn rejects(run_id: &str, path: &str, aws: &AwsClients) -> Sample {
    let mut sample = Sample {
        run_id: run_id.to_string(),
        source: path.to_string(),
        columns: ["file", "line", "reason", "raw"].map(String::from).to_vec(),
        ..Sample::default()
    };
    let bytes = match read_whole(path, aws, Some(MAX_SAMPLED_FILE)).await {
        Ok(b) => b,
        Err(e) => {
            sample.note = Some(format!("could not be read: {e:#}"));
            return sample;
        }
    };
    for (n, line) in bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if n == SAMPLE_ROWS {
            sample.note = Some(format!("the first {SAMPLE_ROWS} rejected records"));
            break;
        }
        match serde_json::from_slice::<RejectLine>(line) {
            Ok(r) => sample
                .rows
                .push(vec![r.file, r.line.to_string(), r.reason, r.raw]),
            Err(e) => {
                sample.note = Some(format!("line {} is not a reject record: {e}", n + 1));
                break;
            }
        }
    }
    sample
}

/// The first rows of a run's first quarantine file, each column's value as JSON text.
pub async fn quarantine(run_id: &str, path: &str, aws: &AwsClients) -> Sample {
    let mut sample = Sample {
        run_id: run_id.to_string(),
        source: path.to_string(),
        ..Sample::default()
    };
    let bytes = match read_whole(path, aws, Some(MAX_SAMPLED_FILE)).await {
        Ok(b) => b,
        Err(e) => {
            sample.note = Some(format!("not shown: {e:#}"));
            return sample;
        }
    };
    if let Err(e) = first_rows(Bytes::from(bytes), &mut sample) {
        sample.note = Some(format!("could not be read as Parquet: {e:#}"));
    }
    sample
}

fn first_rows(bytes: Bytes, sample: &mut Sample) -> anyhow::Result<()> {
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
        .with_batch_size(SAMPLE_ROWS)
        .with_limit(SAMPLE_ROWS)
        .build()?;
    let Some(batch) = reader.next().transpose()? else {
        sample.note = Some("the file holds no rows".into());
        return Ok(());
    };
    sample.columns = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    // arrow's JSON writer gives each value as JSON (nested values included), one object per row.
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(&batch)?;
    writer.finish()?;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&writer.into_inner())?;
    for row in rows {
        sample.rows.push(
            sample
                .columns
                .iter()
                .map(|c| match row.get(c) {
                    None | Some(serde_json::Value::Null) => "null".to_string(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect(),
        );
    }
    Ok(())
}

async fn read_whole(path: &str, aws: &AwsClients, limit: Option<u64>) -> anyhow::Result<Vec<u8>> {
    let (store, name) = Store::for_object(path, aws).await?;
    if let Some(limit) = limit {
        match store.head(&name).await? {
            None => anyhow::bail!("{path} does not exist"),
            Some(meta) if meta.size > limit => anyhow::bail!(
                "{path} is {} (samples are read from files up to {})",
                crate::run::human_bytes(meta.size),
                crate::run::human_bytes(limit)
            ),
            Some(_) => {}
        }
    }
    Ok(store.get_bytes(&name).await?)
}
