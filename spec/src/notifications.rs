//! `notifications`: an SNS message after each run whose outcome is in `on`. The provider grants
//! the job's role `sns:Publish` on this one topic; `gluepipe-etl` sends the message (see
//! `etl/src/notify.rs` for what it carries, and `docs/resources/pipeline.md`).

use serde::{Deserialize, Serialize};

use crate::pipeline::PathStep::{self, Field, Index};

/// How a run ended, as its record's `status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    DataQualityFailed,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 3] = [
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::DataQualityFailed,
    ];

    /// The word the run record, the CLI and the resource use.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::DataQualityFailed => "data_quality_failed",
        }
    }

    pub fn parse(word: &str) -> Option<RunOutcome> {
        RunOutcome::ALL.into_iter().find(|o| o.as_str() == word)
    }
}

/// Where and when to send a run's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    pub sns_topic_arn: String,
    /// The outcomes that send a message; default [`DEFAULT_ON`]: the ones someone must act on.
    #[serde(default = "default_on")]
    pub on: Vec<RunOutcome>,
}

/// What `on` is when left out.
pub const DEFAULT_ON: [RunOutcome; 2] = [RunOutcome::Failed, RunOutcome::DataQualityFailed];

fn default_on() -> Vec<RunOutcome> {
    DEFAULT_ON.to_vec()
}

impl Notifications {
    pub fn wants(&self, outcome: RunOutcome) -> bool {
        self.on.contains(&outcome)
    }

    /// A FIFO topic needs a message group and a deduplication id on every message.
    pub fn is_fifo(&self) -> bool {
        self.sns_topic_arn.ends_with(".fifo")
    }
}

/// An SNS topic ARN, split: `arn:<partition>:sns:<region>:<account>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

/// Parses a topic ARN, or says what is wrong with it.
pub fn parse_topic_arn(arn: &str) -> Result<TopicArn<'_>, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, name] = parts[..] else {
        return Err(format!(
            "an SNS topic ARN has six `:`-separated parts, \
             arn:aws:sns:<region>:<account>:<topic>; {arn:?} has {}",
            parts.len()
        ));
    };
    if prefix != "arn" || !partition.starts_with("aws") || service != "sns" {
        return Err(format!(
            "{arn:?} is not an SNS topic ARN (it must start arn:aws…:sns:)"
        ));
    }
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !region_ok {
        return Err(format!("{region:?} in {arn:?} is not a region"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{account:?} in {arn:?} is not an account id (12 digits)"
        ));
    }
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let name_ok = !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "{name:?} in {arn:?} is not a topic name (1 to 256 letters, digits, `-` and `_`, \
             optionally ending .fifo)"
        ));
    }
    Ok(TopicArn {
        partition,
        region,
        account,
        name,
    })
}

/// Every problem in `n`, as (path under `notifications`, summary, detail).
pub fn validate(n: &Notifications) -> Vec<(Vec<PathStep>, &'static str, String)> {
    let mut issues = Vec::new();
    if let Err(detail) = parse_topic_arn(&n.sns_topic_arn) {
        issues.push((
            vec![Field("sns_topic_arn")],
            "Invalid SNS topic ARN",
            detail,
        ));
    }
    if n.on.is_empty() {
        issues.push((
            vec![Field("on")],
            "No outcome to notify on",
            "`on` lists at least one of succeeded, failed, data_quality_failed; to send \
             nothing, remove the notifications block"
                .to_string(),
        ));
    }
    for (i, outcome) in n.on.iter().enumerate() {
        if n.on[..i].contains(outcome) {
            issues.push((
                vec![Field("on"), Index(i)],
                "Outcome listed twice",
                format!("{:?} is already in `on`", outcome.as_str()),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_topic_arn_is_split_or_refused_with_the_reason() {
        let arn = parse_topic_arn("arn:aws:sns:eu-west-1:123456789012:alerts.fifo").unwrap();
        assert_eq!(
            (arn.partition, arn.region, arn.account, arn.name),
            ("aws", "eu-west-1", "123456789012", "alerts.fifo")
        );
        for (bad, says) in [
            ("alerts", "six"),
            (
                "arn:aws:sqs:eu-west-1:123456789012:alerts",
                "not an SNS topic ARN",
            ),
            ("arn:aws:sns:eu-west-1:1234:alerts", "account id"),
            ("arn:aws:sns::123456789012:alerts", "region"),
            ("arn:aws:sns:eu-west-1:123456789012:al erts", "topic name"),
            ("arn:aws:sns:eu-west-1:123456789012:.fifo", "topic name"),
        ] {
            let e = parse_topic_arn(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn on_defaults_to_the_outcomes_to_act_on_and_refuses_empty_or_repeated() {
        let n: Notifications =
            serde_json::from_str(r#"{"sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:t"}"#)
                .unwrap();
        assert_eq!(n.on, DEFAULT_ON);
        assert!(validate(&n).is_empty());
        assert!(!n.wants(RunOutcome::Succeeded) && n.wants(RunOutcome::Failed));

        let empty = Notifications {
            on: vec![],
            ..n.clone()
        };
        assert_eq!(validate(&empty)[0].1, "No outcome to notify on");
        let twice = Notifications {
            on: vec![
                RunOutcome::Failed,
                RunOutcome::Succeeded,
                RunOutcome::Failed,
            ],
            ..n
        };
        let issues = validate(&twice);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].0, vec![Field("on"), Index(2)]);
    }

    #[test]
    fn outcomes_read_and_print_as_the_run_record_does() {
        for outcome in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(outcome.as_str()), Some(outcome));
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
        assert_eq!(RunOutcome::parse("Failed"), None);
    }
}
