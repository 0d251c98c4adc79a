//! Vectorised evaluation of bound expressions over a `RecordBatch` with Arrow compute kernels:
//! each node is one kernel call over whole columns (comparison, Kleene `AND`/`OR`, arithmetic,
//! `LIKE`, casts), scalars stay one element long until a kernel broadcasts them. Three-valued
//! logic is SQL's: a comparison with NULL is NULL, and a filter keeps only rows that are TRUE.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, Date32Array, Float64Array,
    Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::cmp;
use arrow::compute::kernels::numeric;
use arrow::compute::kernels::temporal::{DatePart, date_part};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{and_kleene, is_not_null, is_null, not, nullif, or_kleene};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use super::ast::BinaryOp;
use super::bind::{Bound, Function};
use super::value::{Value, arithmetic_type, coerce_pair, comparison_type, is_string, scalar};
use crate::dq::metrics::lengths::char_lengths;

/// What an evaluation may read besides the batch.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The evaluation time (`current_date()`, `now()`), fixed for a whole run.
    pub now: DateTime<Utc>,
    /// Values of aggregates, for the final step of a numeric CustomSql query.
    pub aggregates: &'a [Value],
}

impl<'a> EvalContext<'a> {
    /// A context without aggregate values.
    pub fn new(now: DateTime<Utc>) -> Self {
        EvalContext {
            now,
            aggregates: &[],
        }
    }
}

/// Evaluates `e` over `batch`.
pub fn eval(e: &Bound, batch: &RecordBatch, ctx: &EvalContext<'_>) -> Result<Value, ArrowError> {
    Ok(match e {
        Bound::Column(i) => {
            let column = batch.column(*i).clone();
            match column.data_type() {
                DataType::Dictionary(_, values) => {
                    Value::Array(arrow::compute::cast(&column, values)?)
                }
                _ => Value::Array(column),
            }
        }
        Bound::Literal(a) => Value::Scalar(a.clone()),
        Bound::Not(x) => {
            let v = boolean(eval(x, batch, ctx)?)?;
            let scalar = v.is_scalar();
            Value::from_kernel(Arc::new(not(v.array().as_boolean())?), scalar)
        }
        Bound::Neg(x) => {
            let v = eval(x, batch, ctx)?;
            let t = arithmetic_type(v.data_type(), v.data_type())?;
            let v = v.cast(&t)?;
            Value::from_kernel(numeric::neg_wrapping(v.array())?, v.is_scalar())
        }
        Bound::Binary(op, a, b) => {
            let (l, r) = (eval(a, batch, ctx)?, eval(b, batch, ctx)?);
            binary(*op, &l, &r, batch.num_rows())?
        }
        Bound::IsNull(x, negated) => {
            let v = eval(x, batch, ctx)?;
            let r = if *negated {
                is_not_null(v.array())?
            } else {
                is_null(v.array())?
            };
            Value::from_kernel(Arc::new(r), v.is_scalar())
        }
        Bound::InList(x, list, negated) => {
            let v = eval(x, batch, ctx)?;
            let mut acc: Option<Value> = None;
            for item in list {
                let eq = compare(BinaryOp::Eq, &v, &eval(item, batch, ctx)?)?;
                acc = Some(match acc {
                    None => eq,
                    Some(a) => kleene(BinaryOp::Or, &a, &eq, batch.num_rows())?,
                });
            }
            let found =
                acc.ok_or_else(|| ArrowError::InvalidArgumentError("empty IN list".into()))?;
            negate_if(found, *negated)?
        }
        Bound::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(expr, batch, ctx)?;
            let lo = compare(BinaryOp::GtEq, &v, &eval(low, batch, ctx)?)?;
            let hi = compare(BinaryOp::LtEq, &v, &eval(high, batch, ctx)?)?;
            negate_if(kleene(BinaryOp::And, &lo, &hi, batch.num_rows())?, *negated)?
        }
        Bound::Like {
            expr,
            pattern,
            case_insensitive,
            negated,
        } => {
            let v = eval(expr, batch, ctx)?.cast(&DataType::Utf8)?;
            let p = eval(pattern, batch, ctx)?.cast(&DataType::Utf8)?;
            let scalar = v.is_scalar() && p.is_scalar();
            let r = match (case_insensitive, negated) {
                (false, false) => arrow::compute::kernels::comparison::like(&v, &p)?,
                (false, true) => arrow::compute::kernels::comparison::nlike(&v, &p)?,
                (true, false) => arrow::compute::kernels::comparison::ilike(&v, &p)?,
                (true, true) => arrow::compute::kernels::comparison::nilike(&v, &p)?,
            };
            Value::from_kernel(Arc::new(r), scalar)
        }
        Bound::RLike {
            expr,
            regex,
            negated,
        } => {
            let v = eval(expr, batch, ctx)?.cast(&DataType::Utf8)?;
            let s = v.array().as_string::<i32>();
            let mut bits = BooleanBufferBuilder::new(s.len());
            for i in 0..s.len() {
                bits.append(s.is_valid(i) && regex.is_match(s.value(i)) != *negated);
            }
            let r = BooleanArray::new(bits.finish(), s.nulls().cloned());
            Value::from_kernel(Arc::new(r), v.is_scalar())
        }
        Bound::Cast(x, to) => eval(x, batch, ctx)?.cast(to)?,
        Bound::Call(f, args) => {
            let values = args
                .iter()
                .map(|a| eval(a, batch, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            call(*f, values, batch.num_rows(), ctx)?
        }
        Bound::Aggregate(i) => ctx.aggregates.get(*i).cloned().ok_or_else(|| {
            ArrowError::InvalidArgumentError("aggregate used outside an aggregate query".into())
        })?,
    })
}

/// Evaluates a filter: the rows where `e` is TRUE (NULL and FALSE rows are dropped).
pub fn eval_predicate(
    e: &Bound,
    batch: &RecordBatch,
    ctx: &EvalContext<'_>,
) -> Result<BooleanBuffer, ArrowError> {
    boolean(eval(e, batch, ctx)?)?.true_rows(batch.num_rows())
}

/// `v` as a boolean value: NULL and strings (`'true'`) are cast, other types are an error.
fn boolean(v: Value) -> Result<Value, ArrowError> {
    match v.data_type() {
        DataType::Boolean => Ok(v),
        DataType::Null | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            v.cast(&DataType::Boolean)
        }
        other => Err(ArrowError::InvalidArgumentError(format!(
            "expected a boolean, found {other}"
        ))),
    }
}

fn negate_if(v: Value, negated: bool) -> Result<Value, ArrowError> {
    if !negated {
        return Ok(v);
    }
    let scalar = v.is_scalar();
    Ok(Value::from_kernel(
        Arc::new(not(v.array().as_boolean())?),
        scalar,
    ))
}

fn binary(op: BinaryOp, l: &Value, r: &Value, len: usize) -> Result<Value, ArrowError> {
    use BinaryOp as B;
    match op {
        B::And | B::Or => kleene(op, l, r, len),
        B::Eq | B::NotEq | B::NullSafeEq | B::Lt | B::LtEq | B::Gt | B::GtEq => compare(op, l, r),
        B::Add | B::Sub | B::Mul | B::Div | B::Mod => arithmetic(op, l, r),
        B::Concat => {
            let scalar = l.is_scalar() && r.is_scalar();
            let n = if scalar { 1 } else { len };
            let a = l.cast(&DataType::Utf8)?.into_array(n)?;
            let b = r.cast(&DataType::Utf8)?.into_array(n)?;
            let out = arrow::compute::kernels::concat_elements::concat_elements_utf8(
                a.as_string::<i32>(),
                b.as_string::<i32>(),
            )?;
            Ok(Value::from_kernel(Arc::new(out), scalar))
        }
    }
}

/// Kleene `AND`/`OR` (`NULL AND FALSE` is `FALSE`, `NULL OR TRUE` is `TRUE`).
fn kleene(op: BinaryOp, l: &Value, r: &Value, len: usize) -> Result<Value, ArrowError> {
    let (l, r) = (boolean(l.clone())?, boolean(r.clone())?);
    let scalar = l.is_scalar() && r.is_scalar();
    let n = if scalar { 1 } else { len };
    let a = l.into_array(n)?;
    let b = r.into_array(n)?;
    let out = if op == BinaryOp::And {
        and_kleene(a.as_boolean(), b.as_boolean())?
    } else {
        or_kleene(a.as_boolean(), b.as_boolean())?
    };
    Ok(Value::from_kernel(Arc::new(out), scalar))
}

/// `l op r` for comparison operators, after coercing both sides to a common type.
pub fn compare(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, ArrowError> {
    let (l, r) = coerce_pair(l, r)?;
    let scalar = l.is_scalar() && r.is_scalar();
    if l.data_type() == &DataType::Null {
        // NULL compared with NULL: unknown (or, for <=>, true).
        let n = if scalar {
            1
        } else {
            l.array().len().max(r.array().len())
        };
        let v = (op == BinaryOp::NullSafeEq).then_some(true);
        return Ok(Value::from_kernel(
            Arc::new(BooleanArray::from(vec![v; n])),
            scalar,
        ));
    }
    let out = match op {
        BinaryOp::Eq => cmp::eq(&l, &r)?,
        BinaryOp::NotEq => cmp::neq(&l, &r)?,
        BinaryOp::NullSafeEq => cmp::not_distinct(&l, &r)?,
        BinaryOp::Lt => cmp::lt(&l, &r)?,
        BinaryOp::LtEq => cmp::lt_eq(&l, &r)?,
        BinaryOp::Gt => cmp::gt(&l, &r)?,
        BinaryOp::GtEq => cmp::gt_eq(&l, &r)?,
        other => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "{other:?} is not a comparison"
            )));
        }
    };
    Ok(Value::from_kernel(Arc::new(out), scalar))
}

fn arithmetic(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, ArrowError> {
    let t = if op == BinaryOp::Div {
        arithmetic_type(l.data_type(), r.data_type())?;
        DataType::Float64
    } else {
        arithmetic_type(l.data_type(), r.data_type())?
    };
    let (l, r) = (l.cast(&t)?, r.cast(&t)?);
    let scalar = l.is_scalar() && r.is_scalar();
    // Division and modulo by zero give NULL, as in Spark (not an error, not infinity).
    let r = if matches!(op, BinaryOp::Div | BinaryOp::Mod) {
        let zero: Value = if t == DataType::Int64 {
            scalar_of(Int64Array::from(vec![0]))
        } else {
            scalar_of(Float64Array::from(vec![0.0]))
        };
        let is_zero = cmp::eq(&r, &zero)?;
        Value::from_kernel(nullif(r.array(), &is_zero)?, r.is_scalar())
    } else {
        r
    };
    let out = match op {
        BinaryOp::Add => numeric::add_wrapping(&l, &r)?,
        BinaryOp::Sub => numeric::sub_wrapping(&l, &r)?,
        BinaryOp::Mul => numeric::mul_wrapping(&l, &r)?,
        BinaryOp::Div => numeric::div(&l, &r)?,
        BinaryOp::Mod => numeric::rem(&l, &r)?,
        other => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "{other:?} is not arithmetic"
            )));
        }
    };
    Ok(Value::from_kernel(out, scalar))
}

fn scalar_of(a: impl Array + 'static) -> Value {
    scalar(a)
}

fn call(
    f: Function,
    mut args: Vec<Value>,
    len: usize,
    ctx: &EvalContext<'_>,
) -> Result<Value, ArrowError> {
    use Function as F;
    let first = || {
        args.first()
            .cloned()
            .ok_or_else(|| ArrowError::InvalidArgumentError("missing argument".into()))
    };
    Ok(match f {
        F::Length => {
            let v = first()?;
            Value::from_kernel(Arc::new(char_lengths(v.array().as_ref())?), v.is_scalar())
        }
        F::Lower | F::Upper | F::Trim | F::LTrim | F::RTrim => {
            let v = first()?.cast(&DataType::Utf8)?;
            let s = v.array().as_string::<i32>();
            let map = |x: &str| -> String {
                match f {
                    F::Lower => x.to_lowercase(),
                    F::Upper => x.to_uppercase(),
                    // Spark trims the space character only.
                    F::Trim => x.trim_matches(' ').to_string(),
                    F::LTrim => x.trim_start_matches(' ').to_string(),
                    _ => x.trim_end_matches(' ').to_string(),
                }
            };
            let out: StringArray = s.iter().map(|o| o.map(map)).collect();
            Value::from_kernel(Arc::new(out), v.is_scalar())
        }
        F::Abs => {
            let v = first()?;
            let t = arithmetic_type(v.data_type(), v.data_type())?;
            let v = v.cast(&t)?;
            let out: ArrayRef = if t == DataType::Int64 {
                Arc::new(
                    v.array()
                        .as_primitive::<Int64Type>()
                        .unary::<_, Int64Type>(i64::wrapping_abs),
                )
            } else {
                Arc::new(
                    v.array()
                        .as_primitive::<Float64Type>()
                        .unary::<_, Float64Type>(f64::abs),
                )
            };
            Value::from_kernel(out, v.is_scalar())
        }
        F::Coalesce => {
            let mut t = DataType::Null;
            for a in &args {
                t = comparison_type(&t, a.data_type())?;
            }
            let mut values = args.drain(..).map(|a| a.cast(&t));
            let mut acc = values.next().ok_or_else(|| {
                ArrowError::InvalidArgumentError("coalesce needs arguments".into())
            })??;
            for next in values {
                let next = next?;
                let scalar = acc.is_scalar() && next.is_scalar();
                let n = if scalar { 1 } else { len };
                let present = is_not_null(acc.clone().into_array(n)?.as_ref())?;
                let a = acc.into_array(n)?;
                acc = Value::from_kernel(zip(&present, &a, &next)?, scalar);
            }
            acc
        }
        F::ToDate => first()?.cast(&DataType::Date32)?,
        F::ToTimestamp => first()?.cast(&DataType::Timestamp(TimeUnit::Microsecond, None))?,
        F::CurrentDate => scalar(Date32Array::from(vec![days_since_epoch(ctx.now)])),
        F::CurrentTimestamp => scalar(TimestampMicrosecondArray::from(vec![
            ctx.now.timestamp_micros(),
        ])),
        F::Year | F::Month | F::Day | F::Hour => {
            let v = first()?;
            let v = if is_string(v.data_type()) {
                v.cast(&DataType::Timestamp(TimeUnit::Microsecond, None))?
            } else {
                v
            };
            let part = match f {
                F::Year => DatePart::Year,
                F::Month => DatePart::Month,
                F::Day => DatePart::Day,
                _ => DatePart::Hour,
            };
            Value::from_kernel(date_part(v.array().as_ref(), part)?, v.is_scalar())
        }
        F::IsNull | F::IsNotNull => {
            let v = first()?;
            let out = if f == F::IsNull {
                is_null(v.array())?
            } else {
                is_not_null(v.array())?
            };
            Value::from_kernel(Arc::new(out), v.is_scalar())
        }
        F::DateDiff => {
            let end = first()?.cast(&DataType::Date32)?.cast(&DataType::Int32)?;
            let start = args
                .get(1)
                .cloned()
                .ok_or_else(|| {
                    ArrowError::InvalidArgumentError("datediff needs 2 arguments".into())
                })?
                .cast(&DataType::Date32)?
                .cast(&DataType::Int32)?;
            let scalar = end.is_scalar() && start.is_scalar();
            Value::from_kernel(numeric::sub_wrapping(&end, &start)?, scalar)
        }
    })
}

/// Days from 1970-01-01 to `t`'s UTC date.
pub fn days_since_epoch(t: DateTime<Utc>) -> i32 {
    t.timestamp().div_euclid(86_400) as i32
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::{Float64Array, Int32Array};
    use arrow::datatypes::{Field, Schema};
    use chrono::TimeZone;

    use super::super::bind::Binder;
    use super::super::parser::parse_expr;
    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int32Array::from(vec![Some(1), Some(2), None, Some(4)])),
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    None,
                    Some(2.0),
                    Some(0.0),
                ])),
                Arc::new(StringArray::from(vec![
                    Some("Apple"),
                    Some("banana"),
                    Some(" x "),
                    None,
                ])),
                // 2024-01-01, 2024-01-02, null, 2023-12-31
                Arc::new(Date32Array::from(vec![
                    Some(19723),
                    Some(19724),
                    None,
                    Some(19722),
                ])),
            ],
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 3, 12, 0, 0).unwrap()
    }

    /// Evaluates `text` and returns each row as Some(bool) / None.
    fn rows(text: &str) -> Vec<Option<bool>> {
        let b = batch();
        let bound = Binder::new(b.schema_ref(), &["primary"])
            .bind(&parse_expr(text).unwrap())
            .unwrap();
        let v = boolean(eval(&bound, &b, &EvalContext::new(now())).unwrap()).unwrap();
        let a = v.into_array(b.num_rows()).unwrap();
        a.as_boolean().iter().collect()
    }

    #[test]
    fn predicates_follow_sql_three_valued_logic() {
        let (t, f, n) = (Some(true), Some(false), None);
        let cases: &[(&str, [Option<bool>; 4])] = &[
            ("a > 1", [f, t, n, t]),
            ("a >= 2 AND b > 0", [f, n, n, f]),
            ("a > 3 OR b > 1", [f, n, t, t]),
            ("NOT a = 2", [t, f, n, t]),
            ("a IS NULL", [f, f, t, f]),
            ("b IS NOT NULL", [t, f, t, t]),
            ("a IN (1, 4)", [t, f, n, t]),
            ("a NOT IN (1, 4)", [f, t, n, f]),
            ("a IN (1, NULL)", [t, n, n, n]),
            ("a BETWEEN 2 AND 4", [f, t, n, t]),
            ("a NOT BETWEEN 2 AND 4", [t, f, n, f]),
            ("s LIKE 'b%'", [f, t, f, n]),
            ("s ILIKE 'a%'", [t, f, f, n]),
            ("s NOT LIKE '%a%'", [t, f, t, n]),
            ("s RLIKE '^[A-Z]'", [t, f, f, n]),
            ("s NOT RLIKE 'an'", [t, f, t, n]),
            ("length(trim(s)) = 1", [f, f, t, n]),
            ("lower(s) = 'apple'", [t, f, f, n]),
            ("upper(s) = 'BANANA'", [f, t, f, n]),
            ("a + 1 = 2", [t, f, n, f]),
            ("a * 2 - 1 > 2", [f, t, n, t]),
            ("a / b > 1", [t, n, n, n]), // 4 / 0.0 is NULL
            ("a % 2 = 0", [f, t, n, t]),
            ("coalesce(a, 0) = 0", [f, f, t, f]),
            ("s = 'Apple' or s = 'banana'", [t, t, f, n]),
            ("a = '2'", [f, t, n, f]),
            ("d > '2024-01-01'", [f, t, n, f]),
            ("d >= DATE '2024-01-01'", [t, t, n, f]),
            ("d < current_date()", [t, t, n, t]),
            ("datediff(current_date(), d) <= 1", [f, t, n, f]),
            ("year(d) = 2024 and month(d) = 1", [t, t, n, f]),
            ("cast(b as int) = 0", [t, n, f, t]),
            ("isnull(s)", [f, f, f, t]),
            ("a <=> NULL", [f, f, t, f]),
            ("TRUE", [t, t, t, t]),
            ("NULL", [n, n, n, n]),
            ("1 = 1 AND a = 4", [f, f, n, t]),
            ("s || 'z' = 'Applez'", [t, f, f, n]),
            ("-a < -1", [f, t, n, t]),
            ("abs(0 - a) = 2", [f, t, n, f]),
        ];
        for (text, expected) in cases {
            assert_eq!(rows(text), expected.to_vec(), "{text}");
        }
    }

    #[test]
    fn type_errors_surface_at_evaluation() {
        let b = batch();
        let bound = Binder::new(b.schema_ref(), &[])
            .bind(&parse_expr("d + 1 > 0").unwrap())
            .unwrap();
        let err = eval(&bound, &b, &EvalContext::new(now())).unwrap_err();
        assert!(err.to_string().contains("cannot do arithmetic"), "{err}");
    }
}
