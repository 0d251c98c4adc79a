//! EventBridge Scheduler expressions, checked the way the service checks them, so that a
//! schedule AWS would refuse is a plan-time error that points at the character at fault.
//!
//! - `rate(<n> <unit>)`: `n` a positive whole number; `minute`/`hour`/`day` when `n` is 1, the
//!   plural otherwise.
//! - `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`: six fields, each a
//!   `,`-list of `*`, values, `a-b` ranges and `/n` increments; `?` in exactly one of
//!   day-of-month and day-of-week; `L` and `W` in day-of-month, `L` and `#` in day-of-week;
//!   months `JAN`–`DEC`, days `SUN`–`SAT` (1 is Sunday).
//! - `at(yyyy-mm-ddThh:mm:ss)`: one run, at a valid date and time.
//!
//! The time zone is an IANA name, resolved with the database chrono-tz compiles in.

use std::fmt;

/// Why an expression is refused, and where: `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ScheduleError {}

/// The kind of a valid expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Rate,
    Cron,
    At,
}

/// Checks an EventBridge Scheduler `ScheduleExpression`.
pub fn check_expression(expression: &str) -> Result<ScheduleKind, ScheduleError> {
    let (kind, open) = if let Some(rest) = expression.strip_prefix("rate(") {
        (ScheduleKind::Rate, rest)
    } else if let Some(rest) = expression.strip_prefix("cron(") {
        (ScheduleKind::Cron, rest)
    } else if let Some(rest) = expression.strip_prefix("at(") {
        (ScheduleKind::At, rest)
    } else {
        return Err(err(
            1,
            "a schedule expression is rate(...), cron(...) or at(...)",
        ));
    };
    let start = expression.len() - open.len();
    let Some(body) = open.strip_suffix(')') else {
        return Err(err(
            expression.chars().count() + 1,
            "the expression must end with ')'",
        ));
    };
    let column = expression[..start].chars().count() + 1;
    match kind {
        ScheduleKind::Rate => rate(body, column),
        ScheduleKind::Cron => cron(body, column),
        ScheduleKind::At => at(body, column),
    }?;
    Ok(kind)
}

/// Checks a `ScheduleExpressionTimezone`.
pub fn check_timezone(zone: &str) -> Result<(), String> {
    zone.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        format!("{zone:?} is not an IANA time zone name (for example \"UTC\" or \"Europe/Berlin\")")
    })
}

fn err(column: usize, message: impl Into<String>) -> ScheduleError {
    ScheduleError {
        column,
        message: message.into(),
    }
}

fn rate(body: &str, column: usize) -> Result<(), ScheduleError> {
    let mut parts = body.split(' ');
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(
            column,
            "rate takes a number and a unit, e.g. rate(1 hour) or rate(15 minutes)",
        ));
    };
    let value: u64 = match n.parse() {
        Ok(v) if v > 0 => v,
        _ => return Err(err(column, format!("{n:?} is not a positive whole number"))),
    };
    let unit_column = column + n.chars().count() + 1;
    let singular = match unit {
        "minute" | "hour" | "day" => true,
        "minutes" | "hours" | "days" => false,
        _ => {
            return Err(err(
                unit_column,
                format!("{unit:?} is not a unit: minute(s), hour(s) or day(s)"),
            ));
        }
    };
    match (value == 1, singular) {
        (true, false) => Err(err(
            unit_column,
            format!(
                "a rate of 1 takes the singular unit: {}",
                &unit[..unit.len() - 1]
            ),
        )),
        (false, true) => Err(err(
            unit_column,
            format!("a rate of {value} takes the plural unit: {unit}s"),
        )),
        _ => Ok(()),
    }
}

/// One cron field's rules.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The extra characters the field takes: `?`, `L`, `W`, `#`.
    question: bool,
    last: bool,
    weekday: bool,
    nth: bool,
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [Field; 6] = [
    Field::plain("minutes", 0, 59),
    Field::plain("hours", 0, 23),
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        question: true,
        last: true,
        weekday: true,
        nth: false,
    },
    Field {
        name: "month",
        names: MONTHS,
        ..Field::plain("month", 1, 12)
    },
    Field {
        name: "day-of-week",
        min: 1,
        max: 7,
        names: DAYS,
        question: true,
        last: true,
        weekday: false,
        nth: true,
    },
    Field::plain("year", 1970, 2199),
];

impl Field {
    const fn plain(name: &'static str, min: u32, max: u32) -> Field {
        Field {
            name,
            min,
            max,
            names: &[],
            question: false,
            last: false,
            weekday: false,
            nth: false,
        }
    }

    /// A value: a number in range, or one of the field's names.
    fn value(&self, text: &str, column: usize) -> Result<u32, ScheduleError> {
        if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(self.min + i as u32);
        }
        match text.parse::<u32>() {
            Ok(v) if (self.min..=self.max).contains(&v) => Ok(v),
            Ok(v) => Err(err(
                column,
                format!(
                    "{} {v} is out of range {}-{}",
                    self.name, self.min, self.max
                ),
            )),
            Err(_) => Err(err(
                column,
                format!("{text:?} is not a {} value{}", self.name, self.named()),
            )),
        }
    }

    fn named(&self) -> String {
        match self.names.first().zip(self.names.last()) {
            Some((a, b)) => format!(" ({}-{} or {a}-{b})", self.min, self.max),
            None => format!(" ({}-{})", self.min, self.max),
        }
    }

    /// One item of the field's `,`-list.
    fn item(&self, item: &str, column: usize) -> Result<(), ScheduleError> {
        if item.is_empty() {
            return Err(err(column, format!("an empty item in {}", self.name)));
        }
        if item == "*" {
            return Ok(());
        }
        if item == "?" {
            return match self.question {
                true => Ok(()),
                false => Err(err(
                    column,
                    format!("{} does not take '?' (only the day fields do)", self.name),
                )),
            };
        }
        if self.last && item == "L" {
            return Ok(());
        }
        if self.weekday && item == "LW" {
            return Ok(());
        }
        if let Some(day) = item.strip_suffix('W').filter(|_| self.weekday) {
            return self.value(day, column).map(|_| ());
        }
        if let Some(day) = item.strip_suffix('L').filter(|_| self.last && self.nth) {
            return self.value(day, column).map(|_| ());
        }
        if let Some((day, n)) = item.split_once('#') {
            if !self.nth {
                return Err(err(
                    column,
                    format!("{} does not take '#' (only day-of-week does)", self.name),
                ));
            }
            self.value(day, column)?;
            let at = column + day.chars().count() + 1;
            return match n.parse::<u32>() {
                Ok(1..=5) => Ok(()),
                _ => Err(err(at, format!("#{n}: the week of the month is 1-5"))),
            };
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            let at = column + range.chars().count() + 1;
            match step.parse::<u32>() {
                Ok(s) if s > 0 => {}
                _ => {
                    return Err(err(
                        at,
                        format!("{step:?} is not an increment (a positive whole number)"),
                    ));
                }
            }
        }
        if range == "*" && step.is_some() {
            return Ok(());
        }
        match range.split_once('-') {
            Some((a, b)) => {
                self.value(a, column)?;
                self.value(b, column + a.chars().count() + 1)?;
                Ok(())
            }
            None => self.value(range, column).map(|_| ()),
        }
    }
}

fn cron(body: &str, column: usize) -> Result<(), ScheduleError> {
    let mut fields = Vec::new();
    let mut at = column;
    for text in body.split(' ') {
        fields.push((text, at));
        at += text.chars().count() + 1;
    }
    if fields.len() != FIELDS.len() {
        return Err(err(
            column,
            format!(
                "cron takes six fields (minutes hours day-of-month month day-of-week year), found {}",
                fields.len()
            ),
        ));
    }
    for ((text, at), field) in fields.iter().zip(&FIELDS) {
        let mut item_at = *at;
        for item in text.split(',') {
            field.item(item, item_at)?;
            item_at += item.chars().count() + 1;
        }
    }
    let (dom, dow) = (fields[2], fields[4]);
    match (dom.0 == "?", dow.0 == "?") {
        (true, true) => Err(err(
            dow.1,
            "only one of day-of-month and day-of-week may be '?'",
        )),
        (false, false) => Err(err(
            dow.1,
            "one of day-of-month and day-of-week must be '?' (e.g. cron(0 3 * * ? *))",
        )),
        _ => Ok(()),
    }
}

fn at(body: &str, column: usize) -> Result<(), ScheduleError> {
    chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S")
        .map(|_| ())
        .map_err(|e| {
            err(
                column,
                format!("{body:?} is not a date and time yyyy-mm-ddThh:mm:ss ({e})"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(expression: &str) -> ScheduleError {
        match check_expression(expression) {
            Err(e) => e,
            Ok(kind) => panic!("{expression} was accepted as {kind:?}"),
        }
    }

    #[test]
    fn accepts_what_the_scheduler_takes() {
        for (e, kind) in [
            ("rate(1 hour)", ScheduleKind::Rate),
            ("rate(15 minutes)", ScheduleKind::Rate),
            ("rate(2 days)", ScheduleKind::Rate),
            ("cron(0 3 * * ? *)", ScheduleKind::Cron),
            ("cron(0/15 8-18 ? * MON-FRI *)", ScheduleKind::Cron),
            ("cron(30 2 L * ? 2027)", ScheduleKind::Cron),
            ("cron(0 9 15W JAN,JUL ? *)", ScheduleKind::Cron),
            ("cron(0 9 ? * 2#1 *)", ScheduleKind::Cron),
            ("cron(0 9 ? * 6L *)", ScheduleKind::Cron),
            ("cron(*/5 * ? * * *)", ScheduleKind::Cron),
            ("at(2027-01-01T00:00:00)", ScheduleKind::At),
        ] {
            assert_eq!(check_expression(e), Ok(kind), "{e}");
        }
    }

    #[test]
    fn points_at_the_character_at_fault() {
        let cases = [
            ("every hour", 1, "rate(...), cron(...) or at(...)"),
            ("rate(1 hour", 12, "end with ')'"),
            ("rate(0 hours)", 6, "positive whole number"),
            ("rate(1 hours)", 8, "singular unit: hour"),
            ("rate(5 minute)", 8, "plural unit: minutes"),
            ("rate(5 weeks)", 8, "not a unit"),
            ("cron(0 3 * * *)", 6, "six fields"),
            ("cron(61 3 * * ? *)", 6, "minutes 61 is out of range 0-59"),
            ("cron(0 24 * * ? *)", 8, "hours 24 is out of range 0-23"),
            ("cron(0 3 * * * *)", 14, "must be '?'"),
            ("cron(0 3 ? * ? *)", 14, "only one"),
            ("cron(0 3 ? FOO * *)", 12, "not a month value"),
            ("cron(0 3 ? * 2#6 *)", 16, "week of the month is 1-5"),
            ("cron(0 3 1 * ? 1969)", 16, "year 1969 is out of range"),
            ("cron(0/0 3 * * ? *)", 8, "increment"),
            ("cron(0 ? * * ? *)", 8, "hours does not take '?'"),
            ("cron(0 3 1,,2 * ? *)", 12, "empty item"),
            (
                "cron(0 3 * * 1-9 ?)",
                16,
                "day-of-week 9 is out of range 1-7",
            ),
            ("at(2027-02-30T00:00:00)", 4, "not a date and time"),
        ];
        for (e, column, text) in cases {
            let got = refused(e);
            assert_eq!(got.column, column, "{e}: {got}");
            assert!(got.message.contains(text), "{e}: {got}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(check_timezone("Europe/Berlin").is_ok());
        assert!(check_timezone("UTC").is_ok());
        let e = check_timezone("Mars/Olympus").expect_err("not a zone");
        assert!(e.contains("IANA"), "{e}");
    }
}
