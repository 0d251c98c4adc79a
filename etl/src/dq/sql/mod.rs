//! The SQL subset behind `where` clauses and CustomSql: one lexer, parser, binder and vectorised
//! evaluator over Arrow batches.
//!
//! # Why not an embedded engine
//!
//! DataFusion (or any full SQL engine) would add many minutes of compile time on the project's
//! 2-core CI, tens of megabytes to the binary that is shipped into Glue Python-shell jobs, and a
//! second execution model beside the one streaming pass. What DQDL users write is small and
//! regular — a boolean predicate over the columns of one row (`where "qty > 0 and region in
//! ('EU', 'US')"`), or CustomSql of the forms `select count(*) from primary where …` and
//! `select * from primary where …` — and all of it can be evaluated batch by batch with Arrow's
//! compute kernels in the same pass, in constant memory (`COUNT(DISTINCT …)` aside). Anything
//! outside the subset is rejected when the rule is set up, with a message naming the construct,
//! and the rule's outcome is `Error`; it never silently evaluates to something else.
//!
//! # What is supported
//!
//! Expressions (Spark SQL spelling and precedence, keywords case-insensitive):
//! - columns by name, `` `quoted name` ``, or qualified `primary.col` / `alias.col`; names
//!   resolve exactly first, then case-insensitively;
//! - literals: integers, decimals, `1e3`, `'text'` / `"text"` (backslash escapes, doubled
//!   quotes), `TRUE`, `FALSE`, `NULL`, `DATE 'yyyy-mm-dd'`, `TIMESTAMP '…'`;
//! - `AND`, `OR`, `NOT` (three-valued); `= == != <> < <= > >= <=>`; `IS [NOT] NULL`;
//!   `[NOT] IN (list)`; `[NOT] BETWEEN a AND b` (inclusive); `[NOT] LIKE`, `ILIKE`,
//!   `RLIKE`/`REGEXP` (Rust regex syntax, unanchored search as Spark's `rlike`);
//! - `+ - * / %` (`/` is floating point; division by zero is NULL), `||` concatenation, unary `-`;
//! - `CAST(e AS boolean|tinyint|smallint|int|bigint|float|double|decimal(p,s)|string|date|timestamp)`
//!   (an unconvertible value becomes NULL);
//! - functions: see [`bind::FUNCTION_NAMES`];
//! - implicit coercion as described in [`value`].
//!
//! Statements (CustomSql only): `SELECT <projection> FROM primary [[AS] alias] [WHERE <pred>] [;]`
//! where the projection is either
//! - one expression over aggregates `COUNT(*)`, `COUNT([DISTINCT] e)`, `SUM(e)`, `AVG(e)`,
//!   `MIN(e)`, `MAX(e)` and constants (e.g. `sum(a) / count(*)`) — the numeric form; or
//! - `*` or a list of plain columns — the row form: a row of `primary` is returned exactly when
//!   it satisfies the `WHERE` predicate.
//!
//! Not supported (rejected with a message): joins, other tables, subqueries, `GROUP BY`,
//! `HAVING`, `ORDER BY`, `LIMIT`, `UNION`, `CASE`, window functions, `SELECT DISTINCT`, nested
//! field access, and any function not listed.

pub mod ast;
pub mod bind;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod value;

use std::fmt;

pub use bind::{Binder, Bound};
pub use eval::{EvalContext, eval};
pub use parser::{parse_expr, parse_select};
pub use value::Value;

/// A SQL text the subset cannot take, with the byte offset of the problem when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Byte offset in the SQL text.
    pub at: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl SqlError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> Self {
        SqlError {
            at: None,
            message: message.into(),
        }
    }

    /// An error at byte offset `at`.
    pub fn at(at: usize, message: impl Into<String>) -> Self {
        SqlError {
            at: Some(at),
            message: message.into(),
        }
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{} (at character {})", self.message, at + 1),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SqlError {}

#[cfg(test)]
mod fuzz {
    //! Token soup and byte mutations: parsing, binding and evaluating never panic.
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use chrono::Utc;

    use super::*;

    const WORDS: &[&str] = &[
        "a",
        "b",
        "s",
        "d",
        "primary",
        "p",
        "p.a",
        "`a`",
        "1",
        "0",
        "-2",
        "1.5",
        "1e3",
        "'x'",
        "\"y\"",
        "''",
        "NULL",
        "TRUE",
        "false",
        "AND",
        "OR",
        "NOT",
        "IS",
        "IN",
        "BETWEEN",
        "LIKE",
        "ILIKE",
        "RLIKE",
        "'^a'",
        "'%'",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "<=>",
        "+",
        "-",
        "*",
        "/",
        "%",
        "||",
        "(",
        ")",
        ",",
        ".",
        ";",
        "CAST",
        "AS",
        "int",
        "string",
        "date",
        "decimal(5,2)",
        "DATE '2024-01-01'",
        "length",
        "lower",
        "coalesce",
        "abs",
        "datediff",
        "current_date()",
        "year",
        "count(*)",
        "sum",
        "avg",
        "min",
        "max",
        "DISTINCT",
        "SELECT",
        "FROM",
        "WHERE",
        "GROUP",
        "BY",
        "*",
        "é",
        "\\",
    ];

    fn batch() -> RecordBatch {
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("b", DataType::Float64, true),
                Field::new("s", DataType::Utf8, true),
                Field::new("d", DataType::Date32, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(-3)])) as ArrayRef,
                Arc::new(Float64Array::from(vec![Some(0.0), Some(2.5), None])),
                Arc::new(StringArray::from(vec![Some("ab"), None, Some("")])),
                Arc::new(Date32Array::from(vec![Some(1), Some(19000), None])),
            ],
        )
        .unwrap()
    }

    use arrow::datatypes::DataType;

    /// Parses, binds and evaluates whatever parses; only panics would fail the test.
    fn exercise(text: &str, b: &RecordBatch) {
        if let Ok(e) = parse_expr(text) {
            if let Ok(bound) = Binder::new(b.schema_ref(), &["primary", "p"]).bind(&e) {
                let _ = eval(&bound, b, &EvalContext::new(Utc::now()));
                let _ = eval::eval_predicate(&bound, b, &EvalContext::new(Utc::now()));
            }
        }
        let _ = parse_select(text);
    }

    #[test]
    fn token_soup_never_panics() {
        let b = batch();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let n = 1 + (next() % 9) as usize;
            let words: Vec<&str> = (0..n)
                .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
                .collect();
            exercise(&words.join(" "), &b);
        }
    }

    #[test]
    fn byte_mutations_never_panic() {
        let b = batch();
        let seeds = [
            "a > 1 AND s LIKE 'a%' OR d >= DATE '2024-01-01'",
            "select count(distinct s) from primary p where p.a between 1 and 3",
            "cast(b as decimal(5,2)) <=> coalesce(a, 0) || 'é'",
        ];
        let mut state = 7u64;
        for seed in seeds {
            for _ in 0..3_000 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let mut bytes = seed.as_bytes().to_vec();
                let at = (state >> 33) as usize % bytes.len();
                match (state >> 20) % 3 {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, (state >> 40) as u8 % 128),
                    _ => bytes.truncate(at),
                }
                exercise(&String::from_utf8_lossy(&bytes), &b);
            }
        }
    }
}
