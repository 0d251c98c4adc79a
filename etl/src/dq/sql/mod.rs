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
