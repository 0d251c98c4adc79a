//! Row-level outcomes: for each row of a batch, which top-level rules it passed, failed or was
//! not judged on — for quarantining failing rows — and [`annotate_rows`], which adds Glue's four
//! columns to a batch:
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `DataQualityRulesPass` | `list<string>` | rules the row passed |
//! | `DataQualityRulesFail` | `list<string>` | rules the row failed |
//! | `DataQualityRulesSkip` | `list<string>` | rules without an outcome for this row |
//! | `DataQualityEvaluationResult` | `string` | `Failed` if the fail list is non-empty, else `Passed` |
//!
//! Rules with per-row outcomes (Glue's table, and deequ where Glue is silent): Completeness and
//! IsComplete (the value is not null), ColumnValues, ColumnLength, CustomSql in its row form,
//! ReferentialIntegrity and DatasetMatch. Rules decided on a dataset metric (RowCount, Mean, …),
//! ColumnDataType and DataFreshness skip every row; so do Uniqueness, IsUnique and IsPrimaryKey,
//! whose per-row answer needs counts only known after the last batch (deviation from deequ,
//! which makes a second pass). A composite judges a row only when all its members do (AND/OR
//! with SQL's three-valued logic; unknown = skip).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListBuilder, StringArray, StringBuilder,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::filter;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::dq::error::DqError;

/// What one rule says about one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// The row meets the rule.
    Passed,
    /// The row breaks the rule.
    Failed,
    /// The rule has no outcome for this row.
    Skipped,
}

/// Per-row outcomes of every top-level rule for one batch.
#[derive(Debug, Clone)]
pub struct RowOutcomes {
    rules: Arc<[String]>,
    /// Per rule: pass/fail per row, null = skipped; `None` = skipped for every row.
    outcomes: Vec<Option<BooleanArray>>,
    num_rows: usize,
}

/// Column names added by [`annotate_rows`].
pub const PASS_COLUMN: &str = "DataQualityRulesPass";
/// See [`PASS_COLUMN`].
pub const FAIL_COLUMN: &str = "DataQualityRulesFail";
/// See [`PASS_COLUMN`].
pub const SKIP_COLUMN: &str = "DataQualityRulesSkip";
/// See [`PASS_COLUMN`].
pub const RESULT_COLUMN: &str = "DataQualityEvaluationResult";

impl RowOutcomes {
    /// Outcomes for `num_rows` rows; `outcomes[i]` belongs to `rules[i]`.
    pub fn new(rules: Arc<[String]>, outcomes: Vec<Option<BooleanArray>>, num_rows: usize) -> Self {
        RowOutcomes {
            rules,
            outcomes,
            num_rows,
        }
    }

    /// Rows covered.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// The top-level rule texts, in ruleset order.
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    /// What rule `rule` says about row `row`.
    pub fn outcome(&self, rule: usize, row: usize) -> RowOutcome {
        match self.outcomes.get(rule).and_then(Option::as_ref) {
            Some(a) if a.is_valid(row) && a.value(row) => RowOutcome::Passed,
            Some(a) if a.is_valid(row) => RowOutcome::Failed,
            _ => RowOutcome::Skipped,
        }
    }

    /// Rows that failed at least one rule.
    pub fn failed(&self) -> BooleanBuffer {
        let mut failed = BooleanBuffer::new_unset(self.num_rows);
        for a in self.outcomes.iter().flatten() {
            let judged = a
                .nulls()
                .map_or_else(|| BooleanBuffer::new_set(a.len()), |n| n.inner().clone());
            let fails = &judged & &!a.values();
            failed = &failed | &fails;
        }
        failed
    }

    /// Rows that failed no rule.
    pub fn passed(&self) -> BooleanBuffer {
        !&self.failed()
    }

    /// The outcomes of the rows `keep` selects, e.g. only the failing rows, so that a quarantine
    /// annotates `filter_record_batch(batch, keep)` without annotating the whole batch.
    pub fn filter(&self, keep: &BooleanArray) -> Result<RowOutcomes, DqError> {
        let outcomes = self
            .outcomes
            .iter()
            .map(|o| match o {
                None => Ok(None),
                Some(a) => Ok(Some(filter(a, keep)?.as_boolean().clone())),
            })
            .collect::<Result<Vec<_>, DqError>>()?;
        Ok(RowOutcomes {
            rules: self.rules.clone(),
            outcomes,
            num_rows: keep.true_count(),
        })
    }

    /// Texts of the rules row `row` failed.
    pub fn failed_rules(&self, row: usize) -> Vec<&str> {
        self.with_outcome(row, RowOutcome::Failed)
    }

    fn with_outcome(&self, row: usize, wanted: RowOutcome) -> Vec<&str> {
        (0..self.rules.len())
            .filter(|&r| self.outcome(r, row) == wanted)
            .map(|r| self.rules[r].as_str())
            .collect()
    }
}

/// `batch` plus the four row-level columns.
pub fn annotate_rows(batch: &RecordBatch, outcomes: &RowOutcomes) -> Result<RecordBatch, DqError> {
    if outcomes.num_rows() != batch.num_rows() {
        return Err(DqError::SchemaMismatch(format!(
            "row-level outcomes cover {} rows but the batch has {}",
            outcomes.num_rows(),
            batch.num_rows()
        )));
    }
    let mut lists = [pass_list(), pass_list(), pass_list()];
    let mut result = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut any_failed = false;
        for (r, text) in outcomes.rules().iter().enumerate() {
            let which = match outcomes.outcome(r, row) {
                RowOutcome::Passed => 0,
                RowOutcome::Failed => {
                    any_failed = true;
                    1
                }
                RowOutcome::Skipped => 2,
            };
            lists[which].values().append_value(text);
        }
        for l in &mut lists {
            l.append(true);
        }
        result.push(if any_failed { "Failed" } else { "Passed" });
    }
    let [pass, fail, skip] = lists.map(|mut l| Arc::new(l.finish()) as ArrayRef);
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    let list_type = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    for name in [PASS_COLUMN, FAIL_COLUMN, SKIP_COLUMN] {
        fields.push(Arc::new(Field::new(name, list_type.clone(), false)));
    }
    fields.push(Arc::new(Field::new(RESULT_COLUMN, DataType::Utf8, false)));
    let mut columns = batch.columns().to_vec();
    columns.extend([
        pass,
        fail,
        skip,
        Arc::new(StringArray::from(result)) as ArrayRef,
    ]);
    let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

fn pass_list() -> ListBuilder<StringBuilder> {
    ListBuilder::new(StringBuilder::new())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::Int32Array;

    use super::*;

    #[test]
    fn annotates_each_row_with_its_rules() {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, true)])),
            vec![Arc::new(Int32Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let rules: Arc<[String]> = Arc::from(vec!["A".to_string(), "B".into(), "C".into()]);
        let outcomes = RowOutcomes::new(
            rules,
            vec![
                Some(BooleanArray::from(vec![Some(true), Some(false), None])),
                None,
                Some(BooleanArray::from(vec![
                    Some(true),
                    Some(true),
                    Some(false),
                ])),
            ],
            3,
        );
        assert_eq!(
            outcomes.failed(),
            BooleanBuffer::from(vec![false, true, true])
        );
        assert_eq!(
            outcomes.passed(),
            BooleanBuffer::from(vec![true, false, false])
        );
        assert_eq!(outcomes.failed_rules(2), vec!["C"]);
        assert_eq!(outcomes.outcome(1, 0), RowOutcome::Skipped);

        // only the failing rows: 1 and 2
        let failing = BooleanArray::new(outcomes.failed(), None);
        let some = outcomes.filter(&failing).unwrap();
        assert_eq!(some.num_rows(), 2);
        assert_eq!(some.outcome(0, 0), RowOutcome::Failed);
        assert_eq!(some.outcome(2, 1), RowOutcome::Failed);
        let filtered = arrow::compute::filter_record_batch(&batch, &failing).unwrap();
        assert_eq!(annotate_rows(&filtered, &some).unwrap().num_rows(), 2);

        let out = annotate_rows(&batch, &outcomes).unwrap();
        assert_eq!(out.num_columns(), 5);
        let list = |name: &str, row: usize| -> Vec<String> {
            let l = out
                .column_by_name(name)
                .unwrap()
                .as_list::<i32>()
                .value(row);
            l.as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_string())
                .collect()
        };
        assert_eq!(list(PASS_COLUMN, 0), ["A", "C"]);
        assert_eq!(list(SKIP_COLUMN, 0), ["B"]);
        assert_eq!(list(FAIL_COLUMN, 1), ["A"]);
        assert_eq!(list(SKIP_COLUMN, 2), ["A", "B"]);
        assert_eq!(list(FAIL_COLUMN, 2), ["C"]);
        let result = out
            .column_by_name(RESULT_COLUMN)
            .unwrap()
            .as_string::<i32>();
        assert_eq!(
            result.iter().collect::<Vec<_>>(),
            [Some("Passed"), Some("Failed"), Some("Failed")]
        );
    }

    #[test]
    fn row_count_mismatch_is_an_error() {
        let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
        let outcomes = RowOutcomes::new(Arc::from(Vec::<String>::new()), vec![], 2);
        assert!(annotate_rows(&batch, &outcomes).is_err());
    }
}
