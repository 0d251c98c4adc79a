//! Per-row rules: ColumnValues, ColumnLength, ColumnDataType and DataFreshness. Each batch is
//! tested value by value in tight loops over the column's primitive or string buffers (no
//! per-value boxing); the rule keeps counts (and a min/max) and decides at the end on the
//! compliance ratio — the share of rows in scope that pass — against `with threshold`, or 1.0.
//!
//! Null rows fail every form except `!=` and `not in` (which pass them), unless the condition
//! names NULL: `= NULL` and `in [..., NULL]` accept nulls, `!= NULL` and `not in [..., NULL]`
//! reject them. A condition naming only NULL is `IS [NOT] NULL` on a column of any type, as
//! Glue translates it; a text that is no number fails every number comparison (a real null
//! may pass, the text never). ColumnLength measures a null as length 0. ColumnDataType fails a null (and
//! `!=` passes it). DataFreshness fails a null.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, Float64Array};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use gluepipe_spec::dqdl::zones::{self, Zone};
use gluepipe_spec::dqdl::{
    Comparison, Condition, DateExpr, Duration, DurationUnit, NumberCondition, OffsetOp, SingleRule,
    StringCondition, StringKeyword, StringValue, unescape,
};
use regex::Regex;

use super::metric::value_message;
use super::{
    Check, Compliance, FinishContext, LeafOutcome, Planner, Problem, RowResult, compliance_state,
    decide_ratio, tally, threshold,
};
use crate::dq::condition::{NoHistory, Resolved, holds, is_dynamic, resolve};
use crate::dq::metrics::lengths::{LengthRange, char_lengths};
use crate::dq::metrics::moments::Moments;
use crate::dq::partial;
use crate::dq::plan::{BatchView, FilterId, mask_values};
use crate::dq::results::{Metrics, Outcome};
use crate::dq::sql::eval::days_since_epoch;
use crate::dq::sql::value::without_time_zone;

/// Pass bits from per-value results: `hit` decides non-null rows, `null_passes` null rows.
fn combine(hit: BooleanBuffer, nulls: Option<&NullBuffer>, null_passes: bool) -> BooleanBuffer {
    match nulls.filter(|n| n.null_count() > 0) {
        None => hit,
        Some(n) if null_passes => &hit | &!n.inner(),
        Some(n) => &hit & n.inner(),
    }
}

/// Whether null rows pass a number (or date) condition.
fn null_passes(c: &Resolved) -> bool {
    match c {
        Comparison::Eq(v) => v.is_none(),
        Comparison::Ne(v) => v.is_some(),
        Comparison::In(list) => list.iter().any(Option::is_none),
        Comparison::NotIn(list) => !list.iter().any(Option::is_none),
        _ => false,
    }
}

/// A number condition naming only NULL (`= NULL`, `!= NULL`, `in [NULL]`, `not in [NULL]`) is
/// Glue's `IS NULL` / `IS NOT NULL`, which holds on a column of any type: whether nulls pass.
fn null_only(c: &Resolved) -> Option<bool> {
    match c {
        Comparison::Eq(None) => Some(true),
        Comparison::Ne(None) => Some(false),
        Comparison::In(list) if list.iter().all(Option::is_none) => Some(true),
        Comparison::NotIn(list) if list.iter().all(Option::is_none) => Some(false),
        _ => None,
    }
}

/// Per-row test of `values` against `c`.
fn test_numbers(values: &Float64Array, c: &Resolved) -> BooleanBuffer {
    let v = values.values();
    let hit = BooleanBuffer::collect_bool(values.len(), |i| holds(c, v[i]));
    combine(hit, values.nulls(), null_passes(c))
}

/// Operands of a per-row number condition must be constants (no `last(k)`).
fn literal_condition(rule: &SingleRule, c: &NumberCondition) -> Result<Resolved, Problem> {
    if is_dynamic(c) {
        return Err(Problem::Error(format!(
            "{} compares each value, so its condition takes numbers and NULL, not dynamic expressions",
            rule.rule_type
        )));
    }
    resolve(c, &NoHistory).map_err(Problem::Error)
}

/// What ColumnValues tests each value against.
enum ValueTest {
    /// `IS NULL` (true) or `IS NOT NULL` (false), whatever the column's type.
    Null(bool),
    /// A number condition (the column is read as numbers).
    Number(Resolved),
    /// A date condition on the value's date (days since 1970-01-01).
    Date(Resolved),
    /// A string condition.
    Text(TextTest),
}

/// A string condition as a set membership or regex test.
enum TextTest {
    /// `= x`, `!= x`, `in [...]`, `not in [...]`.
    Set { set: TextSet, negated: bool },
    /// `matches "re"`, `not matches "re"` (full match).
    Regex { re: Regex, negated: bool },
}

/// The members of a string set condition.
#[derive(Default)]
struct TextSet {
    /// Quoted members, deduplicated.
    texts: Vec<String>,
    /// The same, hashed, when there are many (a few are faster compared one by one).
    hashed: Option<HashSet<String, ahash::RandomState>>,
    empty: bool,
    whitespace_only: bool,
    null: bool,
}

/// Above this many quoted members, lookups go through a hash set.
const LINEAR_MEMBERS: usize = 8;

impl TextSet {
    fn new(values: &[StringValue], unescaped: bool) -> Self {
        let mut set = TextSet::default();
        for v in values {
            match v {
                StringValue::Quoted(s) => {
                    let text = if unescaped { unescape(s) } else { s.clone() };
                    if !set.texts.contains(&text) {
                        set.texts.push(text);
                    }
                }
                StringValue::Keyword(StringKeyword::Null) => set.null = true,
                StringValue::Keyword(StringKeyword::Empty) => set.empty = true,
                StringValue::Keyword(StringKeyword::WhitespacesOnly) => set.whitespace_only = true,
            }
        }
        if set.texts.len() > LINEAR_MEMBERS {
            set.hashed = Some(set.texts.iter().cloned().collect());
        }
        set
    }

    fn contains(&self, s: &str) -> bool {
        (self.empty && s.is_empty())
            || (self.whitespace_only && !s.is_empty() && s.chars().all(char::is_whitespace))
            || match &self.hashed {
                Some(h) => h.contains(s),
                None => self.texts.iter().any(|t| t == s),
            }
    }
}

impl TextTest {
    fn new(c: &StringCondition) -> Result<Self, Problem> {
        let set = |values: &[StringValue], unescaped: bool, negated: bool| TextTest::Set {
            set: TextSet::new(values, unescaped),
            negated,
        };
        let regex = |p: &str, negated: bool| {
            Regex::new(&format!("^(?:{p})$"))
                .map(|re| TextTest::Regex { re, negated })
                .map_err(|e| Problem::Error(format!("invalid regular expression {p:?}: {e}")))
        };
        Ok(match c {
            StringCondition::Eq(v) => set(std::slice::from_ref(v), false, false),
            StringCondition::Ne(v) => set(std::slice::from_ref(v), false, true),
            StringCondition::In(s) => set(s.values(), true, false),
            StringCondition::NotIn(s) => set(s.values(), true, true),
            StringCondition::Matches(p) => regex(p, false)?,
            StringCondition::NotMatches(p) => regex(p, true)?,
        })
    }

    fn test(&self, column: &dyn Array) -> Result<BooleanBuffer, String> {
        let text = cast_with_options(column, &DataType::Utf8, &CastOptions::default())
            .map_err(|e| e.to_string())?;
        let s = text.as_string::<i32>();
        let (hit, null_passes) = match self {
            TextTest::Set { set, negated } => (
                BooleanBuffer::collect_bool(s.len(), |i| set.contains(s.value(i)) != *negated),
                set.null != *negated,
            ),
            TextTest::Regex { re, negated } => (
                BooleanBuffer::collect_bool(s.len(), |i| re.is_match(s.value(i)) != *negated),
                false,
            ),
        };
        Ok(combine(hit, s.nulls(), null_passes))
    }
}

/// `ColumnValues "col" <condition>`.
pub struct ColumnValuesCheck {
    column: usize,
    name: String,
    filter: Option<FilterId>,
    test: ValueTest,
    threshold: Option<Resolved>,
    /// For `>`, `>=`, `<`, `<=`, `= x` without threshold: the extremes are reported, as Glue does.
    extremes: Option<Moments>,
    compliance: Compliance,
    /// Rows in scope whose value is null, and whether such rows fail.
    nulls_failed: u64,
    /// Rows in scope whose value is NaN and failed (min/max skip NaN, so the failure reason
    /// must name it itself).
    nans_failed: u64,
}

/// Compiles ColumnValues.
pub fn column_values(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    let name = super::param(rule, 0)?.to_string();
    let column = planner.column(&name)?;
    let filter = planner.filter(rule)?;
    let threshold = threshold(rule)?;
    let test = match &rule.condition {
        Some(Condition::Number(c)) => {
            let c = literal_condition(rule, c)?;
            match null_only(&c) {
                Some(nulls_pass) => ValueTest::Null(nulls_pass),
                None => ValueTest::Number(c),
            }
        }
        Some(Condition::String(c)) => ValueTest::Text(TextTest::new(c)?),
        Some(Condition::Date(c)) => ValueTest::Date(date_condition(c, rule, planner.now)?),
        _ => {
            return Err(Problem::Error(
                "ColumnValues needs a number, string or date condition".into(),
            ));
        }
    };
    let extremes = match (&test, &threshold) {
        (
            ValueTest::Number(
                Comparison::Gt(_) | Comparison::Ge(_) | Comparison::Lt(_) | Comparison::Le(_),
            ),
            None,
        )
        | (ValueTest::Number(Comparison::Eq(Some(_))), None) => Some(Moments::default()),
        _ => None,
    };
    Ok(Box::new(ColumnValuesCheck {
        column,
        name,
        filter,
        test,
        threshold,
        extremes,
        compliance: Compliance::default(),
        nulls_failed: 0,
        nans_failed: 0,
    }))
}

impl Check for ColumnValuesCheck {
    fn save(&self) -> serde_json::Value {
        partial::save(&(
            self.compliance,
            self.nulls_failed,
            self.nans_failed,
            self.extremes,
        ))
    }

    fn merge(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let (compliance, nulls_failed, nans_failed, extremes): (
            Compliance,
            u64,
            u64,
            Option<Moments>,
        ) = partial::load(state)?;
        self.compliance.merge(&compliance);
        self.nulls_failed += nulls_failed;
        self.nans_failed += nans_failed;
        if let (Some(mine), Some(theirs)) = (&mut self.extremes, &extremes) {
            mine.merge(theirs);
        }
        Ok(())
    }

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let scope = view.mask(self.filter)?.cloned();
        let column = view.column(self.column);
        let pass = match &self.test {
            ValueTest::Null(nulls_pass) => {
                let valid = match column.logical_nulls() {
                    Some(n) => n.inner().clone(),
                    None => BooleanBuffer::new_set(column.len()),
                };
                if *nulls_pass { !&valid } else { valid }
            }
            ValueTest::Number(c) => {
                let values = match view.numbers(self.column).map_err(|e| e.to_string())? {
                    Some(v) => v.clone(),
                    None => cast_with_options(column, &DataType::Float64, &CastOptions::default())
                        .map_err(|e| e.to_string())?
                        .as_primitive()
                        .clone(),
                };
                let mut pass = test_numbers(&values, c);
                if values.null_count() > column.logical_null_count() {
                    // A text that is no number fails every number comparison (Spark: the cast
                    // is NULL, the comparison NULL), even where a real null would pass.
                    let was_value = match column.logical_nulls() {
                        Some(n) => n.inner().clone(),
                        None => BooleanBuffer::new_set(column.len()),
                    };
                    if let Some(cast) = values.nulls() {
                        pass = &pass & &!&(&was_value & &!cast.inner());
                    }
                }
                if let Some(m) = &mut self.extremes {
                    m.update(&mask_values(&values, scope.as_ref()));
                    let v = values.values();
                    let failed_nans =
                        BooleanBuffer::collect_bool(v.len(), |i| v[i].is_nan() && !pass.value(i));
                    self.nans_failed += tally(&failed_nans, scope.as_ref()).0;
                }
                pass
            }
            ValueTest::Date(c) => {
                let days = as_days(column.as_ref())?;
                test_numbers(&days, c)
            }
            ValueTest::Text(t) => t.test(column.as_ref())?,
        };
        if let Some(nulls) = column.logical_nulls().filter(|n| n.null_count() > 0) {
            let failed_nulls = &!nulls.inner() & &!&pass;
            self.nulls_failed += tally(&failed_nulls, scope.as_ref()).0;
        }
        self.compliance.add(&pass, scope.as_ref());
        Ok(Some(RowResult { pass, scope }))
    }

    fn row_level(&self) -> bool {
        true
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        let pattern = matches!(self.test, ValueTest::Text(TextTest::Regex { .. }));
        let key = if pattern {
            format!("Column.{}.PatternMatch", self.name)
        } else {
            format!("Column.{}.ColumnValues.Compliance", self.name)
        };
        let nulls_failed = self.nulls_failed;
        let mut out = decide_ratio(
            self.compliance.ratio(),
            self.threshold.as_ref(),
            &key,
            |r| {
                if nulls_failed > 0 {
                    "Value: NULL does not meet the constraint requirement!".to_string()
                } else {
                    value_message(r)
                }
            },
        );
        if let (Some(m), ValueTest::Number(c)) = (&self.extremes, &self.test) {
            // Glue reports the minimum and/or maximum for these forms, not the compliance.
            out.metrics.clear();
            out.history.clear();
            let (show_min, show_max) = match c {
                Comparison::Gt(_) | Comparison::Ge(_) => (true, false),
                Comparison::Lt(_) | Comparison::Le(_) => (false, true),
                _ => (true, true),
            };
            for (show, metric, value) in [
                (show_min, "Minimum", m.min()),
                (show_max, "Maximum", m.max()),
            ] {
                if let (true, Some(v)) = (show, value) {
                    let k = format!("Column.{}.{metric}", self.name);
                    out.metrics.insert(k.clone(), v);
                    out.history.push((k, v));
                }
            }
            if out.outcome == Outcome::Failed && nulls_failed == 0 {
                let offending = match c {
                    Comparison::Lt(_) | Comparison::Le(_) => m.max(),
                    Comparison::Eq(_) if m.min().is_some_and(|v| holds(c, v)) => m.max(),
                    _ => m.min(),
                };
                // The extremes skip NaN: when they pass, the NaN rows are what failed.
                let offending = match offending {
                    Some(v) if holds(c, v) && self.nans_failed > 0 => Some(f64::NAN),
                    None if self.nans_failed > 0 => Some(f64::NAN),
                    other => other,
                };
                if let Some(v) = offending {
                    out.reason = Some(value_message(v));
                }
            }
        }
        out
    }
}

/// The date of each value, as days since 1970-01-01 in `f64` (null where there is none).
fn as_days(column: &dyn Array) -> Result<Float64Array, String> {
    let column = without_time_zone(column).map_err(|e| e.to_string())?;
    let dates = cast_with_options(&column, &DataType::Date32, &CastOptions::default())
        .map_err(|e| format!("cannot read values as dates: {e}"))?;
    let days = cast_with_options(&dates, &DataType::Int32, &CastOptions::default())
        .and_then(|d| cast_with_options(&d, &DataType::Float64, &CastOptions::default()))
        .map_err(|e| e.to_string())?;
    Ok(days.as_primitive().clone())
}

/// A date condition with each operand resolved to its date (days since 1970-01-01).
fn date_condition(
    c: &Comparison<DateExpr>,
    rule: &SingleRule,
    now: DateTime<Utc>,
) -> Result<Resolved, Problem> {
    // The same resolution as validation's, so a zone accepted at plan time is evaluated here.
    let zone_id = rule.tag("timeZone").unwrap_or_else(|| "UTC".into());
    let zone = zones::zone(&zone_id).ok_or_else(|| format!("unknown time zone \"{zone_id}\""));
    let mut problem = None;
    let resolved = c.clone().map(|e| match date_operand(&e, now, &zone) {
        Ok(v) => v,
        Err(p) => {
            problem.get_or_insert(p);
            None
        }
    });
    match problem {
        Some(p) => Err(p),
        None => Ok(resolved),
    }
}

fn date_operand(
    e: &DateExpr,
    now: DateTime<Utc>,
    zone: &Result<Zone, String>,
) -> Result<Option<f64>, Problem> {
    Ok(Some(match e {
        DateExpr::Null => return Ok(None),
        DateExpr::Date(text) => {
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| Problem::Error(format!("\"{text}\" is not a valid date")))?;
            f64::from(days_of(d))
        }
        DateExpr::Now => f64::from(days_since_epoch(now)),
        DateExpr::NowOffset { op, duration } => {
            let shift = ChronoDuration::minutes(duration.minutes() as i64);
            let t = match op {
                OffsetOp::Plus => now + shift,
                OffsetOp::Minus => now - shift,
            };
            f64::from(days_since_epoch(t))
        }
        DateExpr::Time(t) => {
            let zone = zone.as_ref().map_err(|e| Problem::Error(e.clone()))?;
            let at = zone
                .today_at(now, u32::from(t.hour), u32::from(t.minute))
                .ok_or_else(|| Problem::Error(format!("invalid time {}", t.text)))?;
            f64::from(days_since_epoch(at))
        }
    }))
}

/// Days from 1970-01-01 (`NaiveDate::default()`) to `d`.
fn days_of(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

/// `ColumnLength "col" <number condition>` (literal operands only).
pub struct ColumnLengthCheck {
    column: usize,
    name: String,
    filter: Option<FilterId>,
    condition: Resolved,
    range: LengthRange,
    compliance: Compliance,
}

/// Compiles ColumnLength.
pub fn column_length(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    let name = super::param(rule, 0)?.to_string();
    let column = planner.column(&name)?;
    let filter = planner.filter(rule)?;
    let condition = literal_condition(rule, super::number_condition(rule)?)?;
    Ok(Box::new(ColumnLengthCheck {
        column,
        name,
        filter,
        condition,
        range: LengthRange::default(),
        compliance: Compliance::default(),
    }))
}

impl ColumnLengthCheck {
    /// `in`, `not in` and `not between` are decided row by row; the other forms on the
    /// shortest and longest length, as Glue does.
    fn per_row(&self) -> bool {
        matches!(
            self.condition,
            Comparison::In(_) | Comparison::NotIn(_) | Comparison::NotBetween(..)
        )
    }
}

impl Check for ColumnLengthCheck {
    fn save(&self) -> serde_json::Value {
        partial::save(&(self.compliance, self.range))
    }

    fn merge(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let (compliance, range): (Compliance, LengthRange) = partial::load(state)?;
        self.compliance.merge(&compliance);
        self.range.merge(&range);
        Ok(())
    }

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let scope = view.mask(self.filter)?.cloned();
        let lengths = char_lengths(view.column(self.column).as_ref()).map_err(|e| e.to_string())?;
        self.range.update(
            &lengths,
            scope.as_ref().map(|s| NullBuffer::new(s.clone())).as_ref(),
        );
        let nulls = lengths.nulls();
        let values = lengths.values();
        let pass = BooleanBuffer::collect_bool(lengths.len(), |i| {
            let len = if nulls.is_some_and(|n| n.is_null(i)) {
                0
            } else {
                values[i]
            };
            holds(&self.condition, len as f64)
        });
        self.compliance.add(&pass, scope.as_ref());
        Ok(Some(RowResult { pass, scope }))
    }

    fn row_level(&self) -> bool {
        true
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        if self.per_row() {
            let key = format!("Column.{}.LengthCompliance", self.name);
            return decide_ratio(self.compliance.ratio(), None, &key, value_message);
        }
        let (Some(min), Some(max)) = (self.range.min(), self.range.max()) else {
            return decide_ratio(None, None, "", value_message);
        };
        let (min, max) = (min as f64, max as f64);
        let c = &self.condition;
        let (use_min, use_max, failing) = match c {
            Comparison::Gt(_) | Comparison::Ge(_) => (true, false, (!holds(c, min)).then_some(min)),
            Comparison::Lt(_) | Comparison::Le(_) => (false, true, (!holds(c, max)).then_some(max)),
            Comparison::Between(a, b) => {
                let low_ok = holds(&Comparison::Gt(*a), min);
                let high_ok = holds(&Comparison::Lt(*b), max);
                (
                    true,
                    true,
                    if !low_ok {
                        Some(min)
                    } else if !high_ok {
                        Some(max)
                    } else {
                        None
                    },
                )
            }
            _ => (
                true,
                true,
                if !holds(c, min) {
                    Some(min)
                } else if !holds(c, max) {
                    Some(max)
                } else {
                    None
                },
            ),
        };
        let mut metrics = Metrics::new();
        if use_min {
            metrics.insert(format!("Column.{}.MinimumLength", self.name), min);
        }
        if use_max {
            metrics.insert(format!("Column.{}.MaximumLength", self.name), max);
        }
        LeafOutcome {
            outcome: if failing.is_some() {
                Outcome::Failed
            } else {
                Outcome::Passed
            },
            reason: failing.map(value_message),
            history: metrics.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            metrics,
            evaluated_rule: None,
        }
    }
}

/// What ColumnDataType checks a value can become.
enum TypeTarget {
    /// A cast to this type succeeds.
    Cast(DataType),
    /// The text parses as a date in this `chrono` format (after completing a partial format).
    DateFormat { format: String, complete: Partial },
    /// A `format` tag Glue does not accept: every value fails.
    Never,
}

/// How a partial date format is completed to a full date before parsing (as deequ does).
#[derive(Clone, Copy)]
enum Partial {
    None,
    Prefix(&'static str),
    Suffix(&'static str),
}

/// `ColumnDataType "col" = "Type"` / `!= "Type"`, optionally `with format` and a threshold.
pub struct DataTypeCheck {
    column: usize,
    name: String,
    filter: Option<FilterId>,
    target: TypeTarget,
    negated: bool,
    threshold: Option<Resolved>,
    compliance: Compliance,
}

/// Compiles ColumnDataType.
pub fn column_data_type(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    let name = super::param(rule, 0)?.to_string();
    let column = planner.column(&name)?;
    let filter = planner.filter(rule)?;
    let (type_name, negated) = match &rule.condition {
        Some(Condition::String(StringCondition::Eq(StringValue::Quoted(t)))) => (t.clone(), false),
        Some(Condition::String(StringCondition::Ne(StringValue::Quoted(t)))) => (t.clone(), true),
        Some(Condition::String(StringCondition::Eq(_) | StringCondition::Ne(_))) => {
            return Err(Problem::Error(
                "ColumnDataType needs a type name such as \"Integer\"".into(),
            ));
        }
        _ => {
            return Err(Problem::Error(
                "ColumnDataType rule only supports EQUALS (=) or NOT_EQUALS (!=) operators".into(),
            ));
        }
    };
    let upper = type_name.to_ascii_uppercase();
    let target = match upper.as_str() {
        "BOOLEAN" => TypeTarget::Cast(DataType::Boolean),
        "INTEGER" => TypeTarget::Cast(DataType::Int32),
        "LONG" => TypeTarget::Cast(DataType::Int64),
        "DOUBLE" => TypeTarget::Cast(DataType::Float64),
        "FLOAT" => TypeTarget::Cast(DataType::Float32),
        "TIMESTAMP" => TypeTarget::Cast(DataType::Timestamp(TimeUnit::Microsecond, None)),
        "DATE" => {
            let other_tags = rule.tags.iter().any(|t| t.name != "format");
            match rule.tag("format") {
                None if other_tags => return Err(Problem::Error("Unsupported rule format".into())),
                None => TypeTarget::Cast(DataType::Date32),
                Some(f) => date_format(&f),
            }
        }
        _ => match decimal(&upper) {
            Some((p, s)) => TypeTarget::Cast(DataType::Decimal128(p, s)),
            None => {
                return Err(Problem::Error(format!(
                    "Unrecognized data type: {type_name}"
                )));
            }
        },
    };
    Ok(Box::new(DataTypeCheck {
        column,
        name,
        filter,
        target,
        negated,
        threshold: threshold(rule)?,
        compliance: Compliance::default(),
    }))
}

/// `DECIMAL(p,s)`.
fn decimal(upper: &str) -> Option<(u8, i8)> {
    let inner = upper.strip_prefix("DECIMAL(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
    ((1..=38).contains(&p) && s >= 0 && s as u8 <= p).then_some((p, s))
}

/// The date formats Glue accepts in `with format`, as `chrono` formats.
fn date_format(f: &str) -> TypeTarget {
    let (format, complete) = match f {
        "dd-MM-yyyy" => ("%d-%m-%Y", Partial::None),
        "MM-dd-yyyy" => ("%m-%d-%Y", Partial::None),
        "yyyy-MM-dd" => ("%Y-%m-%d", Partial::None),
        "dd/MM/yyyy" => ("%d/%m/%Y", Partial::None),
        "MM/dd/yyyy" => ("%m/%d/%Y", Partial::None),
        "yyyy/MM/dd" => ("%Y/%m/%d", Partial::None),
        "MM-yyyy" => ("%d-%m-%Y", Partial::Prefix("01-")),
        "yyyy-MM" => ("%Y-%m-%d", Partial::Suffix("-01")),
        "MM/yyyy" => ("%d/%m/%Y", Partial::Prefix("01/")),
        "yyyy/MM" => ("%Y/%m/%d", Partial::Suffix("/01")),
        "dd-MM" => ("%d-%m-%Y", Partial::Suffix("-2000")),
        "dd/MM" => ("%d/%m/%Y", Partial::Suffix("/2000")),
        "MM/dd" => ("%m/%d/%Y", Partial::Suffix("/2000")),
        "MM-dd" => ("%m-%d-%Y", Partial::Suffix("-2000")),
        _ => return TypeTarget::Never,
    };
    TypeTarget::DateFormat {
        format: format.to_string(),
        complete,
    }
}

impl Check for DataTypeCheck {
    compliance_state!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let scope = view.mask(self.filter)?.cloned();
        let column = view.column(self.column);
        let ok = match &self.target {
            TypeTarget::Never => BooleanBuffer::new_unset(column.len()),
            TypeTarget::Cast(t) => {
                let cast = cast_with_options(column.as_ref(), t, &CastOptions::default())
                    .map_err(|e| e.to_string())?;
                match (column.logical_nulls(), cast.logical_nulls()) {
                    (_, Some(after)) => after.into_inner(),
                    (Some(before), None) => before.into_inner(),
                    (None, None) => BooleanBuffer::new_set(column.len()),
                }
            }
            TypeTarget::DateFormat { format, complete } => {
                let text =
                    cast_with_options(column.as_ref(), &DataType::Utf8, &CastOptions::default())
                        .map_err(|e| e.to_string())?;
                let s = text.as_string::<i32>();
                let parses = |v: &str| {
                    let full = match complete {
                        Partial::None => v.to_string(),
                        Partial::Prefix(p) => format!("{p}{v}"),
                        Partial::Suffix(x) => format!("{v}{x}"),
                    };
                    NaiveDate::parse_from_str(&full, format).is_ok()
                };
                BooleanBuffer::collect_bool(s.len(), |i| s.is_valid(i) && parses(s.value(i)))
            }
        };
        let pass = if self.negated { !&ok } else { ok };
        self.compliance.add(&pass, scope.as_ref());
        // Glue gives ColumnDataType no row-level outcome.
        Ok(None)
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        let key = format!("Column.{}.ColumnDataType.Compliance", self.name);
        decide_ratio(
            self.compliance.ratio(),
            self.threshold.as_ref(),
            &key,
            |r| format!("{:.2}% of rows passed", r * 100.0),
        )
    }
}

/// `DataFreshness "col" <duration condition>`: every row's age, in hours rounded to 2 decimals,
/// must satisfy the condition.
pub struct FreshnessCheck {
    column: usize,
    name: String,
    filter: Option<FilterId>,
    /// The condition in hours.
    condition: Resolved,
    now_seconds: i64,
    compliance: Compliance,
}

/// Compiles DataFreshness.
pub fn data_freshness(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    let name = super::param(rule, 0)?.to_string();
    let column = planner.column(&name)?;
    let filter = planner.filter(rule)?;
    let Some(Condition::Duration(c)) = &rule.condition else {
        return Err(Problem::Error(
            "Unsupported condition type for DataFreshness rule".into(),
        ));
    };
    Ok(Box::new(FreshnessCheck {
        column,
        name,
        filter,
        condition: c.clone().map(|d| Some(hours(d))),
        now_seconds: planner.now.timestamp(),
        compliance: Compliance::default(),
    }))
}

/// A duration in hours; minutes are rounded to 4 decimals, as Glue does.
fn hours(d: Duration) -> f64 {
    let amount = f64::from(d.amount);
    match d.unit {
        DurationUnit::Days => 24.0 * amount,
        DurationUnit::Hours => amount,
        DurationUnit::Minutes => (amount / 60.0 * 10_000.0).round() / 10_000.0,
    }
}

impl Check for FreshnessCheck {
    compliance_state!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let scope = view.mask(self.filter)?.cloned();
        let column =
            without_time_zone(view.column(self.column).as_ref()).map_err(|e| e.to_string())?;
        let target = DataType::Timestamp(TimeUnit::Microsecond, None);
        let ts = cast_with_options(&column, &target, &CastOptions::default())
            .map_err(|e| format!("cannot read {} as timestamps: {e}", self.name))?;
        let micros = cast_with_options(&ts, &DataType::Int64, &CastOptions::default())
            .map_err(|e| e.to_string())?;
        let micros = micros.as_primitive::<arrow::datatypes::Int64Type>();
        let values = micros.values();
        let now = self.now_seconds;
        let hit = BooleanBuffer::collect_bool(micros.len(), |i| {
            let age_seconds = now - values[i].div_euclid(1_000_000);
            let age_hours = (age_seconds as f64 / 3600.0 * 100.0).round() / 100.0;
            holds(&self.condition, age_hours)
        });
        let pass = combine(hit, micros.nulls(), false);
        self.compliance.add(&pass, scope.as_ref());
        // deequ gives DataFreshness no row-level outcome.
        Ok(None)
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        let key = format!("Column.{}.DataFreshness.Compliance", self.name);
        decide_ratio(self.compliance.ratio(), None, &key, |r| {
            format!("{:.2} % of rows passed the threshold", r * 100.0)
        })
    }
}
