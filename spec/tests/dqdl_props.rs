//! Property tests: parsing never panics (on arbitrary text, token soup and mutated corpus
//! documents), whatever parses re-parses from its printed form to the same tree, and generated
//! syntax trees survive print → parse unchanged.

#![allow(clippy::unwrap_used)]

use gluepipe_spec::dqdl::catalog::{CATALOG, Returns, RuleSpec};
use gluepipe_spec::dqdl::*;
use proptest::prelude::*;
use proptest::sample::select;

/// If `text` parses, its printed form parses back to the same tree.
fn check_round_trip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(ruleset) = parse(text) {
        let printed = ruleset.to_string();
        let again = parse(&printed);
        prop_assert_eq!(
            again.as_ref(),
            Ok(&ruleset),
            "input:\n{}\nprinted:\n{}",
            text,
            printed
        );
    }
    Ok(())
}

const FRAGMENTS: &[&str] = &[
    "Rules",
    "Analyzers",
    "Metadata",
    "DataSources",
    "DefaultLabels",
    "=",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ":",
    ",",
    "RowCount",
    "Completeness",
    "ColumnValues",
    "IsComplete",
    "CustomSql",
    "FileSize",
    "DataFreshness",
    "FileFreshness",
    "IsUnique",
    "\"a\"",
    "\"Version\"",
    "\"\"",
    "\"2024-01-01\"",
    "\"9:30 AM\"",
    "\"21:45\"",
    "\"a\\\"b\"",
    ">",
    ">=",
    "<",
    "<=",
    "!",
    "!=",
    "0.5",
    "3",
    "-",
    "+",
    "*",
    "/",
    "and",
    "or",
    "AND",
    "of",
    "not",
    "in",
    "between",
    "matches",
    "where",
    "with",
    "threshold",
    "timeZone",
    "labels",
    "now()",
    "NOW",
    "days",
    "hours",
    "MB",
    "B",
    "NULL",
    "EMPTY",
    "$",
    "v",
    "last",
    "avg",
    "#c\n",
    "\n",
    "\r\n",
    "\t",
    " ",
    "'",
    "é",
    "\"",
    "\\",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(select(FRAGMENTS), 0..40).prop_map(|v| v.join(" "))
}

fn corpus_bodies() -> Vec<String> {
    let path = format!("{}/tests/dqdl/accepted.cases", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n### ")
        .skip(1)
        .map(|block| {
            block
                .lines()
                .skip(1)
                .filter(|l| !l.starts_with(">>> "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// Nearest char boundary at or below `at`.
fn boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
}

fn mutate(mut s: String, mutations: &[Mutation]) -> String {
    for m in mutations {
        let len = s.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let a = boundary(&s, at % len);
                let b = boundary(&s, a + n % 8);
                s.replace_range(a..b, "");
            }
            Mutation::Insert(at, frag) => {
                let a = boundary(&s, at % len);
                s.insert_str(a, frag);
            }
            Mutation::Duplicate(at, n) => {
                let a = boundary(&s, at % len);
                let b = boundary(&s, a + n % 30);
                let piece = s[a..b].to_string();
                s.insert_str(b, &piece);
            }
        }
    }
    s
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), select(FRAGMENTS)).prop_map(|(a, f)| Mutation::Insert(a, f)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\t\n\r\"é\u{2028}]{0,120}") {
        check_round_trip(&text)?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_round_trip(&text)?;
        check_round_trip(&format!("Rules = [ {text} ]"))?;
    }

    #[test]
    fn mutated_corpus_never_panics(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let bodies = corpus_bodies();
        let body = index.get(&bodies).clone();
        check_round_trip(&mutate(body, &mutations))?;
    }
}

// ---- generated syntax trees ----

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "of",
    "null",
    "empty",
    "whitespaces_only",
    "between",
    "in",
    "not",
    "matches",
    "where",
    "with",
    "labels",
    "days",
    "hours",
    "minutes",
    "now",
    "threshold",
];

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,5}".prop_filter("reserved", |s| !KEYWORDS.contains(&s.as_str()))
}

/// Whether quoted text would lex as a date or time token.
fn typed(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = |p: &str| {
        p.len() == b.len()
            && p.bytes().zip(b).all(|(p, c)| {
                if p == b'9' {
                    c.is_ascii_digit()
                } else {
                    p == *c
                }
            })
    };
    [
        "9999-99-99",
        "99:99",
        "9:99 AM",
        "9:99 PM",
        "99:99 AM",
        "99:99 PM",
    ]
    .iter()
    .any(|p| shape(p))
}

fn raw() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _.,:;!?'-]{0,10}".prop_filter("typed", |s| !typed(s))
}

fn non_empty_raw() -> impl Strategy<Value = String> {
    raw().prop_filter("empty", |s| !s.is_empty())
}

fn number() -> impl Strategy<Value = Number> {
    "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,3})?".prop_map(|text| Number { text })
}

fn num_expr() -> BoxedStrategy<NumExpr> {
    let leaf = prop_oneof![4 => number().prop_map(NumExpr::Number), 1 => Just(NumExpr::Null)];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (ident(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(name, args)| NumExpr::Call { name, args }),
            (
                select(vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div]),
                inner.clone(),
                inner,
                any::<bool>()
            )
                .prop_map(|(op, left, mut right, parenthesized)| {
                    // A binary right operand is parenthesised in every parsed tree.
                    if let NumExpr::Binary {
                        parenthesized: p, ..
                    } = &mut right
                    {
                        *p = true;
                    }
                    NumExpr::Binary {
                        op,
                        left: Box::new(left),
                        right: Box::new(right),
                        parenthesized,
                    }
                }),
        ]
    })
    .boxed()
}

fn comparison<T: std::fmt::Debug + Clone + 'static>(
    operand: BoxedStrategy<T>,
) -> BoxedStrategy<Comparison<T>> {
    prop_oneof![
        operand.clone().prop_map(Comparison::Eq),
        operand.clone().prop_map(Comparison::Ne),
        operand.clone().prop_map(Comparison::Gt),
        operand.clone().prop_map(Comparison::Ge),
        operand.clone().prop_map(Comparison::Lt),
        operand.clone().prop_map(Comparison::Le),
        (operand.clone(), operand.clone()).prop_map(|(a, b)| Comparison::Between(a, b)),
        (operand.clone(), operand.clone()).prop_map(|(a, b)| Comparison::NotBetween(a, b)),
        prop::collection::vec(operand.clone(), 1..4).prop_map(Comparison::In),
        prop::collection::vec(operand, 1..4).prop_map(Comparison::NotIn),
    ]
    .boxed()
}

fn duration() -> impl Strategy<Value = Duration> {
    (
        0u32..5000,
        select(vec![
            DurationUnit::Minutes,
            DurationUnit::Hours,
            DurationUnit::Days,
        ]),
    )
        .prop_map(|(amount, unit)| Duration { amount, unit })
}

fn time_of_day() -> impl Strategy<Value = TimeOfDay> {
    prop_oneof![
        (0u8..24, 0u8..60).prop_map(|(hour, minute)| TimeOfDay {
            text: format!("{hour:02}:{minute:02}"),
            hour,
            minute
        }),
        (0u8..=12, 0u8..60, any::<bool>(), any::<bool>()).prop_map(|(h, minute, pm, pad)| {
            let text = if pad {
                format!("{h:02}:{minute:02} {}", if pm { "PM" } else { "AM" })
            } else {
                format!("{h}:{minute:02} {}", if pm { "PM" } else { "AM" })
            };
            TimeOfDay {
                text,
                hour: h % 12 + if pm { 12 } else { 0 },
                minute,
            }
        }),
    ]
}

fn date_expr() -> BoxedStrategy<DateExpr> {
    prop_oneof![
        (1000u32..9999, 1u32..13, 1u32..32)
            .prop_map(|(y, m, d)| DateExpr::Date(format!("{y}-{m:02}-{d:02}"))),
        Just(DateExpr::Now),
        (select(vec![OffsetOp::Plus, OffsetOp::Minus]), duration())
            .prop_map(|(op, duration)| DateExpr::NowOffset { op, duration }),
        time_of_day().prop_map(DateExpr::Time),
        Just(DateExpr::Null),
    ]
    .boxed()
}

/// `NULL`-only operands would re-parse as a number condition, Glue's first shape.
fn not_all_null<T: PartialEq>(c: &Comparison<T>, null: &T) -> bool {
    c.operands().iter().any(|o| *o != null)
}

fn string_value(allow_null: bool) -> BoxedStrategy<StringValue> {
    let mut keywords = vec![StringKeyword::Empty, StringKeyword::WhitespacesOnly];
    if allow_null {
        keywords.push(StringKeyword::Null);
    }
    prop_oneof![
        3 => raw().prop_map(StringValue::Quoted),
        1 => select(keywords).prop_map(StringValue::Keyword),
    ]
    .boxed()
}

fn string_condition(vars: Vec<Variable>) -> BoxedStrategy<StringCondition> {
    let literal_set = prop::collection::vec(string_value(true), 1..4)
        .prop_filter("all NULL", |v| {
            v.iter()
                .any(|s| *s != StringValue::Keyword(StringKeyword::Null))
        })
        .prop_map(StringSet::Literal);
    let set: BoxedStrategy<StringSet> = if vars.is_empty() {
        literal_set.boxed()
    } else {
        prop_oneof![
            literal_set,
            select(vars).prop_map(|v| StringSet::Variable {
                values: match &v.value {
                    VariableValue::Single(s) => vec![s.clone()],
                    VariableValue::List(l) => l.clone(),
                },
                name: v.name,
            }),
        ]
        .boxed()
    };
    prop_oneof![
        string_value(false).prop_map(StringCondition::Eq),
        string_value(false).prop_map(StringCondition::Ne),
        set.clone().prop_map(StringCondition::In),
        set.prop_map(StringCondition::NotIn),
        raw().prop_map(StringCondition::Matches),
        raw().prop_map(StringCondition::NotMatches),
    ]
    .boxed()
}

fn condition(returns: Returns, vars: Vec<Variable>) -> BoxedStrategy<Option<Condition>> {
    let number = comparison(num_expr()).prop_map(Condition::Number);
    let string = string_condition(vars).prop_map(Condition::String);
    let date = comparison(date_expr())
        .prop_filter("all NULL", |c| not_all_null(c, &DateExpr::Null))
        .prop_map(Condition::Date);
    match returns {
        Returns::Boolean => Just(None).boxed(),
        Returns::Number => number.prop_map(Some).boxed(),
        Returns::NumberOrBoolean => prop::option::of(number).boxed(),
        Returns::String => string.prop_map(Some).boxed(),
        Returns::Values => prop_oneof![number, string, date].prop_map(Some).boxed(),
        Returns::Durations => comparison(duration().boxed())
            .prop_map(|c| Some(Condition::Duration(c)))
            .boxed(),
        Returns::Date => date.prop_map(Some).boxed(),
        Returns::Size => {
            let units = select(vec![
                SizeUnit::B,
                SizeUnit::KB,
                SizeUnit::MB,
                SizeUnit::GB,
                SizeUnit::TB,
            ]);
            let with_unit = comparison(
                (0i64..100_000, units)
                    .prop_map(|(amount, u)| Size {
                        amount,
                        unit: Some(u),
                    })
                    .boxed(),
            );
            let bare = comparison(
                (-100_000i64..100_000)
                    .prop_map(|amount| Size { amount, unit: None })
                    .boxed(),
            );
            prop_oneof![with_unit, bare]
                .prop_map(|c| Some(Condition::Size(c)))
                .boxed()
        }
    }
}

fn labels(max: usize) -> impl Strategy<Value = Vec<Label>> {
    prop::collection::vec((non_empty_raw(), non_empty_raw()), 0..=max).prop_map(|pairs| {
        let mut out: Vec<Label> = Vec::new();
        for (key, value) in pairs {
            if !out.iter().any(|l| l.key == key) {
                out.push(Label { key, value });
            }
        }
        out
    })
}

fn parameter(single_vars: Vec<Variable>) -> BoxedStrategy<Parameter> {
    let connector = prop::option::of(select(vec![Connector::Of, Connector::And]));
    let mut values = vec![
        raw().prop_map(ParameterValue::Quoted).boxed(),
        ident().prop_map(ParameterValue::Identifier).boxed(),
    ];
    if !single_vars.is_empty() {
        values.push(
            select(single_vars)
                .prop_map(|v| ParameterValue::Variable {
                    value: match &v.value {
                        VariableValue::Single(StringValue::Quoted(s)) => s.clone(),
                        VariableValue::Single(StringValue::Keyword(k)) => k.as_str().to_string(),
                        VariableValue::List(_) => String::new(),
                    },
                    name: v.name,
                })
                .boxed(),
        );
    }
    (connector, prop::strategy::Union::new(values))
        .prop_map(|(connector, value)| Parameter { connector, value })
        .boxed()
}

fn parameters(spec: &RuleSpec, single_vars: Vec<Variable>) -> BoxedStrategy<Vec<Parameter>> {
    let n = spec.params.len();
    let count = if spec.var_arg { n..n + 3 } else { n..n + 1 };
    prop::collection::vec(parameter(single_vars), count).boxed()
}

fn tags() -> impl Strategy<Value = Vec<Tag>> {
    let value = prop_oneof![
        string_value(true).prop_map(TagValue::String),
        num_expr()
            .prop_filter("bare NULL reads as a string tag", |n| *n != NumExpr::Null)
            .prop_map(TagValue::Number),
    ];
    let name = ident().prop_filter("meaningful", |n| {
        n != "timezone" && !n.eq_ignore_ascii_case("threshold")
    });
    prop::collection::vec((name, value), 0..3).prop_map(|pairs| {
        let mut out: Vec<Tag> = Vec::new();
        for (name, value) in pairs {
            if !out.iter().any(|t| t.name == name) {
                out.push(Tag { name, value });
            }
        }
        out
    })
}

fn single_rule(vars: Vec<Variable>, label_budget: usize) -> BoxedStrategy<SingleRule> {
    let specs: Vec<&'static RuleSpec> = CATALOG.iter().filter(|s| !s.analyzer_only).collect();
    select(specs)
        .prop_flat_map(move |spec| {
            let singles: Vec<Variable> = vars
                .iter()
                .filter(|v| matches!(v.value, VariableValue::Single(_)))
                .cloned()
                .collect();
            let where_clause = if spec.where_supported {
                prop::option::of(non_empty_raw()).boxed()
            } else {
                Just(None).boxed()
            };
            // A NULL-only threshold reads as a string tag (tags try the string shape first).
            let threshold = if spec.threshold_supported {
                prop::option::of(comparison(num_expr()).prop_filter("string-shaped", |c| {
                    matches!(
                        c,
                        Comparison::Gt(_)
                            | Comparison::Ge(_)
                            | Comparison::Lt(_)
                            | Comparison::Le(_)
                    ) || matches!(c, Comparison::Between(..) | Comparison::NotBetween(..))
                        || not_all_null(c, &NumExpr::Null)
                }))
                .boxed()
            } else {
                Just(None).boxed()
            };
            (
                parameters(spec, singles),
                condition(spec.returns, vars.clone()),
                where_clause,
                labels(label_budget),
                threshold,
                tags(),
            )
                .prop_map(
                    move |(parameters, condition, where_clause, labels, threshold, tags)| {
                        SingleRule {
                            rule_type: spec.rule_type,
                            parameters,
                            condition,
                            where_clause,
                            labels,
                            threshold,
                            tags,
                        }
                    },
                )
        })
        .boxed()
}

/// Splices unlabelled same-operator members into their parent, as the parser does.
fn normalize(rule: Rule) -> Rule {
    match rule {
        Rule::Single(_) => rule,
        Rule::Composite(c) => {
            let mut rules = Vec::new();
            for member in c.rules.into_iter().map(normalize) {
                match member {
                    Rule::Composite(m) if m.operator == c.operator && m.labels.is_empty() => {
                        rules.extend(m.rules)
                    }
                    other => rules.push(other),
                }
            }
            Rule::Composite(CompositeRule {
                operator: c.operator,
                rules,
                labels: c.labels,
            })
        }
    }
}

fn rule(vars: Vec<Variable>, label_budget: usize) -> BoxedStrategy<Rule> {
    single_rule(vars, label_budget)
        .prop_map(Rule::Single)
        .prop_recursive(2, 8, 3, move |inner| {
            (
                select(vec![LogicalOperator::And, LogicalOperator::Or]),
                prop::collection::vec(inner, 2..4),
                labels(label_budget),
            )
                .prop_map(|(operator, rules, labels)| {
                    normalize(Rule::Composite(CompositeRule {
                        operator,
                        rules,
                        labels,
                    }))
                })
        })
        .boxed()
}

fn analyzer(single_vars: Vec<Variable>) -> BoxedStrategy<Analyzer> {
    let specs: Vec<&'static RuleSpec> = CATALOG
        .iter()
        .filter(|s| s.returns != Returns::Boolean)
        .collect();
    select(specs)
        .prop_flat_map(move |spec| {
            parameters(spec, single_vars.clone()).prop_map(move |parameters| Analyzer {
                analyzer_type: spec.rule_type,
                parameters,
            })
        })
        .boxed()
}

fn variables() -> impl Strategy<Value = Vec<Variable>> {
    let value = prop_oneof![
        string_value(true).prop_map(VariableValue::Single),
        prop::collection::vec(string_value(true), 1..4).prop_map(VariableValue::List),
    ];
    prop::collection::vec((ident().prop_map(|n| format!("v{n}")), value), 0..4).prop_map(|pairs| {
        let mut out: Vec<Variable> = Vec::new();
        for (name, value) in pairs {
            if !out.iter().any(|v| v.name == name) {
                out.push(Variable { name, value });
            }
        }
        out
    })
}

fn dict_value() -> impl Strategy<Value = DictValue> {
    prop_oneof![
        raw().prop_map(DictValue::String),
        prop::collection::vec(raw(), 1..3).prop_map(DictValue::Array),
    ]
}

fn ruleset() -> impl Strategy<Value = Ruleset> {
    (variables(), labels(3)).prop_flat_map(|(vars, default_labels)| {
        let budget = 10 - default_labels.len();
        let singles: Vec<Variable> = vars
            .iter()
            .filter(|v| matches!(v.value, VariableValue::Single(_)))
            .cloned()
            .collect();
        let metadata = prop::option::of(dict_value().prop_map(|version| Metadata { version }));
        let sources = prop::option::of(
            (
                prop::option::of(dict_value()),
                prop::option::of(prop::collection::vec(raw(), 1..3)),
            )
                .prop_filter("empty dictionary", |(p, a)| p.is_some() || a.is_some())
                .prop_map(|(primary, additional)| DataSources {
                    primary,
                    additional,
                }),
        );
        (
            metadata,
            sources,
            prop::collection::vec(rule(vars.clone(), budget.min(3)), 0..4),
            prop::collection::vec(analyzer(singles), 0..3),
        )
            .prop_filter("needs a rule or an analyzer", |(_, _, r, a)| {
                !r.is_empty() || !a.is_empty()
            })
            .prop_map(move |(metadata, data_sources, rules, analyzers)| Ruleset {
                metadata,
                data_sources,
                variables: vars.clone(),
                default_labels: default_labels.clone(),
                rules,
                analyzers,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn generated_trees_print_and_parse_back(ruleset in ruleset()) {
        let printed = ruleset.to_string();
        match parse(&printed) {
            Ok(again) => prop_assert_eq!(again, ruleset, "printed:\n{}", printed),
            Err(e) => prop_assert!(false, "printed form rejected:\n{}\n{}", printed, e),
        }
    }
}
