//! Recursive-descent parser for the DQDL document: sections in their fixed order, dictionaries,
//! variables, labels, rules (with `and`/`or` composites, `and` binding tighter) and analyzers.
//! Conditions and number expressions are in `conditions`; checks against the catalogue and the
//! declared variables are in `validate`.

use std::collections::HashMap;
use std::ops::Range;

use super::ast::*;
use super::error::DqdlError;
use super::lexer::{Kw, Tok, Token, describe, lex};
use super::validate::{self, RawLabel, RawParam, RawRule, RawTag};

/// Parses a DQDL document.
pub fn parse(text: &str) -> Result<Ruleset, DqdlError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        src: text,
        tokens,
        pos: 0,
        variables: HashMap::new(),
        default_label_count: 0,
    };
    parser.document()
}

/// The parser state: the tokens, a cursor into them, and what earlier sections declared.
pub(crate) struct Parser<'a> {
    pub(crate) src: &'a str,
    tokens: Vec<Token<'a>>,
    pub(crate) pos: usize,
    /// Declared variables by name, for resolving `$name`.
    pub(crate) variables: HashMap<String, VariableValue>,
    /// Number of `DefaultLabels`, which counts against each rule's label limit.
    pub(crate) default_label_count: usize,
}

impl<'a> Parser<'a> {
    // ---- cursor ----

    pub(crate) fn peek(&self) -> Tok<'a> {
        self.token_at(0).tok
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Tok<'a> {
        self.token_at(ahead).tok
    }

    pub(crate) fn token_at(&self, ahead: usize) -> Token<'a> {
        let last = self.tokens.len() - 1; // the lexer always ends with Eof
        self.tokens[(self.pos + ahead).min(last)]
    }

    pub(crate) fn token_before(&self) -> Token<'a> {
        self.tokens[self.pos.saturating_sub(1)]
    }

    /// The kind of the token that starts at byte `offset` (Eof when none does).
    pub(crate) fn token_starting_at(&self, offset: usize) -> Tok<'a> {
        self.tokens
            .binary_search_by_key(&offset, |t| t.start)
            .map_or(Tok::Eof, |i| self.tokens[i].tok)
    }

    pub(crate) fn next(&mut self) -> Token<'a> {
        let t = self.token_at(0);
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn eat(&mut self, tok: Tok<'_>) -> bool {
        if self.peek() == tok {
            self.next();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, tok: Tok<'_>, what: &str) -> Result<Token<'a>, DqdlError> {
        if self.peek() == tok {
            Ok(self.next())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// "expected WHAT, found <current token>".
    pub(crate) fn unexpected(&self, what: &str) -> DqdlError {
        let t = self.token_at(0);
        let mut message = format!("expected {what}, found {}", describe(&t.tok));
        if matches!(t.tok, Tok::Date(_) | Tok::Time(_) | Tok::MilTime(_)) {
            message.push_str(
                " (a quoted text shaped like a date or time is only allowed in a date condition)",
            );
        }
        self.error(t.span(), message)
    }

    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> DqdlError {
        DqdlError::new(self.src, span, message)
    }

    /// The byte span from token index `from` to the end of the last consumed token.
    pub(crate) fn span_from(&self, from: usize) -> Range<usize> {
        let start = self.tokens[from.min(self.tokens.len() - 1)].start;
        let end = if self.pos > from {
            self.tokens[self.pos - 1].end
        } else {
            start
        };
        start..end.max(start)
    }

    // ---- document ----

    fn document(&mut self) -> Result<Ruleset, DqdlError> {
        let mut ruleset = Ruleset {
            metadata: None,
            data_sources: None,
            variables: Vec::new(),
            default_labels: Vec::new(),
            rules: Vec::new(),
            analyzers: Vec::new(),
        };
        if self.peek() == Tok::Kw(Kw::Metadata) {
            ruleset.metadata = Some(self.metadata()?);
        }
        if self.peek() == Tok::Kw(Kw::DataSources) {
            ruleset.data_sources = Some(self.data_sources()?);
        }
        while let Tok::Ident(_) = self.peek() {
            let variable = self.variable()?;
            self.variables
                .insert(variable.name.clone(), variable.value.clone());
            ruleset.variables.push(variable);
        }
        if self.peek() == Tok::Kw(Kw::DefaultLabels) {
            self.next();
            let (raw, span) = self.label_list()?;
            ruleset.default_labels = validate::rule_labels(self.src, &raw, span, 0)?;
            self.default_label_count = ruleset.default_labels.len();
        }
        let section_start = self.token_at(0).span();
        match self.peek() {
            Tok::Kw(Kw::Rules) => {
                ruleset.rules = self.rules_section()?;
                if self.peek() == Tok::Kw(Kw::Analyzers) {
                    ruleset.analyzers = self.analyzers_section()?;
                }
            }
            Tok::Kw(Kw::Analyzers) => ruleset.analyzers = self.analyzers_section()?,
            _ => {
                return Err(self.unexpected(
                    "a section (`Metadata`, `DataSources`, a variable, `DefaultLabels`, `Rules` or \
                     `Analyzers`, in that order)",
                ));
            }
        }
        if self.peek() != Tok::Eof {
            let t = self.token_at(0);
            let hint = match t.tok {
                Tok::Kw(Kw::Rules) => {
                    " (there can be only one `Rules` section, before `Analyzers`)"
                }
                Tok::Kw(Kw::Analyzers) => " (there can be only one `Analyzers` section)",
                _ => "",
            };
            return Err(self.error(
                t.start..self.src.len(),
                format!(
                    "unexpected {} after the last section{hint}",
                    describe(&t.tok)
                ),
            ));
        }
        if ruleset.rules.is_empty() && ruleset.analyzers.is_empty() {
            return Err(self.error(section_start, "No rules or analyzers provided."));
        }
        Ok(ruleset)
    }

    /// `{ "key": value, … }` with its entries and their spans.
    fn dictionary(&mut self) -> Result<Vec<(String, DictValue, Range<usize>)>, DqdlError> {
        self.expect(Tok::LBrace, "`{`")?;
        if self.peek() == Tok::RBrace {
            return Err(self.error(
                self.token_at(0).span(),
                "empty dictionary: give at least one `\"key\": \"value\"` entry",
            ));
        }
        let mut entries = Vec::new();
        loop {
            let start = self.pos;
            let Tok::Str(key) = self.peek() else {
                return Err(self.unexpected("a quoted key"));
            };
            self.next();
            self.expect(Tok::Colon, "`:`")?;
            let value = match self.peek() {
                Tok::Str(s) => {
                    self.next();
                    DictValue::String(s.to_string())
                }
                Tok::LBracket => {
                    self.next();
                    let mut items = Vec::new();
                    loop {
                        let Tok::Str(s) = self.peek() else {
                            return Err(self.unexpected("a quoted string"));
                        };
                        self.next();
                        items.push(s.to_string());
                        if !self.eat(Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(Tok::RBracket, "`,` or `]`")?;
                    DictValue::Array(items)
                }
                _ => return Err(self.unexpected("a quoted string or an array of them")),
            };
            entries.push((unescape(key), value, self.span_from(start)));
            if !self.eat(Tok::Comma) {
                break;
            }
            if self.peek() == Tok::RBrace {
                return Err(self.unexpected("another entry after `,` (no trailing comma)"));
            }
        }
        self.expect(Tok::RBrace, "`,` or `}`")?;
        Ok(entries)
    }

    fn metadata(&mut self) -> Result<Metadata, DqdlError> {
        self.next();
        self.expect(Tok::Eq, "`=`")?;
        let mut version = None;
        for (key, value, span) in self.dictionary()? {
            if key != "Version" {
                return Err(self.error(
                    span,
                    format!(
                        "Unsupported key provided in Metadata section: \"{key}\" (only \"Version\")"
                    ),
                ));
            }
            version = Some(value);
        }
        // The dictionary is non-empty and every key is "Version".
        let version = version.unwrap_or_else(|| DictValue::String(String::new()));
        Ok(Metadata { version })
    }

    fn data_sources(&mut self) -> Result<DataSources, DqdlError> {
        self.next();
        self.expect(Tok::Eq, "`=`")?;
        let mut sources = DataSources {
            primary: None,
            additional: None,
        };
        for (key, value, span) in self.dictionary()? {
            match (key.as_str(), value) {
                ("Primary", v) => sources.primary = Some(v),
                ("AdditionalDataSources", DictValue::Array(items)) => {
                    sources.additional = Some(items)
                }
                ("AdditionalDataSources", DictValue::String(_)) => {
                    return Err(self.error(span, "Additional sources must be an array of values."));
                }
                _ => {
                    return Err(self.error(
                        span,
                        format!(
                            "Unsupported key provided in Sources section: \"{key}\" (only \
                             \"Primary\" and \"AdditionalDataSources\")"
                        ),
                    ));
                }
            }
        }
        Ok(sources)
    }

    fn variable(&mut self) -> Result<Variable, DqdlError> {
        let name_token = self.next();
        let Tok::Ident(name) = name_token.tok else {
            return Err(self.unexpected("a variable name"));
        };
        self.expect(Tok::Eq, "`=` after the variable name")?;
        let value_start = self.pos;
        let value = if self.eat(Tok::LBracket) {
            let mut items = vec![self.variable_item()?];
            while self.eat(Tok::Comma) {
                items.push(self.variable_item()?);
            }
            self.expect(Tok::RBracket, "`,` or `]`")?;
            VariableValue::List(items)
        } else {
            VariableValue::Single(self.variable_item()?)
        };
        validate::variable(
            self.src,
            name,
            name_token.span(),
            &value,
            self.span_from(value_start),
            &self.variables,
        )?;
        Ok(Variable {
            name: name.to_string(),
            value,
        })
    }

    /// One variable value: a plain string or a keyword. `$other` is rejected (no nesting).
    fn variable_item(&mut self) -> Result<StringValue, DqdlError> {
        let t = self.token_at(0);
        let value = match t.tok {
            Tok::Str(s) => StringValue::Quoted(s.to_string()),
            Tok::Kw(Kw::Null) => StringValue::Keyword(StringKeyword::Null),
            Tok::Kw(Kw::Empty) => StringValue::Keyword(StringKeyword::Empty),
            Tok::Kw(Kw::WhitespacesOnly) => StringValue::Keyword(StringKeyword::WhitespacesOnly),
            Tok::Dollar => {
                return Err(self.error(
                    t.start..self.token_at(1).end,
                    "Nested variables are not supported: a variable's value cannot refer to \
                     another variable",
                ));
            }
            _ => {
                return Err(self.unexpected(
                    "a quoted string, NULL, EMPTY, WHITESPACES_ONLY or a `[…]` list of them",
                ));
            }
        };
        self.next();
        Ok(value)
    }

    /// `= [ "k" = "v", … ]` (the keyword already consumed).
    fn label_list(&mut self) -> Result<(Vec<RawLabel>, Range<usize>), DqdlError> {
        let start = self.pos.saturating_sub(1);
        self.expect(Tok::Eq, "`=`")?;
        self.expect(Tok::LBracket, "`[`")?;
        let mut labels = Vec::new();
        if self.peek() != Tok::RBracket {
            loop {
                let label_start = self.pos;
                let Tok::Str(key) = self.peek() else {
                    return Err(self.unexpected("a quoted label key"));
                };
                self.next();
                self.expect(Tok::Eq, "`=` between label key and value")?;
                let Tok::Str(value) = self.peek() else {
                    return Err(self.unexpected("a quoted label value"));
                };
                self.next();
                labels.push(RawLabel {
                    label: Label {
                        key: key.to_string(),
                        value: value.to_string(),
                    },
                    span: self.span_from(label_start),
                });
                if !self.eat(Tok::Comma) {
                    break;
                }
            }
        }
        self.expect(Tok::RBracket, "`,` or `]`")?;
        Ok((labels, self.span_from(start)))
    }

    // ---- rules ----

    fn rules_section(&mut self) -> Result<Vec<Rule>, DqdlError> {
        self.next();
        self.expect(Tok::Eq, "`=` after `Rules`")?;
        self.expect(Tok::LBracket, "`[`")?;
        let mut rules = Vec::new();
        if self.eat(Tok::RBracket) {
            return Ok(rules);
        }
        loop {
            rules.push(self.or_rule()?);
            if self.eat(Tok::Comma) {
                if self.peek() == Tok::RBracket {
                    return Err(self.unexpected("a rule after `,` (no trailing comma)"));
                }
                continue;
            }
            if self.eat(Tok::RBracket) {
                return Ok(rules);
            }
            return Err(self.unexpected("`,`, `]`, `and` or `or` after a rule"));
        }
    }

    fn or_rule(&mut self) -> Result<Rule, DqdlError> {
        let mut members = vec![self.and_rule()?];
        while self.eat(Tok::Kw(Kw::Or)) {
            members.push(self.and_rule()?);
        }
        Ok(composite(LogicalOperator::Or, members))
    }

    fn and_rule(&mut self) -> Result<Rule, DqdlError> {
        let mut members = vec![self.primary_rule()?];
        while self.eat(Tok::Kw(Kw::And)) {
            members.push(self.primary_rule()?);
        }
        Ok(composite(LogicalOperator::And, members))
    }

    /// `( rule ) [labels=[…]]` or a single rule.
    fn primary_rule(&mut self) -> Result<Rule, DqdlError> {
        if !self.eat(Tok::LParen) {
            return self.single_rule().map(Rule::Single);
        }
        let mut inner = self.or_rule()?;
        self.expect(Tok::RParen, "`)`, `and` or `or`")?;
        if self.eat(Tok::Kw(Kw::Labels)) {
            let (raw, span) = self.label_list()?;
            // Labels after a group replace the labels of what it encloses.
            let labels = validate::rule_labels(self.src, &raw, span, self.default_label_count)?;
            match &mut inner {
                Rule::Single(r) => r.labels = labels,
                Rule::Composite(c) => c.labels = labels,
            }
        }
        Ok(inner)
    }

    fn single_rule(&mut self) -> Result<SingleRule, DqdlError> {
        let name_token = self.token_at(0);
        let Tok::Ident(name) = name_token.tok else {
            let after_comma = self.pos > 0 && self.token_before().tok == Tok::Comma;
            let what = if self.peek() == Tok::RBracket && after_comma {
                "a rule (no trailing comma)"
            } else {
                "a rule type such as `RowCount` or `IsComplete`"
            };
            return Err(self.unexpected(what));
        };
        self.next();
        let params = self.parameters()?;
        self.reject_typed_string_parameter()?;
        let condition_kinds = validate::preferred_kinds(name);
        let condition = self.rule_condition(&condition_kinds)?;
        let where_clause = if self.peek() == Tok::Kw(Kw::Where) {
            let start = self.pos;
            self.next();
            let Tok::Str(text) = self.peek() else {
                return Err(self.unexpected("a quoted SQL expression after `where`"));
            };
            self.next();
            Some((text.to_string(), self.span_from(start)))
        } else {
            None
        };
        let labels = if self.eat(Tok::Kw(Kw::Labels)) {
            Some(self.label_list()?)
        } else {
            None
        };
        let mut tags = Vec::new();
        while self.peek() == Tok::Kw(Kw::With) {
            tags.push(self.tag()?);
        }
        self.misplaced_clause(!tags.is_empty(), labels.is_some())?;
        self.end_of_rule()?;
        let raw = RawRule {
            name,
            name_span: name_token.span(),
            params,
            condition,
            where_clause,
            labels,
            tags,
        };
        validate::rule(self, raw)
    }

    /// A quoted date or time lexes as its own token, which Glue never takes as a parameter.
    fn reject_typed_string_parameter(&self) -> Result<(), DqdlError> {
        let t = self.token_at(0);
        match t.tok {
            Tok::Date(s) | Tok::Time(s) | Tok::MilTime(s) => Err(self.error(
                t.span(),
                format!(
                    "\"{s}\" cannot be a parameter: a quoted text shaped like a date or time is \
                     only allowed in a date condition"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A rule ends at `,`, `]`, `)`, `and` or `or`; anything else is reported before the rule's
    /// own checks, which would otherwise blame a missing parameter.
    fn end_of_rule(&self) -> Result<(), DqdlError> {
        let t = self.token_at(0);
        let hint = match t.tok {
            Tok::Comma | Tok::RBracket | Tok::RParen | Tok::Kw(Kw::And | Kw::Or) => return Ok(()),
            Tok::Kw(k) if !matches!(k, Kw::Now) => format!(
                " (`{}` is a reserved word; quote it to use it as a name)",
                super::lexer::kw_text(k)
            ),
            Tok::Int(_) | Tok::Decimal(_) => " (quote a name made of digits only)".to_string(),
            _ => String::new(),
        };
        let mut err = self.unexpected("`,`, `]`, `and` or `or` after a rule");
        err.message.push_str(&hint);
        Err(err)
    }

    /// Clauses come in a fixed order: condition, `where`, `labels`, `with` tags.
    fn misplaced_clause(&self, after_tags: bool, after_labels: bool) -> Result<(), DqdlError> {
        let t = self.token_at(0);
        let message = match t.tok {
            Tok::Kw(Kw::Where) if after_tags => "`where` must come before `with` tags",
            Tok::Kw(Kw::Where) if after_labels => "`where` must come before `labels`",
            Tok::Kw(Kw::Labels) if after_tags => "`labels` must come before `with` tags",
            Tok::Kw(Kw::Where) | Tok::Kw(Kw::Labels) => "this clause appears twice",
            _ => return Ok(()),
        };
        Err(self.error(t.span(), message))
    }

    /// Parameters, each optionally after `of`/`and`. `and` followed by something that can be a
    /// parameter is always read as a connector (as Glue does), so `IsComplete "a" and IsComplete
    /// "b"` is one rule with three parameters.
    fn parameters(&mut self) -> Result<Vec<RawParam>, DqdlError> {
        let mut params = Vec::new();
        loop {
            let start = self.pos;
            let connector = match (self.peek(), self.peek_at(1)) {
                (Tok::Kw(Kw::Of), next) | (Tok::Kw(Kw::And), next) if starts_parameter(next) => {
                    let c = if self.peek() == Tok::Kw(Kw::Of) {
                        Connector::Of
                    } else {
                        Connector::And
                    };
                    self.next();
                    Some(c)
                }
                (t, _) if starts_parameter(t) => None,
                _ => return Ok(params),
            };
            let value = match self.next().tok {
                Tok::Str(s) => ParameterValue::Quoted(s.to_string()),
                Tok::Ident(s) => ParameterValue::Identifier(s.to_string()),
                _ => {
                    let Tok::Ident(name) = self.peek() else {
                        return Err(self.unexpected("a variable name after `$`"));
                    };
                    self.next();
                    ParameterValue::Variable {
                        name: name.to_string(),
                        value: String::new(),
                    }
                }
            };
            params.push(RawParam {
                param: Parameter { connector, value },
                span: self.span_from(start),
            });
        }
    }

    /// `with name = value` or `with threshold <number condition>`.
    fn tag(&mut self) -> Result<RawTag<'a>, DqdlError> {
        let start = self.pos;
        self.next();
        let Tok::Ident(name) = self.peek() else {
            return Err(self.unexpected("a tag name (an identifier such as `threshold`)"));
        };
        self.next();
        let condition = self.tag_condition()?;
        Ok(RawTag {
            name,
            condition,
            span: self.span_from(start),
        })
    }

    // ---- analyzers ----

    fn analyzers_section(&mut self) -> Result<Vec<Analyzer>, DqdlError> {
        self.next();
        self.expect(Tok::Eq, "`=` after `Analyzers`")?;
        self.expect(Tok::LBracket, "`[`")?;
        let mut analyzers = Vec::new();
        if self.eat(Tok::RBracket) {
            return Ok(analyzers);
        }
        loop {
            let name_token = self.token_at(0);
            let Tok::Ident(name) = name_token.tok else {
                return Err(self.unexpected("an analyzer type such as `Completeness`"));
            };
            self.next();
            let params = self.parameters()?;
            self.reject_typed_string_parameter()?;
            analyzers.push(validate::analyzer(self, name, name_token.span(), params)?);
            if self.eat(Tok::Comma) {
                if self.peek() == Tok::RBracket {
                    return Err(self.unexpected("an analyzer after `,` (no trailing comma)"));
                }
                continue;
            }
            if self.eat(Tok::RBracket) {
                return Ok(analyzers);
            }
            return Err(self.unexpected(
                "`,` or `]` after an analyzer (analyzers take parameters only, no condition)",
            ));
        }
    }
}

fn starts_parameter(t: Tok<'_>) -> bool {
    matches!(t, Tok::Str(_) | Tok::Ident(_) | Tok::Dollar)
}

/// Builds an n-ary composite, splicing in unlabelled composites of the same operator so that a
/// chain prints and re-parses to the same tree. One member is returned as is.
fn composite(operator: LogicalOperator, mut members: Vec<Rule>) -> Rule {
    if members.len() == 1 {
        if let Some(only) = members.pop() {
            return only;
        }
    }
    let mut rules = Vec::with_capacity(members.len());
    for member in members {
        match member {
            Rule::Composite(c) if c.operator == operator && c.labels.is_empty() => {
                rules.extend(c.rules)
            }
            other => rules.push(other),
        }
    }
    Rule::Composite(CompositeRule {
        operator,
        rules,
        labels: Vec::new(),
    })
}
