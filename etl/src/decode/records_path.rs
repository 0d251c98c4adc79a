//! `records_path`: the records are the elements of an array inside each JSON document — the
//! `features` of a GeoJSON FeatureCollection, the `data.items` of an API dump. Applied to the
//! chunks the [`super::split`] layer cut (each of its records is then a document, whatever the
//! file's layout: one pretty-printed document, concatenated documents, NDJSON lines), so the
//! decoders downstream see one record per element, each with the line it starts on.
//!
//! A document that is not valid JSON, lacks the path, or holds something else than an array
//! there is rejected whole with its file and line; an element that is not an object is
//! rejected on its own line. Without `records_path` none of this runs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::split::{Chunk, Span};
use crate::error::usage;
use crate::rejects::Reject;

/// A parsed `records_path`: the field names from the document down to the array.
pub type RecordsPath = Arc<[String]>;

/// Parses the spec's `records_path` (a usage error when it is not a field path).
pub fn parse(text: Option<&str>) -> anyhow::Result<Option<RecordsPath>> {
    text.map(|t| {
        gluepipe_spec::field_path::parse(t)
            .map(RecordsPath::from)
            .map_err(|e| usage(format!("records_path: {e}")))
    })
    .transpose()
}

/// Replaces each document of `chunk` by the elements of its array at `path`.
pub fn select(chunk: &mut Chunk, path: &[String]) {
    let mut data = Vec::with_capacity(chunk.data.len());
    let mut records = Vec::with_capacity(chunk.records.len());
    for span in std::mem::take(&mut chunk.records) {
        let doc = &chunk.data[span.start as usize..span.end as usize];
        match elements(doc, path) {
            Ok(found) => {
                let mut line = span.line;
                let mut counted = 0;
                for (offset, len) in found {
                    line += memchr::memchr_iter(b'\n', &doc[counted..offset]).count() as u64;
                    counted = offset;
                    let element = &doc[offset..offset + len];
                    if element.first() != Some(&b'{') {
                        chunk.rejects.push(Reject {
                            file: chunk.file.clone(),
                            line,
                            reason: format!(
                                "records_path {}: an element is {}, not an object (a record)",
                                gluepipe_spec::field_path::join(path),
                                kind(element)
                            ),
                            raw: element.to_vec(),
                        });
                        continue;
                    }
                    let start = data.len() as u32;
                    data.extend_from_slice(element);
                    records.push(Span {
                        start,
                        end: data.len() as u32,
                        line,
                    });
                    data.push(b'\n');
                }
            }
            Err((line_in_doc, reason)) => chunk.rejects.push(Reject {
                file: chunk.file.clone(),
                line: span.line + line_in_doc,
                reason,
                raw: doc.to_vec(),
            }),
        }
    }
    chunk.data = data;
    chunk.records = records;
}

/// `(offset, length)` in `doc` of each element of the array at `path`, in order; or the line
/// (0-based, within the document) and reason it cannot be read.
fn elements(doc: &[u8], path: &[String]) -> Result<Vec<(usize, usize)>, (u64, String)> {
    let invalid = |e: serde_json::Error| {
        (
            e.line().saturating_sub(1) as u64,
            format!("invalid JSON: {e}"),
        )
    };
    let text = std::str::from_utf8(doc).map_err(|e| (0, format!("invalid UTF-8: {e}")))?;
    let mut current: &RawValue = serde_json::from_str(text).map_err(invalid)?;
    for (depth, name) in path.iter().enumerate() {
        let here = gluepipe_spec::field_path::join(&path[..depth]);
        let fields: HashMap<String, &RawValue> =
            serde_json::from_str(current.get()).map_err(|_| {
                let what = if depth == 0 {
                    "the document".to_string()
                } else {
                    format!("`{here}`")
                };
                (
                    0,
                    format!(
                        "records_path {}: {what} is {}, not an object",
                        gluepipe_spec::field_path::join(path),
                        kind(current.get().as_bytes())
                    ),
                )
            })?;
        current = *fields.get(name).ok_or_else(|| {
            (
                0,
                format!(
                    "records_path {}: the document has no `{}`",
                    gluepipe_spec::field_path::join(path),
                    gluepipe_spec::field_path::join(&path[..=depth])
                ),
            )
        })?;
    }
    let items: Vec<&RawValue> = serde_json::from_str(current.get()).map_err(|_| {
        (
            0,
            format!(
                "records_path {}: it is {}, not an array of objects",
                gluepipe_spec::field_path::join(path),
                kind(current.get().as_bytes())
            ),
        )
    })?;
    let base = doc.as_ptr() as usize;
    Ok(items
        .iter()
        .map(|item| (item.get().as_ptr() as usize - base, item.get().len()))
        .collect())
}

/// What a JSON value is, by its first byte.
fn kind(value: &[u8]) -> &'static str {
    match value.first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A chunk of `docs`, one after the other on their own lines, as the splitter cuts them.
    fn chunk(docs: &[&str], first_line: u64) -> Chunk {
        let mut c = Chunk {
            file: "t.json".into(),
            ..Chunk::default()
        };
        let mut line = first_line;
        for doc in docs {
            let start = c.data.len() as u32;
            c.data.extend_from_slice(doc.as_bytes());
            c.records.push(Span {
                start,
                end: c.data.len() as u32,
                line,
            });
            c.data.push(b'\n');
            line += 1 + doc.matches('\n').count() as u64;
        }
        c
    }

    #[test]
    fn elements_become_records_on_their_own_lines() {
        let text = "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"id\": 1},\n  {\"id\":\n 2}, 3\n]}";
        let mut c = chunk(&[text], 10);
        select(&mut c, &["features".to_string()]);
        let got: Vec<(&[u8], u64)> = (0..c.records.len())
            .map(|i| (c.raw(i), c.records[i].line))
            .collect();
        assert_eq!(
            got,
            [(&b"{\"id\": 1}"[..], 12), (&b"{\"id\":\n 2}"[..], 13)]
        );
        assert_eq!(c.rejects.len(), 1);
        assert_eq!(c.rejects[0].line, 14);
        assert!(c.rejects[0].reason.contains("is a number, not an object"));
    }

    #[test]
    fn a_document_without_the_path_is_rejected_with_its_line() {
        let mut c = chunk(
            &[
                "{\"data\": {\"items\": 5}}",
                "{\"data\": {}}",
                "[1]",
                "{\"data\":\n {\"items\": [{\"a\": 1}]}}",
            ],
            1,
        );
        select(&mut c, &["data".to_string(), "items".to_string()]);
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.records[0].line, 5);
        let reasons: Vec<(u64, &str)> = c
            .rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    1,
                    "records_path data.items: it is a number, not an array of objects"
                ),
                (
                    2,
                    "records_path data.items: the document has no `data.items`"
                ),
                (
                    3,
                    "records_path data.items: the document is an array, not an object"
                ),
            ]
        );
    }
}
