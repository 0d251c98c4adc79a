//! The fast decoder against the fallback and serde_json, on generated and mutated records: the
//! fast path never accepts a record serde_json refuses, and with or without it the same records
//! are rejected (on the same lines) and the same rows come out.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use gluepipe_etl::decode::{RecordDecoder, Splitter, fast::FastDecoder};
use gluepipe_etl::schema::glue_to_arrow;
use proptest::prelude::*;

fn schema() -> SchemaRef {
    let cols = [
        ("id", "bigint"),
        ("name", "string"),
        ("price", "double"),
        ("tags", "array<string>"),
        ("info", "struct<x:int,y:string>"),
        ("at", "timestamp"),
    ];
    Arc::new(Schema::new(
        cols.iter()
            .map(|(n, t)| {
                let glue = gluepipe_spec::parse_glue_type(t).expect("a Glue type");
                Field::new(*n, glue_to_arrow(&glue), true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// A JSON value of any kind, small.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        (-1e6f64..1e6).prop_map(|f| f.to_string()),
        "[a-z\\\\\"é\u{1F680} ]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        Just("\"2024-01-01T10:00:00Z\"".to_string()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|v| {
                let parts: Vec<String> = v.iter().map(|(k, x)| format!("\"{k}\":{x}")).collect();
                format!("{{{}}}", parts.join(","))
            }),
        ]
    })
}

/// A record: schema fields (of fitting or other kinds) and unknown ones.
fn record() -> impl Strategy<Value = String> {
    let id = prop_oneof![any::<i32>().prop_map(|i| i.to_string()), value()];
    let name = prop_oneof!["[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")), value()];
    let price = prop_oneof![(-1e3f64..1e3).prop_map(|f| f.to_string()), value()];
    let tags = prop_oneof![Just("[\"a\",\"b\"]".to_string()), value()];
    let info = prop_oneof![Just("{\"x\":1,\"y\":\"z\"}".to_string()), value()];
    let extra = prop::collection::vec(("[a-z]{4}", value()), 0..2);
    (id, name, price, tags, info, extra).prop_map(|(id, name, price, tags, info, extra)| {
        let mut parts = vec![
            format!("\"id\":{id}"),
            format!("\"name\":{name}"),
            format!("\"price\":{price}"),
            format!("\"tags\":{tags}"),
            format!("\"info\":{info}"),
        ];
        parts.extend(extra.iter().map(|(k, v)| format!("\"{k}\": {v}")));
        format!("{{{}}}", parts.join(", "))
    })
}

/// Bytes that break JSON in the ways lenient parsers let through.
const NASTY: &[u8] = b",,0.-e+\"\\\x01\x1f}]{[ \tu\xff\xc3";

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let mutation = prop_oneof![
        (any::<usize>(), prop::sample::select(NASTY)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ];
    (
        prop::collection::vec(record(), 1..6),
        prop::collection::vec(mutation, 0..3),
    )
        .prop_map(|(records, mutations)| {
            let mut text = records.join("\n").into_bytes();
            for m in mutations {
                match m {
                    Mutation::Insert(i, b) => text.insert(i % (text.len() + 1), b),
                    Mutation::Delete(i) if !text.is_empty() => {
                        text.remove(i % text.len());
                    }
                    Mutation::Delete(_) => {}
                }
            }
            text
        })
}

/// Rows (as a debug rendering) and reject lines of one decoder over `input`.
fn run(mut decoder: RecordDecoder, input: &[u8]) -> (Vec<String>, Vec<u64>) {
    let mut rows = Vec::new();
    let mut rejects = Vec::new();
    for chunk in Splitter::new(input, "t.json".into(), 0, 1 << 16) {
        let chunk = chunk.expect("in memory");
        rejects.extend(chunk.rejects.iter().map(|r| r.line));
        let d = decoder.decode(&chunk).expect("decodes");
        rows.push(format!("{:?}", d.batch.columns()));
        rejects.extend(d.rejects.iter().map(|r| r.line));
    }
    (rows, rejects)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_agrees_with_serde_json_and_the_fallback(input in mutated()) {
        let schema = schema();
        // Per record: the fast path accepts only what serde_json accepts.
        for chunk in Splitter::new(&input[..], "t.json".into(), 0, 1 << 16) {
            let chunk = chunk.expect("in memory");
            for (i, span) in chunk.records.iter().enumerate() {
                let raw = chunk.raw(i);
                let one = Splitter::new(raw, "t.json".into(), 0, 1 << 16)
                    .next()
                    .and_then(Result::ok);
                let Some(one) = one else { continue };
                let mut fast = FastDecoder::new(schema.clone(), false).expect("fast types");
                if fast.decode(&one).is_ok() {
                    prop_assert!(
                        serde_json::from_slice::<serde_json::Value>(raw).is_ok(),
                        "line {}: fast path accepted {:?}", span.line, String::from_utf8_lossy(raw)
                    );
                }
            }
        }
        let with_fast = run(RecordDecoder::new(schema.clone()).expect("decoder"), &input);
        let without = run(
            RecordDecoder::new(schema.clone()).expect("decoder").without_fast_path(),
            &input,
        );
        prop_assert_eq!(&with_fast.1, &without.1, "reject lines differ");
        prop_assert_eq!(&with_fast.0, &without.0, "rows differ");
        // Every record serde_json refuses is rejected, on its line.
        for chunk in Splitter::new(&input[..], "t.json".into(), 0, 1 << 16) {
            let chunk = chunk.expect("in memory");
            for (i, span) in chunk.records.iter().enumerate() {
                if serde_json::from_slice::<serde_json::Value>(chunk.raw(i)).is_err() {
                    prop_assert!(with_fast.1.contains(&span.line), "line {} kept", span.line);
                }
            }
        }
    }
}
