//! CloudWatch metrics a run publishes when it ends (the spec's `metrics`, or
//! `--cloudwatch-metrics`), so that alarms and dashboards see every run:
//!
//! - namespace `Glue Data Quality`: `glue.data.quality.rules.passed` and
//!   `glue.data.quality.rules.failed` (rule counts; a rule that could not be evaluated counts as
//!   failed), dimension `EvaluationContext` — the names Glue's `EvaluateDataQuality` publishes,
//!   so alarms made for a Glue job keep working. Only for a run that evaluated a ruleset.
//! - namespace `gluepipe`, dimension `Pipeline`: `RowsIn`, `RowsWritten`, `RowsRejected`,
//!   `RowsQuarantined`, `RowsDiscarded` (counts), `Duration` (seconds), and one of
//!   `RunSucceeded`, `RunFailed`, `RunDataQualityFailed` as 1 with the other two 0, so that a
//!   `Sum` alarm on `RunFailed` sees a quiet period as zeros, not as missing data.
//!
//! What is published is worked out by [`data`], a pure function; [`put`] sends it.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use gluepipe_spec::pipeline::{DQ_METRICS_NAMESPACE, RUN_METRICS_NAMESPACE};

use crate::run::RunRecord;
use crate::storage::AwsClients;

/// One value to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub namespace: &'static str,
    pub name: &'static str,
    /// The one dimension: name and value.
    pub dimension: (&'static str, String),
    pub value: f64,
    pub seconds: bool,
}

/// The metrics of a finished run; `evaluation_context` is the data-quality dimension.
pub fn data(record: &RunRecord, evaluation_context: &str) -> Vec<Datum> {
    let run = |name: &'static str, value: f64, seconds: bool| Datum {
        namespace: RUN_METRICS_NAMESPACE,
        name,
        dimension: ("Pipeline", record.pipeline.clone()),
        value,
        seconds,
    };
    let count = |n: u64| n as f64;
    let outcome = |status: &str| if record.status == status { 1.0 } else { 0.0 };
    let mut data = vec![
        run("RowsIn", count(record.rows_in), false),
        run("RowsWritten", count(record.rows_written), false),
        run("RowsRejected", count(record.rows_rejected), false),
        run("RowsQuarantined", count(record.rows_quarantined), false),
        run("RowsDiscarded", count(record.rows_discarded), false),
        run("Duration", record.duration_seconds, true),
        run("RunSucceeded", outcome("succeeded"), false),
        run("RunFailed", outcome("failed"), false),
        run(
            "RunDataQualityFailed",
            outcome("data_quality_failed"),
            false,
        ),
    ];
    if let Some((passed, failed)) = rule_counts(record) {
        for (name, value) in [
            ("glue.data.quality.rules.passed", passed),
            ("glue.data.quality.rules.failed", failed),
        ] {
            data.push(Datum {
                namespace: DQ_METRICS_NAMESPACE,
                name,
                dimension: ("EvaluationContext", evaluation_context.to_owned()),
                value: value as f64,
                seconds: false,
            });
        }
    }
    data
}

/// Rules passed and not passed, from the record's data-quality results (none evaluated: `None`).
fn rule_counts(record: &RunRecord) -> Option<(usize, usize)> {
    let outcomes = record
        .data_quality
        .as_ref()?
        .get("ruleOutcomes")?
        .as_array()?;
    let passed = outcomes
        .iter()
        .filter(|r| r.get("Outcome").and_then(|o| o.as_str()) == Some("Passed"))
        .count();
    Some((passed, outcomes.len() - passed))
}

/// Publishes `data`, one request per namespace (a request names one namespace).
pub async fn put(aws: &AwsClients, data: &[Datum]) -> anyhow::Result<()> {
    let client = aws_sdk_cloudwatch::Client::new(aws.sdk_config().await);
    let now = aws_sdk_cloudwatch::primitives::DateTime::from(std::time::SystemTime::now());
    for namespace in [RUN_METRICS_NAMESPACE, DQ_METRICS_NAMESPACE] {
        let data: Vec<MetricDatum> = data
            .iter()
            .filter(|d| d.namespace == namespace)
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(d.name)
                    .dimensions(
                        Dimension::builder()
                            .name(d.dimension.0)
                            .value(&d.dimension.1)
                            .build(),
                    )
                    .value(d.value)
                    .unit(if d.seconds {
                        StandardUnit::Seconds
                    } else {
                        StandardUnit::Count
                    })
                    .timestamp(now)
                    .build()
            })
            .collect();
        if data.is_empty() {
            continue;
        }
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("{}", gluepipe_spec::aws_error::render("PutMetricData", &e))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(status: &str, dq: Option<serde_json::Value>) -> RunRecord {
        RunRecord {
            pipeline: "orders".into(),
            status: status.into(),
            rows_in: 10,
            rows_written: 7,
            rows_rejected: 1,
            rows_quarantined: 2,
            duration_seconds: 1.5,
            data_quality: dq,
            ..RunRecord::default()
        }
    }

    fn value(data: &[Datum], name: &str) -> Option<f64> {
        data.iter().find(|d| d.name == name).map(|d| d.value)
    }

    #[test]
    fn a_run_publishes_its_counts_and_one_outcome() {
        let data = data(&record("data_quality_failed", None), "ctx");
        assert_eq!(value(&data, "RowsIn"), Some(10.0));
        assert_eq!(value(&data, "RowsWritten"), Some(7.0));
        assert_eq!(value(&data, "RowsQuarantined"), Some(2.0));
        assert_eq!(value(&data, "Duration"), Some(1.5));
        assert_eq!(value(&data, "RunDataQualityFailed"), Some(1.0));
        assert_eq!(value(&data, "RunFailed"), Some(0.0));
        assert_eq!(value(&data, "RunSucceeded"), Some(0.0));
        assert!(data.iter().all(
            |d| d.namespace == "gluepipe" && d.dimension == ("Pipeline", "orders".to_string())
        ));
        // No ruleset evaluated: no data-quality metrics (Glue publishes none either).
        assert_eq!(value(&data, "glue.data.quality.rules.passed"), None);
    }

    #[test]
    fn rule_counts_use_glues_names_and_an_error_counts_as_failed() {
        let dq = serde_json::json!({"ruleOutcomes": [
            {"Rule": "a", "Outcome": "Passed"},
            {"Rule": "b", "Outcome": "Failed"},
            {"Rule": "c", "Outcome": "Error"},
            {"Rule": "d", "Outcome": "Passed"},
        ]});
        let data = data(&record("succeeded", Some(dq)), "orders_ctx");
        let dq: Vec<&Datum> = data
            .iter()
            .filter(|d| d.namespace == "Glue Data Quality")
            .collect();
        assert_eq!(dq.len(), 2);
        assert!(
            dq.iter()
                .all(|d| d.dimension == ("EvaluationContext", "orders_ctx".to_string()))
        );
        assert_eq!(value(&data, "glue.data.quality.rules.passed"), Some(2.0));
        assert_eq!(value(&data, "glue.data.quality.rules.failed"), Some(2.0));
    }
}
