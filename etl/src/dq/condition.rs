//! Number conditions: resolving dynamic expressions against metric history, testing a metric
//! against the resolved condition with Glue's exact semantics, and printing numbers as Java does
//! (Glue's messages and evaluated rules show `4.0`, `0.98`, `1.0E7`).
//!
//! Semantics: `=`/`!=`/`in` are exact (`Double.equals`: `-0.0 != 0.0`, `NaN == NaN`);
//! `between a and b` is exclusive and `not between` its complement; a `NULL` operand makes every
//! comparison false except `!=`/`not in`, which then hold. Arithmetic has no precedence (the
//! parser already nests it left to right).
//!
//! Dynamic functions (Glue ETL): `last(k)` is the previous `k` values of the rule's metric, most
//! recent first, or `[0.0]` when there is no history; a list must be reduced by `avg`, `median`,
//! `max`, `min`, `sum` or `std` (population standard deviation — Glue's normalisation is
//! unconfirmed), or indexed with `index(list, i)` (0-based); `abs` applies to a number or to each
//! member of a list. Comparing a raw list is an error.

use gluepipe_spec::dqdl::{ArithOp, Comparison, NumExpr, NumberCondition};

/// A number condition with every operand resolved (`None` for `NULL`).
pub type Resolved = Comparison<Option<f64>>;

/// Where `last(k)` reads: the rule's earlier metric values, most recent first.
pub trait HistorySource {
    /// Up to `k` earlier values, most recent first.
    fn last(&self, k: usize) -> Vec<f64>;
}

/// Values given directly, most recent first.
impl HistorySource for Vec<f64> {
    fn last(&self, k: usize) -> Vec<f64> {
        self.iter().take(k).copied().collect()
    }
}

/// No earlier runs.
pub struct NoHistory;

impl HistorySource for NoHistory {
    fn last(&self, _: usize) -> Vec<f64> {
        Vec::new()
    }
}

/// Whether the condition uses functions (and so needs history).
pub fn is_dynamic(condition: &NumberCondition) -> bool {
    condition.operands().into_iter().any(expr_is_dynamic)
}

fn expr_is_dynamic(e: &NumExpr) -> bool {
    match e {
        NumExpr::Number(_) | NumExpr::Null => false,
        NumExpr::Call { .. } => true,
        NumExpr::Binary { left, right, .. } => expr_is_dynamic(left) || expr_is_dynamic(right),
    }
}

/// Resolves every operand.
pub fn resolve(
    condition: &NumberCondition,
    history: &dyn HistorySource,
) -> Result<Resolved, String> {
    let mut error = None;
    let resolved = condition.clone().map(|e| match eval(&e, history) {
        Ok(Num::One(v)) => v,
        Ok(Num::List(_)) => {
            error.get_or_insert_with(|| {
                format!(
                    "{e} is a list of values; reduce it with avg, median, max, min, sum, std or index"
                )
            });
            None
        }
        Err(message) => {
            error.get_or_insert(message);
            None
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(resolved),
    }
}

/// A resolved operand expression: a number (or NULL), or a list from `last(k)`.
enum Num {
    One(Option<f64>),
    List(Vec<f64>),
}

fn eval(e: &NumExpr, history: &dyn HistorySource) -> Result<Num, String> {
    match e {
        NumExpr::Number(n) => Ok(Num::One(Some(n.value()))),
        NumExpr::Null => Ok(Num::One(None)),
        NumExpr::Binary {
            op, left, right, ..
        } => {
            let (l, r) = (
                scalar(eval(left, history)?, e)?,
                scalar(eval(right, history)?, e)?,
            );
            Ok(Num::One(match (l, r) {
                (Some(a), Some(b)) => Some(match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div => a / b,
                }),
                _ => None,
            }))
        }
        NumExpr::Call { name, args } => call(name, args, history, e),
    }
}

fn scalar(n: Num, within: &NumExpr) -> Result<Option<f64>, String> {
    match n {
        Num::One(v) => Ok(v),
        Num::List(_) => Err(format!(
            "{within}: a list of values cannot be used in arithmetic; reduce it first"
        )),
    }
}

fn call(
    name: &str,
    args: &[NumExpr],
    history: &dyn HistorySource,
    e: &NumExpr,
) -> Result<Num, String> {
    let values = |args: &[NumExpr]| -> Result<Vec<f64>, String> {
        let mut out = Vec::new();
        for a in args {
            match eval(a, history)? {
                Num::One(Some(v)) => out.push(v),
                Num::One(None) => return Err(format!("{e}: NULL is not a value here")),
                Num::List(l) => out.extend(l),
            }
        }
        Ok(out)
    };
    match name {
        "last" => {
            let [k] = args else {
                return Err(format!("{e}: last takes one argument, the number of runs"));
            };
            let k = match eval(k, history)? {
                Num::One(Some(k)) if k >= 1.0 && k.fract() == 0.0 => k as usize,
                _ => return Err(format!("{e}: last(k) needs a whole number k of at least 1")),
            };
            let previous = history.last(k);
            Ok(Num::List(if previous.is_empty() {
                vec![0.0]
            } else {
                previous
            }))
        }
        "avg" | "median" | "max" | "min" | "sum" | "std" => {
            let v = values(args)?;
            if v.is_empty() {
                return Err(format!("{e}: {name} of nothing"));
            }
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            Ok(Num::One(Some(match name {
                "avg" => mean,
                "sum" => v.iter().sum(),
                "max" => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                "min" => v.iter().copied().fold(f64::INFINITY, f64::min),
                "std" => (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt(),
                _ => median(v),
            })))
        }
        "abs" => match args {
            [a] => Ok(match eval(a, history)? {
                Num::One(v) => Num::One(v.map(f64::abs)),
                Num::List(l) => Num::List(l.into_iter().map(f64::abs).collect()),
            }),
            _ => Err(format!("{e}: abs takes one argument")),
        },
        "index" => {
            let [list, i] = args else {
                return Err(format!("{e}: index takes a list and a position"));
            };
            let Num::List(list) = eval(list, history)? else {
                return Err(format!("{e}: index needs a list such as last(3)"));
            };
            let i = match eval(i, history)? {
                Num::One(Some(i)) if i >= 0.0 && i.fract() == 0.0 => i as usize,
                _ => return Err(format!("{e}: the position must be a whole number from 0")),
            };
            list.get(i).map(|v| Num::One(Some(*v))).ok_or_else(|| {
                format!(
                    "{e}: position {i} is past the {} values available",
                    list.len()
                )
            })
        }
        other => Err(format!(
            "unknown function {other}; dynamic rules support last, avg, median, max, min, sum, std, abs and index"
        )),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Java's `Double.equals`: bitwise, except every NaN equals every NaN.
pub fn java_equals(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Whether `x` satisfies the resolved condition.
pub fn holds(condition: &Resolved, x: f64) -> bool {
    let eq = |v: &Option<f64>| v.is_some_and(|v| java_equals(x, v));
    let cmp = |v: &Option<f64>, f: fn(f64, f64) -> bool| v.is_some_and(|v| f(x, v));
    match condition {
        Comparison::Eq(v) => eq(v),
        Comparison::Ne(v) => !eq(v),
        Comparison::Gt(v) => cmp(v, |x, v| x > v),
        Comparison::Ge(v) => cmp(v, |x, v| x >= v),
        Comparison::Lt(v) => cmp(v, |x, v| x < v),
        Comparison::Le(v) => cmp(v, |x, v| x <= v),
        Comparison::Between(a, b) => cmp(a, |x, a| x > a) && cmp(b, |x, b| x < b),
        Comparison::NotBetween(a, b) => cmp(a, |x, a| x <= a) || cmp(b, |x, b| x >= b),
        Comparison::In(list) => list.iter().any(eq),
        Comparison::NotIn(list) => !list.iter().any(eq),
    }
}

/// The condition with each operand replaced by its value (for `EvaluatedRule`).
pub fn as_literals(condition: &Resolved) -> NumberCondition {
    condition.clone().map(|v| match v {
        None => NumExpr::Null,
        Some(v) => NumExpr::Number(gluepipe_spec::dqdl::Number {
            text: java_double(v),
        }),
    })
}

/// `v` as Java's `Double.toString` prints it: `4.0`, `0.98`, `1.0E7`, `1.0E-4`, `NaN`.
pub fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use gluepipe_spec::dqdl::{Rule, parse};

    use super::*;

    /// The number condition of the only rule of `Rules = [ RowCount <cond> ]`.
    fn condition(text: &str) -> NumberCondition {
        let ruleset = parse(&format!("Rules = [ RowCount {text} ]")).unwrap();
        let Rule::Single(rule) = &ruleset.rules[0] else {
            panic!("not single")
        };
        match &rule.condition {
            Some(gluepipe_spec::dqdl::Condition::Number(c)) => c.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn check(text: &str, history: &[f64], x: f64) -> Result<bool, String> {
        Ok(holds(&resolve(&condition(text), &history.to_vec())?, x))
    }

    #[test]
    fn static_conditions() {
        let cases: &[(&str, f64, bool)] = &[
            ("= 5", 5.0, true),
            ("= 1.0", 1.0, true),
            ("= 1.0", 0.999_999_999_999_999_9, false), // exact: no tolerance
            ("!= 5", 5.0, false),
            ("> 5", 5.0, false),
            (">= 5", 5.0, true),
            ("< 5", 4.9, true),
            ("<= 5", 5.1, false),
            ("between 1 and 5", 1.0, false),
            ("between 1 and 5", 3.0, true),
            ("between 1 and 5", 5.0, false),
            ("between 5 and 1", 3.0, false),
            ("not between 1 and 5", 1.0, true),
            ("not between 1 and 5", 3.0, false),
            ("in [1, 2.5]", 2.5, true),
            ("in [1, 2.5]", 2.0, false),
            ("not in [1, 2.5]", 2.0, true),
            ("= NULL", 0.0, false),
            ("!= NULL", 0.0, true),
            // no precedence: (1 + 2) * 3 = 9, not 7
            ("> 1 + 2 * 3", 8.0, false),
            ("> 1 + 2 * 3", 9.5, true),
            ("= - 5", -5.0, true),
        ];
        for (text, x, expected) in cases {
            assert_eq!(check(text, &[], *x).unwrap(), *expected, "{text} with {x}");
        }
    }

    #[test]
    fn java_equality_is_bitwise() {
        assert!(java_equals(f64::NAN, f64::NAN));
        assert!(!java_equals(-0.0, 0.0));
        assert!(java_equals(1.5, 1.5));
    }

    #[test]
    fn dynamic_conditions_read_history_most_recent_first() {
        let history = [30.0, 10.0, 20.0, 1000.0];
        // avg(last(3)) = (30 + 10 + 20) / 3 = 20
        assert!(check("> avg(last(3))", &history, 20.5).unwrap());
        assert!(!check("> avg(last(3))", &history, 20.0).unwrap());
        // max(last(2)) = 30; min(last(3)) = 10; sum(last(2)) = 40
        assert!(check("= max(last(2))", &history, 30.0).unwrap());
        assert!(check("= min(last(3))", &history, 10.0).unwrap());
        assert!(check("= sum(last(2))", &history, 40.0).unwrap());
        // median(last(4)) of 10 20 30 1000 = (20 + 30) / 2 = 25
        assert!(check("= median(last(4))", &history, 25.0).unwrap());
        // std(last(2)) of 30 10: mean 20, deviations ±10 → population std 10
        assert!(check("= std(last(2))", &history, 10.0).unwrap());
        // index(last(3), 1) = 10; arithmetic left to right: 10 * 2 + 1 = 21
        assert!(check("= index(last(3), 1) * 2 + 1", &history, 21.0).unwrap());
        // abs applies per member: abs(last(1)) of [-4] = [4]
        assert!(check("= max(abs(last(1)))", &[-4.0], 4.0).unwrap());
        // between with dynamic bounds: 0.9 * 20 = 18 < x < 1.1 * 20 = 22
        assert!(
            check(
                "between avg(last(3)) * 0.9 and avg(last(3)) * 1.1",
                &history,
                21.0
            )
            .unwrap()
        );
        // without history last(k) is [0.0]
        assert!(check("> avg(last(10))", &[], 0.5).unwrap());
        // fewer runs than asked: all there are
        assert!(check("= avg(last(10))", &[4.0, 6.0], 5.0).unwrap());
    }

    #[test]
    fn dynamic_errors_are_explained() {
        let cases = [
            ("> last(3)", "is a list of values"),
            ("> last(3) + 1", "cannot be used in arithmetic"),
            ("> index(last(2), 5)", "position 5 is past the 2 values"),
            ("> frob(1)", "unknown function frob"),
            ("> last(0)", "whole number k of at least 1"),
            ("> avg(NULL)", "NULL is not a value here"),
        ];
        for (text, message) in cases {
            let e = resolve(&condition(text), &vec![1.0, 2.0]).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
        assert!(is_dynamic(&condition("> avg(last(3))")));
        assert!(!is_dynamic(&condition("between 1 and (2 + 3)")));
    }

    #[test]
    fn numbers_print_as_java_does() {
        let cases = [
            (4.0, "4.0"),
            (0.98, "0.98"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (1e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (1e-4, "1.0E-4"),
            (0.001, "0.001"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
        ];
        for (v, s) in cases {
            assert_eq!(java_double(v), s);
        }
    }
}
