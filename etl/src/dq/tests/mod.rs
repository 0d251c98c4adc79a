//! Engine-level tests: per rule type, small datasets whose expected metrics are worked out by
//! hand in the comments, fed in more than one batch so that merging is exercised too.
#![allow(clippy::unwrap_used)]

mod composite;
mod custom_sql;
mod dataset;
mod dynamic;
mod frequency;
mod nested;
mod reference;
mod results;
mod row_level;
mod sharded;
mod stats;
mod values;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, TimeZone, Utc};

use super::{DqContext, DqEngine, DqResults, Outcome, RuleResult};

/// The evaluation time of every test: 2024-06-01 12:00 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

/// A batch from named columns.
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// Days since 1970-01-01 of a date.
pub fn day(y: i32, m: u32, d: u32) -> i32 {
    (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap() - chrono::NaiveDate::default()).num_days()
        as i32
}

/// The shared test data, six rows:
///
/// | id | qty  | price | name     | city | day        |
/// |----|------|-------|----------|------|------------|
/// | 1  | 10   | 1.5   | "ab"     | NY   | 2024-06-01 |
/// | 2  | null | 2.5   | "abc"    | SF   | 2024-05-31 |
/// | 3  | 30   | null  | null     | NY   | 2024-05-01 |
/// | 4  | 30   | 4.0   | ""       | LA   | null       |
/// | 5  | 50   | 5.0   | "  "     | NY   | 2023-12-31 |
/// | 6  | null | 6.0   | "abcdef" | null | 2024-06-01 |
pub fn orders() -> RecordBatch {
    batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6]))),
        (
            "qty",
            Arc::new(Int64Array::from(vec![
                Some(10),
                None,
                Some(30),
                Some(30),
                Some(50),
                None,
            ])),
        ),
        (
            "price",
            Arc::new(Float64Array::from(vec![
                Some(1.5),
                Some(2.5),
                None,
                Some(4.0),
                Some(5.0),
                Some(6.0),
            ])),
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("ab"),
                Some("abc"),
                None,
                Some(""),
                Some("  "),
                Some("abcdef"),
            ])),
        ),
        (
            "city",
            Arc::new(StringArray::from(vec![
                Some("NY"),
                Some("SF"),
                Some("NY"),
                Some("LA"),
                Some("NY"),
                None,
            ])),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![
                Some(day(2024, 6, 1)),
                Some(day(2024, 5, 31)),
                Some(day(2024, 5, 1)),
                None,
                Some(day(2023, 12, 31)),
                Some(day(2024, 6, 1)),
            ])),
        ),
    ])
}

/// `orders()` split into two batches (rows 0–2 and 3–5).
pub fn orders_batches() -> Vec<RecordBatch> {
    let b = orders();
    vec![b.slice(0, 3), b.slice(3, 3)]
}

/// Timestamps (UTC) for DataFreshness: 1 hour, 24 hours and 744 hours (31 days) old, and null.
pub fn events() -> RecordBatch {
    let micros = |t: DateTime<Utc>| t.timestamp_micros();
    let ts = TimestampMicrosecondArray::from(vec![
        Some(micros(now() - chrono::Duration::hours(1))),
        Some(micros(now() - chrono::Duration::hours(24))),
        Some(micros(now() - chrono::Duration::hours(744))),
        None,
    ])
    .with_timezone("UTC");
    let text = StringArray::from(vec![
        Some("2024-06-01T11:30:00Z"),
        Some("2024-05-31T12:00:00+00:00"),
        Some("not a time"),
        None,
    ]);
    batch(vec![("ts", Arc::new(ts)), ("text", Arc::new(text))])
}

/// Evaluates `rules` (a whole DQDL document) over `batches` with `ctx`.
pub fn run_with(rules: &str, batches: &[RecordBatch], ctx: DqContext) -> DqResults {
    let ruleset = gluepipe_spec::dqdl::parse(rules).unwrap_or_else(|e| panic!("{rules}: {e}"));
    let schema: SchemaRef = batches[0].schema();
    let mut engine = DqEngine::new(&ruleset, &schema, ctx).unwrap();
    for b in batches {
        engine.update(b).unwrap();
    }
    engine.finish().unwrap()
}

/// Evaluates `Rules = [ <rules> ]` over `batches` at [`now`].
pub fn run(rules: &str, batches: &[RecordBatch]) -> DqResults {
    run_with(
        &format!("Rules = [ {rules} ]"),
        batches,
        DqContext::at(now()),
    )
}

/// The result of a single rule over the orders data.
pub fn rule(text: &str) -> RuleResult {
    single(text, &orders_batches())
}

/// The result of a single rule over `batches`.
pub fn single(text: &str, batches: &[RecordBatch]) -> RuleResult {
    let results = run(text, batches);
    assert_eq!(results.rule_outcomes.len(), 1, "{text}");
    results.rule_outcomes.into_iter().next().unwrap()
}

/// Asserts the outcome and returns the result for more checks.
#[track_caller]
pub fn expect(text: &str, outcome: Outcome) -> RuleResult {
    let r = rule(text);
    assert_eq!(r.outcome, outcome, "{text}: {r:?}");
    r
}

/// A metric of a result.
#[track_caller]
pub fn metric(r: &RuleResult, key: &str) -> f64 {
    *r.evaluated_metrics
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", r.evaluated_metrics))
}

/// Asserts `a ≈ b`.
#[track_caller]
pub fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}
