//! Completeness, IsComplete, Mean, Sum, StandardDeviation, Variance, Range, ColumnCorrelation.

use super::*;

#[test]
fn completeness_counts_non_null_rows() {
    // qty: 4 of 6 non-null
    let r = expect("Completeness \"qty\" > 0.6", Outcome::Passed);
    close(metric(&r, "Column.qty.Completeness"), 4.0 / 6.0);
    expect("Completeness \"qty\" >= 0.7", Outcome::Failed);
    // empty strings are complete: only row 3 is null
    let r = expect(
        "Completeness \"name\" = 0.8333333333333334",
        Outcome::Passed,
    );
    close(metric(&r, "Column.name.Completeness"), 5.0 / 6.0);
    // where city = 'NY': rows 1, 3, 5 with qty 10, 30, 50 → 1.0
    expect(
        "Completeness \"qty\" = 1.0 where \"city = 'NY'\"",
        Outcome::Passed,
    );
    expect("IsComplete \"id\"", Outcome::Passed);
    let r = expect("IsComplete \"qty\"", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.6666666666666666 does not meet the constraint requirement!")
    );
    expect("IsComplete \"qty\" where \"city = 'NY'\"", Outcome::Passed);
}

#[test]
fn mean_sum_deviation_variance_range() {
    // qty: 10 30 30 50 → sum 120, mean 30, deviations −20 0 0 20, M2 = 800,
    // population variance 800/4 = 200, std dev √200 = 14.142135623730951, range 40
    let r = expect("Mean \"qty\" = 30", Outcome::Passed);
    close(metric(&r, "Column.qty.Mean"), 30.0);
    let r = expect("Sum \"qty\" = 120", Outcome::Passed);
    close(metric(&r, "Column.qty.Sum"), 120.0);
    let r = expect(
        "StandardDeviation \"qty\" between 14.1 and 14.2",
        Outcome::Passed,
    );
    close(metric(&r, "Column.qty.StandardDeviation"), 200f64.sqrt());
    let r = expect("Variance \"qty\" = 200", Outcome::Passed);
    close(metric(&r, "Column.qty.Variance"), 200.0);
    let r = expect("Range \"qty\" = 40", Outcome::Passed);
    close(metric(&r, "Column.qty.Range"), 40.0);
    // price: 1.5 2.5 4 5 6 → mean 19/5 = 3.8
    let r = expect("Mean \"price\" > 3.7", Outcome::Passed);
    close(metric(&r, "Column.price.Mean"), 3.8);
    // where city = 'SF' → only a null qty: no value
    let r = expect("Mean \"qty\" > 0 where \"city = 'SF'\"", Outcome::Failed);
    assert!(
        r.failure_reason
            .unwrap()
            .starts_with("Value: NULL does not meet")
    );
    let r = expect("Mean \"name\" > 0", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Column name has type Utf8, which is not numeric")
    );
}

#[test]
fn the_docs_standard_deviation_example() {
    // [0, 20, 40]: mean 20, M2 = 400 + 0 + 400 = 800, variance 800/3, std dev 16.33
    let b = batch(vec![(
        "v",
        Arc::new(Int64Array::from(vec![0, 20, 40])) as ArrayRef,
    )]);
    let r = single("StandardDeviation \"v\" between 16.32 and 16.34", &[b]);
    assert_eq!(r.outcome, Outcome::Passed);
}

#[test]
fn correlation_over_rows_where_both_are_present() {
    // pairs (qty, price) with both present: (10, 1.5) (30, 4.0) (50, 5.0)
    // means 30 and 3.5; dx −20 0 20; dy −2 0.5 1.5; Σdxdy = 40 + 0 + 30 = 70;
    // Σdx² = 800; Σdy² = 4 + 0.25 + 2.25 = 6.5 → 70 / √5200 = 0.9707253433941511
    let r = expect(
        "ColumnCorrelation \"qty\" \"price\" > 0.97",
        Outcome::Passed,
    );
    close(
        metric(&r, "Multicolumn.qty,price.ColumnCorrelation"),
        70.0 / 5200f64.sqrt(),
    );
    expect("ColumnCorrelation \"qty\" \"city\" > 0", Outcome::Failed);
}
