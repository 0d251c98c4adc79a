//! The syntax tree of the SQL subset: scalar expressions (for `where` clauses and CustomSql
//! predicates), aggregate calls, and the one statement shape CustomSql takes.

use std::fmt;

/// A scalar or aggregate expression, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column, as written (resolved against the schema when bound).
    Column(ColumnRef),
    /// A constant.
    Literal(Literal),
    /// `NOT e`, `-e`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `e IS [NOT] NULL`.
    IsNull { expr: Box<Expr>, negated: bool },
    /// `e [NOT] IN (a, b, …)`.
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `e [NOT] BETWEEN low AND high` (inclusive, as in SQL).
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `e [NOT] LIKE p`, `e [NOT] ILIKE p`, `e [NOT] RLIKE p` (also `REGEXP`).
    Pattern {
        kind: PatternKind,
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    /// `CAST(e AS type)`.
    Cast { expr: Box<Expr>, to: SqlType },
    /// `name(args…)`, name lower-cased.
    Function { name: String, args: Vec<Expr> },
    /// `COUNT(*)`, `COUNT([DISTINCT] e)`, `SUM(e)`, `AVG(e)`, `MIN(e)`, `MAX(e)`.
    Aggregate {
        func: AggregateFunc,
        arg: Option<Box<Expr>>,
        distinct: bool,
    },
}

/// `name` or `qualifier.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// The table or alias before the dot, if any.
    pub qualifier: Option<String>,
    /// The column name.
    pub name: String,
}

impl ColumnRef {
    /// An unqualified column.
    pub fn bare(name: impl Into<String>) -> Self {
        ColumnRef {
            qualifier: None,
            name: name.into(),
        }
    }
}

/// Literal constants.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`
    Null,
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal or exponent number.
    Float(f64),
    /// A quoted string.
    Str(String),
    /// `DATE 'yyyy-mm-dd'`
    Date(String),
    /// `TIMESTAMP '…'`
    Timestamp(String),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `NOT`
    Not,
    /// `-`
    Neg,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinaryOp {
    And,
    Or,
    Eq,
    NotEq,
    /// `<=>`: equality where NULL equals NULL.
    NullSafeEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// `||` string concatenation.
    Concat,
}

/// Pattern-matching predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// SQL `LIKE` with `%` and `_`.
    Like,
    /// Case-insensitive `LIKE`.
    ILike,
    /// A regular expression that must match somewhere in the value (Spark's `RLIKE`).
    RLike,
}

/// Aggregate functions of the numeric CustomSql form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AggregateFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// Target types of `CAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SqlType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal(u8, i8),
    String,
    Date,
    Timestamp,
}

/// The columns a statement returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// `SELECT *`
    Star,
    /// `SELECT e1, e2 …`
    Items(Vec<Expr>),
}

/// `SELECT projection FROM table [[AS] alias] [WHERE filter]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// What is selected.
    pub projection: Projection,
    /// The table name as written (`primary` for the data being checked).
    pub table: String,
    /// `FROM primary p` — the alias, if any.
    pub alias: Option<String>,
    /// The `WHERE` predicate.
    pub filter: Option<Expr>,
}

impl Expr {
    /// Whether an aggregate call occurs anywhere in the expression.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Aggregate { .. }));
        found
    }

    /// Calls `f` on this expression and every sub-expression.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Literal(_) => {}
            Expr::Unary(_, e) | Expr::IsNull { expr: e, .. } | Expr::Cast { expr: e, .. } => {
                e.walk(f)
            }
            Expr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::Pattern { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
            Expr::Function { args, .. } => args.iter().for_each(|e| e.walk(f)),
            Expr::Aggregate { arg, .. } => {
                if let Some(a) = arg {
                    a.walk(f)
                }
            }
        }
    }
}

impl fmt::Display for AggregateFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AggregateFunc::Count => "count",
            AggregateFunc::Sum => "sum",
            AggregateFunc::Avg => "avg",
            AggregateFunc::Min => "min",
            AggregateFunc::Max => "max",
        })
    }
}
