//! Recursive-descent parser for the SQL subset, with Spark SQL's operator precedence (lowest
//! first): `OR`; `AND`; `NOT`; comparisons, `IS [NOT] NULL`, `[NOT] IN`, `[NOT] BETWEEN`,
//! `[NOT] LIKE/ILIKE/RLIKE/REGEXP`; `+ - ||`; `* / %`; unary `-`; atoms.

use super::SqlError;
use super::ast::{
    AggregateFunc, BinaryOp, ColumnRef, Expr, Literal, PatternKind, Projection, Select, SqlType,
    UnaryOp,
};
use super::lexer::{Tok, Token, tokenize};

/// Parses a boolean or scalar expression (a `where` clause).
pub fn parse_expr(text: &str) -> Result<Expr, SqlError> {
    let mut p = Parser::new(text)?;
    let e = p.expr()?;
    p.end()?;
    if e.has_aggregate() {
        return Err(SqlError::new(
            "aggregate functions are not allowed in a filter",
        ));
    }
    Ok(e)
}

/// Parses `SELECT … FROM table [alias] [WHERE …] [;]`.
pub fn parse_select(text: &str) -> Result<Select, SqlError> {
    let mut p = Parser::new(text)?;
    p.expect_keyword("select")?;
    if p.eat_keyword("distinct") {
        return Err(p.error_here("SELECT DISTINCT is not supported"));
    }
    let projection = if p.eat(&Tok::Op("*")) {
        Projection::Star
    } else {
        let mut items = vec![p.select_item()?];
        while p.eat(&Tok::Comma) {
            items.push(p.select_item()?);
        }
        Projection::Items(items)
    };
    p.expect_keyword("from")?;
    let table = p.name("a table name")?;
    if p.peek() == Some(&Tok::Dot) {
        return Err(p.error_here("qualified table names are not supported; use primary"));
    }
    let alias = if p.eat_keyword("as") {
        Some(p.name("an alias")?)
    } else {
        match p.peek() {
            Some(Tok::Ident { text, quoted }) if *quoted || !is_reserved(text) => {
                Some(p.name("an alias")?)
            }
            _ => None,
        }
    };
    if p.peek() == Some(&Tok::Comma) || p.peek_keyword("join") || p.peek_keyword("inner") {
        return Err(p.error_here("joins are not supported"));
    }
    let filter = if p.eat_keyword("where") {
        let f = p.expr()?;
        if f.has_aggregate() {
            return Err(SqlError::new(
                "aggregate functions are not allowed in WHERE",
            ));
        }
        Some(f)
    } else {
        None
    };
    for clause in ["group", "having", "order", "limit", "union"] {
        if p.peek_keyword(clause) {
            return Err(p.error_here(format!("{} is not supported", clause.to_ascii_uppercase())));
        }
    }
    p.eat(&Tok::Semicolon);
    p.end()?;
    Ok(Select {
        projection,
        table,
        alias,
        filter,
    })
}

/// Words that end an expression or start a clause, so they are never taken as an alias.
fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "where", "group", "having", "order", "limit", "union", "join", "inner", "left", "right",
        "full", "cross", "on", "and", "or", "not", "from", "select", "as",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Self, SqlError> {
        let tokens = tokenize(text)?;
        Ok(Parser {
            tokens,
            pos: 0,
            len: text.len(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + ahead).map(|t| &t.kind)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len, |t| t.at)
    }

    fn error_here(&self, message: impl Into<String>) -> SqlError {
        SqlError::at(self.here(), message)
    }

    fn advance(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|t| t.kind.clone());
        self.pos += 1;
        t
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), SqlError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn peek_keyword(&self, word: &str) -> bool {
        keyword_at(self.peek(), word)
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.peek_keyword(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), SqlError> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(&word.to_ascii_uppercase()))
        }
    }

    fn unexpected(&self, expected: &str) -> SqlError {
        let found = match self.peek() {
            None => "end of input".to_string(),
            Some(t) => describe(t),
        };
        self.error_here(format!("expected {expected}, found {found}"))
    }

    fn end(&self) -> Result<(), SqlError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.unexpected("end of input")),
        }
    }

    fn name(&mut self, what: &str) -> Result<String, SqlError> {
        match self.peek() {
            Some(Tok::Ident { text, .. }) => {
                let text = text.clone();
                self.pos += 1;
                Ok(text)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn select_item(&mut self) -> Result<Expr, SqlError> {
        let e = self.expr()?;
        // `expr [AS] alias`: the alias does not change what is compared.
        if self.eat_keyword("as") {
            self.name("an alias")?;
        } else if let Some(Tok::Ident { text, quoted }) = self.peek() {
            if *quoted || !is_reserved(text) {
                self.pos += 1;
            }
        }
        Ok(e)
    }

    fn expr(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.and()?;
        while self.eat_keyword("or") {
            let right = self.and()?;
            left = Expr::Binary(BinaryOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.not()?;
        while self.eat_keyword("and") {
            let right = self.not()?;
            left = Expr::Binary(BinaryOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SqlError> {
        if self.eat_keyword("not") {
            let inner = self.not()?;
            return Ok(Expr::Unary(UnaryOp::Not, Box::new(inner)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("=")) => Some(BinaryOp::Eq),
                Some(Tok::Op("!=")) => Some(BinaryOp::NotEq),
                Some(Tok::Op("<=>")) => Some(BinaryOp::NullSafeEq),
                Some(Tok::Op("<")) => Some(BinaryOp::Lt),
                Some(Tok::Op("<=")) => Some(BinaryOp::LtEq),
                Some(Tok::Op(">")) => Some(BinaryOp::Gt),
                Some(Tok::Op(">=")) => Some(BinaryOp::GtEq),
                _ => None,
            };
            if let Some(op) = op {
                self.pos += 1;
                let right = self.additive()?;
                left = Expr::Binary(op, Box::new(left), Box::new(right));
                continue;
            }
            if self.eat_keyword("is") {
                let negated = self.eat_keyword("not");
                self.expect_keyword("null")?;
                left = Expr::IsNull {
                    expr: Box::new(left),
                    negated,
                };
                continue;
            }
            // `NOT` here belongs to IN/BETWEEN/LIKE; a lone NOT is a new (invalid) operand.
            let negated = self.peek_keyword("not")
                && ["in", "between", "like", "ilike", "rlike", "regexp"]
                    .iter()
                    .any(|w| keyword_at(self.peek_at(1), w));
            if negated {
                self.pos += 1;
            }
            if self.eat_keyword("in") {
                self.expect(&Tok::LParen, "(")?;
                if self.peek_keyword("select") {
                    return Err(self.error_here("subqueries are not supported"));
                }
                let mut list = vec![self.additive()?];
                while self.eat(&Tok::Comma) {
                    list.push(self.additive()?);
                }
                self.expect(&Tok::RParen, ")")?;
                left = Expr::InList {
                    expr: Box::new(left),
                    list,
                    negated,
                };
            } else if self.eat_keyword("between") {
                let low = self.additive()?;
                self.expect_keyword("and")?;
                let high = self.additive()?;
                left = Expr::Between {
                    expr: Box::new(left),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                };
            } else if let Some(kind) = self.pattern_kind() {
                let pattern = self.additive()?;
                left = Expr::Pattern {
                    kind,
                    expr: Box::new(left),
                    pattern: Box::new(pattern),
                    negated,
                };
            } else {
                return Ok(left);
            }
        }
    }

    fn pattern_kind(&mut self) -> Option<PatternKind> {
        if self.eat_keyword("like") {
            Some(PatternKind::Like)
        } else if self.eat_keyword("ilike") {
            Some(PatternKind::ILike)
        } else if self.eat_keyword("rlike") || self.eat_keyword("regexp") {
            Some(PatternKind::RLike)
        } else {
            None
        }
    }

    fn additive(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("+")) => BinaryOp::Add,
                Some(Tok::Op("-")) => BinaryOp::Sub,
                Some(Tok::Op("||")) => BinaryOp::Concat,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, SqlError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("*")) => BinaryOp::Mul,
                Some(Tok::Op("/")) => BinaryOp::Div,
                Some(Tok::Op("%")) => BinaryOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, SqlError> {
        if self.eat(&Tok::Op("-")) {
            return Ok(match self.unary()? {
                Expr::Literal(Literal::Int(v)) => Expr::Literal(Literal::Int(v.wrapping_neg())),
                Expr::Literal(Literal::Float(v)) => Expr::Literal(Literal::Float(-v)),
                e => Expr::Unary(UnaryOp::Neg, Box::new(e)),
            });
        }
        if self.eat(&Tok::Op("+")) {
            return self.unary();
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, SqlError> {
        let at = self.here();
        match self.advance() {
            None => {
                self.pos -= 1;
                Err(self.unexpected("an expression"))
            }
            Some(Tok::Int(v)) => Ok(Expr::Literal(Literal::Int(v))),
            Some(Tok::Float(v)) => Ok(Expr::Literal(Literal::Float(v))),
            Some(Tok::Str(s)) => Ok(Expr::Literal(Literal::Str(s))),
            Some(Tok::LParen) => {
                if self.peek_keyword("select") {
                    return Err(self.error_here("subqueries are not supported"));
                }
                let e = self.expr()?;
                self.expect(&Tok::RParen, ")")?;
                Ok(e)
            }
            Some(Tok::Ident { text, quoted: true }) => self.column_tail(text),
            Some(Tok::Ident {
                text,
                quoted: false,
            }) => self.word(text, at),
            Some(other) => {
                self.pos -= 1;
                Err(SqlError::at(
                    at,
                    format!("expected an expression, found {}", describe(&other)),
                ))
            }
        }
    }

    /// A bare word: keyword literal, typed literal, CAST, function call or column.
    fn word(&mut self, text: String, at: usize) -> Result<Expr, SqlError> {
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "null" => return Ok(Expr::Literal(Literal::Null)),
            "true" => return Ok(Expr::Literal(Literal::Bool(true))),
            "false" => return Ok(Expr::Literal(Literal::Bool(false))),
            "date" | "timestamp" => {
                if let Some(Tok::Str(s)) = self.peek() {
                    let s = s.clone();
                    self.pos += 1;
                    return Ok(Expr::Literal(if lower == "date" {
                        Literal::Date(s)
                    } else {
                        Literal::Timestamp(s)
                    }));
                }
            }
            "case" => return Err(SqlError::at(at, "CASE expressions are not supported")),
            "exists" => return Err(SqlError::at(at, "subqueries are not supported")),
            _ => {}
        }
        if self.peek() != Some(&Tok::LParen) {
            if is_reserved(&lower) {
                self.pos -= 1;
                return Err(self.unexpected("an expression"));
            }
            return self.column_tail(text);
        }
        self.pos += 1; // (
        if lower == "cast" {
            let expr = self.expr()?;
            self.expect_keyword("as")?;
            let to = self.sql_type()?;
            self.expect(&Tok::RParen, ")")?;
            return Ok(Expr::Cast {
                expr: Box::new(expr),
                to,
            });
        }
        let aggregate = match lower.as_str() {
            "count" => Some(AggregateFunc::Count),
            "sum" => Some(AggregateFunc::Sum),
            "avg" | "mean" => Some(AggregateFunc::Avg),
            "min" => Some(AggregateFunc::Min),
            "max" => Some(AggregateFunc::Max),
            _ => None,
        };
        if let Some(func) = aggregate {
            let distinct = self.eat_keyword("distinct");
            let arg = if func == AggregateFunc::Count && !distinct && self.eat(&Tok::Op("*")) {
                None
            } else {
                let a = self.expr()?;
                if a.has_aggregate() {
                    return Err(SqlError::at(at, "aggregate calls cannot be nested"));
                }
                Some(Box::new(a))
            };
            self.expect(&Tok::RParen, ")")?;
            if distinct && func != AggregateFunc::Count {
                return Err(SqlError::at(
                    at,
                    format!("{func}(DISTINCT …) is not supported; only COUNT(DISTINCT …) is"),
                ));
            }
            return Ok(Expr::Aggregate {
                func,
                arg,
                distinct,
            });
        }
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            args.push(self.expr()?);
            while self.eat(&Tok::Comma) {
                args.push(self.expr()?);
            }
            self.expect(&Tok::RParen, ")")?;
        }
        Ok(Expr::Function { name: lower, args })
    }

    /// `name` or `qualifier.name`.
    fn column_tail(&mut self, first: String) -> Result<Expr, SqlError> {
        if self.eat(&Tok::Dot) {
            let name = self.name("a column name")?;
            if self.peek() == Some(&Tok::Dot) {
                return Err(self.error_here("nested field access is not supported"));
            }
            return Ok(Expr::Column(ColumnRef {
                qualifier: Some(first),
                name,
            }));
        }
        Ok(Expr::Column(ColumnRef::bare(first)))
    }

    fn sql_type(&mut self) -> Result<SqlType, SqlError> {
        let at = self.here();
        let name = self.name("a type name")?.to_ascii_lowercase();
        Ok(match name.as_str() {
            "boolean" | "bool" => SqlType::Boolean,
            "tinyint" | "byte" => SqlType::TinyInt,
            "smallint" | "short" => SqlType::SmallInt,
            "int" | "integer" => SqlType::Int,
            "bigint" | "long" => SqlType::BigInt,
            "float" | "real" => SqlType::Float,
            "double" => SqlType::Double,
            "string" | "varchar" | "char" | "text" => {
                // `varchar(10)`: the length does not matter to a comparison.
                if self.eat(&Tok::LParen) {
                    self.advance();
                    self.expect(&Tok::RParen, ")")?;
                }
                SqlType::String
            }
            "date" => SqlType::Date,
            "timestamp" => SqlType::Timestamp,
            "decimal" | "numeric" => {
                let (mut p, mut s) = (10u8, 0i8);
                if self.eat(&Tok::LParen) {
                    p = self.small_int()?;
                    if self.eat(&Tok::Comma) {
                        s = i8::try_from(self.small_int()?)
                            .map_err(|_| SqlError::at(at, "decimal scale too large"))?;
                    }
                    self.expect(&Tok::RParen, ")")?;
                }
                if p == 0 || p > 38 || s as u8 > p {
                    return Err(SqlError::at(
                        at,
                        format!(
                            "invalid decimal({p},{s}): precision must be 1 to 38 and at least the scale"
                        ),
                    ));
                }
                SqlType::Decimal(p, s)
            }
            other => return Err(SqlError::at(at, format!("unknown type {other}"))),
        })
    }

    fn small_int(&mut self) -> Result<u8, SqlError> {
        match self.advance() {
            Some(Tok::Int(v)) if (0..=255).contains(&v) => Ok(v as u8),
            _ => {
                self.pos -= 1;
                Err(self.unexpected("a small integer"))
            }
        }
    }
}

fn keyword_at(tok: Option<&Tok>, word: &str) -> bool {
    matches!(tok, Some(Tok::Ident { text, quoted: false }) if text.eq_ignore_ascii_case(word))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident { text, .. } => format!("'{text}'"),
        Tok::Int(v) => v.to_string(),
        Tok::Float(v) => v.to_string(),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Op(o) => format!("'{o}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Dot => "'.'".into(),
        Tok::Semicolon => "';'".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn col(n: &str) -> Box<Expr> {
        Box::new(Expr::Column(ColumnRef::bare(n)))
    }
    fn int(v: i64) -> Box<Expr> {
        Box::new(Expr::Literal(Literal::Int(v)))
    }

    #[test]
    fn and_binds_tighter_than_or_and_arithmetic_tighter_than_comparison() {
        let e = parse_expr("a = 1 OR b > 2 + 3 * 4 AND NOT c").unwrap();
        let expected = Expr::Binary(
            BinaryOp::Or,
            Box::new(Expr::Binary(BinaryOp::Eq, col("a"), int(1))),
            Box::new(Expr::Binary(
                BinaryOp::And,
                Box::new(Expr::Binary(
                    BinaryOp::Gt,
                    col("b"),
                    Box::new(Expr::Binary(
                        BinaryOp::Add,
                        int(2),
                        Box::new(Expr::Binary(BinaryOp::Mul, int(3), int(4))),
                    )),
                )),
                Box::new(Expr::Unary(UnaryOp::Not, col("c"))),
            )),
        );
        assert_eq!(e, expected);
    }

    #[test]
    fn predicates_with_not() {
        let cases = [
            "x IS NOT NULL",
            "x NOT IN (1, 2)",
            "x not between 1 and 5",
            "name NOT LIKE 'a%'",
            "name rlike '^[a-z]+$'",
            "NOT x IN (1)",
        ];
        for c in cases {
            parse_expr(c).unwrap();
        }
        assert_eq!(
            parse_expr("x not between 1 and 5").unwrap(),
            Expr::Between {
                expr: col("x"),
                low: int(1),
                high: int(5),
                negated: true
            }
        );
        assert_eq!(parse_expr("-3").unwrap(), Expr::Literal(Literal::Int(-3)));
    }

    #[test]
    fn functions_casts_literals_and_qualified_columns() {
        let e = parse_expr(
            "length(trim(`my col`)) > 3 AND cast(p.x AS decimal(10, 2)) >= DATE '2024-01-01'",
        )
        .unwrap();
        let mut columns = Vec::new();
        e.walk(&mut |e| {
            if let Expr::Column(c) = e {
                columns.push(c.clone())
            }
        });
        assert_eq!(
            columns,
            [
                ColumnRef::bare("my col"),
                ColumnRef {
                    qualifier: Some("p".into()),
                    name: "x".into()
                }
            ]
        );
    }

    #[test]
    fn select_shapes() {
        let s = parse_select("SELECT COUNT(*) FROM primary WHERE a > 1;").unwrap();
        assert_eq!(s.table, "primary");
        assert!(s.filter.is_some());
        assert!(matches!(&s.projection, Projection::Items(i) if i[0].has_aggregate()));

        let s = parse_select("select * from primary p where p.a is null").unwrap();
        assert_eq!(
            (s.projection, s.alias.as_deref()),
            (Projection::Star, Some("p"))
        );

        let s = parse_select("select sum(x) / count(distinct y) as r from primary").unwrap();
        assert_eq!(s.filter, None);

        let s = parse_select("select a, b from primary as t").unwrap();
        assert_eq!(s.alias.as_deref(), Some("t"));
    }

    #[test]
    fn unsupported_and_invalid_sql_is_rejected_with_a_position() {
        let cases = [
            (
                "select count(*) from primary group by a",
                "GROUP is not supported",
            ),
            (
                "select a from primary join other on x = y",
                "joins are not supported",
            ),
            ("select a from primary, other", "joins are not supported"),
            (
                "select a from primary where a in (select b from c)",
                "subqueries are not supported",
            ),
            (
                "select distinct a from primary",
                "SELECT DISTINCT is not supported",
            ),
            ("select sum(distinct a) from primary", "only COUNT(DISTINCT"),
            ("select count(sum(a)) from primary", "cannot be nested"),
            (
                "select a from primary where count(*) > 1",
                "not allowed in WHERE",
            ),
            (
                "select case when a then 1 end from primary",
                "CASE expressions are not supported",
            ),
            ("select a from", "expected a table name, found end of input"),
            (
                "select a from primary where",
                "expected an expression, found end of input",
            ),
            ("select a from primary where a >", "expected an expression"),
            ("select cast(a as blob) from primary", "unknown type blob"),
        ];
        for (sql, message) in cases {
            let e = parse_select(sql).unwrap_err();
            assert!(e.message.contains(message), "{sql}: {e}");
        }
        let e = parse_expr("a = 1 b").unwrap_err();
        assert_eq!(e.at, Some(6));
        assert!(parse_expr("sum(a) > 1").is_err());
        assert!(parse_expr("").is_err());
    }
}
