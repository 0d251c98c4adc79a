//! The SNS message a run sends when it ends with an outcome its spec's `notifications.on` lists.
//!
//! One `Publish` with `MessageStructure=json`: subscribers that people read (email, SMS, push)
//! get the plain-text summary (`default`); those that programs read (SQS, Lambda, HTTP(S),
//! Firehose) get the same summary as one JSON object. The message attributes `pipeline`,
//! `status` and `run_id` let a subscription filter (say, only `status` = `failed`). On a FIFO
//! topic the pipeline is the message group, and the run id with its outcome the deduplication
//! id, so a retried delivery of one outcome is sent once.
//!
//! What is sent is worked out by [`notice`], a pure function; [`send`] publishes it.

use std::collections::HashMap;

use aws_sdk_sns::types::MessageAttributeValue;
use gluepipe_spec::PipelineSpec;
use gluepipe_spec::notifications::{Notifications, RunOutcome};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::run::RunRecord;
use crate::storage::AwsClients;

/// SNS's longest subject.
const MAX_SUBJECT: usize = 100;
/// Failed rules listed by name and reason; the count says how many more there were.
const MAX_RULES_LISTED: usize = 50;
/// Longest error or failure reason quoted, in characters (a message must stay under 256 KiB).
const MAX_QUOTE: usize = 2000;
/// The subscription protocols that get the summary as JSON rather than text.
const JSON_PROTOCOLS: [&str; 5] = ["sqs", "lambda", "http", "https", "firehose"];

/// One run's message.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub subject: String,
    /// For people.
    pub text: String,
    /// For programs: the same facts, as one object.
    pub summary: Value,
}

/// The message for `record`, a finished run of `spec`.
pub fn notice(spec: &PipelineSpec, record: &RunRecord) -> Notice {
    let failed = failed_rules(record);
    let quarantine = (record.rows_quarantined > 0)
        .then(|| spec.quarantine_location().and_then(Result::ok))
        .flatten()
        .map(|l| l.to_string());
    let error = record.error.as_deref().map(quote);
    let summary = json!({
        "pipeline": record.pipeline,
        "run_id": record.run_id,
        "status": record.status,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_seconds": record.duration_seconds,
        "input_files": record.input_files,
        "rows": {
            "in": record.rows_in,
            "written": record.rows_written,
            "rejected": record.rows_rejected,
            "quarantined": record.rows_quarantined,
            "discarded": record.rows_discarded,
        },
        "data_quality": record.data_quality.as_ref().map(|dq| json!({
            "outcome": dq.get("outcome"),
            "rules": dq.get("ruleOutcomes").and_then(Value::as_array).map_or(0, Vec::len),
            "failed_rules": failed.listed,
            "failed_rules_total": failed.total,
        })),
        "error": error,
        "target": spec.target.path,
        "run_record": record.record_path,
        "manifest": record.manifest_path,
        "rejects": record.rejects_path,
        "quarantine": quarantine,
    });
    Notice {
        subject: subject(record),
        text: text(record, &failed, error.as_deref(), &summary),
        summary,
    }
}

/// Publishes the run's notice if its outcome is one `notifications` asks for.
pub async fn send(
    aws: &AwsClients,
    notifications: &Notifications,
    spec: &PipelineSpec,
    record: &RunRecord,
) -> anyhow::Result<()> {
    let Some(outcome) = RunOutcome::parse(&record.status) else {
        anyhow::bail!("the run's status {:?} is not an outcome", record.status);
    };
    if !notifications.wants(outcome) {
        return Ok(());
    }
    let notice = notice(spec, record);
    let mut message = serde_json::Map::new();
    message.insert("default".into(), notice.text.clone().into());
    let as_json = notice.summary.to_string();
    for protocol in JSON_PROTOCOLS {
        message.insert(protocol.into(), as_json.clone().into());
    }
    let attribute = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
    };
    let mut attributes = HashMap::new();
    for (name, value) in [
        ("pipeline", &record.pipeline),
        ("status", &record.status),
        ("run_id", &record.run_id),
    ] {
        attributes.insert(name.to_string(), attribute(value)?);
    }
    let client = aws_sdk_sns::Client::new(aws.sdk_config().await);
    let mut publish = client
        .publish()
        .topic_arn(&notifications.sns_topic_arn)
        .subject(notice.subject)
        .message_structure("json")
        .message(Value::Object(message).to_string())
        .set_message_attributes(Some(attributes));
    if notifications.is_fifo() {
        let id = Sha256::digest(format!("{}\n{}", record.run_id, record.status));
        publish = publish
            .message_group_id(&record.pipeline)
            .message_deduplication_id(hex::encode(id));
    }
    publish
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", gluepipe_spec::aws_error::render("Publish", &e)))?;
    Ok(())
}

/// `gluepipe orders: data_quality_failed`: printable ASCII, as SNS requires, at most 100
/// characters.
fn subject(record: &RunRecord) -> String {
    let full = format!("gluepipe {}: {}", record.pipeline, record.status);
    full.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(MAX_SUBJECT)
        .collect()
}

/// The rules that did not pass, the first [`MAX_RULES_LISTED`] of them by name.
struct FailedRules {
    listed: Vec<Value>,
    total: usize,
}

fn failed_rules(record: &RunRecord) -> FailedRules {
    let outcomes = record
        .data_quality
        .as_ref()
        .and_then(|dq| dq.get("ruleOutcomes"))
        .and_then(Value::as_array);
    let failed: Vec<&Value> = outcomes
        .into_iter()
        .flatten()
        .filter(|r| r.get("Outcome").and_then(Value::as_str) != Some("Passed"))
        .collect();
    let listed = failed
        .iter()
        .take(MAX_RULES_LISTED)
        .map(|r| {
            json!({
                "rule": r.get("Rule"),
                "outcome": r.get("Outcome"),
                "reason": r.get("FailureReason").and_then(Value::as_str).map(quote),
            })
        })
        .collect();
    FailedRules {
        listed,
        total: failed.len(),
    }
}

fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTE {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_QUOTE).collect();
    format!("{cut}… (cut; the run record has all of it)")
}

fn text(record: &RunRecord, failed: &FailedRules, error: Option<&str>, summary: &Value) -> String {
    let mut lines = vec![
        format!(
            "gluepipe pipeline {}: run {} {}.",
            record.pipeline, record.run_id, record.status
        ),
        format!(
            "Started {}, took {:.1} s, read {} input file(s).",
            record.started_at, record.duration_seconds, record.input_files
        ),
        String::new(),
        format!(
            "Rows: {} in, {} written, {} rejected, {} quarantined, {} discarded (read, not \
             published).",
            record.rows_in,
            record.rows_written,
            record.rows_rejected,
            record.rows_quarantined,
            record.rows_discarded
        ),
    ];
    if failed.total > 0 {
        lines.push(String::new());
        lines.push(format!("Rules that did not pass ({}):", failed.total));
        for rule in &failed.listed {
            let name = rule["rule"].as_str().unwrap_or("?");
            let outcome = rule["outcome"].as_str().unwrap_or("Failed");
            let reason = rule["reason"].as_str().unwrap_or("no reason given");
            let outcome = if outcome == "Failed" {
                String::new()
            } else {
                format!(" [{outcome}]")
            };
            lines.push(format!("  - {name}{outcome}: {reason}"));
        }
        if failed.total > failed.listed.len() {
            lines.push(format!(
                "  … and {} more (see the run record)",
                failed.total - failed.listed.len()
            ));
        }
    }
    if let Some(error) = error {
        lines.push(String::new());
        lines.push(format!("Error: {error}"));
    }
    lines.push(String::new());
    for (label, key) in [
        ("Run record", "run_record"),
        ("Manifest", "manifest"),
        ("Rejects", "rejects"),
        ("Quarantine", "quarantine"),
        ("Target", "target"),
    ] {
        if let Some(at) = summary[key].as_str() {
            lines.push(format!("{label}: {at}"));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> PipelineSpec {
        PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw/orders/"]},
                "target": {"path": "s3://curated/orders/"},
                "data_quality": {"ruleset": "Rules = [ IsComplete \"id\" ]",
                                 "on_failure": "quarantine"}}"#,
        )
        .unwrap()
    }

    fn record(status: &str) -> RunRecord {
        RunRecord {
            run_id: "r1".into(),
            pipeline: "orders".into(),
            status: status.into(),
            rows_in: 10,
            rows_written: 6,
            rows_rejected: 1,
            rows_quarantined: 3,
            record_path: Some("s3://curated/orders/_gluepipe/runs/r1.json".into()),
            rejects_path: Some("s3://curated/orders/_gluepipe/rejects/r1.ndjson".into()),
            data_quality: Some(json!({"outcome": "Failed", "ruleOutcomes": [
                {"Rule": "IsComplete \"id\"", "Outcome": "Failed",
                 "FailureReason": "Value: 0.7 does not meet the constraint requirement!"},
                {"Rule": "RowCount > 1", "Outcome": "Passed", "FailureReason": null},
                {"Rule": "CustomSql \"x\" > 1", "Outcome": "Error", "FailureReason": "no x"}
            ]})),
            ..RunRecord::default()
        }
    }

    #[test]
    fn the_notice_names_the_failed_rules_the_counts_and_where_things_are() {
        let n = notice(&spec(), &record("data_quality_failed"));
        assert_eq!(n.subject, "gluepipe orders: data_quality_failed");
        for line in [
            "gluepipe pipeline orders: run r1 data_quality_failed.",
            "Rows: 10 in, 6 written, 1 rejected, 3 quarantined, 0 discarded",
            "Rules that did not pass (2):",
            "  - IsComplete \"id\": Value: 0.7 does not meet the constraint requirement!",
            "  - CustomSql \"x\" > 1 [Error]: no x",
            "Run record: s3://curated/orders/_gluepipe/runs/r1.json",
            "Rejects: s3://curated/orders/_gluepipe/rejects/r1.ndjson",
            "Quarantine: s3://curated/orders_quarantine/",
        ] {
            assert!(n.text.contains(line), "{line:?} in\n{}", n.text);
        }
        assert_eq!(n.summary["rows"]["quarantined"], 3);
        assert_eq!(n.summary["data_quality"]["failed_rules_total"], 2);
        assert_eq!(
            n.summary["data_quality"]["failed_rules"][0]["rule"],
            "IsComplete \"id\""
        );
        assert_eq!(n.summary["quarantine"], "s3://curated/orders_quarantine/");
    }

    #[test]
    fn long_errors_are_cut_and_the_subject_is_what_sns_takes() {
        let mut r = record("failed");
        r.pipeline = format!("ördérs-{}", "x".repeat(200));
        r.error = Some("e".repeat(MAX_QUOTE * 3));
        let n = notice(&spec(), &r);
        assert_eq!(n.subject.chars().count(), MAX_SUBJECT);
        assert!(
            n.subject.starts_with("gluepipe ?rd?rs-xxx"),
            "{}",
            n.subject
        );
        let error = n.summary["error"].as_str().unwrap();
        assert!(error.ends_with("(cut; the run record has all of it)"));
        assert!(error.chars().count() < MAX_QUOTE + 50);
    }

    #[test]
    fn many_failed_rules_are_counted_past_the_ones_listed() {
        let mut r = record("data_quality_failed");
        let rules: Vec<Value> = (0..MAX_RULES_LISTED + 7)
            .map(|i| json!({"Rule": format!("RowCount > {i}"), "Outcome": "Failed"}))
            .collect();
        r.data_quality = Some(json!({"outcome": "Failed", "ruleOutcomes": rules}));
        let n = notice(&spec(), &r);
        assert!(
            n.text.contains("  … and 7 more (see the run record)"),
            "{}",
            n.text
        );
        assert_eq!(
            n.summary["data_quality"]["failed_rules"]
                .as_array()
                .unwrap()
                .len(),
            MAX_RULES_LISTED
        );
    }
}
