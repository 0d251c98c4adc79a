//! Conditions and number expressions.
//!
//! Glue's grammar lets a rule's condition be a number, string, date, duration or size condition
//! and takes the **first** shape (in that order) that parses and is followed by something that
//! may follow a condition; only afterwards is the shape checked against the rule type. So
//! `= NULL` is a number condition, `in ["a", NULL]` a string one and `= "2024-01-01"` a date
//! one. A tag's value tries the string shape before the number shape.

use std::ops::Range;

use super::ast::*;
use super::catalog::ConditionKind;
use super::error::DqdlError;
use super::lexer::{Kw, Tok, describe};
use super::parser::Parser;

/// A condition as parsed, with its span.
pub(crate) type RawCondition = (Condition, Range<usize>);

/// The value of a `with name …` tag before checking.
#[derive(Debug, Clone)]
pub(crate) enum TagCondition {
    String(StringCondition),
    Number(NumberCondition),
}

/// A failed attempt at one condition shape. `committed` means the shape matched but its content
/// is invalid (a variable after `=`, an amount too large), so no other shape is tried.
pub(crate) struct Fail {
    err: DqdlError,
    committed: bool,
}

impl From<DqdlError> for Fail {
    fn from(err: DqdlError) -> Fail {
        Fail {
            err,
            committed: false,
        }
    }
}

type Attempt<T> = Result<T, Fail>;

const RULE_SHAPES: [ConditionKind; 5] = [
    ConditionKind::Number,
    ConditionKind::String,
    ConditionKind::Date,
    ConditionKind::Duration,
    ConditionKind::Size,
];

/// Largest amount Glue reads for a duration or size (it parses them as a Java `int`).
const MAX_AMOUNT: u32 = i32::MAX as u32;

impl<'a> Parser<'a> {
    /// The rule condition, if the next token starts one. `preferred` are the shapes the rule type
    /// takes; when every shape fails, their errors are preferred at equal positions.
    pub(crate) fn rule_condition(
        &mut self,
        preferred: &[ConditionKind],
    ) -> Result<Option<RawCondition>, DqdlError> {
        if !starts_condition(self.peek()) {
            return Ok(None);
        }
        let start = self.pos;
        let mut best: Option<(DqdlError, bool)> = None;
        for kind in RULE_SHAPES {
            self.pos = start;
            let attempt = match kind {
                ConditionKind::Number => self.comparison(Self::num_expr).map(Condition::Number),
                ConditionKind::String => self.string_condition().map(Condition::String),
                ConditionKind::Date => self.comparison(Self::date_expr).map(Condition::Date),
                ConditionKind::Duration => self.comparison(Self::duration).map(Condition::Duration),
                ConditionKind::Size => self.comparison(Self::size).map(Condition::Size),
            };
            let failure = match attempt {
                Ok(c) if follows_condition(self.peek()) => {
                    return Ok(Some((c, self.span_from(start))));
                }
                Ok(_) => Fail::from(self.unexpected(
                    "`where`, `labels`, `with`, `and`, `or`, `,` or `]` after the condition",
                )),
                Err(f) if f.committed => return Err(f.err),
                Err(f) => f,
            };
            let is_preferred = preferred.contains(&kind);
            let better = match &best {
                None => true,
                Some((e, e_preferred)) => {
                    let (new, old) = (failure.err.span.start, e.span.start);
                    new > old || (new == old && is_preferred && !e_preferred)
                }
            };
            if better {
                best = Some((failure.err, is_preferred));
            }
        }
        self.pos = start;
        Err(best.map_or_else(|| self.unexpected("a condition"), |(e, _)| e))
    }

    /// A tag's value: a string condition, else a number condition.
    pub(crate) fn tag_condition(&mut self) -> Result<TagCondition, DqdlError> {
        let start = self.pos;
        let string = match self.string_condition() {
            Ok(c) if follows_tag(self.peek()) => return Ok(TagCondition::String(c)),
            Ok(_) => self.unexpected("`with`, `and`, `or`, `,` or `]` after the tag"),
            Err(f) if f.committed => return Err(f.err),
            Err(f) => f.err,
        };
        self.pos = start;
        let number = match self.comparison(Self::num_expr) {
            Ok(c) if follows_tag(self.peek()) => return Ok(TagCondition::Number(c)),
            Ok(_) => self.unexpected("`with`, `and`, `or`, `,` or `]` after the tag"),
            Err(f) if f.committed => return Err(f.err),
            Err(f) => f.err,
        };
        Err(if number.span.start >= string.span.start {
            number
        } else {
            string
        })
    }

    /// `= x`, `!= x`, `> x`, `>= x`, `< x`, `<= x`, `[not] between x and y`, `[not] in [x, …]`.
    fn comparison<T>(&mut self, operand: fn(&mut Self) -> Attempt<T>) -> Attempt<Comparison<T>> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Eq => Comparison::Eq(operand(self)?),
            Tok::Bang => {
                self.expect(Tok::Eq, "`=` after `!`")?;
                Comparison::Ne(operand(self)?)
            }
            Tok::Gt => Comparison::Gt(operand(self)?),
            Tok::Ge => Comparison::Ge(operand(self)?),
            Tok::Lt => Comparison::Lt(operand(self)?),
            Tok::Le => Comparison::Le(operand(self)?),
            Tok::Kw(Kw::Between) => {
                let (a, b) = self.between(operand)?;
                Comparison::Between(a, b)
            }
            Tok::Kw(Kw::In) => Comparison::In(self.list(operand)?),
            Tok::Kw(Kw::Not) => match self.next().tok {
                Tok::Kw(Kw::Between) => {
                    let (a, b) = self.between(operand)?;
                    Comparison::NotBetween(a, b)
                }
                Tok::Kw(Kw::In) => Comparison::NotIn(self.list(operand)?),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("`between` or `in` after `not`").into());
                }
            },
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a comparison").into());
            }
        })
    }

    fn between<T>(&mut self, operand: fn(&mut Self) -> Attempt<T>) -> Attempt<(T, T)> {
        let low = operand(self)?;
        self.expect(Tok::Kw(Kw::And), "`and` between the bounds")?;
        Ok((low, operand(self)?))
    }

    /// `[x, y, …]`, non-empty, no trailing comma.
    fn list<T>(&mut self, operand: fn(&mut Self) -> Attempt<T>) -> Attempt<Vec<T>> {
        self.expect(Tok::LBracket, "`[`")?;
        let mut items = vec![operand(self)?];
        while self.eat(Tok::Comma) {
            items.push(operand(self)?);
        }
        self.expect(Tok::RBracket, "`,` or `]`")?;
        Ok(items)
    }

    // ---- numbers ----

    /// Left-to-right arithmetic without precedence: `1 + 2 * 3` is `(1 + 2) * 3`.
    pub(crate) fn num_expr(&mut self) -> Attempt<NumExpr> {
        let mut left = self.num_primary()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                _ => return Ok(left),
            };
            self.next();
            let right = self.num_primary()?;
            left = NumExpr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                parenthesized: false,
            };
        }
    }

    fn num_primary(&mut self) -> Attempt<NumExpr> {
        let t = self.token_at(0);
        match t.tok {
            Tok::Int(n) | Tok::Decimal(n) => {
                self.next();
                Ok(number(n.to_string()))
            }
            Tok::Minus => match self.peek_at(1) {
                Tok::Int(n) | Tok::Decimal(n) => {
                    self.next();
                    self.next();
                    Ok(number(format!("-{n}")))
                }
                _ => {
                    self.next();
                    Err(self.unexpected("a number after `-`").into())
                }
            },
            Tok::Kw(Kw::Null) => {
                self.next();
                Ok(NumExpr::Null)
            }
            Tok::Ident(name) if self.peek_at(1) == Tok::LParen => {
                self.next();
                self.next();
                let mut args = Vec::new();
                if !self.eat(Tok::RParen) {
                    args.push(self.num_expr()?);
                    while self.eat(Tok::Comma) {
                        args.push(self.num_expr()?);
                    }
                    self.expect(Tok::RParen, "`,` or `)` in the function call")?;
                }
                Ok(NumExpr::Call {
                    name: name.to_string(),
                    args,
                })
            }
            Tok::LParen => {
                self.next();
                let mut inner = self.num_expr()?;
                self.expect(Tok::RParen, "`)`")?;
                // Parentheses are kept on a binary expression only (Glue prints `(5)` as `5`).
                if let NumExpr::Binary { parenthesized, .. } = &mut inner {
                    *parenthesized = true;
                }
                Ok(inner)
            }
            _ => Err(self
                .unexpected("a number, NULL, `(` or a function call")
                .into()),
        }
    }

    // ---- strings ----

    /// `[!]= value`, `[not] in [values]`, `[not] in $var`, `[not] matches "regex"`.
    fn string_condition(&mut self) -> Attempt<StringCondition> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Eq => StringCondition::Eq(self.string_value()?),
            Tok::Bang => {
                self.expect(Tok::Eq, "`=` after `!`")?;
                StringCondition::Ne(self.string_value()?)
            }
            Tok::Kw(Kw::In) => StringCondition::In(self.string_set()?),
            Tok::Kw(Kw::Matches) => StringCondition::Matches(self.regex()?),
            Tok::Kw(Kw::Not) => match self.next().tok {
                Tok::Kw(Kw::In) => StringCondition::NotIn(self.string_set()?),
                Tok::Kw(Kw::Matches) => StringCondition::NotMatches(self.regex()?),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("`in` or `matches` after `not`").into());
                }
            },
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("a string comparison").into());
            }
        })
    }

    fn string_value(&mut self) -> Attempt<StringValue> {
        let t = self.token_at(0);
        let value = match t.tok {
            Tok::Str(s) => StringValue::Quoted(s.to_string()),
            Tok::Kw(Kw::Null) => StringValue::Keyword(StringKeyword::Null),
            Tok::Kw(Kw::Empty) => StringValue::Keyword(StringKeyword::Empty),
            Tok::Kw(Kw::WhitespacesOnly) => StringValue::Keyword(StringKeyword::WhitespacesOnly),
            Tok::Dollar => {
                return Err(Fail {
                    err: self.error(
                        t.start..self.token_at(1).end,
                        "a variable can only be used as a rule parameter or as the whole set \
                         of `in $name`",
                    ),
                    committed: true,
                });
            }
            _ => {
                return Err(self
                    .unexpected("a quoted string, NULL, EMPTY or WHITESPACES_ONLY")
                    .into());
            }
        };
        self.next();
        Ok(value)
    }

    fn string_set(&mut self) -> Attempt<StringSet> {
        if self.eat(Tok::Dollar) {
            let Tok::Ident(name) = self.peek() else {
                return Err(self.unexpected("a variable name after `$`").into());
            };
            self.next();
            return Ok(StringSet::Variable {
                name: name.to_string(),
                values: Vec::new(),
            });
        }
        self.list(Self::string_value).map(StringSet::Literal)
    }

    fn regex(&mut self) -> Attempt<String> {
        match self.peek() {
            Tok::Str(s) => {
                self.next();
                Ok(s.to_string())
            }
            _ => Err(self
                .unexpected("a quoted regular expression after `matches`")
                .into()),
        }
    }

    // ---- dates, durations, sizes ----

    fn date_expr(&mut self) -> Attempt<DateExpr> {
        let t = self.token_at(0);
        let value = match t.tok {
            Tok::Date(d) => DateExpr::Date(d.to_string()),
            Tok::Kw(Kw::Now) => DateExpr::Now,
            Tok::Kw(Kw::Null) => DateExpr::Null,
            Tok::Time(s) | Tok::MilTime(s) => match time_of_day(s) {
                Ok(time) => DateExpr::Time(time),
                Err(why) => {
                    return Err(Fail {
                        err: self.error(t.span(), format!("invalid time \"{s}\": {why}")),
                        committed: true,
                    });
                }
            },
            Tok::LParen => {
                self.next();
                self.expect(
                    Tok::Kw(Kw::Now),
                    "`now()` in a date offset `(now() - N days)`",
                )?;
                let op = match self.next().tok {
                    Tok::Minus => OffsetOp::Minus,
                    Tok::Plus => OffsetOp::Plus,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("`-` or `+` after `now()`").into());
                    }
                };
                let duration = self.duration()?;
                self.expect(Tok::RParen, "`)` closing the date offset")?;
                return Ok(DateExpr::NowOffset { op, duration });
            }
            _ => {
                return Err(self
                    .unexpected("a date (\"YYYY-MM-DD\", now(), (now() - N days), a time or NULL)")
                    .into());
            }
        };
        self.next();
        Ok(value)
    }

    /// An unsigned integer amount that fits Glue's `int`.
    fn amount(&mut self, what: &str) -> Attempt<u32> {
        let t = self.token_at(0);
        let Tok::Int(digits) = t.tok else {
            let found = describe(&t.tok);
            return Err(self
                .error(
                    t.span(),
                    format!("expected a whole number for {what}, found {found}"),
                )
                .into());
        };
        self.next();
        match digits.parse::<u64>() {
            Ok(n) if n <= u64::from(MAX_AMOUNT) => Ok(u32::try_from(n).unwrap_or(MAX_AMOUNT)),
            _ => Err(Fail {
                err: self.error(
                    t.span(),
                    format!("{digits} is too large for {what} (at most {MAX_AMOUNT})"),
                ),
                committed: true,
            }),
        }
    }

    fn duration(&mut self) -> Attempt<Duration> {
        let amount = self.amount("a duration")?;
        let unit = match self.peek() {
            Tok::Kw(Kw::Days) => DurationUnit::Days,
            Tok::Kw(Kw::Hours) => DurationUnit::Hours,
            Tok::Kw(Kw::Minutes) => DurationUnit::Minutes,
            _ => {
                return Err(self
                    .unexpected("a duration unit (`days`, `hours` or `minutes`)")
                    .into());
            }
        };
        self.next();
        Ok(Duration { amount, unit })
    }

    fn size(&mut self) -> Attempt<Size> {
        let amount = self.amount("a size")?;
        let unit = match self.peek() {
            Tok::Kw(Kw::B) => SizeUnit::B,
            Tok::Kw(Kw::KB) => SizeUnit::KB,
            Tok::Kw(Kw::MB) => SizeUnit::MB,
            Tok::Kw(Kw::GB) => SizeUnit::GB,
            Tok::Kw(Kw::TB) => SizeUnit::TB,
            _ => {
                return Err(self
                    .unexpected("a size unit (`B`, `KB`, `MB`, `GB` or `TB`)")
                    .into());
            }
        };
        self.next();
        Ok(Size {
            amount: i64::from(amount),
            unit: Some(unit),
        })
    }
}

fn number(text: String) -> NumExpr {
    NumExpr::Number(Number { text })
}

/// Reads `H:MM AM`/`HH:MM PM` (hour 1-12) or `HH:MM` (hour 00-23) as Java's `h:mm a` and
/// `HH:mm` patterns do; the lexer guarantees the shape, this checks the ranges.
fn time_of_day(text: &str) -> Result<TimeOfDay, &'static str> {
    let (clock, meridiem) = match text.split_once(' ') {
        Some((clock, m)) => (clock, Some(m)),
        None => (text, None),
    };
    let (h, m) = clock.split_once(':').ok_or("missing `:`")?;
    let hour: u8 = h.parse().map_err(|_| "bad hour")?;
    let minute: u8 = m.parse().map_err(|_| "bad minute")?;
    if minute > 59 {
        return Err("minutes must be 00-59");
    }
    let hour = match meridiem {
        Some(m) if (1..=12).contains(&hour) => hour % 12 + if m == "PM" { 12 } else { 0 },
        Some(_) => return Err("the hour of an AM/PM time must be 1-12"),
        None if hour <= 23 => hour,
        None => return Err("the hour must be 00-23"),
    };
    Ok(TimeOfDay {
        text: text.to_string(),
        hour,
        minute,
    })
}

fn starts_condition(t: Tok<'_>) -> bool {
    matches!(
        t,
        Tok::Eq
            | Tok::Bang
            | Tok::Gt
            | Tok::Ge
            | Tok::Lt
            | Tok::Le
            | Tok::Kw(Kw::Between | Kw::Not | Kw::In | Kw::Matches)
    )
}

/// What may follow a rule's condition.
fn follows_condition(t: Tok<'_>) -> bool {
    matches!(t, Tok::Kw(Kw::Where | Kw::Labels)) || follows_tag(t)
}

/// What may follow a tag (the end of a rule).
fn follows_tag(t: Tok<'_>) -> bool {
    matches!(
        t,
        Tok::Kw(Kw::With | Kw::And | Kw::Or) | Tok::Comma | Tok::RBracket | Tok::RParen
    )
}
