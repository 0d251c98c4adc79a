//! The JSON view printed by `gluepipe-etl dq parse FILE --json`:
//! `{"rules": [{"type": …, "text": …}, …], "analyzers": [...]}`, a composite rule as
//! `{"type": "Composite", "operator": "AND"|"OR", "text": …, "rules": [...]}`.

use serde_json::{Value, json};

use super::ast::{Rule, Ruleset};

/// The ruleset as JSON (rule texts are the canonical printer's).
pub fn to_json(ruleset: &Ruleset) -> Value {
    let analyzers: Vec<Value> = ruleset
        .analyzers
        .iter()
        .map(|a| json!({"type": a.analyzer_type.name(), "text": a.to_string()}))
        .collect();
    json!({
        "rules": ruleset.rules.iter().map(rule_json).collect::<Vec<_>>(),
        "analyzers": analyzers,
    })
}

fn rule_json(rule: &Rule) -> Value {
    match rule {
        Rule::Single(r) => json!({"type": r.rule_type.name(), "text": r.to_string()}),
        Rule::Composite(c) => json!({
            "type": "Composite",
            "operator": c.operator.as_str(),
            "text": c.to_string(),
            "rules": c.rules.iter().map(rule_json).collect::<Vec<_>>(),
        }),
    }
}
