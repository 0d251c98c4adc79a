//! The columns a ruleset's rules name: the parameters the catalogue calls `TargetColumn…` of
//! column-scoped rules, in the order written. Used to check, before a run, that a rule looks at a
//! column the pipeline writes.

use super::ast::Rule;
use super::catalog::{Scope, lookup};

/// Every column the `rules` name, composite members included (duplicates kept).
pub fn rule_columns(rules: &[Rule]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in rules {
        match rule {
            Rule::Composite(c) => out.extend(rule_columns(&c.rules)),
            Rule::Single(r) => {
                let Ok(spec) = lookup(r.rule_type.name(), r.parameters.len()) else {
                    continue;
                };
                if spec.scope != Scope::Column {
                    continue;
                }
                let names = spec.parameter_names(r.parameters.len());
                for (name, param) in names.iter().zip(&r.parameters) {
                    if name.starts_with("TargetColumn") {
                        out.push(param.value.text().to_string());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn columns(text: &str) -> Vec<String> {
        rule_columns(&crate::dqdl::parse(text).unwrap().rules)
    }

    #[test]
    fn column_rules_name_their_columns_and_table_rules_none() {
        assert_eq!(
            columns(
                r#"Rules = [ ColumnCount > 0, IsComplete "a", (IsUnique "b") and (Mean "c" > 1),
                   ColumnCorrelation "d" "e" > 0.5, IsPrimaryKey "f" "g", RowCount > 1,
                   CustomSql "select count(*) from primary" > 0 ]"#
            ),
            ["a", "b", "c", "d", "e", "f", "g"]
        );
    }
}
