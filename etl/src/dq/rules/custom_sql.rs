//! CustomSql over the data being checked, registered as `primary`, in the two forms Glue has:
//! - with a number condition, the query returns one number — an expression over aggregates,
//!   e.g. `select count(*) from primary where qty < 0` — compared with the condition
//!   (metric `Dataset.*.CustomSQL`);
//! - without one, the query returns rows of `primary` — `select * from primary where …` — and the
//!   rule passes when every row is returned, or the share returned meets `with threshold`
//!   (metric `Dataset.*.CustomSQL.Compliance`, with row-level outcomes).
//!
//! Both run batch by batch in the streaming pass; see [`crate::dq::sql`] for the SQL accepted.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use gluepipe_spec::dqdl::{Condition, SingleRule};

use super::metric::value_message;
use super::{
    Check, Compliance, FinishContext, LeafOutcome, Planner, Problem, RowResult, compliance_state,
    decide_ratio, threshold,
};
use crate::dq::condition::{as_literals, holds, is_dynamic, resolve};
use crate::dq::metrics::frequency::{Frequencies, FrequencyState};
use crate::dq::metrics::moments::Moments;
use crate::dq::partial;
use crate::dq::plan::{BatchView, mask_values};
use crate::dq::results::{Metrics, Outcome};
use crate::dq::sql::ast::{AggregateFunc, Expr, Projection};
use crate::dq::sql::bind::AggregateCall;
use crate::dq::sql::eval::eval_predicate;
use crate::dq::sql::value::{Value, is_numeric, is_string};
use crate::dq::sql::{Binder, Bound, EvalContext, eval, parse_select};

/// Compiles a CustomSql rule.
pub fn compile(rule: &SingleRule, planner: &mut Planner<'_>) -> Result<Box<dyn Check>, Problem> {
    let sql = super::param(rule, 0)?.to_string();
    let invalid = |m: &dyn std::fmt::Display| Problem::Error(format!("CustomSql: {m}"));
    let select = parse_select(&sql).map_err(|e| invalid(&e))?;
    if !select.table.eq_ignore_ascii_case("primary") {
        return Err(invalid(&format!(
            "only the data being checked, `primary`, can be queried, not {}",
            select.table
        )));
    }
    let mut qualifiers = vec!["primary"];
    if let Some(a) = &select.alias {
        qualifiers.push(a);
    }
    let filter = match &select.filter {
        None => None,
        Some(f) => Some(
            Binder::new(planner.schema, &qualifiers)
                .bind(f)
                .map_err(|e| invalid(&e))?,
        ),
    };
    match (&rule.condition, &select.projection) {
        (Some(Condition::Number(_)), Projection::Items(items))
            if items.len() == 1 && items[0].has_aggregate() =>
        {
            let item = &items[0];
            if let Some(c) = column_outside_aggregate(item) {
                return Err(invalid(&format!(
                    "column {c} must be inside an aggregate such as sum({c})"
                )));
            }
            let mut binder = Binder::new(planner.schema, &qualifiers).with_aggregates();
            let projection = binder.bind(item).map_err(|e| invalid(&e))?;
            let calls = binder.into_aggregates();
            Ok(Box::new(AggregateCheck {
                rule: rule.clone(),
                history_key: format!("Dataset.*.CustomSQL (sql: {sql})"),
                filter,
                aggregates: calls.into_iter().map(Aggregate::new).collect(),
                projection,
                now: planner.now,
            }))
        }
        (Some(Condition::Number(_)), _) => Err(invalid(
            &"with a number condition the query must return one number, \
             e.g. select count(*) from primary where …",
        )),
        (Some(other), _) => Err(invalid(&format!(
            "a {} condition is not supported",
            other.kind().describe()
        ))),
        (None, projection) => {
            if let Projection::Items(items) = projection {
                if let Some(e) = items.iter().find(|e| !matches!(e, Expr::Column(_))) {
                    let what = if e.has_aggregate() {
                        "an aggregate"
                    } else {
                        "an expression"
                    };
                    return Err(invalid(&format!(
                        "without a condition the query must return rows of primary (select * from primary where …), \
                         not {what}; add a condition such as `> 0` to compare a number"
                    )));
                }
                let mut binder = Binder::new(planner.schema, &qualifiers);
                for e in items {
                    binder.bind(e).map_err(|e| {
                        invalid(&format!("The columns returned from the SQL statement should only belong to the primary table: {e}"))
                    })?;
                }
            }
            Ok(Box::new(SqlRowsCheck {
                filter,
                threshold: threshold(rule)?,
                compliance: Compliance::default(),
            }))
        }
    }
}

/// A column referenced outside any aggregate call (invalid in an aggregate projection).
fn column_outside_aggregate(e: &Expr) -> Option<String> {
    match e {
        Expr::Column(c) => Some(c.name.clone()),
        Expr::Aggregate { .. } | Expr::Literal(_) => None,
        Expr::Unary(_, x) | Expr::IsNull { expr: x, .. } | Expr::Cast { expr: x, .. } => {
            column_outside_aggregate(x)
        }
        Expr::Binary(_, a, b) => {
            column_outside_aggregate(a).or_else(|| column_outside_aggregate(b))
        }
        Expr::InList { expr, list, .. } => column_outside_aggregate(expr)
            .or_else(|| list.iter().find_map(column_outside_aggregate)),
        Expr::Between {
            expr, low, high, ..
        } => column_outside_aggregate(expr)
            .or_else(|| column_outside_aggregate(low))
            .or_else(|| column_outside_aggregate(high)),
        Expr::Pattern { expr, pattern, .. } => {
            column_outside_aggregate(expr).or_else(|| column_outside_aggregate(pattern))
        }
        Expr::Function { args, .. } => args.iter().find_map(column_outside_aggregate),
    }
}

/// An [`Aggregate`]'s state as a shard saves it: count, moments, and the `COUNT(DISTINCT)`
/// table with its key type (the table is created on the first batch, from the values' type).
type SavedAggregate = (u64, Moments, Option<(FrequencyState, String)>);

/// One aggregate call and its running state.
struct Aggregate {
    call: AggregateCall,
    count: u64,
    moments: Moments,
    distinct: Option<(Frequencies, DataType)>,
}

impl Aggregate {
    fn new(call: AggregateCall) -> Self {
        Aggregate {
            call,
            count: 0,
            moments: Moments::default(),
            distinct: None,
        }
    }

    fn update(
        &mut self,
        batch: &RecordBatch,
        mask: Option<&BooleanBuffer>,
        ctx: &EvalContext<'_>,
    ) -> Result<(), String> {
        let n = batch.num_rows();
        let Some(arg) = &self.call.arg else {
            self.count += mask.map_or(n, BooleanBuffer::count_set_bits) as u64;
            return Ok(());
        };
        let values: ArrayRef = eval(arg, batch, ctx)
            .and_then(|v| v.into_array(n))
            .map_err(|e| e.to_string())?;
        match self.call.func {
            AggregateFunc::Count if self.call.distinct => {
                let t = values.data_type().clone();
                let table = self.distinct_table(t)?;
                table.update(&[values], mask).map_err(|e| e.to_string())?;
            }
            AggregateFunc::Count => {
                let valid = values
                    .logical_nulls()
                    .map(|v| v.into_inner())
                    .unwrap_or_else(|| BooleanBuffer::new_set(n));
                let counted = match mask {
                    Some(m) => &valid & m,
                    None => valid,
                };
                self.count += counted.count_set_bits() as u64;
            }
            func => {
                let t = values.data_type();
                if !(is_numeric(t) || is_string(t) || t == &DataType::Null) {
                    return Err(format!("CustomSql: {func} needs numbers, not {t}"));
                }
                let numbers =
                    cast_with_options(&values, &DataType::Float64, &CastOptions::default())
                        .map_err(|e| e.to_string())?;
                let numbers: &Float64Array = numbers
                    .as_any()
                    .downcast_ref()
                    .ok_or("internal: cast to Float64")?;
                self.moments.update(&mask_values(numbers, mask));
            }
        }
        Ok(())
    }

    fn save(&self) -> SavedAggregate {
        let distinct = self
            .distinct
            .as_ref()
            .map(|(t, ty)| (t.save(), ty.to_string()));
        (self.count, self.moments, distinct)
    }

    fn merge(&mut self, (count, moments, distinct): &SavedAggregate) -> Result<(), String> {
        self.count += count;
        self.moments.merge(moments);
        if let Some((state, ty)) = distinct {
            let t: DataType = ty
                .parse()
                .map_err(|e| format!("shard state: key type {ty}: {e}"))?;
            let table = self.distinct_table(t)?;
            table.merge(state).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The `COUNT(DISTINCT)` table, created for keys of type `t` on first use.
    fn distinct_table(&mut self, t: DataType) -> Result<&mut Frequencies, String> {
        if self.distinct.is_none() {
            let table = Frequencies::new(std::slice::from_ref(&t)).map_err(|e| e.to_string())?;
            self.distinct = Some((table, t));
        }
        match &mut self.distinct {
            Some((table, _)) => Ok(table),
            None => Err("internal: no distinct table".into()),
        }
    }

    /// The aggregate's value as a one-element scalar (NULL when SQL gives NULL).
    fn value(&self) -> Value {
        let number =
            |v: Option<f64>| -> Value { Value::Scalar(Arc::new(Float64Array::from(vec![v]))) };
        match self.call.func {
            AggregateFunc::Count => {
                let n = match &self.distinct {
                    Some((t, _)) => t.stats().distinct,
                    None if self.call.distinct => 0,
                    None => self.count,
                };
                Value::Scalar(Arc::new(Int64Array::from(vec![n as i64])))
            }
            AggregateFunc::Sum => number(self.moments.sum()),
            AggregateFunc::Avg => number(self.moments.mean()),
            AggregateFunc::Min => number(self.moments.min()),
            AggregateFunc::Max => number(self.moments.max()),
        }
    }
}

/// CustomSql with a number condition.
struct AggregateCheck {
    rule: SingleRule,
    history_key: String,
    filter: Option<Bound>,
    aggregates: Vec<Aggregate>,
    projection: Bound,
    now: chrono::DateTime<chrono::Utc>,
}

impl Check for AggregateCheck {
    fn save(&self) -> serde_json::Value {
        partial::save(
            &self
                .aggregates
                .iter()
                .map(Aggregate::save)
                .collect::<Vec<_>>(),
        )
    }

    fn merge(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let saved: Vec<SavedAggregate> = partial::load(state)?;
        if saved.len() != self.aggregates.len() {
            return Err("a shard state has another number of aggregates".into());
        }
        for (a, s) in self.aggregates.iter_mut().zip(&saved) {
            a.merge(s)?;
        }
        Ok(())
    }

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let mask = match &self.filter {
            None => None,
            Some(f) => Some(
                eval_predicate(f, view.batch, &view.eval).map_err(|e| format!("CustomSql: {e}"))?,
            ),
        };
        for a in &mut self.aggregates {
            a.update(view.batch, mask.as_ref(), &view.eval)?;
        }
        Ok(None)
    }

    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome {
        let values: Vec<Value> = self.aggregates.iter().map(Aggregate::value).collect();
        let one_row = match RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        ) {
            Ok(b) => b,
            Err(e) => return LeafOutcome::error(e.to_string()),
        };
        let eval_ctx = EvalContext {
            now: self.now,
            aggregates: &values,
        };
        let result = eval(&self.projection, &one_row, &eval_ctx)
            .and_then(|v| v.cast(&DataType::Float64))
            .map(|v| {
                let a = v.array();
                let f: Option<&Float64Array> = a.as_any().downcast_ref();
                f.filter(|f| f.is_valid(0)).map(|f| f.value(0))
            });
        let value = match result {
            Ok(v) => v,
            Err(e) => return LeafOutcome::error(format!("CustomSql: {e}")),
        };
        let Some(Condition::Number(condition)) = &self.rule.condition else {
            return LeafOutcome::error("CustomSql: the rule has no number condition");
        };
        let past = ctx.history.last(&self.history_key, usize::MAX);
        let resolved = match resolve(condition, &past) {
            Ok(r) => r,
            Err(e) => return LeafOutcome::error(e),
        };
        let evaluated_rule = is_dynamic(condition).then(|| {
            let mut r = self.rule.clone();
            r.condition = Some(Condition::Number(as_literals(&resolved)));
            r
        });
        let key = "Dataset.*.CustomSQL".to_string();
        let Some(v) = value else {
            return LeafOutcome {
                outcome: Outcome::Failed,
                reason: Some("Value: NULL does not meet the constraint requirement! (the query returned NULL)".into()),
                metrics: Metrics::new(),
                history: vec![],
                evaluated_rule,
            };
        };
        let passed = holds(&resolved, v);
        LeafOutcome {
            outcome: if passed {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            reason: (!passed).then(|| value_message(v)),
            metrics: Metrics::from([(key, v)]),
            history: vec![(self.history_key.clone(), v)],
            evaluated_rule,
        }
    }
}

/// CustomSql returning rows: a row is returned exactly when it satisfies the `WHERE` predicate.
struct SqlRowsCheck {
    filter: Option<Bound>,
    threshold: Option<crate::dq::condition::Resolved>,
    compliance: Compliance,
}

impl Check for SqlRowsCheck {
    compliance_state!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let pass = match &self.filter {
            None => BooleanBuffer::new_set(view.num_rows()),
            Some(f) => {
                eval_predicate(f, view.batch, &view.eval).map_err(|e| format!("CustomSql: {e}"))?
            }
        };
        self.compliance.add(&pass, None);
        Ok(Some(RowResult { pass, scope: None }))
    }

    fn row_level(&self) -> bool {
        true
    }

    fn finish(&mut self, _: &FinishContext<'_>) -> LeafOutcome {
        if self.compliance.total == 0 {
            return LeafOutcome::failed(
                "Custom SQL rule could not be evaluated due to data frame being empty",
            );
        }
        decide_ratio(
            self.compliance.ratio(),
            self.threshold.as_ref(),
            "Dataset.*.CustomSQL.Compliance",
            value_message,
        )
    }
}
