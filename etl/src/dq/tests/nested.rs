//! Column rules reach struct fields by dotted path, as Glue's engine (Spark) resolves them: a
//! null parent makes the child null; a top-level name wins over a path spelled the same.

use arrow::array::{Array, BooleanArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Fields};

use super::*;

/// Four rows:
///
/// | info            | state.at      | a.b (top level) | a (struct {b}) |
/// |-----------------|---------------|-----------------|----------------|
/// | {x: 1, s: "10"} | 1 hour old    | 5               | {b: 1}         |
/// | null            | 2 hours old   | 5               | {b: 2}         |
/// | {x: 3, s: "x"}  | 48 hours old  | 5               | {b: 3}         |
/// | {x: 3, s: null} | 3 hours old   | 5               | {b: 4}         |
fn nested() -> Vec<RecordBatch> {
    let micros = |h: i64| (now() - chrono::Duration::hours(h)).timestamp_micros();
    let info = StructArray::new(
        Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(3), Some(3)])),
            Arc::new(StringArray::from(vec![
                Some("10"),
                Some("11"),
                Some("x"),
                None,
            ])),
        ],
        Some(NullBuffer::from(vec![true, false, true, true])),
    );
    let at = TimestampMicrosecondArray::from(vec![micros(1), micros(2), micros(48), micros(3)])
        .with_timezone("UTC");
    let state = StructArray::new(
        Fields::from(vec![Field::new("at", at.data_type().clone(), true)]),
        vec![Arc::new(at)],
        None,
    );
    let a = StructArray::new(
        Fields::from(vec![Field::new("b", DataType::Int64, true)]),
        vec![Arc::new(Int64Array::from(vec![1, 2, 3, 4]))],
        None,
    );
    let b = batch(vec![
        ("info", Arc::new(info)),
        ("state", Arc::new(state)),
        ("a.b", Arc::new(Int64Array::from(vec![5, 5, 5, 5]))),
        ("a", Arc::new(a)),
        ("ok", Arc::new(BooleanArray::from(vec![true; 4]))),
    ]);
    vec![b.slice(0, 2), b.slice(2, 2)]
}

fn check(text: &str, outcome: Outcome) -> RuleResult {
    let r = single(text, &nested());
    assert_eq!(r.outcome, outcome, "{text}: {r:?}");
    r
}

#[test]
fn column_rules_reach_struct_fields() {
    // info.x is 1, null (parent null), 3, 3
    let r = check("Completeness \"info.x\" = 0.75", Outcome::Passed);
    close(metric(&r, "Column.info.x.Completeness"), 0.75);
    check("IsComplete \"info.x\"", Outcome::Failed);
    check("IsComplete \"state.at\"", Outcome::Passed);
    check("ColumnExists \"info.x\"", Outcome::Passed);
    check("ColumnExists \"info.nope\"", Outcome::Failed);
    let r = check("Mean \"info.x\" between 2.3 and 2.4", Outcome::Passed);
    close(metric(&r, "Column.info.x.Mean"), 7.0 / 3.0);
    // 1 once, 3 twice; the null is not counted: 1 / 3
    let r = check("Uniqueness \"info.x\" > 0.3", Outcome::Passed);
    close(metric(&r, "Column.info.x.Uniqueness"), 1.0 / 3.0);
    check("IsUnique \"info.x\"", Outcome::Failed);
    check("IsUnique \"a.b\"", Outcome::Failed); // the top-level column: 5 5 5 5
    check("IsUnique \"`a`.b\"", Outcome::Passed);
    let r = check("ColumnValues \"info.x\" in [1, 3]", Outcome::Failed);
    close(metric(&r, "Column.info.x.ColumnValues.Compliance"), 0.75);
    check("ColumnValues \"info.x\" in [1, 3, NULL]", Outcome::Passed);
    // info.s: "10", null (parent), "x", null → one non-integer, two nulls
    let r = check(
        "ColumnDataType \"info.s\" = \"Integer\" with threshold >= 0.25",
        Outcome::Passed,
    );
    close(metric(&r, "Column.info.s.ColumnDataType.Compliance"), 0.25);
    check("ColumnLength \"info.s\" <= 2", Outcome::Passed);
    // state.at: 1, 2, 48 and 3 hours old
    let r = check("DataFreshness \"state.at\" <= 24 hours", Outcome::Failed);
    close(metric(&r, "Column.state.at.DataFreshness.Compliance"), 0.75);
    check(
        "DataFreshness \"state.at\" <= 24 hours where \"ok\"",
        Outcome::Failed,
    );
    check("DataFreshness \"STATE.AT\" <= 49 hours", Outcome::Passed);
    check("ColumnCorrelation \"info.x\" \"a.b\" = 0", Outcome::Failed);
    // A missing step is a missing column, as Glue words it.
    let r = check("ColumnDataType \"info.y\" = \"Integer\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Column info.y does not exist in the dataset")
    );
    check("Completeness \"ok.x\" > 0", Outcome::Failed);
    check("Completeness \"info[0]\" > 0", Outcome::Failed);
}

#[test]
fn a_top_level_name_with_dots_wins_over_the_path() {
    // "a.b" is the top-level column (all 5); "`a`.b" is the struct field (1 2 3 4).
    let r = check("ColumnValues \"a.b\" = 5", Outcome::Passed);
    close(metric(&r, "Column.a.b.Minimum"), 5.0);
    check("ColumnValues \"`a`.b\" = 5", Outcome::Failed);
    let r = check("ColumnValues \"`a`.b\" <= 4", Outcome::Passed);
    close(metric(&r, "Column.`a`.b.Maximum"), 4.0);
    // ColumnCount counts top-level columns only.
    check("ColumnCount = 5", Outcome::Passed);
}
