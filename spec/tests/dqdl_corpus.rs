//! Runs the DQDL corpus in `tests/dqdl/`: every accepted document parses, prints its expected
//! canonical rule texts and re-parses from its printed form to the same tree; every rejected
//! document fails at the expected line and column with the expected message.

#![allow(clippy::unwrap_used)]

use gluepipe_spec::dqdl::{parse, to_json};

struct Case {
    name: String,
    /// What follows the name on the `###` line.
    header: String,
    body: String,
    expected_texts: Vec<String>,
}

/// Reads a `.cases` file: `### name[ rest]` starts a case, `>>> text` lines are expectations,
/// everything else is the body (joined with `\n`, so a final comment needs a blank line).
fn cases(file: &str) -> Vec<Case> {
    let path = format!("{}/tests/dqdl/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out: Vec<Case> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    let finish = |out: &mut Vec<Case>, body: &mut Vec<&str>| {
        if let Some(last) = out.last_mut() {
            last.body = body.join("\n");
        }
        body.clear();
    };
    for line in text.split('\n') {
        if let Some(head) = line.strip_prefix("### ") {
            finish(&mut out, &mut body);
            let (name, header) = head.split_once(" @ ").unwrap_or((head, ""));
            out.push(Case {
                name: name.to_string(),
                header: header.to_string(),
                body: String::new(),
                expected_texts: Vec::new(),
            });
        } else if let Some(expected) = line.strip_prefix(">>> ") {
            out.last_mut()
                .unwrap()
                .expected_texts
                .push(expected.replace('⏎', "\n"));
        } else if !out.is_empty() {
            body.push(line);
        }
    }
    finish(&mut out, &mut body);
    out
}

#[test]
fn accepted_corpus_parses_prints_and_round_trips() {
    let cases = cases("accepted.cases");
    assert!(cases.len() >= 40, "corpus shrank: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let ruleset = match parse(&case.body) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: rejected:\n{e}", case.name));
                continue;
            }
        };
        let texts: Vec<String> = ruleset.rules.iter().map(|r| r.text()).collect();
        let expected = &case.expected_texts;
        if !expected.is_empty() && &texts != expected {
            failures.push(format!(
                "{}: texts\n  got      {texts:?}\n  expected {expected:?}",
                case.name
            ));
        }
        let printed = ruleset.to_string();
        match parse(&printed) {
            Ok(again) if again == ruleset => {}
            Ok(again) => failures.push(format!(
                "{}: round trip changed the tree\nprinted:\n{printed}\nfirst: {ruleset:?}\nagain: {again:?}",
                case.name
            )),
            Err(e) => failures.push(format!(
                "{}: printed form rejected:\n{printed}\n{e}",
                case.name
            )),
        }
        let json = to_json(&ruleset);
        assert_eq!(json["rules"].as_array().unwrap().len(), ruleset.rules.len());
        assert_eq!(
            json["analyzers"].as_array().unwrap().len(),
            ruleset.analyzers.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn rejected_corpus_fails_where_and_how_expected() {
    let cases = cases("rejected.cases");
    assert!(cases.len() >= 100, "corpus shrank: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (position, fragment) = case.header.split_once(" | ").unwrap();
        let (line, column) = position.split_once(':').unwrap();
        let (line, column): (usize, usize) = (line.parse().unwrap(), column.parse().unwrap());
        match parse(&case.body) {
            Ok(r) => failures.push(format!("{}: accepted:\n{r}", case.name)),
            Err(e) => {
                if (e.line, e.column) != (line, column) || !e.message.contains(fragment) {
                    failures.push(format!(
                        "{}: expected {line}:{column} `{fragment}`, got\n{e}",
                        case.name
                    ));
                }
                assert!(
                    !e.message.contains('\n'),
                    "{}: multi-line message",
                    case.name
                );
                let shown = e.to_string();
                let mut shown_lines = shown.lines();
                assert_eq!(
                    shown_lines.next().unwrap(),
                    format!("{}:{}: {}", e.line, e.column, e.message)
                );
                assert!(shown.contains('^'), "{}: no caret in\n{shown}", case.name);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn accepted_corpus_covers_every_rule_type_and_condition_kind() {
    use gluepipe_spec::dqdl::catalog::RuleType;
    use gluepipe_spec::dqdl::{Condition, ConditionKind, Rule};
    use std::collections::HashSet;
    let mut types = HashSet::new();
    let mut kinds = HashSet::new();
    for case in cases("accepted.cases") {
        let ruleset = parse(&case.body).unwrap();
        for leaf in ruleset.rules.iter().flat_map(Rule::leaves) {
            types.insert(leaf.rule_type);
            kinds.extend(leaf.condition.as_ref().map(Condition::kind));
        }
        types.extend(ruleset.analyzers.iter().map(|a| a.analyzer_type));
    }
    let missing: Vec<&RuleType> = RuleType::ALL
        .iter()
        .filter(|t| !types.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "rule types without an accepted case: {missing:?}"
    );
    for kind in [
        ConditionKind::Number,
        ConditionKind::String,
        ConditionKind::Date,
        ConditionKind::Duration,
        ConditionKind::Size,
    ] {
        assert!(kinds.contains(&kind), "no accepted {kind:?} condition");
    }
}
