//! RowCount, ColumnCount, ColumnExists, ColumnNamesMatchPattern, and what happens to rules that
//! cannot be evaluated.

use super::*;

#[test]
fn row_count_with_conditions_and_where() {
    // 6 rows over two batches
    let r = expect("RowCount = 6", Outcome::Passed);
    assert_eq!(
        r.evaluated_metrics.into_iter().collect::<Vec<_>>(),
        [("Dataset.*.RowCount".to_string(), 6.0)]
    );
    let r = expect("RowCount > 6", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 6.0 does not meet the constraint requirement!")
    );
    expect("RowCount between 5 and 7", Outcome::Passed);
    // between is exclusive: 6 is not between 6 and 7
    expect("RowCount between 6 and 7", Outcome::Failed);
    expect("RowCount not between 6 and 7", Outcome::Passed);
    expect("RowCount in [5, 6]", Outcome::Passed);
    expect("RowCount != 6", Outcome::Failed);
    // qty >= 30: 30, 30, 50 → 3 rows (null qty rows are not kept by the filter)
    let r = expect("RowCount = 3 where \"qty >= 30\"", Outcome::Passed);
    close(metric(&r, "Dataset.*.RowCount"), 3.0);
    // arithmetic has no precedence: 1 + 2 * 2 = (1 + 2) * 2 = 6
    expect("RowCount = 1 + 2 * 2", Outcome::Passed);
}

#[test]
fn row_count_of_no_rows_is_zero() {
    let empty = orders().slice(0, 0);
    let r = single("RowCount = 0", &[empty]);
    assert_eq!(r.outcome, Outcome::Passed);
    close(metric(&r, "Dataset.*.RowCount"), 0.0);
}

#[test]
fn column_count_exists_and_name_patterns() {
    // id qty price name city day
    let r = expect("ColumnCount = 6", Outcome::Passed);
    close(metric(&r, "Dataset.*.ColumnCount"), 6.0);
    expect("ColumnCount < 6", Outcome::Failed);
    let r = expect("ColumnExists \"city\"", Outcome::Passed);
    assert!(r.evaluated_metrics.is_empty());
    let r = expect("ColumnExists \"country\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Column country does not exist in the dataset")
    );
    // all six names are lower-case letters
    let r = expect("ColumnNamesMatchPattern \"^[a-z]+$\"", Outcome::Passed);
    close(metric(&r, "Dataset.*.ColumnNamesPatternMatchRatio"), 1.0);
    // names containing an "i": id, price, city → 3 of 6 (an unanchored search, as deequ)
    let r = expect("ColumnNamesMatchPattern \"i\"", Outcome::Failed);
    close(metric(&r, "Dataset.*.ColumnNamesPatternMatchRatio"), 0.5);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Columns that do not match the pattern: qty, name, day")
    );
    expect("ColumnNamesMatchPattern \"[\"", Outcome::Error);
}

#[test]
fn rules_that_cannot_be_evaluated() {
    let r = expect("IsComplete \"nope\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Column nope does not exist in the dataset")
    );
    let r = expect("RowCount > 0 where \"nope > 1\"", Outcome::Error);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("The provided where clause is invalid: column nope does not exist")
    );
    let r = expect("RowCount > 0 where \"qty >\"", Outcome::Error);
    assert!(
        r.failure_reason
            .unwrap()
            .starts_with("The provided where clause is invalid: expected an expression")
    );
    // a filter that parses but cannot be typed fails when the first batch arrives
    let r = expect("RowCount > 0 where \"day + 1 > 0\"", Outcome::Error);
    assert!(
        r.failure_reason.unwrap().contains("cannot do arithmetic"),
        "typed at run time"
    );
    let r = expect("FileSize < 5 MB", Outcome::Error);
    assert!(r.failure_reason.unwrap().contains("not supported"));
    // column names resolve case-insensitively, as in Spark
    expect("IsComplete \"ID\"", Outcome::Passed);
}

#[test]
fn one_bad_rule_does_not_hide_the_others() {
    let results = run(
        "RowCount = 6, IsComplete \"nope\", ColumnCount = 6",
        &orders_batches(),
    );
    let outcomes: Vec<Outcome> = results.rule_outcomes.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Passed, Outcome::Failed, Outcome::Passed]
    );
    assert_eq!(results.outcome, Outcome::Failed);
    close(results.score, 2.0 / 3.0);
}
