//! Decodes a [`Chunk`] into one `RecordBatch`, setting bad records aside.
//!
//! The clean path decodes the whole chunk in one call to arrow-json's `Decoder`. If that fails
//! (malformed JSON, a value that does not fit its column type) or yields a different number of
//! rows than the chunk has records (two objects on one line, one object over two lines), the
//! chunk is bisected: each half is decoded on its own, down to single records, which are then
//! either rows or [`Reject`]s with the decoder's reason. One bad record in a chunk of n costs
//! about 2·log2(n) extra decodes of shrinking ranges, and good records are never lost.
//!
//! Before all that, a clean chunk usually goes through [`super::fast`], a single-pass decoder
//! that gives up (and leaves the chunk to arrow-json) on anything it does not decode exactly as
//! arrow-json would. What arrow-json sees has passed [`super::conform`] first: strict JSON, no
//! value its column would change.

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::json::reader::{Decoder, ReaderBuilder};

use anyhow::Result;

use super::conform::{Conformed, conform};
use super::fast::FastDecoder;
use super::split::Chunk;
use super::unknown::UnknownFields;
use crate::rejects::Reject;

/// Rows decoded per arrow-json batch; chunks rarely hold more records than this.
const BATCH_ROWS: usize = 64 * 1024;

/// The good rows of a chunk and the records that were rejected.
#[derive(Debug)]
pub struct Decoded {
    pub batch: RecordBatch,
    /// For each row of `batch`, the index of its record in the chunk.
    pub row_records: Vec<u32>,
    pub rejects: Vec<Reject>,
    /// Fields of the rows' records the schema lacks, when the decoder counts them.
    pub unknown: UnknownFields,
}

/// A reusable decoder for one schema.
pub struct RecordDecoder {
    schema: SchemaRef,
    decoder: Decoder,
    /// The single-pass decoder for clean chunks, when the schema's types allow it.
    fast: Option<FastDecoder>,
    /// Whether fields the schema lacks are counted (see [`super::unknown`]).
    count_unknown: bool,
}

fn build(schema: &SchemaRef) -> Result<Decoder, ArrowError> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(BATCH_ROWS)
        // Numbers and booleans in string columns keep their JSON text, as Glue's reader does.
        .with_coerce_primitive(true)
        .build_decoder()
}

/// The decoder's words without Arrow's error-kind prefix.
pub fn reason(err: &ArrowError) -> String {
    let text = err.to_string();
    for prefix in [
        "Json error: ",
        "Parser error: ",
        "Cast error: ",
        "Invalid argument error: ",
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    text
}

enum Attempt {
    Rows(Vec<RecordBatch>, usize),
    Failed(String),
}

impl RecordDecoder {
    pub fn new(schema: SchemaRef) -> Result<RecordDecoder> {
        let decoder = build(&schema)?;
        let fast = FastDecoder::new(schema.clone(), false);
        Ok(RecordDecoder {
            schema,
            decoder,
            fast,
            count_unknown: false,
        })
    }

    /// Also counts the fields records have and the schema lacks (for an inferred schema).
    pub fn counting_unknown_fields(mut self) -> RecordDecoder {
        if self.fast.is_some() {
            self.fast = FastDecoder::new(self.schema.clone(), true);
        }
        self.count_unknown = true;
        self
    }

    /// Without the fast path: every chunk through arrow-json (for tests and comparisons).
    pub fn without_fast_path(mut self) -> RecordDecoder {
        self.fast = None;
        self
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes every record of `chunk`; rejects carry file, line, reason and raw text.
    pub fn decode(&mut self, chunk: &Chunk) -> Result<Decoded> {
        if let Some(fast) = &mut self.fast {
            if let Ok(batch) = fast.decode(chunk) {
                let row_records = (0..chunk.records.len() as u32).collect();
                return Ok(Decoded {
                    batch,
                    row_records,
                    rejects: Vec::new(),
                    unknown: fast.take_unknown(),
                });
            }
        }
        let mut batches = Vec::new();
        let mut row_records = Vec::with_capacity(chunk.records.len());
        let mut failed = Vec::new();
        let (conformed, index) = self.conformed(chunk, &mut failed);
        let source = conformed.as_ref().unwrap_or(chunk);
        let mut undecoded = Vec::new();
        self.decode_range(
            source,
            0,
            source.records.len(),
            &mut batches,
            &mut row_records,
            &mut undecoded,
        )?;
        if let Some(index) = &index {
            for r in &mut row_records {
                *r = index[*r as usize];
            }
            for (r, _) in &mut undecoded {
                *r = index[*r as usize];
            }
        }
        failed.extend(undecoded);
        failed.sort_by_key(|(r, _)| *r);
        let rejects = failed
            .into_iter()
            .map(|(r, reason)| Reject {
                file: chunk.file.clone(),
                line: chunk.records[r as usize].line,
                reason,
                raw: chunk.raw(r as usize).to_vec(),
            })
            .collect();
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(self.schema.clone()),
            1 => batches.pop().expect("one batch"),
            _ => concat_batches(&self.schema, &batches)?,
        };
        // arrow-json skips fields the schema lacks without a word: look at the rows' records.
        let mut unknown = UnknownFields::default();
        if self.count_unknown {
            for &r in &row_records {
                if let Ok(value) =
                    serde_json::from_slice::<serde_json::Value>(chunk.raw(r as usize))
                {
                    unknown.scan(&value, self.schema.fields(), "");
                }
            }
        }
        Ok(Decoded {
            batch,
            row_records,
            rejects,
            unknown,
        })
    }

    /// Runs every record through [`conform`]: the ones it rejects go to `failed`; when any was
    /// rejected or rewritten, the chunk to decode instead and, for each of its records, the
    /// index of the original one.
    fn conformed(
        &self,
        chunk: &Chunk,
        failed: &mut Vec<(u32, String)>,
    ) -> (Option<Chunk>, Option<Vec<u32>>) {
        let outcomes: Vec<Conformed> = (0..chunk.records.len())
            .map(|r| conform(chunk.raw(r), self.schema.fields()))
            .collect();
        if outcomes.iter().all(|o| *o == Conformed::Keep) {
            return (None, None);
        }
        let mut out = Chunk {
            file: chunk.file.clone(),
            file_index: chunk.file_index,
            ..Chunk::default()
        };
        let mut index = Vec::with_capacity(chunk.records.len());
        for (r, outcome) in outcomes.into_iter().enumerate() {
            let text = match outcome {
                Conformed::Reject(reason) => {
                    failed.push((r as u32, reason));
                    continue;
                }
                Conformed::Keep => chunk.raw(r),
                Conformed::Rewritten(ref text) => text,
            };
            let start = out.data.len() as u32;
            out.data.extend_from_slice(text);
            out.records.push(super::Span {
                start,
                end: out.data.len() as u32,
                line: chunk.records[r].line,
            });
            out.data.push(b'\n');
            index.push(r as u32);
        }
        (Some(out), Some(index))
    }

    fn decode_range(
        &mut self,
        chunk: &Chunk,
        lo: usize,
        hi: usize,
        batches: &mut Vec<RecordBatch>,
        row_records: &mut Vec<u32>,
        rejects: &mut Vec<(u32, String)>,
    ) -> Result<()> {
        if lo == hi {
            return Ok(());
        }
        let bytes =
            &chunk.data[chunk.records[lo].start as usize..chunk.records[hi - 1].end as usize];
        let failure = match self.attempt(bytes)? {
            Attempt::Rows(got, rows) if rows == hi - lo => {
                batches.extend(got);
                row_records.extend(lo as u32..hi as u32);
                return Ok(());
            }
            Attempt::Rows(_, 0) => "the record holds no JSON value".to_string(),
            Attempt::Rows(_, _) => {
                "more than one JSON value in one record (one object per line in NDJSON)".to_string()
            }
            Attempt::Failed(reason) => reason,
        };
        if hi - lo == 1 {
            rejects.push((lo as u32, failure));
            return Ok(());
        }
        let mid = lo + (hi - lo) / 2;
        self.decode_range(chunk, lo, mid, batches, row_records, rejects)?;
        self.decode_range(chunk, mid, hi, batches, row_records, rejects)
    }

    /// Decodes `bytes` completely; on any failure the decoder is rebuilt (its state is unknown).
    fn attempt(&mut self, bytes: &[u8]) -> Result<Attempt> {
        match self.try_decode(bytes) {
            Ok(Ok((batches, rows))) => Ok(Attempt::Rows(batches, rows)),
            Ok(Err(reason)) | Err(reason) => {
                self.decoder = build(&self.schema)?;
                Ok(Attempt::Failed(reason))
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn try_decode(
        &mut self,
        bytes: &[u8],
    ) -> Result<Result<(Vec<RecordBatch>, usize), String>, String> {
        let d = &mut self.decoder;
        let mut batches = Vec::new();
        let mut rows = 0;
        let mut pos = 0;
        while pos < bytes.len() {
            let n = d.decode(&bytes[pos..]).map_err(|e| reason(&e))?;
            pos += n;
            if pos < bytes.len() {
                match d.flush().map_err(|e| reason(&e))? {
                    Some(b) => {
                        rows += b.num_rows();
                        batches.push(b);
                    }
                    None if n == 0 => return Err("the decoder made no progress".into()),
                    None => {}
                }
            }
        }
        if d.has_partial_record() {
            return Ok(Err("the JSON value is cut short (truncated record)".into()));
        }
        if let Some(b) = d.flush().map_err(|e| reason(&e))? {
            rows += b.num_rows();
            batches.push(b);
        }
        Ok(Ok((batches, rows)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;
    use crate::decode::split::Splitter;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn decode_all(input: &str) -> (Vec<Option<i64>>, Vec<(u64, String)>) {
        let mut dec = RecordDecoder::new(schema()).unwrap();
        let mut ids = Vec::new();
        let mut rejects = Vec::new();
        for chunk in Splitter::new(input.as_bytes(), "t.json".into(), 0, 1024) {
            let chunk = chunk.unwrap();
            let d = dec.decode(&chunk).unwrap();
            assert_eq!(d.row_records.len(), d.batch.num_rows());
            assert_eq!(d.row_records.len() + d.rejects.len(), chunk.records.len());
            let col = d.batch.column(0).as_primitive::<Int64Type>();
            ids.extend((0..col.len()).map(|i| col.is_valid(i).then(|| col.value(i))));
            rejects.extend(d.rejects.into_iter().map(|r| (r.line, r.reason)));
        }
        (ids, rejects)
    }

    #[test]
    fn clean_and_bad_records() {
        type Case<'a> = (&'a str, &'a str, &'a [Option<i64>], &'a [(u64, &'a str)]);
        let cases: &[Case] = &[
            ("empty", "", &[], &[]),
            (
                "clean",
                "{\"id\":1}\n{\"id\":2,\"name\":\"x\"}\n",
                &[Some(1), Some(2)],
                &[],
            ),
            (
                "missing and extra fields",
                "{\"other\":1}\n{\"id\":3,\"zzz\":[1]}\n",
                &[None, Some(3)],
                &[],
            ),
            (
                "malformed line",
                "{\"id\":1}\n{\"id\":\n{\"id\":3}\n",
                &[Some(1), Some(3)],
                &[(2, "")],
            ),
            (
                "wrong type",
                "{\"id\":1}\n{\"id\":\"abc\"}\n",
                &[Some(1)],
                &[(2, "failed to parse \"abc\" as Int64")],
            ),
            (
                "two values on a line",
                "{\"id\":1} {\"id\":2}\n{\"id\":3}\n",
                &[Some(3)],
                &[(1, "more than one JSON value")],
            ),
            (
                "not an object",
                "{\"id\":1}\n[1,2]\n\"x\"\n",
                &[Some(1)],
                &[(2, "this one is an array"), (3, "this one is a string")],
            ),
            (
                "number as string",
                "{\"id\":1,\"name\":5}\n",
                &[Some(1)],
                &[],
            ),
            (
                "beyond i64",
                "{\"id\":9223372036854775808}\n",
                &[],
                &[(1, "")],
            ),
            (
                "i64 edges",
                "{\"id\":9223372036854775807}\n{\"id\":-9223372036854775808}\n",
                &[Some(i64::MAX), Some(i64::MIN)],
                &[],
            ),
        ];
        for (name, input, ids, rejects) in cases {
            let (got_ids, got_rejects) = decode_all(input);
            assert_eq!(&got_ids, ids, "{name}");
            assert_eq!(got_rejects.len(), rejects.len(), "{name}: {got_rejects:?}");
            for ((line, reason), (want_line, want)) in got_rejects.iter().zip(rejects.iter()) {
                assert_eq!(line, want_line, "{name}");
                assert!(reason.contains(want), "{name}: {reason}");
            }
        }
    }

    #[test]
    fn one_bad_record_among_many_keeps_all_good_ones() {
        let mut input = String::new();
        for i in 0..5000 {
            if i == 3777 {
                input.push_str("{\"id\": tru}\n");
            } else {
                input.push_str(&format!("{{\"id\":{i}}}\n"));
            }
        }
        let (ids, rejects) = decode_all(&input);
        assert_eq!(ids.len(), 4999);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].0, 3778);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "order is kept");
    }
}

#[cfg(test)]
mod unknown_fields_tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::datatypes::Schema;

    use super::*;
    use crate::decode::split::Splitter;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(crate::decode::unknown::tests::point_fields()))
    }

    fn count(decoder: RecordDecoder, input: &str) -> Vec<(String, u64)> {
        let mut decoder = decoder;
        let mut all = UnknownFields::default();
        for chunk in Splitter::new(input.as_bytes(), "t.json".into(), 0, 1024) {
            all.merge(&decoder.decode(&chunk.unwrap()).unwrap().unknown);
        }
        all.iter().map(|(k, n)| (k.to_string(), n)).collect()
    }

    #[test]
    fn both_decoders_count_fields_the_schema_lacks_and_only_when_asked() {
        let input = "{\"id\":1,\"late\":true,\"p\":{\"x\":1,\"y\":2}}\n\
                     {\"id\":2,\"ps\":[{\"x\":1,\"z\":0},{\"z\":[1]}],\"late\":null}\n\
                     {\"id\":3}\n";
        let want: Vec<(String, u64)> = [("late", 2), ("p.y", 1), ("ps.z", 2)]
            .map(|(k, n)| (k.to_string(), n))
            .to_vec();
        let fast = RecordDecoder::new(schema())
            .unwrap()
            .counting_unknown_fields();
        assert!(fast.fast.is_some());
        assert_eq!(count(fast, input), want);
        let slow = RecordDecoder::new(schema())
            .unwrap()
            .without_fast_path()
            .counting_unknown_fields();
        assert_eq!(count(slow, input), want);
        // A bad record is a reject, not counted; the good ones still are (arrow-json path).
        let with_bad = format!("{input}{{\"id\":\"x\",\"bad\":1}}\n");
        let fast = RecordDecoder::new(schema())
            .unwrap()
            .counting_unknown_fields();
        assert_eq!(count(fast, &with_bad), want);
        assert!(count(RecordDecoder::new(schema()).unwrap(), input).is_empty());
    }
}
