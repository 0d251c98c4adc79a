//! Dynamic rules and DetectAnomalies over a local metric history, and what every run records.

use std::collections::BTreeMap;

use super::*;
use crate::dq::history::{LocalMetricHistory, MetricHistory, RunRecord};

fn record(metrics: &[(&str, f64)]) -> RunRecord {
    RunRecord {
        run_id: "earlier".into(),
        evaluated_at: "2024-05-01T00:00:00.000Z".into(),
        outcome: Outcome::Passed,
        metrics: metrics
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A history store in a fresh folder holding `earlier` runs.
fn store(dir: &std::path::Path, earlier: &[&[(&str, f64)]]) -> LocalMetricHistory {
    let s = LocalMetricHistory::new(dir, "orders");
    for m in earlier {
        s.append(&record(m)).unwrap();
    }
    s
}

fn run_dynamic(rules: &str, history: LocalMetricHistory) -> DqResults {
    run_with(
        rules,
        &orders_batches(),
        DqContext::at(now())
            .with_history(history)
            .with_run_id("this"),
    )
}

#[test]
fn last_k_reads_earlier_runs_and_each_run_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let h = store(
        dir.path(),
        &[
            &[("Dataset.*.RowCount", 4.0)],
            &[("Dataset.*.RowCount", 8.0)],
        ],
    );
    // avg(last(2)) = (8 + 4) / 2 = 6, and there are 6 rows
    let results = run_dynamic(
        "Rules = [ RowCount >= avg(last(2)), RowCount > max(last(5)) ] Analyzers = [ Mean \"qty\" ]",
        h.clone(),
    );
    let (a, b) = (&results.rule_outcomes[0], &results.rule_outcomes[1]);
    assert_eq!(a.outcome, Outcome::Passed);
    assert_eq!(a.rule, "RowCount >= avg(last(2))");
    assert_eq!(a.evaluated_rule, "RowCount >= 6.0");
    // max(last(5)) = 8 > 6
    assert_eq!(b.outcome, Outcome::Failed);
    assert_eq!(b.evaluated_rule, "RowCount > 8.0");
    let runs = h.load().unwrap();
    assert_eq!(runs.len(), 3);
    let this = &runs[2];
    assert_eq!(
        (this.run_id.as_str(), this.outcome),
        ("this", Outcome::Failed)
    );
    assert_eq!(this.metrics.get("Dataset.*.RowCount"), Some(&6.0));
    assert_eq!(this.metrics.get("Column.qty.Mean"), Some(&30.0));
}

#[test]
fn history_keys_keep_rules_with_where_apart() {
    let dir = tempfile::tempdir().unwrap();
    let h = store(
        dir.path(),
        &[&[
            ("Column.qty.Completeness", 0.1),
            ("Column.qty.Completeness (where: city = 'NY')", 0.9),
        ]],
    );
    let results = run_dynamic(
        "Rules = [ Completeness \"qty\" > last(1) * 2 where \"city = 'NY'\", Completeness \"qty\" > index(last(1), 0) ]",
        h.clone(),
    );
    // last(1) * 2 does arithmetic on a list: the rule cannot be evaluated
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Error);
    // overall completeness 0.667 > the 0.1 recorded without a where clause
    assert_eq!(results.rule_outcomes[1].outcome, Outcome::Passed);
    assert_eq!(
        results.rule_outcomes[1].evaluated_rule,
        "Completeness \"qty\" > 0.1"
    );
    // The first run measured the NY completeness (1.0) even though its condition could not be
    // evaluated, so that is the latest value now.
    let results = run_dynamic(
        "Rules = [ Completeness \"qty\" >= avg(last(1)) where \"city = 'NY'\" ]",
        h.clone(),
    );
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Passed);
    assert_eq!(
        results.rule_outcomes[0].evaluated_rule,
        "Completeness \"qty\" >= 1.0 where \"city = 'NY'\""
    );
    let last = h.load().unwrap().pop().unwrap();
    assert_eq!(
        last.metrics
            .get("Column.qty.Completeness (where: city = 'NY')"),
        Some(&1.0)
    );
    assert_eq!(last.metrics.get("Column.qty.Completeness"), None);
}

#[test]
fn without_history_last_is_zero() {
    // no store: last(3) = [0.0], so RowCount > avg(last(3)) is 6 > 0
    let r = rule("RowCount > avg(last(3))");
    assert_eq!(r.outcome, Outcome::Passed);
    assert_eq!(r.evaluated_rule, "RowCount > 0.0");
}

#[test]
fn detect_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    // earlier row counts 100 101 99: mean 100, population std 0.816 → band ±2.45; 6 is far out
    let h = store(
        dir.path(),
        &[
            &[("Dataset.*.RowCount", 100.0)],
            &[("Dataset.*.RowCount", 101.0)],
            &[("Dataset.*.RowCount", 99.0)],
        ],
    );
    let results = run_dynamic("Rules = [ DetectAnomalies \"RowCount\" ]", h);
    let r = &results.rule_outcomes[0];
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.failure_reason
            .as_deref()
            .unwrap_or("")
            .contains("is an anomaly"),
        "{r:?}"
    );
    close(metric(r, "Dataset.*.RowCount"), 6.0);

    // 5 7 6: mean 6, band ±2.45 → 6 is normal
    let dir = tempfile::tempdir().unwrap();
    let h = store(
        dir.path(),
        &[
            &[("Column.qty.Mean", 29.0)],
            &[("Column.qty.Mean", 31.0)],
            &[("Column.qty.Mean", 30.0)],
        ],
    );
    let results = run_dynamic("Rules = [ DetectAnomalies \"Mean\" \"qty\" ]", h);
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Passed);

    // fewer than 3 earlier runs: not enough to judge
    let dir = tempfile::tempdir().unwrap();
    let h = store(dir.path(), &[&[("Dataset.*.RowCount", 100.0)]]);
    let results = run_dynamic("Rules = [ DetectAnomalies \"RowCount\" ]", h);
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Passed);

    let r = rule("DetectAnomalies \"Bogus\"");
    assert_eq!(r.outcome, Outcome::Error);
}
