//! Checks a parsed rule against the catalogue and the declarations, as Glue's listener does:
//! arity, analyzer-only types, `where` support, tags and `with threshold`, labels, the condition
//! shape the rule type takes, time zones of time literals, and variable references.

use std::collections::HashMap;
use std::ops::Range;

use super::ast::*;
use super::catalog::{self, ConditionKind, LookupError, Returns, RuleSpec};
use super::conditions::{RawCondition, TagCondition};
use super::error::DqdlError;
use super::parser::Parser;
use super::zones::is_valid_zone;

/// A parameter and its span, variables not yet resolved.
pub(crate) struct RawParam {
    pub param: Parameter,
    pub span: Range<usize>,
}

/// A label and its span.
pub(crate) struct RawLabel {
    pub label: Label,
    pub span: Range<usize>,
}

/// A `with` tag as parsed.
pub(crate) struct RawTag<'a> {
    pub name: &'a str,
    pub condition: TagCondition,
    pub span: Range<usize>,
}

/// A rule as parsed, before checking.
pub(crate) struct RawRule<'a> {
    pub name: &'a str,
    pub name_span: Range<usize>,
    pub params: Vec<RawParam>,
    pub condition: Option<RawCondition>,
    pub where_clause: Option<(String, Range<usize>)>,
    pub labels: Option<(Vec<RawLabel>, Range<usize>)>,
    pub tags: Vec<RawTag<'a>>,
}

const MAX_LABELS: usize = 10;
const MAX_LABEL_KEY: usize = 128;
const MAX_LABEL_VALUE: usize = 256;

/// The condition shapes the rule type `name` takes (to rank syntax errors); all when unknown.
pub(crate) fn preferred_kinds(name: &str) -> Vec<ConditionKind> {
    let all = [
        ConditionKind::Number,
        ConditionKind::String,
        ConditionKind::Date,
        ConditionKind::Duration,
        ConditionKind::Size,
    ];
    let Some(rule_type) = RuleType::from_name(name) else {
        return all.to_vec();
    };
    all.into_iter()
        .filter(|&k| rule_type.specs().any(|s| s.returns.accepts(k)))
        .collect()
}

/// Looks the type up for `params`; a wrong count caused by `and` read as a connector says so.
fn resolve_type(
    p: &Parser<'_>,
    name: &str,
    span: Range<usize>,
    params: &[RawParam],
    role: &str,
) -> Result<&'static RuleSpec, DqdlError> {
    let count = params.len();
    let swallowed_and = params
        .iter()
        .any(|rp| rp.param.connector == Some(Connector::And));
    catalog::lookup(name, count).map_err(|e| {
        let message = match e {
            LookupError::UnknownName {
                suggestion: Some(s),
            } => format!("unknown {role} type `{name}`; did you mean `{s}`?"),
            LookupError::UnknownName { suggestion: None } => {
                format!("unknown {role} type `{name}`")
            }
            LookupError::WrongArity { expected, .. } => format!(
                "`{name}` takes {expected}, but {count} {} given{}",
                if count == 1 {
                    "parameter was"
                } else {
                    "parameters were"
                },
                if swallowed_and {
                    " (`and` followed by a name or string is read as a parameter: put composite \
                     operands in parentheses, e.g. `(IsComplete \"a\") and (IsComplete \"b\")`)"
                } else {
                    ""
                }
            ),
        };
        p.error(span, message)
    })
}

/// Checks a rule and builds its syntax tree node.
pub(crate) fn rule(p: &Parser<'_>, raw: RawRule<'_>) -> Result<SingleRule, DqdlError> {
    let name = raw.name;
    let spec = resolve_type(p, name, raw.name_span.clone(), &raw.params, "rule")?;
    if spec.analyzer_only {
        return Err(p.error(
            raw.name_span,
            format!("`{name}` is an analyzer; it is not supported in the Rules section"),
        ));
    }
    if let Some((text, span)) = &raw.where_clause {
        if !spec.where_supported {
            return Err(p.error(
                span.clone(),
                format!("`where` is not supported for rule type `{name}`"),
            ));
        }
        if text.is_empty() {
            return Err(p.error(
                span.clone(),
                format!("empty `where` clause for rule type `{name}`"),
            ));
        }
    }
    let (threshold, tags) = tags(p, spec, raw.tags)?;
    let labels = match &raw.labels {
        Some((list, span)) => rule_labels(p.src, list, span.clone(), p.default_label_count)?,
        None => Vec::new(),
    };
    let condition = match raw.condition {
        None if spec.returns.condition_optional() => None,
        None => {
            return Err(p.error(
                raw.name_span,
                format!(
                    "`{name}` needs {}, e.g. `{}`",
                    spec.returns.describe(),
                    example(spec)
                ),
            ));
        }
        Some((condition, span)) => Some(check_condition(p, spec, condition, span, &tags)?),
    };
    let parameters = resolve_params(p, raw.params)?;
    Ok(SingleRule {
        rule_type: spec.rule_type,
        parameters,
        condition,
        where_clause: raw.where_clause.map(|(text, _)| text),
        labels,
        threshold,
        tags,
    })
}

/// An example condition for messages.
fn example(spec: &RuleSpec) -> String {
    let params: String = spec.params.iter().map(|_| " \"col\"").collect();
    let condition = match spec.returns {
        Returns::Number | Returns::NumberOrBoolean => "> 0",
        Returns::String => "= \"Integer\"",
        Returns::Values => "in [\"a\", \"b\"]",
        Returns::Durations => "<= 24 hours",
        Returns::Date => "> (now() - 1 days)",
        Returns::Size => "< 5 MB",
        Returns::Boolean => "",
    };
    format!("{}{params} {condition}", spec.rule_type.name())
}

/// Splits tags into the threshold and the others (a repeated name keeps its last value).
fn tags(
    p: &Parser<'_>,
    spec: &RuleSpec,
    raw: Vec<RawTag<'_>>,
) -> Result<(Option<NumberCondition>, Vec<Tag>), DqdlError> {
    let name = spec.rule_type.name();
    let mut threshold = None;
    let mut tags: Vec<Tag> = Vec::new();
    for tag in raw {
        let value = match tag.condition {
            TagCondition::String(StringCondition::Eq(v)) => TagValue::String(v),
            TagCondition::String(_) => {
                return Err(p.error(
                    tag.span,
                    "String tags only support the equality operator (`with name = \"value\"`)",
                ));
            }
            TagCondition::Number(c) if tag.name.eq_ignore_ascii_case("threshold") => {
                if !spec.threshold_supported {
                    return Err(p.error(
                        tag.span,
                        format!(
                            "`with threshold` is not supported for rule type `{name}` (only \
                             ColumnValues, ColumnDataType, CustomSql, FileFreshness, FileSize)"
                        ),
                    ));
                }
                if threshold.is_some() {
                    return Err(p.error(
                        tag.span,
                        "Only one threshold condition at a time is supported.",
                    ));
                }
                threshold = Some(c);
                continue;
            }
            TagCondition::Number(Comparison::Eq(n)) => TagValue::Number(n),
            TagCondition::Number(_) => {
                return Err(p.error(
                    tag.span,
                    "Number tags only support the equality operator (`with name = 5`)",
                ));
            }
        };
        match tags.iter_mut().find(|t| t.name == tag.name) {
            Some(existing) => existing.value = value,
            None => tags.push(Tag {
                name: tag.name.to_string(),
                value,
            }),
        }
    }
    Ok((threshold, tags))
}

/// Checks a label list: non-empty, at most 10 together with the defaults, unique non-empty keys,
/// keys up to 128 and values up to 256 characters (UTF-16 units, as Java counts).
pub(crate) fn rule_labels(
    src: &str,
    raw: &[RawLabel],
    span: Range<usize>,
    defaults: usize,
) -> Result<Vec<Label>, DqdlError> {
    if raw.is_empty() {
        return Err(DqdlError::new(
            src,
            span,
            "Labels must have at least one label",
        ));
    }
    if defaults + raw.len() > MAX_LABELS {
        return Err(DqdlError::new(
            src,
            span,
            format!(
                "Number of labels exceed maximum allowed (MAX: {MAX_LABELS}): {} here{}",
                raw.len(),
                if defaults > 0 {
                    format!(" plus {defaults} default labels")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let mut labels: Vec<Label> = Vec::with_capacity(raw.len());
    for RawLabel { label, span } in raw {
        let err = |m: String| Err(DqdlError::new(src, span.clone(), m));
        if labels.iter().any(|l| l.key == label.key) {
            return err(format!(
                "Duplicate label key \"{}\". Key must be unique.",
                label.key
            ));
        }
        if label.key.is_empty() || label.value.is_empty() {
            return err("Label key or value cannot be empty".into());
        }
        let (key_len, value_len) = (utf16_len(&label.key), utf16_len(&label.value));
        if key_len > MAX_LABEL_KEY {
            return err(format!(
                "Label key has length {key_len} exceeding the maximum length of {MAX_LABEL_KEY} characters"
            ));
        }
        if value_len > MAX_LABEL_VALUE {
            return err(format!(
                "Label value has length {value_len} exceeding the maximum length of {MAX_LABEL_VALUE} characters"
            ));
        }
        labels.push(label.clone());
    }
    Ok(labels)
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Checks the condition's shape against the rule type, converts FileSize's byte numbers, checks
/// time zones of time literals and resolves `in $var`.
fn check_condition(
    p: &Parser<'_>,
    spec: &RuleSpec,
    condition: Condition,
    span: Range<usize>,
    tags: &[Tag],
) -> Result<Condition, DqdlError> {
    let name = spec.rule_type.name();
    let kind = condition.kind();
    if !spec.returns.accepts(kind) {
        let message = if spec.returns == Returns::Boolean {
            format!("`{name}` takes no condition")
        } else {
            let hint = match (spec.returns, kind) {
                (Returns::Durations, ConditionKind::Number) => {
                    " (give a unit: `days`, `hours` or `minutes`)"
                }
                (Returns::Date, ConditionKind::Number) => {
                    " (dates are \"YYYY-MM-DD\", now() or (now() - N days))"
                }
                _ => "",
            };
            format!(
                "`{name}` takes {}, found a {} condition{hint}",
                spec.returns.describe(),
                kind.describe()
            )
        };
        return Err(p.error(span, message));
    }
    match condition {
        Condition::Number(c) if spec.returns == Returns::Size => {
            bytes_condition(c).map(Condition::Size).map_err(|bad| {
                p.error(
                    span,
                    format!(
                        "`{name}` takes sizes such as `5 MB`, or whole numbers of bytes; `{bad}` is neither"
                    ),
                )
            })
        }
        Condition::Date(c) => {
            let has_time = c.operands().iter().any(|d| matches!(d, DateExpr::Time(_)));
            if has_time {
                let zone = tags
                    .iter()
                    .find(|t| t.name == "timeZone")
                    .map_or_else(|| "UTC".to_string(), |t| t.value.text());
                if !is_valid_zone(&zone) {
                    return Err(p.error(
                        span,
                        format!(
                            "unknown time zone \"{zone}\" for the time in this condition (use a \
                             region such as \"Europe/Paris\" or an offset such as \"+05:30\")"
                        ),
                    ));
                }
            }
            Ok(Condition::Date(c))
        }
        Condition::String(c) => resolve_string_condition(p, c, span).map(Condition::String),
        other => Ok(other),
    }
}

/// FileSize's number condition: integer literals that fit an `int`, read as bytes.
fn bytes_condition(c: NumberCondition) -> Result<SizeCondition, String> {
    let mut bad = None;
    let sizes = c.map(|n| {
        let amount = match &n {
            NumExpr::Number(num) => num.text.parse::<i32>().ok(),
            _ => None,
        };
        if amount.is_none() && bad.is_none() {
            bad = Some(n.to_string());
        }
        Size {
            amount: i64::from(amount.unwrap_or(0)),
            unit: None,
        }
    });
    match bad {
        Some(text) => Err(text),
        None => Ok(sizes),
    }
}

fn resolve_string_condition(
    p: &Parser<'_>,
    c: StringCondition,
    span: Range<usize>,
) -> Result<StringCondition, DqdlError> {
    let resolve = |set: StringSet| -> Result<StringSet, DqdlError> {
        let StringSet::Variable { name, .. } = set else {
            return Ok(set);
        };
        let values = match p.variables.get(&name) {
            None => return Err(p.error(span.clone(), format!("Variable not found: {name}"))),
            Some(VariableValue::Single(v)) => vec![v.clone()],
            Some(VariableValue::List(vs)) => vs.clone(),
        };
        Ok(StringSet::Variable { name, values })
    };
    Ok(match c {
        StringCondition::In(set) => StringCondition::In(resolve(set)?),
        StringCondition::NotIn(set) => StringCondition::NotIn(resolve(set)?),
        other => other,
    })
}

fn resolve_params(p: &Parser<'_>, raw: Vec<RawParam>) -> Result<Vec<Parameter>, DqdlError> {
    raw.into_iter()
        .map(|RawParam { mut param, span }| {
            if let ParameterValue::Variable { name, value } = &mut param.value {
                *value = match p.variables.get(name.as_str()) {
                    None => return Err(p.error(span, format!("Variable not found: {name}"))),
                    Some(VariableValue::Single(v)) => string_variable_text(v),
                    Some(VariableValue::List(_)) => {
                        return Err(p.error(
                            span,
                            format!(
                                "variable `{name}` holds a list; a parameter needs a string variable"
                            ),
                        ));
                    }
                };
            }
            Ok(param)
        })
        .collect()
}

/// The text a string variable gives a parameter (a keyword as its upper-case name).
fn string_variable_text(v: &StringValue) -> String {
    match v {
        StringValue::Quoted(s) => s.clone(),
        StringValue::Keyword(k) => k.as_str().to_string(),
    }
}

/// Glue does not resolve variables in analyzers: `$name` is accepted whether or not a string
/// variable of that name exists. A string variable is resolved; anything else stays `$name`.
fn resolve_analyzer_params(p: &Parser<'_>, raw: Vec<RawParam>) -> Vec<Parameter> {
    raw.into_iter()
        .map(|RawParam { mut param, .. }| {
            if let ParameterValue::Variable { name, value } = &mut param.value {
                *value = match p.variables.get(name.as_str()) {
                    Some(VariableValue::Single(v)) => string_variable_text(v),
                    _ => format!("${name}"),
                };
            }
            param
        })
        .collect()
}

/// Checks an analyzer: a catalogue type that does not return a plain boolean, with a fitting
/// number of parameters.
pub(crate) fn analyzer(
    p: &Parser<'_>,
    name: &str,
    span: Range<usize>,
    params: Vec<RawParam>,
) -> Result<Analyzer, DqdlError> {
    let spec = resolve_type(p, name, span.clone(), &params, "analyzer")?;
    if spec.returns == Returns::Boolean {
        return Err(p.error(
            span,
            format!("`{name}` is not supported as an analyzer (it only passes or fails)"),
        ));
    }
    Ok(Analyzer {
        analyzer_type: spec.rule_type,
        parameters: resolve_analyzer_params(p, params),
    })
}

/// Checks a variable declaration: the name may not start with `.` or `_` nor be redefined, and
/// no value may mention another variable.
pub(crate) fn variable(
    src: &str,
    name: &str,
    name_span: Range<usize>,
    value: &VariableValue,
    value_span: Range<usize>,
    declared: &HashMap<String, VariableValue>,
) -> Result<(), DqdlError> {
    if name.starts_with(['.', '_']) {
        return Err(DqdlError::new(
            src,
            name_span,
            format!("Variable name '{name}' cannot start with '.' or '_'"),
        ));
    }
    if declared.contains_key(name) {
        return Err(DqdlError::new(
            src,
            name_span,
            format!("Variable '{name}' is already defined"),
        ));
    }
    let items: &[StringValue] = match value {
        VariableValue::Single(v) => std::slice::from_ref(v),
        VariableValue::List(vs) => vs,
    };
    let nested = items.iter().any(|v| match v {
        StringValue::Quoted(s) => mentions_variable(s),
        StringValue::Keyword(_) => false,
    });
    if nested {
        return Err(DqdlError::new(
            src,
            value_span,
            format!(
                "Nested variables are not supported in variable '{name}' (its value contains `$name`)"
            ),
        ));
    }
    Ok(())
}

/// Whether `s` contains `$` followed by a letter or `_` (Glue's `\$[a-zA-Z_]` test).
fn mentions_variable(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'_'))
}
