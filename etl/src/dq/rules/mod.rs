//! Compiling DQDL rules into [`Check`]s: each rule type's parameters are resolved against the
//! schema once, the metrics it needs are registered on the shared accumulators, and what is left
//! per rule is a small object that sees each batch (if it has per-row work) and decides the
//! outcome at the end.
//!
//! One module per family:
//! - [`metric`]: rules decided on one dataset-level number (RowCount, Completeness, Uniqueness,
//!   Mean, …, IsPrimaryKey), DetectAnomalies and analyzers;
//! - [`values`]: per-row checks (ColumnValues, ColumnLength, ColumnDataType, DataFreshness);
//! - [`custom_sql`]: CustomSql in its numeric and row forms;
//! - [`reference`]: rules against another dataset (ReferentialIntegrity, DatasetMatch,
//!   RowCountMatch, SchemaMatch, AggregateMatch).
//!
//! A rule that cannot be evaluated at all (missing column, invalid `where`, unsupported SQL)
//! compiles to [`Broken`], whose outcome carries the reason.

pub mod custom_sql;
pub mod metric;
pub mod reference;
pub mod values;

use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{Field, SchemaRef};
use chrono::{DateTime, Utc};
use gluepipe_spec::dqdl::{Condition, NumberCondition, RuleType, SingleRule};

use crate::dq::columns::Columns;
use crate::dq::condition::{NoHistory, Resolved, holds, resolve};
use crate::dq::error::DqError;
use crate::dq::history::History;
use crate::dq::plan::{BatchView, FilterId, Filters, SharedMetrics};
use crate::dq::reference::ReferenceResolver;
use crate::dq::results::{Metrics, Outcome};
use metric::value_message;

/// What a rule's per-batch work yields for row-level outcomes.
#[derive(Debug, Clone)]
pub struct RowResult {
    /// Whether each row passed (meaningful only inside `scope`).
    pub pass: BooleanBuffer,
    /// The rows the rule applies to (its `where`); `None` means every row.
    pub scope: Option<BooleanBuffer>,
}

/// How a rule ended.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafOutcome {
    /// Passed, Failed or Error.
    pub outcome: Outcome,
    /// Why it did not pass.
    pub reason: Option<String>,
    /// Published metrics.
    pub metrics: Metrics,
    /// Values to record in the metric history (history key → value).
    pub history: Vec<(String, f64)>,
    /// The rule with dynamic expressions resolved, when it differs from the rule.
    pub evaluated_rule: Option<SingleRule>,
}

impl LeafOutcome {
    /// A pass without metrics.
    pub fn passed() -> Self {
        LeafOutcome::plain(Outcome::Passed, None)
    }

    /// A pass with these metrics (callers turn it into a failure as needed).
    pub fn measured(metrics: Metrics, history: Vec<(String, f64)>) -> Self {
        LeafOutcome {
            metrics,
            history,
            ..LeafOutcome::passed()
        }
    }

    /// A rule that could not be evaluated.
    pub fn error(reason: impl Into<String>) -> Self {
        LeafOutcome::plain(Outcome::Error, Some(reason.into()))
    }

    /// A failure without metrics.
    pub fn failed(reason: impl Into<String>) -> Self {
        LeafOutcome::plain(Outcome::Failed, Some(reason.into()))
    }

    fn plain(outcome: Outcome, reason: Option<String>) -> Self {
        LeafOutcome {
            outcome,
            reason,
            metrics: Metrics::new(),
            history: Vec::new(),
            evaluated_rule: None,
        }
    }
}

/// What `finish` may read.
pub struct FinishContext<'a> {
    /// The shared accumulators after the last batch.
    pub metrics: &'a SharedMetrics,
    /// Earlier runs.
    pub history: &'a History,
}

/// A compiled rule.
pub trait Check: Send {
    /// Sees one batch; returns per-row results when the rule has row-level outcomes. An `Err`
    /// ends the rule with outcome `Error` (the engine stops calling it).
    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String>;

    /// Decides the outcome after the last batch.
    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome;

    /// Whether `update` yields per-row results.
    fn row_level(&self) -> bool {
        false
    }

    /// The rule's own accumulated state, for a shard of a sharded run (see
    /// [`crate::dq::partial`]); `Null` when everything it needs is in the shared metrics.
    /// Required, so that no rule with state can forget it.
    fn save(&self) -> serde_json::Value;

    /// Adds the state another shard saved with `save` for the same rule.
    fn merge(&mut self, state: &serde_json::Value) -> Result<(), String>;

    /// Why the rule could not be compiled, if so ([`Broken`]): a shard saves that instead of a
    /// state, and a merge whose own rule compiled takes it as the rule's error.
    fn problem(&self) -> Option<String> {
        None
    }
}

/// `Check::save`/`merge` for a rule whose state lives entirely in the shared metrics.
macro_rules! stateless {
    () => {
        fn save(&self) -> serde_json::Value {
            serde_json::Value::Null
        }

        fn merge(&mut self, _: &serde_json::Value) -> Result<(), String> {
            Ok(())
        }
    };
}
pub(crate) use stateless;

/// `Check::save`/`merge` for a rule whose own state is its `compliance` tally.
macro_rules! compliance_state {
    () => {
        fn save(&self) -> serde_json::Value {
            crate::dq::partial::save(&self.compliance)
        }

        fn merge(&mut self, state: &serde_json::Value) -> Result<(), String> {
            self.compliance.merge(&crate::dq::partial::load(state)?);
            Ok(())
        }
    };
}
pub(crate) use compliance_state;

/// Why a rule cannot be compiled: the data lacks what it needs (`Failed`, e.g. a missing column,
/// as Glue reports it) or the rule itself cannot be evaluated (`Error`).
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The data does not have what the rule needs.
    Failed(String),
    /// The rule cannot be evaluated.
    Error(String),
}

impl From<DqError> for Problem {
    fn from(e: DqError) -> Self {
        Problem::Error(e.to_string())
    }
}

/// A rule that never looks at data.
pub struct Broken(pub Problem);

impl Check for Broken {
    stateless!();

    fn problem(&self) -> Option<String> {
        Some(match &self.0 {
            Problem::Failed(m) | Problem::Error(m) => m.clone(),
        })
    }

    fn update(&mut self, _: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        Ok(None)
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        match &self.0 {
            Problem::Failed(m) => LeafOutcome::failed(m.clone()),
            Problem::Error(m) => LeafOutcome::error(m.clone()),
        }
    }
}

/// Everything compiling a rule may use.
pub struct Planner<'a> {
    /// The schema of the batches (their top-level columns).
    pub schema: &'a SchemaRef,
    /// The columns rules may name: the top-level ones, then nested fields (dotted paths).
    pub columns: &'a Columns,
    /// Distinct `where` clauses.
    pub filters: &'a mut Filters,
    /// Shared accumulators.
    pub metrics: &'a mut SharedMetrics,
    /// Reference datasets, when the caller provides them.
    pub references: Option<&'a dyn ReferenceResolver>,
    /// The run's evaluation time.
    pub now: DateTime<Utc>,
    /// Earlier runs (dynamic operands of per-row conditions are resolved at compile time).
    pub history: &'a History,
}

impl Planner<'_> {
    /// Column index by name or dotted path (see [`Columns`]), or the failure Glue reports for
    /// a missing column.
    pub fn column(&self, name: &str) -> Result<usize, Problem> {
        self.columns
            .resolve(name)
            .map_err(|_| Problem::Failed(format!("Column {name} does not exist in the dataset")))
    }

    /// The field of column `c` (from [`Planner::column`]).
    pub fn field(&self, c: usize) -> &Field {
        self.columns.schema().field(c)
    }

    /// The rule's filter.
    pub fn filter(&mut self, rule: &SingleRule) -> Result<Option<FilterId>, Problem> {
        self.filters
            .register(rule.where_clause.as_deref(), self.schema)
            .map_err(Problem::Error)
    }
}

/// Compiles one rule.
pub fn compile(rule: &SingleRule, planner: &mut Planner<'_>) -> Box<dyn Check> {
    match try_compile(rule, planner) {
        Ok(check) => check,
        Err(problem) => Box::new(Broken(problem)),
    }
}

fn try_compile(rule: &SingleRule, planner: &mut Planner<'_>) -> Result<Box<dyn Check>, Problem> {
    use RuleType as T;
    match rule.rule_type {
        T::ColumnValues => values::column_values(rule, planner),
        T::ColumnLength => values::column_length(rule, planner),
        T::ColumnDataType => values::column_data_type(rule, planner),
        T::DataFreshness => values::data_freshness(rule, planner),
        T::CustomSql => custom_sql::compile(rule, planner),
        T::ReferentialIntegrity => reference::referential_integrity(rule, planner),
        T::DatasetMatch => reference::dataset_match(rule, planner),
        T::RowCountMatch => reference::row_count_match(rule, planner),
        T::SchemaMatch => reference::schema_match(rule, planner),
        T::AggregateMatch => reference::aggregate_match(rule, planner),
        T::DetectAnomalies => metric::detect_anomalies(rule, planner),
        T::FileFreshness | T::FileMatch | T::FileSize | T::FileUniqueness => {
            Err(Problem::Error(format!(
                "{} checks the input files themselves, which the data-quality engine does not see; \
             it is not supported",
                rule.rule_type
            )))
        }
        T::AllStatistics => Err(Problem::Error(
            "AllStatistics is an analyzer, not a rule".into(),
        )),
        _ => metric::metric_rule(rule, planner),
    }
}

/// The rule's number condition, or an error naming what it has instead.
pub fn number_condition(rule: &SingleRule) -> Result<&NumberCondition, Problem> {
    match &rule.condition {
        Some(Condition::Number(c)) => Ok(c),
        Some(other) => Err(Problem::Error(format!(
            "{} needs a number condition, not a {} condition",
            rule.rule_type,
            other.kind().describe()
        ))),
        None => Err(Problem::Error(format!(
            "{} needs a condition",
            rule.rule_type
        ))),
    }
}

/// The `n`-th parameter text.
pub fn param(rule: &SingleRule, n: usize) -> Result<&str, Problem> {
    rule.parameters
        .get(n)
        .map(|p| p.value.text())
        .ok_or_else(|| {
            Problem::Error(format!(
                "{} needs at least {} parameter(s)",
                rule.rule_type,
                n + 1
            ))
        })
}

/// Counts of `pass` inside `scope`: `(passed, in scope)`.
pub fn tally(pass: &BooleanBuffer, scope: Option<&BooleanBuffer>) -> (u64, u64) {
    match scope {
        None => (pass.count_set_bits() as u64, pass.len() as u64),
        Some(s) => (
            (pass & s).count_set_bits() as u64,
            s.count_set_bits() as u64,
        ),
    }
}

/// The published-metric suffix rules with `where` use in the history (the published key itself
/// stays plain, as deequ publishes it).
pub fn history_key(key: &str, rule: &SingleRule) -> String {
    match rule
        .where_clause
        .as_deref()
        .filter(|w| !w.trim().is_empty())
    {
        Some(w) => format!("{key} (where: {w})"),
        None => key.to_string(),
    }
}

/// Rows passed and rows in scope.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Compliance {
    /// Rows in scope that passed.
    pub passed: u64,
    /// Rows in scope.
    pub total: u64,
}

impl Compliance {
    /// Adds one batch's pass bits within `scope`.
    pub fn add(&mut self, pass: &BooleanBuffer, scope: Option<&BooleanBuffer>) {
        let (p, t) = tally(pass, scope);
        self.passed += p;
        self.total += t;
    }

    /// Adds another shard's tally.
    pub fn merge(&mut self, other: &Compliance) {
        self.passed += other.passed;
        self.total += other.total;
    }

    /// `passed / total`, `None` without rows in scope.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.passed as f64 / self.total as f64)
    }
}

/// Resolves a threshold (dynamic expressions have no metric history of their own here).
pub fn threshold(rule: &SingleRule) -> Result<Option<Resolved>, Problem> {
    rule.threshold
        .as_ref()
        .map(|t| resolve(t, &NoHistory).map_err(Problem::Error))
        .transpose()
}

/// Decides a compliance ratio: against the threshold, or it must be 1.0.
pub fn decide_ratio(
    ratio: Option<f64>,
    threshold: Option<&Resolved>,
    key: &str,
    below_all: impl Fn(f64) -> String,
) -> LeafOutcome {
    let Some(ratio) = ratio else {
        // No rows in scope: nothing fails (deequ: "No rows matched the filter").
        return LeafOutcome::passed();
    };
    let (passed, reason) = match threshold {
        Some(t) => (holds(t, ratio), value_message(ratio)),
        None => (ratio == 1.0, below_all(ratio)),
    };
    LeafOutcome {
        outcome: if passed {
            Outcome::Passed
        } else {
            Outcome::Failed
        },
        reason: (!passed).then_some(reason),
        metrics: Metrics::from([(key.to_string(), ratio)]),
        history: vec![(key.to_string(), ratio)],
        evaluated_rule: None,
    }
}
