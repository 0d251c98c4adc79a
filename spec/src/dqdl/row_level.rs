//! Which rules judge single rows: the ones that can send a row to quarantine. As the ETL's
//! engine decides it (`etl/src/dq/row_level.rs`): Completeness, IsComplete, ColumnValues,
//! ColumnLength, CustomSql (in its row form), ReferentialIntegrity and DatasetMatch; a
//! composite when all its members do. Every other rule is decided on the whole dataset.

use super::ast::Rule;
use super::catalog::RuleType;

impl Rule {
    /// Whether the rule can give a row its own outcome (and so quarantine it).
    pub fn judges_rows(&self) -> bool {
        match self {
            Rule::Single(rule) => matches!(
                rule.rule_type,
                RuleType::Completeness
                    | RuleType::IsComplete
                    | RuleType::ColumnValues
                    | RuleType::ColumnLength
                    | RuleType::CustomSql
                    | RuleType::ReferentialIntegrity
                    | RuleType::DatasetMatch
            ),
            Rule::Composite(c) => c.rules.iter().all(Rule::judges_rows),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::dqdl::parse;

    #[test]
    fn row_rules_and_dataset_rules() {
        let judges =
            |text: &str| parse(&format!("Rules = [ {text} ]")).unwrap().rules[0].judges_rows();
        assert!(judges("IsComplete \"id\""));
        assert!(judges("ColumnValues \"qty\" > 0"));
        assert!(judges("(IsComplete \"id\") and (ColumnLength \"s\" < 5)"));
        assert!(!judges("RowCount > 0"));
        assert!(!judges("ColumnCount > 0"));
        assert!(!judges("(IsComplete \"id\") and (RowCount > 0)"));
    }
}
