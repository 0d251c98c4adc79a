//! The results JSON has Glue's shape.

use serde_json::{Value, json};

use super::*;

#[test]
fn results_serialise_in_glues_shape() {
    let results = run_with(
        "Rules = [ RowCount = 6, IsComplete \"qty\" ] Analyzers = [ Completeness \"qty\", Mean \"name\" ]",
        &orders_batches(),
        DqContext::at(now()),
    );
    let v: Value = serde_json::to_value(&results).unwrap();
    assert_eq!(
        v,
        json!({
            "outcome": "Failed",
            "score": 0.5,
            "rowCount": 6,
            "ruleOutcomes": [
                {
                    "Rule": "RowCount = 6",
                    "Outcome": "Passed",
                    "FailureReason": null,
                    "EvaluatedMetrics": {"Dataset.*.RowCount": 6.0},
                    "EvaluatedRule": "RowCount = 6"
                },
                {
                    "Rule": "IsComplete \"qty\"",
                    "Outcome": "Failed",
                    "FailureReason": "Value: 0.6666666666666666 does not meet the constraint requirement!",
                    "EvaluatedMetrics": {"Column.qty.Completeness": 0.6666666666666666},
                    "EvaluatedRule": "IsComplete \"qty\""
                }
            ],
            "analyzerResults": [
                {
                    "Analyzer": "Completeness \"qty\"",
                    "EvaluatedMetrics": {"Column.qty.Completeness": 0.6666666666666666},
                    "FailureReason": null
                },
                {
                    "Analyzer": "Mean \"name\"",
                    "EvaluatedMetrics": {},
                    "FailureReason": "Column name has type Utf8, which is not numeric"
                }
            ]
        })
    );
    let back: DqResults = serde_json::from_value(v).unwrap();
    assert_eq!(back, results);
    assert!(
        results
            .summary()
            .contains("Failed: 1 of 2 rules passed over 6 rows")
    );
}

#[test]
fn analyzers_only() {
    let results = run_with(
        "Analyzers = [ RowCount, AllStatistics \"qty\", AllStatistics \"city\", ColumnLength \"name\" ]",
        &orders_batches(),
        DqContext::at(now()),
    );
    assert_eq!(results.outcome, Outcome::Passed);
    assert_eq!(results.score, 1.0);
    let m = |i: usize, k: &str| results.analyzer_results[i].evaluated_metrics[k];
    close(m(0, "Dataset.*.RowCount"), 6.0);
    close(m(1, "Column.qty.Mean"), 30.0);
    close(m(1, "Column.qty.Maximum"), 50.0);
    close(m(1, "Column.qty.Uniqueness"), 0.5);
    close(m(2, "Column.city.DistinctValuesCount"), 4.0);
    close(m(2, "Column.city.MaximumLength"), 2.0);
    close(m(3, "Column.name.MinimumLength"), 0.0);
}
