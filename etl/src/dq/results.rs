//! `DqResults`: the outcome of a ruleset in the shape Glue's `EvaluateDataQuality` gives —
//! per rule `Rule`, `Outcome`, `FailureReason`, `EvaluatedMetrics`, `EvaluatedRule` — plus the
//! overall `outcome`, analyzer metrics and the row count.
//!
//! ```json
//! {
//!   "outcome": "Failed",
//!   "score": 0.5,
//!   "rowCount": 1000,
//!   "ruleOutcomes": [
//!     {"Rule": "IsComplete \"order_id\"", "Outcome": "Failed",
//!      "FailureReason": "Value: 0.98 does not meet the constraint requirement!",
//!      "EvaluatedMetrics": {"Column.order_id.Completeness": 0.98},
//!      "EvaluatedRule": "IsComplete \"order_id\""},
//!     {"Rule": "RowCount > 10", "Outcome": "Passed", "FailureReason": null,
//!      "EvaluatedMetrics": {"Dataset.*.RowCount": 1000.0}, "EvaluatedRule": "RowCount > 10"}
//!   ],
//!   "analyzerResults": [
//!     {"Analyzer": "Completeness \"price\"", "EvaluatedMetrics": {"Column.price.Completeness": 1.0},
//!      "FailureReason": null}
//!   ]
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Metric name → value, sorted by name.
pub type Metrics = BTreeMap<String, f64>;

/// What happened to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The data meets the rule.
    Passed,
    /// The data does not meet the rule.
    Failed,
    /// The rule could not be evaluated (invalid `where`, unsupported SQL, missing reference …).
    Error,
}

impl Outcome {
    /// `Passed` / `Failed` / `Error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "Passed",
            Outcome::Failed => "Failed",
            Outcome::Error => "Error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one top-level rule (a composite is one rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The canonical rule text.
    #[serde(rename = "Rule")]
    pub rule: String,
    /// Passed, Failed or Error.
    #[serde(rename = "Outcome")]
    pub outcome: Outcome,
    /// Why it did not pass; `null` when it passed.
    #[serde(rename = "FailureReason")]
    pub failure_reason: Option<String>,
    /// The metrics the rule was decided on (merged over a composite's members).
    #[serde(rename = "EvaluatedMetrics")]
    pub evaluated_metrics: Metrics,
    /// The rule with dynamic expressions (`avg(last(3))`) replaced by their values.
    #[serde(rename = "EvaluatedRule")]
    pub evaluated_rule: String,
}

/// The metrics of one analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyzerResult {
    /// The canonical analyzer text.
    #[serde(rename = "Analyzer")]
    pub analyzer: String,
    /// What it measured.
    #[serde(rename = "EvaluatedMetrics")]
    pub evaluated_metrics: Metrics,
    /// Why some metric could not be computed, if so.
    #[serde(rename = "FailureReason")]
    pub failure_reason: Option<String>,
}

/// The results of a whole ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DqResults {
    /// `Passed` when every rule passed, else `Failed` (an `Error` rule fails the ruleset).
    pub outcome: Outcome,
    /// Fraction of rules that passed (1.0 for a ruleset with analyzers only).
    pub score: f64,
    /// Rows evaluated.
    pub row_count: u64,
    /// One entry per top-level rule, in ruleset order.
    pub rule_outcomes: Vec<RuleResult>,
    /// One entry per analyzer, in ruleset order.
    pub analyzer_results: Vec<AnalyzerResult>,
}

impl DqResults {
    /// Builds the overall outcome and score from the rule results.
    pub fn new(
        row_count: u64,
        rule_outcomes: Vec<RuleResult>,
        analyzer_results: Vec<AnalyzerResult>,
    ) -> Self {
        let passed = rule_outcomes
            .iter()
            .filter(|r| r.outcome == Outcome::Passed)
            .count();
        let outcome = if passed == rule_outcomes.len() {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        let score = if rule_outcomes.is_empty() {
            1.0
        } else {
            passed as f64 / rule_outcomes.len() as f64
        };
        DqResults {
            outcome,
            score,
            row_count,
            rule_outcomes,
            analyzer_results,
        }
    }

    /// Whether every rule passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// A plain-text report, one line per rule (the CLI's non-JSON output).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for r in &self.rule_outcomes {
            out.push_str(&format!("{:<6}  {}\n", r.outcome.as_str(), r.rule));
            if let Some(reason) = &r.failure_reason {
                for line in reason.lines() {
                    out.push_str(&format!("        {line}\n"));
                }
            }
        }
        for a in &self.analyzer_results {
            out.push_str(&format!("Metric  {}\n", a.analyzer));
            for (k, v) in &a.evaluated_metrics {
                out.push_str(&format!("        {k} = {v}\n"));
            }
        }
        let passed = self
            .rule_outcomes
            .iter()
            .filter(|r| r.outcome == Outcome::Passed)
            .count();
        out.push_str(&format!(
            "{}: {passed} of {} rules passed over {} rows\n",
            self.outcome,
            self.rule_outcomes.len(),
            self.row_count
        ));
        out
    }
}
