//! Row-level outcomes: which rows pass, fail or are skipped by which rule, with `where` labels
//! and composites, and the annotated batch.

use arrow::array::{Array, AsArray, BooleanArray};

use super::*;
use crate::dq::row_level::{FAIL_COLUMN, PASS_COLUMN, RESULT_COLUMN, RowOutcome, SKIP_COLUMN};
use crate::dq::{FilteredRowLabel, annotate_rows};

const RULES: &str = "Rules = [ \
    IsComplete \"qty\", \
    ColumnValues \"city\" in [\"NY\", \"SF\"], \
    RowCount > 0, \
    (IsComplete \"qty\") or (ColumnValues \"city\" = \"SF\"), \
    ColumnLength \"name\" <= 2 where \"city = 'NY'\", \
    (IsComplete \"qty\") and (RowCount > 0) \
]";

fn outcomes(label: FilteredRowLabel) -> Vec<crate::dq::RowOutcomes> {
    let ruleset = gluepipe_spec::dqdl::parse(RULES).unwrap();
    let batches = orders_batches();
    let ctx = DqContext::at(now()).with_filtered_row_label(label);
    let mut engine = DqEngine::new(&ruleset, &batches[0].schema(), ctx).unwrap();
    assert!(engine.has_row_level_rules());
    batches
        .iter()
        .map(|b| engine.update(b).unwrap().unwrap())
        .collect()
}

#[test]
fn each_row_gets_each_rules_verdict() {
    use RowOutcome::{Failed as F, Passed as P, Skipped as S};
    let per_batch = outcomes(FilteredRowLabel::Passed);
    let rows: Vec<Vec<RowOutcome>> = per_batch
        .iter()
        .flat_map(|o| (0..o.num_rows()).map(move |row| (0..6).map(|r| o.outcome(r, row)).collect()))
        .collect();
    // rows: qty 10 null 30 30 50 null; city NY SF NY LA NY null; name ab abc null "" "  " abcdef
    // rule 4: NY rows only (lengths 2, 0, 2 pass); other rows pass as filtered out.
    // rule 5: RowCount has no per-row verdict, so the AND composite skips every row.
    let expected = vec![
        vec![P, P, S, P, P, S],
        vec![F, P, S, P, P, S],
        vec![P, P, S, P, P, S],
        vec![P, F, S, P, P, S],
        vec![P, P, S, P, P, S],
        vec![F, F, S, F, P, S],
    ];
    assert_eq!(rows, expected);
    let failed: Vec<bool> = per_batch
        .iter()
        .flat_map(|o| o.failed().iter().collect::<Vec<_>>())
        .collect();
    assert_eq!(failed, [false, true, false, true, false, true]);
}

#[test]
fn filtered_rows_can_be_skipped_instead() {
    let per_batch = outcomes(FilteredRowLabel::Skipped);
    // rule 4 over SF (row 2) and LA (row 4) is skipped; NY rows still judged
    assert_eq!(per_batch[0].outcome(4, 0), RowOutcome::Passed);
    assert_eq!(per_batch[0].outcome(4, 1), RowOutcome::Skipped);
    assert_eq!(per_batch[1].outcome(4, 0), RowOutcome::Skipped);
    assert_eq!(per_batch[1].outcome(4, 1), RowOutcome::Passed);
}

#[test]
fn annotated_batches_carry_the_four_columns() {
    let per_batch = outcomes(FilteredRowLabel::Passed);
    let b = &orders_batches()[1];
    let out = annotate_rows(b, &per_batch[1]).unwrap();
    assert_eq!(out.num_columns(), b.num_columns() + 4);
    let texts = |name: &str, row: usize| -> Vec<String> {
        let list = out
            .column_by_name(name)
            .unwrap()
            .as_list::<i32>()
            .value(row);
        list.as_string::<i32>()
            .iter()
            .map(|s| s.unwrap().to_string())
            .collect()
    };
    // row 4 of orders (first of this batch): city LA
    assert_eq!(
        texts(FAIL_COLUMN, 0),
        ["ColumnValues \"city\" in [\"NY\",\"SF\"]"]
    );
    assert_eq!(
        texts(SKIP_COLUMN, 0),
        ["RowCount > 0", "(IsComplete \"qty\") AND (RowCount > 0)"]
    );
    assert_eq!(texts(PASS_COLUMN, 0).len(), 3);
    let result = out
        .column_by_name(RESULT_COLUMN)
        .unwrap()
        .as_string::<i32>();
    assert_eq!(
        result.iter().collect::<Vec<_>>(),
        [Some("Failed"), Some("Passed"), Some("Failed")]
    );
    let passed = BooleanArray::new(per_batch[1].passed(), None);
    assert_eq!(passed.true_count(), 1);
}

#[test]
fn rulesets_without_row_level_rules_return_none() {
    let ruleset = gluepipe_spec::dqdl::parse("Rules = [ RowCount > 0, Mean \"qty\" > 1 ]").unwrap();
    let b = orders();
    let mut engine = DqEngine::new(&ruleset, &b.schema(), DqContext::at(now())).unwrap();
    assert!(!engine.has_row_level_rules());
    assert!(engine.update(&b).unwrap().is_none());
}

#[test]
fn batches_must_match_the_schema() {
    let ruleset = gluepipe_spec::dqdl::parse("Rules = [ RowCount > 0 ]").unwrap();
    let b = orders();
    let mut engine = DqEngine::new(&ruleset, &b.schema(), DqContext::at(now())).unwrap();
    let other = batch(vec![("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
    let e = engine.update(&other).unwrap_err();
    assert!(
        e.to_string()
            .contains("1 columns, but the engine was built for 6"),
        "{e}"
    );
    assert!(other.column(0).len() == 1);
}
