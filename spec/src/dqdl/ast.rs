//! The DQDL syntax tree: what [`parse`](super::parse) returns and the evaluator consumes.
//!
//! Conventions:
//! - Quoted text is stored **raw**: the characters between the quotes, backslash escapes kept
//!   (`"a\"b"` is stored as `a\"b`). Glue hands raw text to the engine for parameters, `where`,
//!   `=`/`!=`/`matches` operands, and unescapes only `in [...]` members; [`unescape`] does that.
//! - Variables are resolved at parse time: a `$name` reference keeps its name (for printing) and
//!   carries the value it stands for, so the evaluator never needs the declarations.
//! - Rule labels hold only the rule's own list; [`Ruleset::effective_labels`] merges defaults.
//! - Every type prints back as DQDL (`Display`, in the `print` module) and
//!   `parse(&ruleset.to_string()) == Ok(ruleset)`.

use serde::Serialize;

pub use super::catalog::RuleType;

/// A whole DQDL document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ruleset {
    /// `Metadata = { "Version": … }`, when present.
    pub metadata: Option<Metadata>,
    /// `DataSources = { "Primary": …, "AdditionalDataSources": [ … ] }`, when present.
    pub data_sources: Option<DataSources>,
    /// Variable declarations (`name = "…"`), in source order.
    pub variables: Vec<Variable>,
    /// `DefaultLabels = [ … ]`; empty when the section is absent.
    pub default_labels: Vec<Label>,
    /// Top-level rules of the `Rules` section, in order (each yields one outcome).
    pub rules: Vec<Rule>,
    /// Entries of the `Analyzers` section, in order.
    pub analyzers: Vec<Analyzer>,
}

/// The value of a dictionary entry as written: a string or an array of strings (raw contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DictValue {
    /// `"text"`.
    String(String),
    /// `["a", "b"]`.
    Array(Vec<String>),
}

impl DictValue {
    /// The value Glue stores: the text with every `"` removed; an array is flattened to `[a,b]`.
    pub fn glue_text(&self) -> String {
        match self {
            DictValue::String(s) => s.replace('"', ""),
            DictValue::Array(items) => {
                let inner: Vec<String> = items.iter().map(|s| s.replace('"', "")).collect();
                format!("[{}]", inner.join(","))
            }
        }
    }
}

/// The `Metadata` section; `Version` is its only key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The `"Version"` value as written (see [`DictValue::glue_text`]).
    pub version: DictValue,
}

/// The `DataSources` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataSources {
    /// `"Primary"`, the alias of the data being checked.
    pub primary: Option<DictValue>,
    /// `"AdditionalDataSources"`, raw array members (must be an array).
    pub additional: Option<Vec<String>>,
}

impl DataSources {
    /// The additional source aliases as Glue reads them: brackets, spaces and quotes removed,
    /// then split on commas (so `"a,b"` is two aliases).
    pub fn additional_aliases(&self) -> Vec<String> {
        let Some(items) = &self.additional else {
            return Vec::new();
        };
        let joined = items.join(",");
        let cleaned: String = joined
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ' ' | '"'))
            .collect();
        cleaned.split(',').map(str::to_string).collect()
    }
}

/// A variable declaration `name = value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// The name, referenced as `$name`.
    pub name: String,
    /// The declared value.
    pub value: VariableValue,
}

/// What a variable holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VariableValue {
    /// `"text"` or a keyword.
    Single(StringValue),
    /// `["a", "b", NULL]`.
    List(Vec<StringValue>),
}

/// A `"key" = "value"` label (raw texts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Label key, 1..=128 characters.
    pub key: String,
    /// Label value, 1..=256 characters.
    pub value: String,
}

/// One entry of the `Rules` section, or a member of a composite.
// A ruleset holds a handful of rules: unboxed variants keep matching and building simple.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Rule {
    /// A rule of one catalogue type.
    Single(SingleRule),
    /// `(A) and (B)`, `(A) or (B)`; chains of one operator are flattened.
    Composite(CompositeRule),
}

/// `RuleType params… [condition] [where "…"] [labels=[…]] [with threshold …] [with k = v]…`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingleRule {
    /// The catalogue type.
    pub rule_type: RuleType,
    /// Parameters in order (column names, SQL, aliases, …).
    pub parameters: Vec<Parameter>,
    /// The condition; `None` for rule types returning a boolean (and condition-less CustomSql).
    pub condition: Option<Condition>,
    /// `where "<Spark SQL>"`, raw text.
    pub where_clause: Option<String>,
    /// The rule's own labels (defaults not merged).
    pub labels: Vec<Label>,
    /// `with threshold <number condition>`.
    pub threshold: Option<NumberCondition>,
    /// Other `with name = value` tags, first-occurrence order; a repeated name keeps its last value.
    pub tags: Vec<Tag>,
}

impl SingleRule {
    /// The value of tag `name` as Glue reads it (quotes removed), if present.
    pub fn tag(&self, name: &str) -> Option<String> {
        self.tags
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.value.text())
    }

    /// The text of each parameter (variables resolved, quotes removed, escapes kept).
    pub fn parameter_texts(&self) -> Vec<&str> {
        self.parameters.iter().map(|p| p.value.text()).collect()
    }
}

/// A composite rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompositeRule {
    /// `and` or `or`.
    pub operator: LogicalOperator,
    /// Two or more members; no member is an unlabelled composite with the same operator.
    pub rules: Vec<Rule>,
    /// Labels from `( … ) labels=[…]` around the composite; empty otherwise.
    pub labels: Vec<Label>,
}

/// The operator of a composite rule. `and` binds tighter than `or`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LogicalOperator {
    /// All members must pass.
    And,
    /// At least one member must pass.
    Or,
}

impl LogicalOperator {
    /// `AND` / `OR`, as printed and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalOperator::And => "AND",
            LogicalOperator::Or => "OR",
        }
    }
}

/// An entry of the `Analyzers` section: a type and parameters only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analyzer {
    /// The catalogue type (any type whose result is not a plain boolean).
    pub analyzer_type: RuleType,
    /// Parameters in order.
    pub parameters: Vec<Parameter>,
}

/// A rule parameter with its optional connector word (`Sum of "col"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// `of` / `and` written before the value (any case; printed lower case).
    pub connector: Option<Connector>,
    /// The value.
    pub value: ParameterValue,
}

/// A connector word before a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum Connector {
    Of,
    And,
}

/// How a parameter was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ParameterValue {
    /// `"text"` (raw contents).
    Quoted(String),
    /// A bare identifier `[A-Za-z0-9_.]+` that is not a keyword or a number.
    Identifier(String),
    /// `$name`, with the string the variable holds.
    Variable {
        /// Variable name without `$`.
        name: String,
        /// The variable's value: the raw text of its quoted string, or the keyword's upper-case
        /// name. In an analyzer (where Glue resolves nothing and accepts any `$name`) an
        /// undeclared or list variable stays the literal text `$name`.
        value: String,
    },
}

impl ParameterValue {
    /// The text the rule works with.
    pub fn text(&self) -> &str {
        match self {
            ParameterValue::Quoted(s) | ParameterValue::Identifier(s) => s,
            ParameterValue::Variable { value, .. } => value,
        }
    }
}

/// `with name = value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    /// Tag name (an identifier; case-sensitive, except that `threshold` is never a tag).
    pub name: String,
    /// Tag value.
    pub value: TagValue,
}

/// The value of a tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TagValue {
    /// `"text"` or a string keyword.
    String(StringValue),
    /// A number expression (`5`, `-1.5`, …).
    Number(NumExpr),
}

impl TagValue {
    /// The value as Glue hands it on: quoted text without quotes, a keyword's upper-case name, or
    /// the number expression's text without spaces.
    pub fn text(&self) -> String {
        match self {
            TagValue::String(StringValue::Quoted(s)) => s.clone(),
            TagValue::String(StringValue::Keyword(k)) => k.as_str().to_string(),
            TagValue::Number(n) => n.to_string().replace(' ', ""),
        }
    }
}

/// A condition on a rule's metric or on each value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Condition {
    /// On numbers, with dynamic expressions.
    Number(NumberCondition),
    /// On strings.
    String(StringCondition),
    /// On dates and times.
    Date(DateCondition),
    /// On durations (DataFreshness).
    Duration(DurationCondition),
    /// On sizes (FileSize).
    Size(SizeCondition),
}

impl Condition {
    /// The syntactic kind.
    pub fn kind(&self) -> super::catalog::ConditionKind {
        use super::catalog::ConditionKind as K;
        match self {
            Condition::Number(_) => K::Number,
            Condition::String(_) => K::String,
            Condition::Date(_) => K::Date,
            Condition::Duration(_) => K::Duration,
            Condition::Size(_) => K::Size,
        }
    }
}

/// A comparison shared by number, date, duration and size conditions.
///
/// `between` is exclusive (`a < x < b`); `not between` is its complement (`x <= a || x >= b`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Comparison<T> {
    /// `= x`
    Eq(T),
    /// `!= x`
    Ne(T),
    /// `> x`
    Gt(T),
    /// `>= x`
    Ge(T),
    /// `< x`
    Lt(T),
    /// `<= x`
    Le(T),
    /// `between a and b` (exclusive).
    Between(T, T),
    /// `not between a and b`.
    NotBetween(T, T),
    /// `in [a, b, …]` (non-empty).
    In(Vec<T>),
    /// `not in [a, b, …]` (non-empty).
    NotIn(Vec<T>),
}

impl<T> Comparison<T> {
    /// All operands, in order.
    pub fn operands(&self) -> Vec<&T> {
        match self {
            Comparison::Eq(a)
            | Comparison::Ne(a)
            | Comparison::Gt(a)
            | Comparison::Ge(a)
            | Comparison::Lt(a)
            | Comparison::Le(a) => vec![a],
            Comparison::Between(a, b) | Comparison::NotBetween(a, b) => vec![a, b],
            Comparison::In(v) | Comparison::NotIn(v) => v.iter().collect(),
        }
    }

    /// Applies `f` to every operand, keeping the operator.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Comparison<U> {
        match self {
            Comparison::Eq(a) => Comparison::Eq(f(a)),
            Comparison::Ne(a) => Comparison::Ne(f(a)),
            Comparison::Gt(a) => Comparison::Gt(f(a)),
            Comparison::Ge(a) => Comparison::Ge(f(a)),
            Comparison::Lt(a) => Comparison::Lt(f(a)),
            Comparison::Le(a) => Comparison::Le(f(a)),
            Comparison::Between(a, b) => Comparison::Between(f(a), f(b)),
            Comparison::NotBetween(a, b) => Comparison::NotBetween(f(a), f(b)),
            Comparison::In(v) => Comparison::In(v.into_iter().map(f).collect()),
            Comparison::NotIn(v) => Comparison::NotIn(v.into_iter().map(f).collect()),
        }
    }
}

/// A number condition, e.g. `> avg(last(3)) * 0.9`.
pub type NumberCondition = Comparison<NumExpr>;
/// A date condition, e.g. `>= (now() - 2 days)`.
pub type DateCondition = Comparison<DateExpr>;
/// A duration condition, e.g. `<= 24 hours`.
pub type DurationCondition = Comparison<Duration>;
/// A size condition, e.g. `< 2 MB`.
pub type SizeCondition = Comparison<Size>;

/// A number expression. Arithmetic has **no precedence**: `1 + 2 * 3` is `(1 + 2) * 3`
/// (left to right); parentheses group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum NumExpr {
    /// A literal as written: `5`, `-0.25` (no exponent, no leading/trailing dot).
    Number(Number),
    /// `NULL` (matches missing values in `=`/`in`).
    Null,
    /// `name(args…)`: dynamic functions such as `last(3)`, `avg(…)`, `index(last(3),0)`; the
    /// parser accepts any name.
    Call {
        /// Function name as written.
        name: String,
        /// Arguments.
        args: Vec<NumExpr>,
    },
    /// `left op right`.
    Binary {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        left: Box<NumExpr>,
        /// Right operand (a binary right operand is always parenthesised).
        right: Box<NumExpr>,
        /// Written in parentheses (printed back with them).
        parenthesized: bool,
    },
}

/// A number literal, kept as written so it prints back identically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Number {
    /// `-?[0-9]+(\.[0-9]+)?`
    pub text: String,
}

impl Number {
    /// The value as a double (Glue compares with exact `Double.equals`).
    pub fn value(&self) -> f64 {
        // The lexer only produces texts that Rust's float parser accepts.
        self.text.parse().unwrap_or(f64::NAN)
    }
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl ArithOp {
    /// `+ - * /`.
    pub fn symbol(self) -> char {
        match self {
            ArithOp::Add => '+',
            ArithOp::Sub => '-',
            ArithOp::Mul => '*',
            ArithOp::Div => '/',
        }
    }
}

/// A string condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StringCondition {
    /// `= "x"` / `= NULL|EMPTY|WHITESPACES_ONLY`.
    Eq(StringValue),
    /// `!= …`.
    Ne(StringValue),
    /// `in [...]` / `in $var`.
    In(StringSet),
    /// `not in [...]` / `not in $var`.
    NotIn(StringSet),
    /// `matches "regex"` (raw regex text).
    Matches(String),
    /// `not matches "regex"`.
    NotMatches(String),
}

/// A string operand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StringValue {
    /// Raw quoted text.
    Quoted(String),
    /// `NULL`, `EMPTY` or `WHITESPACES_ONLY` (any case as written; printed upper case).
    Keyword(StringKeyword),
}

/// String keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StringKeyword {
    /// A missing value.
    Null,
    /// The empty string `""`.
    Empty,
    /// A non-empty string of whitespace only.
    WhitespacesOnly,
}

impl StringKeyword {
    /// Upper-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StringKeyword::Null => "NULL",
            StringKeyword::Empty => "EMPTY",
            StringKeyword::WhitespacesOnly => "WHITESPACES_ONLY",
        }
    }
}

/// The set of an `in` string condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StringSet {
    /// `["a", NULL, …]` (non-empty). Glue unescapes quoted members: use [`unescape`].
    Literal(Vec<StringValue>),
    /// `$name`, with the members it stands for (a string variable is a one-member set).
    Variable {
        /// Variable name without `$`.
        name: String,
        /// The variable's members.
        values: Vec<StringValue>,
    },
}

impl StringSet {
    /// The members, whether written inline or through a variable.
    pub fn values(&self) -> &[StringValue] {
        match self {
            StringSet::Literal(v) | StringSet::Variable { values: v, .. } => v,
        }
    }
}

/// A date operand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DateExpr {
    /// `"YYYY-MM-DD"` (midnight); the calendar date is checked only at evaluation, as in Glue.
    Date(String),
    /// `now()`: the current UTC time truncated to the minute.
    Now,
    /// `(now() - 3 days)` / `(now() + 1 hours)`.
    NowOffset {
        /// `+` or `-`.
        op: OffsetOp,
        /// The shift.
        duration: Duration,
    },
    /// `"9:30 AM"` or `"21:45"`: today at that time in the rule's `timeZone` tag (default UTC).
    Time(TimeOfDay),
    /// `NULL`.
    Null,
}

/// The sign of a `now()` offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum OffsetOp {
    Plus,
    Minus,
}

/// A validated time-of-day literal, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeOfDay {
    /// The text between the quotes: `H:MM AM`, `HH:MM PM` or `HH:MM`.
    pub text: String,
    /// Hour on the 24-hour clock (0..=23).
    pub hour: u8,
    /// Minute (0..=59).
    pub minute: u8,
}

/// `N days|hours|minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Duration {
    /// Non-negative amount (at most `i32::MAX`).
    pub amount: u32,
    /// The unit.
    pub unit: DurationUnit,
}

impl Duration {
    /// The duration in minutes.
    pub fn minutes(self) -> u64 {
        u64::from(self.amount) * self.unit.minutes()
    }
}

/// Duration units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum DurationUnit {
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    /// Minutes per unit.
    pub fn minutes(self) -> u64 {
        match self {
            DurationUnit::Minutes => 1,
            DurationUnit::Hours => 60,
            DurationUnit::Days => 24 * 60,
        }
    }

    /// `minutes` / `hours` / `days`.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Minutes => "minutes",
            DurationUnit::Hours => "hours",
            DurationUnit::Days => "days",
        }
    }
}

/// `N B|KB|MB|GB|TB`, or a bare integer number of bytes (FileSize only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Size {
    /// The amount (non-negative with a unit; a bare number may be negative, as Glue allows).
    pub amount: i64,
    /// The unit; `None` for a bare number of bytes.
    pub unit: Option<SizeUnit>,
}

impl Size {
    /// The size in bytes (powers of 1024).
    pub fn bytes(self) -> i128 {
        i128::from(self.amount) * self.unit.map_or(1, SizeUnit::bytes)
    }
}

/// Size units (powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[allow(missing_docs)]
pub enum SizeUnit {
    B,
    KB,
    MB,
    GB,
    TB,
}

impl SizeUnit {
    /// Bytes per unit.
    pub fn bytes(self) -> i128 {
        match self {
            SizeUnit::B => 1,
            SizeUnit::KB => 1 << 10,
            SizeUnit::MB => 1 << 20,
            SizeUnit::GB => 1 << 30,
            SizeUnit::TB => 1 << 40,
        }
    }

    /// Upper-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SizeUnit::B => "B",
            SizeUnit::KB => "KB",
            SizeUnit::MB => "MB",
            SizeUnit::GB => "GB",
            SizeUnit::TB => "TB",
        }
    }
}

impl Ruleset {
    /// A rule's labels as Glue reports them: `DefaultLabels` overridden key by key by the rule's
    /// own (for a composite, by the labels of its parenthesised group).
    pub fn effective_labels(&self, rule: &Rule) -> Vec<Label> {
        let own = match rule {
            Rule::Single(r) => &r.labels,
            Rule::Composite(c) => &c.labels,
        };
        let mut merged: Vec<Label> = self
            .default_labels
            .iter()
            .filter(|d| !own.iter().any(|o| o.key == d.key))
            .cloned()
            .collect();
        merged.extend(own.iter().cloned());
        merged
    }
}

impl Rule {
    /// The canonical DQDL text of the rule (the `Rule` field of results).
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The single rules of this rule, depth first (itself when it is single).
    pub fn leaves(&self) -> Vec<&SingleRule> {
        match self {
            Rule::Single(r) => vec![r],
            Rule::Composite(c) => c.rules.iter().flat_map(Rule::leaves).collect(),
        }
    }
}

/// Removes backslash escapes as Glue does for `in [...]` members: a backslash followed by any
/// character other than a line break stands for that character.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&next)) if !is_line_terminator(next) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Java's regex `.` excludes these.
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}
