//! Binding: resolving an expression against the batch schema before any data arrives — column
//! names to indices (exact match first, then the one case-insensitive match, as Spark resolves
//! names case-insensitively), function names and arities, regexes compiled once. An error here
//! is the rule's error; a bound expression only fails on data it cannot type.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, NullArray, StringArray,
};
use arrow::datatypes::{DataType, Schema, TimeUnit};
use regex::Regex;

use super::SqlError;
use super::ast::{
    AggregateFunc, BinaryOp, ColumnRef, Expr, Literal, PatternKind, SqlType, UnaryOp,
};

/// An expression ready to evaluate over batches of one schema.
#[derive(Debug, Clone)]
pub enum Bound {
    /// Column by index.
    Column(usize),
    /// A one-element constant.
    Literal(ArrayRef),
    /// `NOT e`
    Not(Box<Bound>),
    /// `-e`
    Neg(Box<Bound>),
    /// `a op b`
    Binary(BinaryOp, Box<Bound>, Box<Bound>),
    /// `e IS [NOT] NULL`
    IsNull(Box<Bound>, bool),
    /// `e [NOT] IN (…)`
    InList(Box<Bound>, Vec<Bound>, bool),
    /// `e [NOT] BETWEEN low AND high`
    Between {
        expr: Box<Bound>,
        low: Box<Bound>,
        high: Box<Bound>,
        negated: bool,
    },
    /// `e [NOT] LIKE/ILIKE p`
    Like {
        expr: Box<Bound>,
        pattern: Box<Bound>,
        case_insensitive: bool,
        negated: bool,
    },
    /// `e [NOT] RLIKE 're'` with the regex compiled.
    RLike {
        expr: Box<Bound>,
        regex: Regex,
        negated: bool,
    },
    /// `CAST(e AS t)`
    Cast(Box<Bound>, DataType),
    /// A built-in function.
    Call(Function, Vec<Bound>),
    /// The result of aggregate number `i` (numeric CustomSql only).
    Aggregate(usize),
}

/// Built-in scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Function {
    Length,
    Lower,
    Upper,
    Trim,
    LTrim,
    RTrim,
    Abs,
    Coalesce,
    ToDate,
    ToTimestamp,
    CurrentDate,
    CurrentTimestamp,
    Year,
    Month,
    Day,
    Hour,
    IsNull,
    IsNotNull,
    DateDiff,
}

impl Function {
    /// Name lookup and arity: `(function, min args, max args)`.
    fn lookup(name: &str) -> Option<(Function, usize, usize)> {
        use Function as F;
        Some(match name {
            "length" | "char_length" | "character_length" | "len" => (F::Length, 1, 1),
            "lower" | "lcase" => (F::Lower, 1, 1),
            "upper" | "ucase" => (F::Upper, 1, 1),
            "trim" => (F::Trim, 1, 1),
            "ltrim" => (F::LTrim, 1, 1),
            "rtrim" => (F::RTrim, 1, 1),
            "abs" => (F::Abs, 1, 1),
            "coalesce" | "ifnull" | "nvl" => (F::Coalesce, 1, usize::MAX),
            "to_date" | "date" => (F::ToDate, 1, 1),
            "to_timestamp" => (F::ToTimestamp, 1, 1),
            "current_date" | "curdate" => (F::CurrentDate, 0, 0),
            "current_timestamp" | "now" => (F::CurrentTimestamp, 0, 0),
            "year" => (F::Year, 1, 1),
            "month" => (F::Month, 1, 1),
            "day" | "dayofmonth" => (F::Day, 1, 1),
            "hour" => (F::Hour, 1, 1),
            "isnull" => (F::IsNull, 1, 1),
            "isnotnull" => (F::IsNotNull, 1, 1),
            "datediff" => (F::DateDiff, 2, 2),
            _ => return None,
        })
    }
}

/// The names functions may be called by, for messages.
pub const FUNCTION_NAMES: &str = "length, lower, upper, trim, ltrim, rtrim, abs, coalesce, \
     to_date, to_timestamp, current_date, current_timestamp, now, year, month, day, hour, \
     isnull, isnotnull, datediff";

/// An aggregate call found while binding a CustomSql projection.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// Which aggregate.
    pub func: AggregateFunc,
    /// Its argument; `None` for `COUNT(*)`.
    pub arg: Option<Bound>,
    /// `COUNT(DISTINCT …)`.
    pub distinct: bool,
}

/// Resolves names against `schema`; `qualifiers` are the table names a column may be prefixed
/// with (`primary` and its alias).
pub struct Binder<'a> {
    schema: &'a Schema,
    qualifiers: Vec<String>,
    /// Aggregates collected when binding a projection; `None` where aggregates are not allowed.
    aggregates: Option<Vec<AggregateCall>>,
}

impl<'a> Binder<'a> {
    /// A binder for filters (no aggregates).
    pub fn new(schema: &'a Schema, qualifiers: &[&str]) -> Self {
        Binder {
            schema,
            qualifiers: qualifiers.iter().map(|q| q.to_string()).collect(),
            aggregates: None,
        }
    }

    /// A binder that accepts aggregate calls and collects them.
    pub fn with_aggregates(mut self) -> Self {
        self.aggregates = Some(Vec::new());
        self
    }

    /// The aggregates collected so far.
    pub fn into_aggregates(self) -> Vec<AggregateCall> {
        self.aggregates.unwrap_or_default()
    }

    /// Resolves a column reference to its index.
    pub fn column(&self, c: &ColumnRef) -> Result<usize, SqlError> {
        if let Some(q) = &c.qualifier {
            if !self.qualifiers.iter().any(|k| k.eq_ignore_ascii_case(q)) {
                return Err(SqlError::new(format!(
                    "unknown table {q} in {q}.{}: only {} can be referred to",
                    c.name,
                    self.qualifiers.join(", ")
                )));
            }
        }
        resolve_column(self.schema, &c.name).map_err(SqlError::new)
    }

    /// Binds one expression.
    pub fn bind(&mut self, e: &Expr) -> Result<Bound, SqlError> {
        Ok(match e {
            Expr::Column(c) => Bound::Column(self.column(c)?),
            Expr::Literal(l) => Bound::Literal(literal(l)?),
            Expr::Unary(UnaryOp::Not, x) => Bound::Not(Box::new(self.bind(x)?)),
            Expr::Unary(UnaryOp::Neg, x) => Bound::Neg(Box::new(self.bind(x)?)),
            Expr::Binary(op, a, b) => {
                Bound::Binary(*op, Box::new(self.bind(a)?), Box::new(self.bind(b)?))
            }
            Expr::IsNull { expr, negated } => Bound::IsNull(Box::new(self.bind(expr)?), *negated),
            Expr::InList {
                expr,
                list,
                negated,
            } => Bound::InList(
                Box::new(self.bind(expr)?),
                list.iter()
                    .map(|x| self.bind(x))
                    .collect::<Result<_, _>>()?,
                *negated,
            ),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Bound::Between {
                expr: Box::new(self.bind(expr)?),
                low: Box::new(self.bind(low)?),
                high: Box::new(self.bind(high)?),
                negated: *negated,
            },
            Expr::Pattern {
                kind: PatternKind::RLike,
                expr,
                pattern,
                negated,
            } => {
                let Expr::Literal(Literal::Str(p)) = pattern.as_ref() else {
                    return Err(SqlError::new("RLIKE needs a constant string pattern"));
                };
                let regex = Regex::new(p).map_err(|err| {
                    SqlError::new(format!("invalid regular expression {p:?}: {err}"))
                })?;
                Bound::RLike {
                    expr: Box::new(self.bind(expr)?),
                    regex,
                    negated: *negated,
                }
            }
            Expr::Pattern {
                kind,
                expr,
                pattern,
                negated,
            } => Bound::Like {
                expr: Box::new(self.bind(expr)?),
                pattern: Box::new(self.bind(pattern)?),
                case_insensitive: *kind == PatternKind::ILike,
                negated: *negated,
            },
            Expr::Cast { expr, to } => Bound::Cast(Box::new(self.bind(expr)?), arrow_type(*to)),
            Expr::Function { name, args } => {
                let Some((f, min, max)) = Function::lookup(name) else {
                    return Err(SqlError::new(format!(
                        "unknown function {name}; supported: {FUNCTION_NAMES}"
                    )));
                };
                if args.len() < min || args.len() > max {
                    let takes = match (min, max) {
                        (a, b) if a == b => format!("{a}"),
                        (a, usize::MAX) => format!("at least {a}"),
                        (a, b) => format!("{a} to {b}"),
                    };
                    return Err(SqlError::new(format!(
                        "{name} takes {takes} argument(s), got {}",
                        args.len()
                    )));
                }
                let bound = args
                    .iter()
                    .map(|a| self.bind(a))
                    .collect::<Result<_, _>>()?;
                Bound::Call(f, bound)
            }
            Expr::Aggregate {
                func,
                arg,
                distinct,
            } => {
                let arg = match arg {
                    None => None,
                    Some(a) => Some(self.bind(a)?),
                };
                let Some(list) = self.aggregates.as_mut() else {
                    return Err(SqlError::new("aggregate functions are not allowed here"));
                };
                list.push(AggregateCall {
                    func: *func,
                    arg,
                    distinct: *distinct,
                });
                Bound::Aggregate(list.len() - 1)
            }
        })
    }
}

/// Finds `name` in `schema`: the exact name, else the only case-insensitive match.
pub fn resolve_column(schema: &Schema, name: &str) -> Result<usize, String> {
    if let Ok(i) = schema.index_of(name) {
        return Ok(i);
    }
    let matches: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name().eq_ignore_ascii_case(name))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!("column {name} does not exist")),
        _ => Err(format!(
            "column name {name} is ambiguous: several columns differ from it only in case"
        )),
    }
}

fn literal(l: &Literal) -> Result<ArrayRef, SqlError> {
    Ok(match l {
        Literal::Null => Arc::new(NullArray::new(1)),
        Literal::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        Literal::Int(v) => Arc::new(Int64Array::from(vec![*v])),
        Literal::Float(v) => Arc::new(Float64Array::from(vec![*v])),
        Literal::Str(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Literal::Date(s) => typed_literal(s, DataType::Date32, "date")?,
        Literal::Timestamp(s) => typed_literal(
            s,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            "timestamp",
        )?,
    })
}

/// `DATE '…'` / `TIMESTAMP '…'`: the text must parse.
fn typed_literal(text: &str, to: DataType, what: &str) -> Result<ArrayRef, SqlError> {
    let invalid = || SqlError::new(format!("invalid {what} literal '{text}'"));
    let value = arrow::compute::cast(&StringArray::from(vec![text]), &to).map_err(|_| invalid())?;
    if value.is_null(0) {
        return Err(invalid());
    }
    Ok(value)
}

/// The Arrow type a SQL type name stands for.
pub fn arrow_type(t: SqlType) -> DataType {
    match t {
        SqlType::Boolean => DataType::Boolean,
        SqlType::TinyInt => DataType::Int8,
        SqlType::SmallInt => DataType::Int16,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Float => DataType::Float32,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal(p, s) => DataType::Decimal128(p, s),
        SqlType::String => DataType::Utf8,
        SqlType::Date => DataType::Date32,
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::datatypes::Field;

    use super::super::parser::parse_expr;
    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("Id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("NAME2", DataType::Utf8, true),
            Field::new("dup", DataType::Utf8, true),
            Field::new("DUP", DataType::Utf8, true),
        ])
    }

    fn bind(text: &str) -> Result<Bound, SqlError> {
        let s = schema();
        Binder::new(&s, &["primary", "p"]).bind(&parse_expr(text)?)
    }

    #[test]
    fn resolves_names_exactly_then_case_insensitively() {
        assert!(matches!(bind("Id").unwrap(), Bound::Column(0)));
        assert!(matches!(bind("id").unwrap(), Bound::Column(0)));
        assert!(matches!(bind("name2").unwrap(), Bound::Column(2)));
        assert!(matches!(bind("dup").unwrap(), Bound::Column(3)));
        assert!(matches!(bind("primary.name").unwrap(), Bound::Column(1)));
        assert!(matches!(bind("P.name").unwrap(), Bound::Column(1)));
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases = [
            ("missing > 1", "column missing does not exist"),
            ("Dup = 'x'", "ambiguous"),
            ("other.name = 'x'", "unknown table other"),
            ("frobnicate(name)", "unknown function frobnicate"),
            ("length(name, 1) > 0", "length takes 1 argument(s), got 2"),
            ("name rlike '('", "invalid regular expression"),
            ("name rlike name", "constant string pattern"),
            ("Id = DATE '2024-13-45'", "invalid date literal"),
        ];
        for (text, message) in cases {
            let e = bind(text).unwrap_err();
            assert!(e.message.contains(message), "{text}: {e}");
        }
    }
}
