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

/// A failed shape, ranked against the others by [`better_failure`].
struct Failure<'a> {
    err: DqdlError,
    /// The shape parsed but was followed by something else (a generic message).
    trailing: bool,
    /// The token the error points at.
    token: Tok<'a>,
}

/// Whether `new` (from shape `kind`) explains the input better than `old`: it got further; or,
/// at the same token, the token belongs to its shape (a date token for a date condition, a unit
/// for a duration or size), or `old` only complained about what follows a finished condition.
fn better_failure(
    new: &Failure<'_>,
    kind: ConditionKind,
    old: &Failure<'_>,
    old_kind: ConditionKind,
) -> bool {
    let (a, b) = (new.err.span.start, old.err.span.start);
    if a != b {
        return a > b;
    }
    let belongs = |k: ConditionKind, t: Tok<'_>| match k {
        ConditionKind::Date => matches!(
            t,
            Tok::Date(_) | Tok::Time(_) | Tok::MilTime(_) | Tok::Kw(Kw::Now)
        ),
        ConditionKind::String => matches!(t, Tok::Str(_) | Tok::Dollar),
        _ => false,
    };
    match (belongs(kind, new.token), belongs(old_kind, old.token)) {
        (true, false) => true,
        (false, true) => false,
        _ => old.trailing && !new.trailing,
    }
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
    /// takes; when every shape fails, the error reported is the one that got furthest among
    /// them (see [`better_failure`]).
    pub(crate) fn rule_condition(
        &mut self,
        preferred: &[ConditionKind],
    ) -> Result<Option<RawCondition>, DqdlError> {
        if !starts_condition(self.peek()) {
            return Ok(None);
        }
        let start = self.pos;
        let mut best: Option<(Failure, ConditionKind)> = None;
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
                Ok(_) => Failure {
                    err: self.trailing_after_condition(),
                    trailing: true,
                    token: self.peek(),
                },
                Err(f) if f.committed => return Err(f.err),
                Err(f) => Failure {
                    token: self.token_starting_at(f.err.span.start),
                    err: f.err,
                    trailing: false,
                },
            };
            if !preferred.contains(&kind) && !preferred.is_empty() {
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(old, old_kind)| better_failure(&failure, kind, old, *old_kind))
            {
                best = Some((failure, kind));
            }
        }
        self.pos = start;
        if let Some(err) = self.string_ordering_hint(preferred) {
            return Err(err);
        }
        Err(best.map_or_else(|| self.unexpected("a condition"), |(f, _)| f.err))
    }

    /// The error for a condition that parsed but is followed by something unexpected.
    fn trailing_after_condition(&self) -> DqdlError {
        let after_now = self.pos > 0 && self.token_before().tok == Tok::Kw(Kw::Now);
        if after_now && matches!(self.peek(), Tok::Minus | Tok::Plus) {
            return self.error(
                self.token_at(0).span(),
                "a date offset needs parentheses: `(now() - 3 days)`",
            );
        }
        if let Tok::Kw(unit) = self.peek() {
            if matches!(
                unit,
                Kw::Days | Kw::Hours | Kw::Minutes | Kw::B | Kw::KB | Kw::MB | Kw::GB | Kw::TB
            ) {
                return self.error(
                    self.token_before().start..self.token_at(0).end,
                    "durations and sizes are a whole number of units, not negative or fractional",
                );
            }
        }
        self.unexpected("`where`, `labels`, `with`, `and`, `or`, `,` or `]` after the condition")
    }

    /// `ColumnValues "c" > "x"`: strings have no ordering, which no single shape can say.
    fn string_ordering_hint(&self, preferred: &[ConditionKind]) -> Option<DqdlError> {
        let ordering = matches!(
            self.peek(),
            Tok::Gt | Tok::Ge | Tok::Lt | Tok::Le | Tok::Kw(Kw::Between)
        ) || (self.peek() == Tok::Kw(Kw::Not)
            && self.peek_at(1) == Tok::Kw(Kw::Between));
        let operand = if self.peek() == Tok::Kw(Kw::Not) {
            2
        } else {
            1
        };
        let is_string = matches!(self.peek_at(operand), Tok::Str(_));
        (ordering && is_string && preferred.contains(&ConditionKind::String)).then(|| {
            self.error(
                self.token_at(operand).span(),
                "strings can only be compared with =, !=, in, not in and matches (a quoted date \
                 is written \"YYYY-MM-DD\")",
            )
        })
    }

    /// A tag's value: a string condition, else a number condition.
    pub(crate) fn tag_condition(&mut self) -> Result<TagCondition, DqdlError> {
        let start = self.pos;
        if self.peek() == Tok::Eq && self.peek_at(1) == Tok::LBracket {
            return Err(self.error(
                self.token_at(1).span(),
                "a tag value is a quoted string or a number, not a list",
            ));
        }
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
        let start = self.pos;
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
                    self.pos = start + 1;
                    return Err(self.unexpected("`between` or `in` after `not`").into());
                }
            },
            _ => {
                self.pos = start;
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
        let start = self.pos;
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
                    self.pos = start + 1;
                    return Err(self.unexpected("`in` or `matches` after `not`").into());
                }
            },
            _ => {
                self.pos = start;
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
                let op = match self.peek() {
                    Tok::Minus => OffsetOp::Minus,
                    Tok::Plus => OffsetOp::Plus,
                    _ => return Err(self.unexpected("`-` or `+` after `now()`").into()),
                };
                self.next();
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

    /// `N unit`: a whole number then one of `units`. An amount that does not fit Glue's `int`
    /// is reported (and ends the search for a shape) only once the unit has matched.
    fn amount_with_unit<U: Copy>(
        &mut self,
        what: &str,
        units: &[(Kw, U)],
        unit_names: &str,
    ) -> Attempt<(u32, U)> {
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
        let unit = units
            .iter()
            .find(|(kw, _)| self.peek() == Tok::Kw(*kw))
            .map(|&(_, u)| u);
        let Some(unit) = unit else {
            return Err(self
                .unexpected(&format!("{what} unit ({unit_names})"))
                .into());
        };
        self.next();
        match digits.parse::<u32>() {
            Ok(n) if n <= MAX_AMOUNT => Ok((n, unit)),
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
        let units = [
            (Kw::Days, DurationUnit::Days),
            (Kw::Hours, DurationUnit::Hours),
            (Kw::Minutes, DurationUnit::Minutes),
        ];
        let (amount, unit) =
            self.amount_with_unit("a duration", &units, "`days`, `hours` or `minutes`")?;
        Ok(Duration { amount, unit })
    }

    fn size(&mut self) -> Attempt<Size> {
        let units = [
            (Kw::B, SizeUnit::B),
            (Kw::KB, SizeUnit::KB),
            (Kw::MB, SizeUnit::MB),
            (Kw::GB, SizeUnit::GB),
            (Kw::TB, SizeUnit::TB),
        ];
        let (amount, unit) =
            self.amount_with_unit("a size", &units, "`B`, `KB`, `MB`, `GB` or `TB`")?;
        Ok(Size {
            amount: i64::from(amount),
            unit: Some(unit),
        })
    }
}

fn number(text: String) -> NumExpr {
    NumExpr::Number(Number { text })
}

/// Reads `H:MM AM`/`HH:MM PM` or `HH:MM` as Java's `h:mm a` and `HH:mm` patterns do in their
/// default (smart) resolving: an AM/PM hour may be 0-12 (0 and 12 both mean the hour after
/// midnight or noon), a 24-hour one 00-23 or exactly `24:00`. The lexer guarantees the shape.
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
        Some(m) if hour <= 12 => hour % 12 + if m == "PM" { 12 } else { 0 },
        Some(_) => return Err("the hour of an AM/PM time must be 0-12"),
        None if hour <= 23 => hour,
        // Java resolves `24:00` to midnight.
        None if hour == 24 && minute == 0 => 0,
        None => return Err("the hour must be 00-23 (or 24:00)"),
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
    follows_tag(t)
}

/// What may follow a tag: the end of the rule, another tag, or a misplaced `where`/`labels`
/// that the rule parser reports with a specific message.
fn follows_tag(t: Tok<'_>) -> bool {
    matches!(
        t,
        Tok::Kw(Kw::With | Kw::And | Kw::Or | Kw::Where | Kw::Labels)
            | Tok::Comma
            | Tok::RBracket
            | Tok::RParen
    )
}
