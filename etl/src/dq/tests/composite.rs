//! Composite rules: AND/OR outcomes, merged metrics, joined reasons, nesting and precedence.

use super::*;

#[test]
fn and_or_outcomes_reasons_and_metrics() {
    // RowCount = 6 passes, IsComplete "qty" fails (0.667)
    let r = expect("(RowCount = 6) and (IsComplete \"qty\")", Outcome::Failed);
    assert_eq!(r.rule, "(RowCount = 6) AND (IsComplete \"qty\")");
    close(metric(&r, "Dataset.*.RowCount"), 6.0);
    close(metric(&r, "Column.qty.Completeness"), 4.0 / 6.0);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.6666666666666666 does not meet the constraint requirement!")
    );
    let r = expect("(RowCount = 6) or (IsComplete \"qty\")", Outcome::Passed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.6666666666666666 does not meet the constraint requirement!")
    );
    let r = expect("(RowCount = 5) or (IsComplete \"qty\")", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some(
            "Value: 6.0 does not meet the constraint requirement!\n\
             Value: 0.6666666666666666 does not meet the constraint requirement!"
        )
    );
}

#[test]
fn and_binds_tighter_than_or() {
    // A or B and C = A or (B and C): true or (false and false) → passes
    expect(
        "(RowCount = 6) or (RowCount = 1) and (RowCount = 2)",
        Outcome::Passed,
    );
    // (A or B) and C → false
    expect(
        "((RowCount = 6) or (RowCount = 1)) and (RowCount = 2)",
        Outcome::Failed,
    );
    expect(
        "((RowCount = 1) or (IsComplete \"id\")) and ((Mean \"qty\" = 30) or (RowCount = 0))",
        Outcome::Passed,
    );
}

#[test]
fn errors_inside_composites() {
    // an Error member fails an AND only when nothing else failed, and an OR when nothing passed
    expect(
        "(RowCount = 6) and (IsComplete \"id\" where \"nope = 1\")",
        Outcome::Error,
    );
    expect(
        "(RowCount = 5) and (IsComplete \"id\" where \"nope = 1\")",
        Outcome::Failed,
    );
    expect(
        "(RowCount = 6) or (IsComplete \"id\" where \"nope = 1\")",
        Outcome::Passed,
    );
    expect(
        "(RowCount = 5) or (IsComplete \"id\" where \"nope = 1\")",
        Outcome::Error,
    );
}

#[test]
fn evaluated_composite_rules_resolve_each_member() {
    let r = rule("(RowCount > avg(last(2))) and (ColumnCount = 6)");
    assert_eq!(r.evaluated_rule, "(RowCount > 0.0) AND (ColumnCount = 6)");
}
