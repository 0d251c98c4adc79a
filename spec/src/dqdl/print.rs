//! The canonical printer: `Display` for the syntax tree, such that
//! `parse(&ruleset.to_string()) == Ok(ruleset)` for every ruleset the parser accepts.
//!
//! The rule text follows Glue's `DQRule.toString` (single spaces, `in [a,b]` without spaces,
//! composites as `(A) AND (B)`, keywords upper case, numbers as written) with three changes that
//! make it re-parse: labels are printed before the `with` tags (Glue prints them after, which its
//! own grammar rejects), tags keep source order, and `DefaultLabels` and variables are printed.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;

impl Display for Ruleset {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut blocks: Vec<String> = Vec::new();
        if let Some(m) = &self.metadata {
            blocks.push(format!(
                "Metadata = {{\n    \"Version\": {}\n}}",
                DictDisplay(&m.version)
            ));
        }
        if let Some(ds) = &self.data_sources {
            let mut pairs = Vec::new();
            if let Some(p) = &ds.primary {
                pairs.push(format!("    \"Primary\": {}", DictDisplay(p)));
            }
            if let Some(a) = &ds.additional {
                pairs.push(format!("    \"AdditionalDataSources\": {}", QuotedList(a)));
            }
            blocks.push(format!("DataSources = {{\n{}\n}}", pairs.join(",\n")));
        }
        if !self.variables.is_empty() {
            let vars: Vec<String> = self.variables.iter().map(|v| v.to_string()).collect();
            blocks.push(vars.join("\n"));
        }
        if !self.default_labels.is_empty() {
            blocks.push(format!(
                "DefaultLabels = {}",
                LabelList(&self.default_labels)
            ));
        }
        if !self.rules.is_empty() {
            blocks.push(section("Rules", &self.rules));
        }
        if !self.analyzers.is_empty() {
            blocks.push(section("Analyzers", &self.analyzers));
        }
        f.write_str(&blocks.join("\n\n"))?;
        f.write_char('\n')
    }
}

fn section<T: Display>(name: &str, items: &[T]) -> String {
    let lines: Vec<String> = items.iter().map(|i| format!("    {i}")).collect();
    format!("{name} = [\n{}\n]", lines.join(",\n"))
}

struct DictDisplay<'a>(&'a DictValue);

impl Display for DictDisplay<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            DictValue::String(s) => write!(f, "\"{s}\""),
            DictValue::Array(items) => QuotedList(items).fmt(f),
        }
    }
}

struct QuotedList<'a>(&'a [String]);

impl Display for QuotedList<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(|s| format!("\"{s}\"")).collect();
        write!(f, "[ {} ]", items.join(", "))
    }
}

struct LabelList<'a>(&'a [Label]);

impl Display for LabelList<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|l| format!("\"{}\"=\"{}\"", l.key, l.value))
            .collect();
        write!(f, "[{}]", items.join(", "))
    }
}

impl Display for Variable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.name)?;
        match &self.value {
            VariableValue::Single(v) => v.fmt(f),
            VariableValue::List(items) => write!(f, "[{}]", Joined(items, ", ")),
        }
    }
}

/// Items joined by a separator.
struct Joined<'a, T>(&'a [T], &'a str);

impl<T: Display> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for Rule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Single(r) => r.fmt(f),
            Rule::Composite(c) => c.fmt(f),
        }
    }
}

impl Display for CompositeRule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let labelled = !self.labels.is_empty();
        if labelled {
            f.write_char('(')?;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                write!(f, " {} ", self.operator.as_str())?;
            }
            write!(f, "({rule})")?;
        }
        if labelled {
            write!(f, ") labels={}", LabelList(&self.labels))?;
        }
        Ok(())
    }
}

impl Display for SingleRule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule_type.name())?;
        for p in &self.parameters {
            write!(f, " {p}")?;
        }
        if let Some(c) = &self.condition {
            write!(f, " {c}")?;
        }
        if let Some(w) = &self.where_clause {
            write!(f, " where \"{w}\"")?;
        }
        if !self.labels.is_empty() {
            write!(f, " labels={}", LabelList(&self.labels))?;
        }
        if let Some(t) = &self.threshold {
            write!(f, " with threshold {t}")?;
        }
        for t in &self.tags {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

impl Display for Analyzer {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.analyzer_type.name())?;
        for p in &self.parameters {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

impl Display for Parameter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.connector {
            Some(Connector::Of) => f.write_str("of ")?,
            Some(Connector::And) => f.write_str("and ")?,
            None => {}
        }
        match &self.value {
            ParameterValue::Quoted(s) => write!(f, "\"{s}\""),
            ParameterValue::Identifier(s) => f.write_str(s),
            ParameterValue::Variable { name, .. } => write!(f, "${name}"),
        }
    }
}

impl Display for Tag {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "with {} = ", self.name)?;
        match &self.value {
            TagValue::String(s) => s.fmt(f),
            TagValue::Number(n) => n.fmt(f),
        }
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Number(c) => c.fmt(f),
            Condition::String(c) => c.fmt(f),
            Condition::Date(c) => c.fmt(f),
            Condition::Duration(c) => c.fmt(f),
            Condition::Size(c) => c.fmt(f),
        }
    }
}

impl<T: Display> Display for Comparison<T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Eq(a) => write!(f, "= {a}"),
            Comparison::Ne(a) => write!(f, "!= {a}"),
            Comparison::Gt(a) => write!(f, "> {a}"),
            Comparison::Ge(a) => write!(f, ">= {a}"),
            Comparison::Lt(a) => write!(f, "< {a}"),
            Comparison::Le(a) => write!(f, "<= {a}"),
            Comparison::Between(a, b) => write!(f, "between {a} and {b}"),
            Comparison::NotBetween(a, b) => write!(f, "not between {a} and {b}"),
            Comparison::In(v) => write!(f, "in [{}]", Joined(v, ",")),
            Comparison::NotIn(v) => write!(f, "not in [{}]", Joined(v, ",")),
        }
    }
}

impl Display for NumExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            NumExpr::Number(n) => f.write_str(&n.text),
            NumExpr::Null => f.write_str("NULL"),
            // `now()` without a space is the date keyword; a numeric `now` call keeps the space.
            NumExpr::Call { name, args } if name == "now" && args.is_empty() => {
                f.write_str("now ()")
            }
            NumExpr::Call { name, args } => write!(f, "{name}({})", Joined(args, ",")),
            NumExpr::Binary {
                op,
                left,
                right,
                parenthesized,
            } => {
                if *parenthesized {
                    f.write_char('(')?;
                }
                write!(f, "{left} {} ", op.symbol())?;
                // Operators associate to the left, so a binary right operand needs parentheses
                // to keep its shape (parsed trees always have them; built ones may not).
                match right.as_ref() {
                    NumExpr::Binary {
                        parenthesized: false,
                        ..
                    } => write!(f, "({right})")?,
                    _ => right.fmt(f)?,
                }
                if *parenthesized {
                    f.write_char(')')?;
                }
                Ok(())
            }
        }
    }
}

impl Display for StringCondition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StringCondition::Eq(v) => write!(f, "= {v}"),
            StringCondition::Ne(v) => write!(f, "!= {v}"),
            StringCondition::In(s) => write!(f, "in {s}"),
            StringCondition::NotIn(s) => write!(f, "not in {s}"),
            StringCondition::Matches(r) => write!(f, "matches \"{r}\""),
            StringCondition::NotMatches(r) => write!(f, "not matches \"{r}\""),
        }
    }
}

impl Display for StringSet {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StringSet::Literal(v) => write!(f, "[{}]", Joined(v, ",")),
            StringSet::Variable { name, .. } => write!(f, "${name}"),
        }
    }
}

impl Display for StringValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StringValue::Quoted(s) => write!(f, "\"{s}\""),
            StringValue::Keyword(k) => f.write_str(k.as_str()),
        }
    }
}

impl Display for DateExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DateExpr::Date(d) => write!(f, "\"{d}\""),
            DateExpr::Now => f.write_str("now()"),
            DateExpr::NowOffset { op, duration } => {
                let sign = match op {
                    OffsetOp::Plus => '+',
                    OffsetOp::Minus => '-',
                };
                write!(f, "(now() {sign} {duration})")
            }
            DateExpr::Time(t) => write!(f, "\"{}\"", t.text),
            DateExpr::Null => f.write_str("NULL"),
        }
    }
}

impl Display for Duration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.as_str())
    }
}

impl Display for Size {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.unit {
            Some(u) => write!(f, "{} {}", self.amount, u.as_str()),
            None => write!(f, "{}", self.amount),
        }
    }
}
