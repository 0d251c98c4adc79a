//! The shape of parsed DQDL: composite precedence and flattening, variable resolution, tags,
//! number expressions, dates and times, sizes, the catalogue, labels, JSON, and error display.

#![allow(clippy::unwrap_used)]

use gluepipe_spec::dqdl::catalog::{self, RuleType};
use gluepipe_spec::dqdl::*;
use serde_json::json;

fn rules(body: &str) -> Vec<Rule> {
    parse(&format!("Rules = [ {body} ]"))
        .unwrap_or_else(|e| panic!("{e}"))
        .rules
}

fn one(body: &str) -> Rule {
    let mut all = rules(body);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn single(body: &str) -> SingleRule {
    match one(body) {
        Rule::Single(r) => r,
        other => panic!("not single: {other:?}"),
    }
}

/// A composite's operator and its members' texts.
fn shape(rule: &Rule) -> String {
    match rule {
        Rule::Single(r) => r.rule_type.name().to_string(),
        Rule::Composite(c) => {
            let members: Vec<String> = c.rules.iter().map(shape).collect();
            format!("{}[{}]", c.operator.as_str(), members.join(" "))
        }
    }
}

#[test]
fn and_binds_tighter_than_or_and_chains_flatten() {
    let cases = [
        (
            "RowCount > 0 or ColumnCount > 0 and Mean \"a\" > 0",
            "OR[RowCount AND[ColumnCount Mean]]",
        ),
        (
            "RowCount > 0 and ColumnCount > 0 or Mean \"a\" > 0",
            "OR[AND[RowCount ColumnCount] Mean]",
        ),
        (
            "(RowCount > 0 or ColumnCount > 0) and Mean \"a\" > 0",
            "AND[OR[RowCount ColumnCount] Mean]",
        ),
        (
            "(RowCount > 0 and ColumnCount > 0) and Mean \"a\" > 0",
            "AND[RowCount ColumnCount Mean]",
        ),
        (
            "RowCount > 0 and (ColumnCount > 0 and Mean \"a\" > 0)",
            "AND[RowCount ColumnCount Mean]",
        ),
        (
            "RowCount > 0 or (ColumnCount > 0 or Mean \"a\" > 0)",
            "OR[RowCount ColumnCount Mean]",
        ),
        (
            "RowCount > 0 AND ColumnCount > 0 OR Mean \"a\" > 0 AND Sum \"a\" > 0",
            "OR[AND[RowCount ColumnCount] AND[Mean Sum]]",
        ),
        ("((RowCount > 0))", "RowCount"),
    ];
    for (body, expected) in cases {
        assert_eq!(shape(&one(body)), expected, "{body}");
    }
}

#[test]
fn a_labelled_group_stays_a_member_and_keeps_its_labels() {
    let rule =
        one("((RowCount > 0) and (ColumnCount > 0)) labels=[\"k\"=\"v\"] and Mean \"a\" > 0");
    assert_eq!(shape(&rule), "AND[AND[RowCount ColumnCount] Mean]");
    let Rule::Composite(outer) = &rule else {
        panic!()
    };
    assert!(outer.labels.is_empty());
    let Rule::Composite(inner) = &outer.rules[0] else {
        panic!()
    };
    assert_eq!(
        inner.labels,
        vec![Label {
            key: "k".into(),
            value: "v".into()
        }]
    );
}

#[test]
fn group_labels_replace_a_single_rules_own_labels() {
    let r = single("(IsComplete \"a\" labels=[\"in\"=\"1\"]) labels=[\"out\"=\"2\"]");
    assert_eq!(
        r.labels,
        vec![Label {
            key: "out".into(),
            value: "2".into()
        }]
    );
}

#[test]
fn labels_after_an_unparenthesised_composite_belong_to_its_last_rule() {
    let Rule::Composite(c) = one("RowCount > 0 and ColumnCount > 0 labels=[\"k\"=\"v\"]") else {
        panic!()
    };
    assert!(c.labels.is_empty());
    let Rule::Single(last) = &c.rules[1] else {
        panic!()
    };
    assert_eq!(last.labels.len(), 1);
}

#[test]
fn effective_labels_merge_defaults_key_by_key() {
    let ruleset = parse(
        "DefaultLabels = [\"team\"=\"data\", \"env\"=\"prod\"]\n\
         Rules = [ IsComplete \"a\" labels=[\"env\"=\"dev\", \"x\"=\"1\"], RowCount > 0, \
         (RowCount > 0 or ColumnCount > 0) ]",
    )
    .unwrap();
    let texts = |rule: &Rule| -> Vec<String> {
        ruleset
            .effective_labels(rule)
            .into_iter()
            .map(|l| format!("{}={}", l.key, l.value))
            .collect()
    };
    assert_eq!(texts(&ruleset.rules[0]), ["team=data", "env=dev", "x=1"]);
    assert_eq!(texts(&ruleset.rules[1]), ["team=data", "env=prod"]);
    assert_eq!(texts(&ruleset.rules[2]), ["team=data", "env=prod"]);
}

#[test]
fn variables_are_resolved_into_the_tree() {
    let ruleset = parse(
        "col = \"order_id\"\nstates = [\"open\", NULL]\none = \"x\"\n\
         Rules = [ IsComplete $col, ColumnValues \"s\" in $states, ColumnValues \"s\" not in $one ]",
    )
    .unwrap();
    let leaves: Vec<&SingleRule> = ruleset.rules.iter().flat_map(Rule::leaves).collect();
    assert_eq!(
        leaves[0].parameters[0].value,
        ParameterValue::Variable {
            name: "col".into(),
            value: "order_id".into()
        }
    );
    assert_eq!(leaves[0].parameter_texts(), ["order_id"]);
    let Some(Condition::String(StringCondition::In(set))) = &leaves[1].condition else {
        panic!()
    };
    assert_eq!(
        set.values(),
        [
            StringValue::Quoted("open".into()),
            StringValue::Keyword(StringKeyword::Null)
        ]
    );
    let Some(Condition::String(StringCondition::NotIn(set))) = &leaves[2].condition else {
        panic!()
    };
    assert_eq!(set.values(), [StringValue::Quoted("x".into())]);
    assert_eq!(ruleset.variables.len(), 3);
}

#[test]
fn ambiguous_conditions_take_glues_first_shape() {
    let kind = |body: &str| single(body).condition.unwrap().kind();
    assert_eq!(kind("ColumnValues \"c\" = NULL"), ConditionKind::Number);
    assert_eq!(kind("ColumnValues \"c\" in [NULL]"), ConditionKind::Number);
    assert_eq!(
        kind("ColumnValues \"c\" in [\"a\", NULL]"),
        ConditionKind::String
    );
    assert_eq!(kind("ColumnValues \"c\" = EMPTY"), ConditionKind::String);
    assert_eq!(
        kind("ColumnValues \"c\" = \"2022-01-01\""),
        ConditionKind::Date
    );
    assert_eq!(kind("ColumnValues \"c\" = \"9:30\""), ConditionKind::String);
    assert_eq!(kind("ColumnValues \"c\" > NOW()"), ConditionKind::Number);
    assert_eq!(kind("FileSize > 5"), ConditionKind::Size);
}

#[test]
fn tags_threshold_and_duplicates() {
    let r = single(
        "ColumnValues \"c\" > 0 with THRESHOLD >= 0.9 with note = \"a\" with n = 5 with note = \"b\"",
    );
    assert!(matches!(r.threshold, Some(Comparison::Ge(_))));
    assert_eq!(r.tag("note").as_deref(), Some("b"));
    assert_eq!(r.tag("n").as_deref(), Some("5"));
    assert_eq!(r.tags.len(), 2);
    // `= NULL` reads as a string tag first, so this is a tag named threshold, not a threshold.
    let r = single("IsComplete \"a\" with threshold = NULL");
    assert_eq!(r.threshold, None);
    assert_eq!(r.tag("threshold").as_deref(), Some("NULL"));
}

#[test]
fn arithmetic_is_left_to_right_without_precedence() {
    let r = single("RowCount = 1 + 2 * 3");
    let Some(Condition::Number(Comparison::Eq(expr))) = r.condition else {
        panic!()
    };
    let NumExpr::Binary {
        op: ArithOp::Mul,
        left,
        right,
        parenthesized: false,
    } = expr
    else {
        panic!("{expr:?}")
    };
    assert!(matches!(
        *left,
        NumExpr::Binary {
            op: ArithOp::Add,
            ..
        }
    ));
    assert_eq!(*right, NumExpr::Number(Number { text: "3".into() }));

    let r = single("RowCount > avg(last(10)) * 0.9");
    let Some(Condition::Number(Comparison::Gt(NumExpr::Binary { left, .. }))) = r.condition else {
        panic!()
    };
    let NumExpr::Call { name, args } = *left else {
        panic!()
    };
    assert_eq!(name, "avg");
    assert_eq!(
        args,
        [NumExpr::Call {
            name: "last".into(),
            args: vec![NumExpr::Number(Number { text: "10".into() })]
        }]
    );
}

#[test]
fn number_values() {
    for (text, value) in [
        ("5", 5.0),
        ("-0.25", -0.25),
        ("007", 7.0),
        ("0.00000000000002", 2e-14),
    ] {
        assert_eq!(Number { text: text.into() }.value(), value);
    }
}

#[test]
fn dates_times_durations_and_sizes() {
    let r = single("ColumnValues \"d\" between (now() - 3 days) and now()");
    let Some(Condition::Date(Comparison::Between(low, high))) = r.condition else {
        panic!()
    };
    assert_eq!(
        low,
        DateExpr::NowOffset {
            op: OffsetOp::Minus,
            duration: Duration {
                amount: 3,
                unit: DurationUnit::Days
            }
        }
    );
    assert_eq!(high, DateExpr::Now);

    for (text, hour, minute) in [
        ("9:30 PM", 21, 30),
        ("12:15 AM", 0, 15),
        ("0:30 PM", 12, 30),
        ("12:00 PM", 12, 0),
        ("24:00", 0, 0),
        ("07:05", 7, 5),
    ] {
        let r = single(&format!("ColumnValues \"t\" > \"{text}\""));
        let Some(Condition::Date(Comparison::Gt(DateExpr::Time(t)))) = r.condition else {
            panic!()
        };
        assert_eq!((t.text.as_str(), t.hour, t.minute), (text, hour, minute));
    }

    let r = single("DataFreshness \"d\" between 90 minutes and 2 days");
    let Some(Condition::Duration(Comparison::Between(a, b))) = r.condition else {
        panic!()
    };
    assert_eq!((a.minutes(), b.minutes()), (90, 2 * 24 * 60));

    let r = single("FileSize in [1 TB, 3 KB]");
    let Some(Condition::Size(Comparison::In(sizes))) = r.condition else {
        panic!()
    };
    let bytes: Vec<i128> = sizes.iter().map(|s| s.bytes()).collect();
    assert_eq!(bytes, [1 << 40, 3 * 1024]);

    let r = single("FileSize between -5 and 100");
    let Some(Condition::Size(Comparison::Between(a, b))) = r.condition else {
        panic!()
    };
    assert_eq!(
        (a, b),
        (
            Size {
                amount: -5,
                unit: None
            },
            Size {
                amount: 100,
                unit: None
            }
        )
    );
}

#[test]
fn where_clauses_are_raw_and_a_blank_one_is_kept() {
    assert_eq!(
        single("IsComplete \"a\" where \"b = 'x'\"")
            .where_clause
            .as_deref(),
        Some("b = 'x'")
    );
    assert_eq!(
        single("IsComplete \"a\" where \" \"")
            .where_clause
            .as_deref(),
        Some(" ")
    );
}

#[test]
fn quoted_text_is_raw_and_unescape_matches_glue() {
    let r = single("ColumnValues \"c\" = \"a\\\"b\"");
    assert_eq!(
        r.condition,
        Some(Condition::String(StringCondition::Eq(StringValue::Quoted(
            "a\\\"b".into()
        ))))
    );
    assert_eq!(unescape("a\\\"b"), "a\"b");
    assert_eq!(unescape("a\\\\b\\n"), "a\\bn");
    assert_eq!(unescape("line\\\nbreak"), "line\\\nbreak");
    assert_eq!(unescape("end\\"), "end\\");
}

#[test]
fn metadata_and_sources_values_as_glue_reads_them() {
    let ruleset = parse(
        "Metadata = { \"Version\": [\"1\", \"2\"] }\n\
         DataSources = { \"Primary\": \"p\", \"AdditionalDataSources\": [\"a b\", \"c,d\"] }\n\
         Rules = [ RowCount > 0 ]",
    )
    .unwrap();
    assert_eq!(ruleset.metadata.unwrap().version.glue_text(), "[1,2]");
    let sources = ruleset.data_sources.unwrap();
    assert_eq!(sources.primary, Some(DictValue::String("p".into())));
    assert_eq!(sources.additional_aliases(), ["ab", "c", "d"]);
}

#[test]
fn catalogue_parameter_names_follow_glue() {
    let names =
        |name: &str, count: usize| catalog::lookup(name, count).unwrap().parameter_names(count);
    assert_eq!(names("Uniqueness", 1), ["TargetColumn"]);
    assert_eq!(names("Uniqueness", 2), ["TargetColumn1", "TargetColumn2"]);
    assert_eq!(names("IsPrimaryKey", 1), ["TargetColumn1"]);
    assert_eq!(names("DuplicateRowCount", 1), ["TargetColumn1"]);
    assert_eq!(names("DuplicateRowCount", 0), Vec::<String>::new());
    assert_eq!(
        names("DatasetMatch", 3),
        [
            "ReferenceDatasetAlias",
            "KeyColumnMappings",
            "MatchColumnMappings"
        ]
    );
    assert_eq!(
        names("DetectAnomalies", 2),
        ["MetricParameter1", "MetricParameter2"]
    );
}

#[test]
fn catalogue_lookup_overloads_and_suggestions() {
    let spec = |name: &str, count: usize| catalog::lookup(name, count).unwrap();
    assert!(spec("DatasetMatch", 2).excluded_at_row_level_in_composite);
    assert!(!spec("DatasetMatch", 3).excluded_at_row_level_in_composite);
    assert_eq!(spec("FileMatch", 2).returns, Returns::Boolean);
    assert_eq!(spec("FileMatch", 1).returns, Returns::String);
    assert!(spec("ColumnValues", 1).threshold_supported && spec("ColumnValues", 1).where_supported);
    assert!(!spec("CustomSql", 1).where_supported);
    assert!(spec("AllStatistics", 1).analyzer_only);
    assert_eq!(catalog::nearest_name("isunique"), Some("IsUnique"));
    assert_eq!(catalog::nearest_name("ColumValues"), Some("ColumnValues"));
    assert_eq!(catalog::nearest_name("Frobnicate"), None);
    assert_eq!(catalog::nearest_name(""), None);
    for t in RuleType::ALL {
        assert_eq!(RuleType::from_name(t.name()), Some(*t));
        assert!(t.specs().count() >= 1, "{t} has no catalogue entry");
    }
}

#[test]
fn json_view_has_the_cli_shape() {
    let ruleset = parse(
        "Rules = [ IsComplete \"a\", (RowCount > 0) or (ColumnCount > 1 and Mean \"m\" > 0) ]\n\
         Analyzers = [ Completeness \"a\" ]",
    )
    .unwrap();
    assert_eq!(
        to_json(&ruleset),
        json!({
            "rules": [
                {"type": "IsComplete", "text": "IsComplete \"a\""},
                {"type": "Composite", "operator": "OR",
                 "text": "(RowCount > 0) OR ((ColumnCount > 1) AND (Mean \"m\" > 0))",
                 "rules": [
                    {"type": "RowCount", "text": "RowCount > 0"},
                    {"type": "Composite", "operator": "AND",
                     "text": "(ColumnCount > 1) AND (Mean \"m\" > 0)",
                     "rules": [
                        {"type": "ColumnCount", "text": "ColumnCount > 1"},
                        {"type": "Mean", "text": "Mean \"m\" > 0"}
                     ]}
                 ]}
            ],
            "analyzers": [{"type": "Completeness", "text": "Completeness \"a\""}]
        })
    );
}

#[test]
fn crlf_is_accepted_and_parses_like_lf() {
    let lf = "# comment\nv = \"x\"\nRules = [\n    IsComplete $v,\n    RowCount > 0\n]\n";
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(parse(&crlf).unwrap(), parse(lf).unwrap());
    let err = parse("Rules = [ RowCount > 0 ]\r").unwrap_err();
    assert_eq!((err.line, err.column), (1, 25));
    assert!(err.message.contains("carriage return"), "{err}");
}

#[test]
fn error_display_points_at_the_span() {
    let err = parse("Metadata = { \"Version\": \"1\" }\nRules = [\n\tCompletenes \"a\" > 0.5\n]")
        .unwrap_err();
    assert_eq!((err.line, err.column), (3, 2));
    assert_eq!(err.span, 41..52);
    assert_eq!(
        err.to_string(),
        "3:2: unknown rule type `Completenes`; did you mean `Completeness`?\n\
         \tCompletenes \"a\" > 0.5\n\
         \t^^^^^^^^^^^"
    );
    let err = parse("").unwrap_err();
    assert_eq!((err.line, err.column, err.span.clone()), (1, 1, 0..0));
    assert_eq!(err.to_string().lines().last(), Some("^"));
    // Columns count characters, not bytes.
    let err = parse("Rules = [ IsComplete \"é\" > 1 ]").unwrap_err();
    assert_eq!((err.line, err.column), (1, 26));
    assert_eq!(err.underline(), format!("{}^^^", " ".repeat(25)));
}

#[test]
fn rule_text_is_the_canonical_form() {
    let r = one("Completeness  of   \"a\"   >   - 0.5   where \"x\"");
    assert_eq!(r.text(), "Completeness of \"a\" > -0.5 where \"x\"");
    let r = one(
        "ColumnValues \"c\" in [ \"a\" , NULL ] where \"x > 1\" labels=[\"k\"=\"v\"] with threshold > 0.5 with note = \"n\"",
    );
    assert_eq!(
        r.text(),
        "ColumnValues \"c\" in [\"a\",NULL] where \"x > 1\" labels=[\"k\"=\"v\"] with threshold > 0.5 with note = \"n\""
    );
}

#[test]
fn analyzer_variables_resolve_when_declared_and_stay_literal_otherwise() {
    let ruleset =
        parse("col = \"a\"\nlist = [\"x\"]\nAnalyzers = [ Completeness $col, Completeness $list, Completeness $nope ]")
            .unwrap();
    let texts: Vec<&str> = ruleset
        .analyzers
        .iter()
        .map(|a| a.parameters[0].value.text())
        .collect();
    assert_eq!(texts, ["a", "$list", "$nope"]);
}

#[test]
fn a_large_ruleset_parses_in_linear_time() {
    let rule = "ColumnValues \"c\" in [\"a\", \"b\"] where \"x > 1\", (RowCount > avg(last(3))) or (IsComplete \"d\")";
    let body: Vec<&str> = std::iter::repeat_n(rule, 5_000).collect();
    let text = format!("Rules = [ {} ]", body.join(",\n"));
    let started = std::time::Instant::now();
    let ruleset = parse(&text).unwrap();
    assert_eq!(ruleset.rules.len(), 10_000);
    assert_eq!(parse(&ruleset.to_string()).unwrap(), ruleset);
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
