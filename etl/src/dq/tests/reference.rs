//! Rules against reference datasets: ReferentialIntegrity, DatasetMatch, RowCountMatch,
//! SchemaMatch and AggregateMatch, with references read from local NDJSON and Parquet files.

use std::fs::File;

use parquet::arrow::ArrowWriter;

use super::*;
use crate::dq::LocalReferenceResolver;

/// Runs `rules` over orders with references `ref` (ids 1–4, places NY and SF) and `ref2`
/// (the orders' ids with one qty changed), and `same` (Parquet copy of orders).
fn with_refs(rules: &str) -> DqResults {
    let dir = tempfile::tempdir().unwrap();
    let r1 = dir.path().join("ref.json");
    std::fs::write(
        &r1,
        "{\"id\": 1, \"place\": \"NY\"}\n{\"id\": 2, \"place\": \"SF\"}\n{\"id\": 3}\n{\"id\": 4}\n",
    )
    .unwrap();
    let r2 = dir.path().join("ref2.ndjson");
    std::fs::write(
        &r2,
        "{\"id\": 1, \"qty\": 10}\n{\"id\": 2, \"qty\": 99}\n{\"id\": 3, \"qty\": 30}\n\
         {\"id\": 4, \"qty\": 30}\n{\"id\": 5, \"qty\": 50}\n{\"id\": 6}\n",
    )
    .unwrap();
    let same = dir.path().join("same.parquet");
    let data = orders();
    let mut w = ArrowWriter::try_new(File::create(&same).unwrap(), data.schema(), None).unwrap();
    w.write(&data).unwrap();
    w.close().unwrap();
    let resolver = LocalReferenceResolver::new()
        .with("ref", r1)
        .with("ref2", r2)
        .with("same", same);
    let ctx = DqContext::at(now()).with_references(resolver);
    run_with(&format!("Rules = [ {rules} ]"), &orders_batches(), ctx)
}

fn one(rules: &str) -> RuleResult {
    with_refs(rules).rule_outcomes.remove(0)
}

#[test]
fn referential_integrity() {
    // ids 1–4 of 6 are in ref
    let r = one("ReferentialIntegrity \"id\" \"ref.{id}\" >= 0.6");
    assert_eq!(r.outcome, Outcome::Passed);
    close(metric(&r, "Column.ref.ReferentialIntegrity"), 4.0 / 6.0);
    let r = one("ReferentialIntegrity \"id\" \"ref.id\" = 1.0");
    assert_eq!(r.outcome, Outcome::Failed);
    // city in ref.place (NY, SF): NY SF NY NY → 4 of 6; LA and the null do not match
    let r = one("ReferentialIntegrity \"city\" \"ref.{place}\" > 0.66");
    close(metric(&r, "Column.ref.ReferentialIntegrity"), 4.0 / 6.0);
    // (id, city) against (id, place): (1,NY) (2,SF) → 2 of 6
    let r = one("ReferentialIntegrity \"id,city\" \"ref.{id,place}\" > 0");
    close(metric(&r, "Column.ref.ReferentialIntegrity"), 2.0 / 6.0);
    let r = one("ReferentialIntegrity \"id\" \"ref.{nope}\" > 0");
    assert_eq!(
        (r.outcome, r.failure_reason.as_deref()),
        (
            Outcome::Failed,
            Some("Column nope does not exist in reference data frame.")
        )
    );
    let r = one("ReferentialIntegrity \"id,city\" \"ref.{id}\" > 0");
    assert_eq!(r.outcome, Outcome::Failed);
    let r = one("ReferentialIntegrity \"id\" \"missing.{id}\" > 0");
    assert_eq!(r.outcome, Outcome::Error);
    assert!(r.failure_reason.unwrap().contains("--reference"));
}

#[test]
fn dataset_match() {
    // key id; match qty: id 2 has null vs 99; id 6 null vs null matches → 5 of 6
    let r = one("DatasetMatch \"ref2\" \"id\" \"qty\" >= 0.8");
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    close(metric(&r, "Dataset.ref2.DatasetMatch"), 5.0 / 6.0);
    let r = one("DatasetMatch \"ref2\" \"id->id\" \"qty->qty\" = 1.0");
    assert_eq!(r.outcome, Outcome::Failed);
    // default match columns are every non-key primary column: ref2 lacks price
    let r = one("DatasetMatch \"ref2\" \"id\" > 0");
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Non key columns in the given data frames do not match.")
    );
    // the same data matches itself fully
    let r = one("DatasetMatch \"same\" \"id\" = 1.0");
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    // keys must be unique: city repeats in primary
    let r = one("DatasetMatch \"same\" \"city\" \"id\" > 0");
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.failure_reason
            .unwrap()
            .contains("Comparison keys must be unique")
    );
}

#[test]
fn row_count_schema_and_aggregate_match() {
    // 6 primary rows / 4 reference rows
    let r = one("RowCountMatch \"ref\" = 1.5");
    assert_eq!(r.outcome, Outcome::Passed);
    close(metric(&r, "Dataset.ref.RowCountMatch"), 1.5);
    let r = one("SchemaMatch \"same\" = 1.0");
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    close(metric(&r, "Dataset.same.SchemaMatch"), 1.0);
    let r = one("SchemaMatch \"ref\" >= 0");
    assert_eq!(
        (r.outcome, r.failure_reason.as_deref()),
        (Outcome::Failed, Some("Column counts do not match"))
    );
    close(metric(&r, "Dataset.ref.SchemaMatch"), 0.0);
    // sum(qty) = 120; sum(ref2.qty) = 10 + 99 + 30 + 30 + 50 = 219
    let r = one("AggregateMatch \"sum(qty)\" \"sum(ref2.qty)\" < 0.6");
    assert_eq!(r.outcome, Outcome::Passed);
    close(metric(&r, "Column.qty.AggregateMatch"), 120.0 / 219.0);
    // avg(qty) = 30 and avg(price) = 3.8 → 30 / 3.8
    let r = one("AggregateMatch \"avg(qty)\" \"AVG(price)\" > 7");
    close(metric(&r, "Column.qty,price.AggregateMatch"), 30.0 / 3.8);
    let r = one("AggregateMatch \"median(qty)\" \"sum(qty)\" > 0");
    assert_eq!(r.outcome, Outcome::Error);
}

#[test]
fn reference_rules_without_references_are_errors() {
    let r = expect("RowCountMatch \"ref\" = 1", Outcome::Error);
    assert!(r.failure_reason.unwrap().contains("no reference datasets"));
}
