//! Uniqueness, IsUnique, IsPrimaryKey, DistinctValuesCount, UniqueValueRatio, Entropy and
//! DuplicateRowCount: all read one exact distinct-value table per column set and filter.

use super::*;

#[test]
fn uniqueness_counts_values_occurring_once_over_rows_with_a_value() {
    // city: NY NY NY SF LA (null skipped) → 5 rows with a value, SF and LA occur once → 2/5
    let r = expect("Uniqueness \"city\" = 0.4", Outcome::Passed);
    close(metric(&r, "Column.city.Uniqueness"), 0.4);
    // qty: 10 30 30 50 → 10 and 50 once → 2/4
    let r = expect("Uniqueness \"qty\" > 0.4", Outcome::Passed);
    close(metric(&r, "Column.qty.Uniqueness"), 0.5);
    // (city, qty) tuples: (NY,10) (SF,null) (NY,30) (LA,30) (NY,50); (null,null) has no value
    // → 5 rows, all distinct → 1.0
    let r = expect("Uniqueness \"city\" \"qty\" = 1.0", Outcome::Passed);
    close(metric(&r, "Multicolumn.city,qty.Uniqueness"), 1.0);
    // where city = 'NY': qty 10 30 50 → all once
    let r = expect(
        "Uniqueness \"qty\" = 1.0 where \"city = 'NY'\"",
        Outcome::Passed,
    );
    close(metric(&r, "Column.qty.Uniqueness"), 1.0);
}

#[test]
fn is_unique_and_is_primary_key() {
    let r = expect("IsUnique \"id\"", Outcome::Passed);
    close(metric(&r, "Column.id.Uniqueness"), 1.0);
    let r = expect("IsUnique \"city\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.4 does not meet the constraint requirement!")
    );
    let r = expect("IsPrimaryKey \"id\"", Outcome::Passed);
    close(metric(&r, "Column.id.Uniqueness"), 1.0);
    close(metric(&r, "Column.id.Completeness"), 1.0);
    // qty: uniqueness 0.5 and completeness 4/6
    let r = expect("IsPrimaryKey \"qty\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some(
            "Value: 0.5 does not meet the constraint requirement!\n\
             Value: 0.6666666666666666 does not meet the constraint requirement!"
        )
    );
    // (id, city) is unique, but city is only 5/6 complete
    let r = expect("IsPrimaryKey \"id\" \"city\"", Outcome::Failed);
    close(metric(&r, "Multicolumn.id,city.Uniqueness"), 1.0);
    close(metric(&r, "Column.city.Completeness"), 5.0 / 6.0);
}

#[test]
fn distinct_values_unique_ratio_and_entropy() {
    // NY SF LA plus null counted as its own value (deequ's histogram) → 4
    let r = expect("DistinctValuesCount \"city\" = 4", Outcome::Passed);
    close(metric(&r, "Column.city.DistinctValuesCount"), 4.0);
    // without nulls: id has 6
    expect("DistinctValuesCount \"id\" = 6", Outcome::Passed);
    // SF, LA once of 3 distinct → 2/3
    let r = expect(
        "UniqueValueRatio \"city\" between 0.6 and 0.7",
        Outcome::Passed,
    );
    close(metric(&r, "Column.city.UniqueValueRatio"), 2.0 / 3.0);
    // counts 3, 1, 1 of 5: −(0.6 ln 0.6 + 2 · 0.2 ln 0.2) = 0.3064954 + 0.6437752 = 0.9502705
    let r = expect("Entropy \"city\" > 0.95", Outcome::Passed);
    close(metric(&r, "Column.city.Entropy"), 0.950_270_539_233_234_5);
    // the docs' example: [0,0,0,5,6,7] → 1.2425 (natural log)
    let b = batch(vec![(
        "v",
        Arc::new(Int64Array::from(vec![0, 0, 0, 5, 6, 7])) as ArrayRef,
    )]);
    let r = single("Entropy \"v\" between 1.24 and 1.25", &[b]);
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
}

#[test]
fn duplicate_row_count() {
    // city NY ×3 → every member of the repeated group counts: 3
    let r = expect("DuplicateRowCount \"city\" = 3", Outcome::Passed);
    close(metric(&r, "Multicolumn.city.DuplicateRowCount"), 3.0);
    // whole rows of orders are all distinct
    let r = expect("DuplicateRowCount = 0", Outcome::Passed);
    close(metric(&r, "Dataset.*.DuplicateRowCount"), 0.0);
    // [a, a, b] with [a] repeated across batches → a a a: 3 duplicates; (null,null) ignored
    let mk = |a: Vec<Option<&str>>, b: Vec<Option<i64>>| {
        batch(vec![
            ("a", Arc::new(StringArray::from(a)) as ArrayRef),
            ("b", Arc::new(Int64Array::from(b)) as ArrayRef),
        ])
    };
    let batches = [
        mk(
            vec![Some("a"), Some("a"), Some("b"), None],
            vec![Some(1), Some(1), Some(2), None],
        ),
        mk(vec![Some("a"), None], vec![Some(1), None]),
    ];
    let r = single("DuplicateRowCount = 3", &batches);
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    // where that keeps nothing → 0
    let r = single("DuplicateRowCount = 0 where \"b > 100\"", &batches);
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
}

#[test]
fn frequency_rules_without_values_fail_with_a_reason() {
    let r = single("Uniqueness \"qty\" > 0", &[orders().slice(1, 1)]);
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.failure_reason
            .unwrap()
            .contains("Column.qty.Uniqueness has no value")
    );
    assert!(r.evaluated_metrics.is_empty());
}
