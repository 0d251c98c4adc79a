//! Rules decided on dataset-level numbers, read from the shared accumulators at the end:
//! RowCount, ColumnCount, Completeness, IsComplete, Uniqueness, IsUnique, IsPrimaryKey,
//! DistinctValuesCount, UniqueValueRatio, Entropy, Mean, Sum, StandardDeviation, Variance, Range,
//! ColumnCorrelation, DuplicateRowCount, ColumnExists, ColumnNamesMatchPattern — plus
//! DetectAnomalies and the `Analyzers` section, which measure the same metrics.
//!
//! Definitions (see the module docs of [`crate::dq`] for null handling):
//! Completeness = non-null rows / rows; Uniqueness = values occurring once / rows with a value;
//! UniqueValueRatio = values occurring once / distinct values; DistinctValuesCount counts a null
//! as one more value when present; Entropy = −Σ p ln p; StandardDeviation and Variance are
//! population statistics; DuplicateRowCount counts every row of each repeated key.

use gluepipe_spec::dqdl::{Analyzer, RuleType, SingleRule};
use regex::Regex;

use super::{
    Check, FinishContext, LeafOutcome, Planner, Problem, RowResult, history_key, number_condition,
    stateless,
};
use crate::dq::condition::{HistorySource, as_literals, holds, is_dynamic, java_double, resolve};
use crate::dq::history::History;
use crate::dq::plan::{BatchView, FilterId, MetricKind, SharedMetrics};
use crate::dq::results::{AnalyzerResult, Metrics, Outcome};
use crate::dq::sql::value::is_numeric;

/// Reads one metric value from the accumulators; `Ok(None)` when it is undefined (no rows, or
/// only nulls), `Err` when it could not be computed.
pub type Source = Box<dyn Fn(&SharedMetrics) -> Result<Option<f64>, String> + Send>;

/// One published metric.
pub struct MetricSpec {
    /// Published name, e.g. `Column.price.Mean`.
    pub key: String,
    /// Name in the metric history.
    pub history_key: String,
    /// How to read it.
    pub source: Source,
}

/// The metrics rule type `t` with `params` measures over `filter`; `suffix` turns a published key
/// into its history key.
pub fn specs(
    t: RuleType,
    params: &[&str],
    filter: Option<FilterId>,
    suffix: &dyn Fn(&str) -> String,
    planner: &mut Planner<'_>,
) -> Result<Vec<MetricSpec>, Problem> {
    use RuleType as T;
    let spec = |key: String, source: Source| MetricSpec {
        history_key: suffix(&key),
        key,
        source,
    };
    let one_column = |planner: &Planner<'_>| -> Result<(usize, String), Problem> {
        let name = params
            .first()
            .ok_or_else(|| Problem::Error(format!("{t} needs a column")))?;
        Ok((planner.column(name)?, name.to_string()))
    };
    Ok(match t {
        T::RowCount => {
            let id =
                planner
                    .metrics
                    .register(MetricKind::Rows, filter, planner.columns.schema())?;
            vec![spec(
                "Dataset.*.RowCount".into(),
                Box::new(move |m| Ok(Some(m.rows(id)? as f64))),
            )]
        }
        T::ColumnCount => {
            let n = planner.schema.fields().len() as f64;
            vec![spec(
                "Dataset.*.ColumnCount".into(),
                Box::new(move |_| Ok(Some(n))),
            )]
        }
        T::Completeness | T::IsComplete => {
            let (c, name) = one_column(planner)?;
            vec![completeness(c, &name, filter, planner, &spec)?]
        }
        T::Uniqueness | T::IsUnique | T::IsPrimaryKey => {
            let (cols, instance) = columns(params, planner)?;
            let id = planner.metrics.register(
                MetricKind::Frequencies(cols.clone()),
                filter,
                planner.columns.schema(),
            )?;
            let mut out = vec![spec(
                format!("{instance}.Uniqueness"),
                Box::new(move |m| {
                    let s = m.frequencies(id)?;
                    Ok((s.rows > 0).then(|| s.singletons as f64 / s.rows as f64))
                }),
            )];
            if t == T::IsPrimaryKey {
                for (c, name) in cols.iter().zip(params) {
                    out.push(completeness(*c, name, filter, planner, &spec)?);
                }
            }
            out
        }
        T::DistinctValuesCount | T::UniqueValueRatio | T::Entropy => {
            let (c, name) = one_column(planner)?;
            let id = planner.metrics.register(
                MetricKind::Frequencies(vec![c]),
                filter,
                planner.columns.schema(),
            )?;
            let source: Source = match t {
                T::DistinctValuesCount => Box::new(move |m| {
                    let s = m.frequencies(id)?;
                    Ok(Some((s.distinct + u64::from(s.null_rows > 0)) as f64))
                }),
                T::UniqueValueRatio => Box::new(move |m| {
                    let s = m.frequencies(id)?;
                    Ok((s.distinct > 0).then(|| s.singletons as f64 / s.distinct as f64))
                }),
                _ => Box::new(move |m| {
                    let s = m.frequencies(id)?;
                    Ok((s.rows > 0).then_some(s.entropy))
                }),
            };
            vec![spec(format!("Column.{name}.{t}"), source)]
        }
        T::DuplicateRowCount => {
            let (cols, key) = if params.is_empty() {
                (
                    (0..planner.schema.fields().len()).collect(),
                    "Dataset.*.DuplicateRowCount".to_string(),
                )
            } else {
                let cols = params
                    .iter()
                    .map(|p| planner.column(p))
                    .collect::<Result<Vec<_>, _>>()?;
                (
                    cols,
                    format!("Multicolumn.{}.DuplicateRowCount", params.join(",")),
                )
            };
            if cols.is_empty() {
                return Err(Problem::Failed("The dataset has no columns".into()));
            }
            let id = planner.metrics.register(
                MetricKind::Frequencies(cols),
                filter,
                planner.columns.schema(),
            )?;
            vec![spec(
                key,
                Box::new(move |m| Ok(Some(m.frequencies(id)?.duplicate_rows as f64))),
            )]
        }
        T::Mean | T::Sum | T::StandardDeviation | T::Variance | T::Range => {
            let (c, name) = one_column(planner)?;
            numeric(c, &name, planner)?;
            let id = planner.metrics.register(
                MetricKind::Moments(c),
                filter,
                planner.columns.schema(),
            )?;
            let read: fn(&crate::dq::metrics::moments::Moments) -> Option<f64> = match t {
                T::Mean => |m| m.mean(),
                T::Sum => |m| m.sum(),
                T::StandardDeviation => |m| m.std_dev(),
                T::Variance => |m| m.variance(),
                _ => |m| Some(m.max()? - m.min()?),
            };
            vec![spec(
                format!("Column.{name}.{t}"),
                Box::new(move |m| Ok(read(&m.moments(id)?))),
            )]
        }
        T::ColumnCorrelation => {
            let (a, b) = match params {
                [a, b] => (*a, *b),
                _ => return Err(Problem::Error("ColumnCorrelation needs two columns".into())),
            };
            let (ca, cb) = (planner.column(a)?, planner.column(b)?);
            numeric(ca, a, planner)?;
            numeric(cb, b, planner)?;
            let id = planner.metrics.register(
                MetricKind::CoMoments(ca, cb),
                filter,
                planner.columns.schema(),
            )?;
            vec![spec(
                format!("Multicolumn.{a},{b}.ColumnCorrelation"),
                Box::new(move |m| Ok(m.co_moments(id)?.correlation())),
            )]
        }
        T::ColumnLength => {
            let (c, name) = one_column(planner)?;
            let id = planner.metrics.register(
                MetricKind::Lengths(c),
                filter,
                planner.columns.schema(),
            )?;
            vec![
                spec(
                    format!("Column.{name}.MinimumLength"),
                    Box::new(move |m| Ok(m.lengths(id)?.min().map(|v| v as f64))),
                ),
                spec(
                    format!("Column.{name}.MaximumLength"),
                    Box::new(move |m| Ok(m.lengths(id)?.max().map(|v| v as f64))),
                ),
            ]
        }
        T::ColumnValues => {
            let (c, name) = one_column(planner)?;
            numeric(c, &name, planner)?;
            let id = planner.metrics.register(
                MetricKind::Moments(c),
                filter,
                planner.columns.schema(),
            )?;
            vec![
                spec(
                    format!("Column.{name}.Minimum"),
                    Box::new(move |m| Ok(m.moments(id)?.min())),
                ),
                spec(
                    format!("Column.{name}.Maximum"),
                    Box::new(move |m| Ok(m.moments(id)?.max())),
                ),
            ]
        }
        T::ColumnNamesMatchPattern => {
            let (ratio, _) = column_names_match(params, planner)?;
            vec![spec(
                "Dataset.*.ColumnNamesPatternMatchRatio".into(),
                Box::new(move |_| Ok(Some(ratio))),
            )]
        }
        other => {
            return Err(Problem::Error(format!(
                "{other} does not measure a metric on its own"
            )));
        }
    })
}

fn completeness(
    c: usize,
    name: &str,
    filter: Option<FilterId>,
    planner: &mut Planner<'_>,
    spec: &dyn Fn(String, Source) -> MetricSpec,
) -> Result<MetricSpec, Problem> {
    let id = planner.metrics.register(
        MetricKind::Completeness(c),
        filter,
        planner.columns.schema(),
    )?;
    Ok(spec(
        format!("Column.{name}.Completeness"),
        Box::new(move |m| {
            let (rows, non_null) = m.completeness(id)?;
            Ok((rows > 0).then(|| non_null as f64 / rows as f64))
        }),
    ))
}

/// Column indices and the metric instance: `Column.<c>` for one, `Multicolumn.<c1>,<c2>` for more.
fn columns(params: &[&str], planner: &Planner<'_>) -> Result<(Vec<usize>, String), Problem> {
    let cols = params
        .iter()
        .map(|p| planner.column(p))
        .collect::<Result<Vec<_>, _>>()?;
    let instance = match params {
        [one] => format!("Column.{one}"),
        _ => format!("Multicolumn.{}", params.join(",")),
    };
    Ok((cols, instance))
}

fn numeric(c: usize, name: &str, planner: &Planner<'_>) -> Result<(), Problem> {
    let t = planner.field(c).data_type();
    if is_numeric(t) {
        Ok(())
    } else {
        Err(Problem::Failed(format!(
            "Column {name} has type {t}, which is not numeric"
        )))
    }
}

/// `(matching ratio, unmatched names)`; an unanchored search, as deequ does.
fn column_names_match(
    params: &[&str],
    planner: &Planner<'_>,
) -> Result<(f64, Vec<String>), Problem> {
    let pattern = params
        .first()
        .ok_or_else(|| Problem::Error("ColumnNamesMatchPattern needs a pattern".into()))?;
    let re = Regex::new(pattern)
        .map_err(|e| Problem::Error(format!("Invalid regex pattern '{pattern}': {e}")))?;
    let names: Vec<&String> = planner.schema.fields().iter().map(|f| f.name()).collect();
    let unmatched: Vec<String> = names
        .iter()
        .filter(|n| !re.is_match(n))
        .map(|n| n.to_string())
        .collect();
    let ratio = if names.is_empty() {
        f64::NAN
    } else {
        (names.len() - unmatched.len()) as f64 / names.len() as f64
    };
    Ok((ratio, unmatched))
}

/// How a metric rule decides.
enum Decision {
    /// The first metric against the rule's number condition.
    Condition,
    /// Every metric must be exactly 1.0 (IsComplete, IsUnique, IsPrimaryKey).
    AllOne,
}

/// A rule decided on dataset-level metrics.
pub struct MetricCheck {
    rule: SingleRule,
    specs: Vec<MetricSpec>,
    decision: Decision,
    /// Completeness and IsComplete judge each row too: `(column, filter)`.
    row_column: Option<(usize, Option<FilterId>)>,
}

impl MetricCheck {
    /// A rule decided by its number condition on the first of `specs`.
    pub fn with_condition(rule: &SingleRule, specs: Vec<MetricSpec>) -> Self {
        MetricCheck {
            rule: rule.clone(),
            specs,
            decision: Decision::Condition,
            row_column: None,
        }
    }
}

/// A rule whose outcome is known before any data (ColumnExists, ColumnNamesMatchPattern).
pub struct Decided(pub LeafOutcome);

impl Check for Decided {
    stateless!();

    fn update(&mut self, _: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        Ok(None)
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        self.0.clone()
    }
}

/// Compiles a metric rule.
pub fn metric_rule(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    use RuleType as T;
    let params = rule.parameter_texts();
    match rule.rule_type {
        T::ColumnExists => {
            let name = params.first().copied().unwrap_or_default();
            return Ok(Box::new(Decided(match planner.column(name) {
                Ok(_) => LeafOutcome::passed(),
                Err(_) => {
                    LeafOutcome::failed(format!("Column {name} does not exist in the dataset"))
                }
            })));
        }
        T::ColumnNamesMatchPattern => {
            let (ratio, unmatched) = column_names_match(&params, planner)?;
            let key = "Dataset.*.ColumnNamesPatternMatchRatio".to_string();
            let mut outcome =
                LeafOutcome::measured(Metrics::from([(key.clone(), ratio)]), vec![(key, ratio)]);
            if !unmatched.is_empty() {
                outcome.outcome = Outcome::Failed;
                outcome.reason = Some(format!(
                    "Columns that do not match the pattern: {}",
                    unmatched.join(", ")
                ));
            }
            return Ok(Box::new(Decided(outcome)));
        }
        _ => {}
    }
    let decision = match rule.rule_type {
        T::IsComplete | T::IsUnique | T::IsPrimaryKey => Decision::AllOne,
        _ => {
            number_condition(rule)?;
            Decision::Condition
        }
    };
    let filter = planner.filter(rule)?;
    let suffix = |k: &str| history_key(k, rule);
    let specs = specs(rule.rule_type, &params, filter, &suffix, planner)?;
    let row_column = match (rule.rule_type, params.first()) {
        (T::Completeness | T::IsComplete, Some(name)) => Some((planner.column(name)?, filter)),
        _ => None,
    };
    Ok(Box::new(MetricCheck {
        rule: rule.clone(),
        specs,
        decision,
        row_column,
    }))
}

/// Earlier values of one history key.
struct KeyHistory<'a> {
    history: &'a History,
    key: &'a str,
}

impl HistorySource for KeyHistory<'_> {
    fn last(&self, k: usize) -> Vec<f64> {
        self.history.last(self.key, k)
    }
}

/// The values of a list of specs after the last batch.
struct Readings {
    /// One per spec; `None` = undefined.
    values: Vec<Option<f64>>,
    /// The defined ones under their published keys.
    published: Metrics,
    /// The defined ones under their history keys.
    history: Vec<(String, f64)>,
}

/// Reads every spec.
fn read(specs: &[MetricSpec], m: &SharedMetrics) -> Result<Readings, String> {
    let mut r = Readings {
        values: Vec::new(),
        published: Metrics::new(),
        history: Vec::new(),
    };
    for s in specs {
        let v = (s.source)(m)?;
        if let Some(v) = v {
            r.published.insert(s.key.clone(), v);
            r.history.push((s.history_key.clone(), v));
        }
        r.values.push(v);
    }
    Ok(r)
}

/// The message for a value that fails its condition.
pub fn value_message(v: f64) -> String {
    format!(
        "Value: {} does not meet the constraint requirement!",
        java_double(v)
    )
}

fn undefined_message(key: &str) -> String {
    format!(
        "Value: NULL does not meet the constraint requirement! ({key} has no value: no rows, or only NULL values)"
    )
}

impl Check for MetricCheck {
    stateless!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let Some((column, filter)) = self.row_column else {
            return Ok(None);
        };
        let pass = match view.column(column).logical_nulls() {
            Some(n) => n.into_inner(),
            None => arrow::buffer::BooleanBuffer::new_set(view.num_rows()),
        };
        let scope = view.mask(filter)?.cloned();
        Ok(Some(RowResult { pass, scope }))
    }

    fn row_level(&self) -> bool {
        self.row_column.is_some()
    }

    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome {
        let Readings {
            values,
            published: metrics,
            history,
        } = match read(&self.specs, ctx.metrics) {
            Ok(r) => r,
            Err(e) => return LeafOutcome::error(e),
        };
        let mut out = LeafOutcome::measured(metrics, history);
        let mut reasons = Vec::new();
        match self.decision {
            Decision::AllOne => {
                for (spec, v) in self.specs.iter().zip(&values) {
                    match v {
                        None => reasons.push(undefined_message(&spec.key)),
                        Some(v) if *v != 1.0 => reasons.push(value_message(*v)),
                        Some(_) => {}
                    }
                }
            }
            Decision::Condition => {
                let Some(spec) = self.specs.first() else {
                    return LeafOutcome::error("the rule measures nothing");
                };
                let value = values.first().copied().flatten();
                let decided =
                    decide_number(&self.rule, &spec.key, &spec.history_key, value, ctx.history);
                out.outcome = decided.outcome;
                out.evaluated_rule = decided.evaluated_rule;
                out.reason = decided.reason;
                return out;
            }
        }
        if !reasons.is_empty() {
            out.outcome = Outcome::Failed;
            out.reason = Some(reasons.join("\n"));
        }
        out
    }
}

/// Decides `value` (the rule's metric `key`) against the rule's number condition, resolving
/// dynamic operands from the history of `history_key`. The returned outcome carries no metrics.
pub fn decide_number(
    rule: &SingleRule,
    key: &str,
    history_key: &str,
    value: Option<f64>,
    history: &History,
) -> LeafOutcome {
    let mut out = LeafOutcome::passed();
    let Some(gluepipe_spec::dqdl::Condition::Number(condition)) = &rule.condition else {
        return LeafOutcome::error(format!("{} needs a number condition", rule.rule_type));
    };
    let past = KeyHistory {
        history,
        key: history_key,
    };
    let resolved = match resolve(condition, &past) {
        Ok(r) => r,
        Err(e) => return LeafOutcome::error(e),
    };
    if is_dynamic(condition) {
        let mut evaluated = rule.clone();
        evaluated.condition = Some(gluepipe_spec::dqdl::Condition::Number(as_literals(
            &resolved,
        )));
        out.evaluated_rule = Some(evaluated);
    }
    let failure = match value {
        None => Some(undefined_message(key)),
        Some(v) if !holds(&resolved, v) => Some(value_message(v)),
        Some(_) => None,
    };
    if let Some(reason) = failure {
        out.outcome = Outcome::Failed;
        out.reason = Some(reason);
    }
    out
}

/// DetectAnomalies: watches a metric across runs and fails when this run's value is far from
/// the recent ones.
///
/// Glue does not publish its detector. Ours: take the metric's last (up to) 30 recorded values;
/// with fewer than 3 there is not enough history and the rule passes; otherwise the value is an
/// anomaly when it lies outside `mean ± max(3 · std, 1e-9 · max(1, |mean|))` (population std),
/// so a metric that never moved is flagged at its first real change.
pub struct AnomalyCheck {
    specs: Vec<MetricSpec>,
}

/// How many earlier runs the detector looks at.
pub const ANOMALY_WINDOW: usize = 30;
/// Fewest earlier runs needed before anything is flagged.
pub const ANOMALY_MIN_HISTORY: usize = 3;

/// Compiles `DetectAnomalies "<Metric>" [params…]`.
pub fn detect_anomalies(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    let params = rule.parameter_texts();
    let Some((metric, rest)) = params.split_first() else {
        return Err(Problem::Error(
            "DetectAnomalies needs a metric name such as \"RowCount\"".into(),
        ));
    };
    let t = match *metric {
        "CustomSQL" | "CustomSql" => {
            return Err(Problem::Error("DetectAnomalies on CustomSQL is not supported".into()));
        }
        name => RuleType::from_name(name).ok_or_else(|| {
            Problem::Error(format!(
                "DetectAnomalies cannot watch {name}; it supports RowCount, ColumnCount, Completeness, Uniqueness, \
                 Mean, Sum, StandardDeviation, Entropy, DistinctValuesCount, UniqueValueRatio, ColumnLength, \
                 ColumnValues and ColumnCorrelation"
            ))
        })?,
    };
    let filter = planner.filter(rule)?;
    let suffix = |k: &str| k.to_string();
    let specs = specs(t, rest, filter, &suffix, planner)?;
    Ok(Box::new(AnomalyCheck { specs }))
}

impl Check for AnomalyCheck {
    stateless!();

    fn update(&mut self, _: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        Ok(None)
    }

    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome {
        let Readings {
            values,
            published: metrics,
            history,
        } = match read(&self.specs, ctx.metrics) {
            Ok(r) => r,
            Err(e) => return LeafOutcome::error(e),
        };
        let mut reasons = Vec::new();
        for (spec, v) in self.specs.iter().zip(values) {
            let Some(v) = v else {
                reasons.push(undefined_message(&spec.key));
                continue;
            };
            let past = ctx.history.last(&spec.history_key, ANOMALY_WINDOW);
            if past.len() < ANOMALY_MIN_HISTORY {
                continue;
            }
            let n = past.len() as f64;
            let mean = past.iter().sum::<f64>() / n;
            let std = (past.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
            let band = (3.0 * std).max(1e-9 * mean.abs().max(1.0));
            if (v - mean).abs() > band || v.is_nan() {
                reasons.push(format!(
                    "Value: {} of {} is an anomaly: the last {} runs expect {} to {}",
                    java_double(v),
                    spec.key,
                    past.len(),
                    java_double(mean - band),
                    java_double(mean + band)
                ));
            }
        }
        LeafOutcome {
            outcome: if reasons.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            reason: (!reasons.is_empty()).then(|| reasons.join("\n")),
            metrics,
            history,
            evaluated_rule: None,
        }
    }
}

/// A compiled analyzer: metrics only.
pub struct AnalyzerPlan {
    text: String,
    specs: Result<Vec<MetricSpec>, String>,
}

/// Compiles an `Analyzers` entry.
pub fn analyzer(a: &Analyzer, planner: &mut Planner<'_>) -> AnalyzerPlan {
    let params: Vec<&str> = a.parameters.iter().map(|p| p.value.text()).collect();
    let suffix = |k: &str| k.to_string();
    let specs = if a.analyzer_type == RuleType::AllStatistics {
        all_statistics(&params, planner)
    } else {
        specs(a.analyzer_type, &params, None, &suffix, planner)
    };
    AnalyzerPlan {
        text: a.to_string(),
        specs: specs.map_err(|p| match p {
            Problem::Failed(m) | Problem::Error(m) => m,
        }),
    }
}

/// AllStatistics: row count, completeness, uniqueness, distinct values and entropy of a column,
/// plus lengths for text or minimum, maximum, mean, sum and standard deviation for numbers.
fn all_statistics(params: &[&str], planner: &mut Planner<'_>) -> Result<Vec<MetricSpec>, Problem> {
    let suffix = |k: &str| k.to_string();
    let name = params
        .first()
        .ok_or_else(|| Problem::Error("AllStatistics needs a column".into()))?;
    let c = planner.column(name)?;
    let mut out = Vec::new();
    out.extend(specs(RuleType::RowCount, &[], None, &suffix, planner)?);
    for t in [
        RuleType::Completeness,
        RuleType::Uniqueness,
        RuleType::DistinctValuesCount,
        RuleType::Entropy,
    ] {
        out.extend(specs(t, &[name], None, &suffix, planner)?);
    }
    if is_numeric(planner.field(c).data_type()) {
        for t in [
            RuleType::ColumnValues,
            RuleType::Mean,
            RuleType::Sum,
            RuleType::StandardDeviation,
        ] {
            out.extend(specs(t, &[name], None, &suffix, planner)?);
        }
    } else {
        out.extend(specs(
            RuleType::ColumnLength,
            &[name],
            None,
            &suffix,
            planner,
        )?);
    }
    Ok(out)
}

impl AnalyzerPlan {
    /// The analyzer's metrics after the last batch, and their history entries.
    pub fn finish(&self, m: &SharedMetrics) -> (AnalyzerResult, Vec<(String, f64)>) {
        let (metrics, history, failure) = match &self.specs {
            Err(e) => (Metrics::new(), vec![], Some(e.clone())),
            Ok(specs) => match read(specs, m) {
                Ok(r) => (r.published, r.history, None),
                Err(e) => (Metrics::new(), vec![], Some(e)),
            },
        };
        (
            AnalyzerResult {
                analyzer: self.text.clone(),
                evaluated_metrics: metrics,
                failure_reason: failure,
            },
            history,
        )
    }
}
