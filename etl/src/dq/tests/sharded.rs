//! Sharded evaluation: shards each see part of the batches and save their state (through its
//! JSON form, as a shard's state file would), a fresh engine merges the states and finishes;
//! the results must equal one engine over all batches, for every rule family at once.

use std::sync::Arc;

use arrow::array::{Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};

use super::*;
use crate::dq::LocalReferenceResolver;
use crate::dq::partial::{PartialState, compare_results};

const ROWS: i64 = 3000;

/// `v`, or null on every `every`-th row.
fn opt<T>(i: i64, every: i64, v: T) -> Option<T> {
    (i % every != 0).then_some(v)
}

/// Rows with nulls, duplicates and skew in every column, cut into uneven batches.
fn data() -> Vec<RecordBatch> {
    let ids: Vec<i64> = (0..ROWS).collect();
    let qty = Int64Array::from_iter(ids.iter().map(|&i| opt(i, 11, (i * 7) % 61)));
    let price = Float64Array::from_iter(
        ids.iter()
            .map(|&i| opt(i, 13, (i as f64 * 0.37) % 97.3 + 0.1)),
    );
    let names = ["ab", "abc", "", "  ", "abcdef", "Zed"];
    let name = StringArray::from_iter(ids.iter().map(|&i| {
        opt(i, 17, ()).map(|()| {
            if i % 5 == 0 {
                format!("n{i}")
            } else {
                names[(i % 6) as usize].to_string()
            }
        })
    }));
    let cities = ["NY", "SF", "LA", "NY"];
    let city = StringArray::from_iter(ids.iter().map(|&i| opt(i, 19, cities[(i % 4) as usize])));
    let d = Date32Array::from_iter(
        ids.iter()
            .map(|&i| opt(i, 23, day(2024, 5, 1) + (i % 40) as i32)),
    );
    let micros = now().timestamp_micros();
    let ts = TimestampMicrosecondArray::from_iter(
        ids.iter()
            .map(|&i| opt(i, 29, micros - (i % 50) * 3_600_000_000)),
    )
    .with_timezone("UTC");
    let all = batch(vec![
        ("id", Arc::new(Int64Array::from(ids.clone()))),
        ("qty", Arc::new(qty)),
        ("price", Arc::new(price)),
        ("name", Arc::new(name)),
        ("city", Arc::new(city)),
        ("day", Arc::new(d)),
        ("ts", Arc::new(ts)),
    ]);
    let mut batches = Vec::new();
    let (mut at, mut size) = (0usize, 50usize);
    while at < all.num_rows() {
        let len = size.min(all.num_rows() - at);
        batches.push(all.slice(at, len));
        at += len;
        size = size * 3 % 257 + 40;
    }
    batches
}

/// Every rule family: dataset metrics, frequencies, statistics, per-row values, CustomSql,
/// references, composites, `where` clauses, and analyzers.
const RULESET: &str = r#"Rules = [
    RowCount between 1000 and 5000,
    ColumnCount = 7,
    ColumnExists "id",
    ColumnNamesMatchPattern "[a-z]+",
    Completeness "qty" > 0.5,
    Completeness "qty" > 0.95 where "city = 'NY'",
    IsComplete "id",
    IsComplete "qty",
    Uniqueness "city" > 0.1,
    Uniqueness "id" = 1.0,
    IsUnique "id",
    IsUnique "name",
    IsPrimaryKey "id",
    IsPrimaryKey "city" "name",
    DistinctValuesCount "city" = 3,
    DistinctValuesCount "name" > 100,
    UniqueValueRatio "name" > 0.1,
    Entropy "city" > 1.0,
    Entropy "name" between 1 and 10 where "qty > 10",
    Mean "qty" between 20 and 40,
    Sum "price" > 1000,
    StandardDeviation "qty" < 30,
    ColumnCorrelation "qty" "price" between -1 and 1,
    ColumnLength "name" <= 6,
    ColumnLength "name" between 1 and 6,
    ColumnValues "qty" > 5,
    ColumnValues "qty" <= 60,
    ColumnValues "price" between 0 and 50 with threshold > 0.4,
    ColumnValues "city" in ["NY", "SF", "LA"],
    ColumnValues "name" matches "[a-z]*" with threshold > 0.5,
    ColumnValues "day" > "2024-05-10" with threshold > 0.5,
    ColumnDataType "name" = "Integer" with threshold <= 0.1,
    DataFreshness "ts" <= 24 hours,
    CustomSql "select count(*) from primary" > 10,
    CustomSql "select count(distinct city) from primary" = 3,
    CustomSql "select avg(qty) + max(price) from primary where city = 'NY'" > 0,
    CustomSql "select id from primary where qty > 10" with threshold > 0.5,
    ReferentialIntegrity "id" "ref.{id}" >= 0.5,
    ReferentialIntegrity "city" "ref.{place}" > 0.3,
    DatasetMatch "ref2" "id" "qty" >= 0.5,
    RowCountMatch "ref2" >= 0.9,
    AggregateMatch "sum(qty)" "sum(ref2.qty)" >= 0.5,
    SchemaMatch "ref2" >= 0.0,
    (RowCount > 10) and (IsComplete "id"),
    (Mean "qty" > 1000) or (IsUnique "id"),
    (ColumnValues "qty" > 100) or (ColumnLength "name" > 100)
]
Analyzers = [
    RowCount,
    Completeness "qty",
    DistinctValuesCount "city",
    Mean "price",
    Entropy "name",
    ColumnLength "name"
]"#;

fn context() -> (tempfile::TempDir, impl Fn() -> DqContext) {
    let dir = tempfile::tempdir().unwrap();
    let r1 = dir.path().join("ref.json");
    let places = ["NY", "SF"];
    let lines: String = (0..2000)
        .map(|i| format!("{{\"id\": {i}, \"place\": \"{}\"}}\n", places[i % 2]))
        .collect();
    std::fs::write(&r1, lines).unwrap();
    let r2 = dir.path().join("ref2.ndjson");
    let lines: String = (0..ROWS)
        .map(|i| {
            format!(
                "{{\"id\": {i}, \"qty\": {}}}\n",
                (i * 7) % 61 + i64::from(i % 3 == 0)
            )
        })
        .collect();
    std::fs::write(&r2, lines).unwrap();
    let ctx = move || {
        DqContext::at(now()).with_references(
            LocalReferenceResolver::new()
                .with("ref", r1.clone())
                .with("ref2", r2.clone()),
        )
    };
    (dir, ctx)
}

/// Results of shards over `groups` of the batches, merged.
fn sharded(
    groups: &[Vec<RecordBatch>],
    schema: &SchemaRef,
    ctx: &dyn Fn() -> DqContext,
) -> DqResults {
    let ruleset = gluepipe_spec::dqdl::parse(RULESET).unwrap();
    let mut merged = DqEngine::new(&ruleset, schema, ctx()).unwrap();
    for group in groups {
        let mut shard = DqEngine::new(&ruleset, schema, ctx()).unwrap();
        for b in group {
            shard.update(b).unwrap();
        }
        let wire = serde_json::to_string(&shard.save()).unwrap();
        let state: PartialState = serde_json::from_str(&wire).unwrap();
        merged.merge(&state).unwrap();
    }
    merged.finish().unwrap()
}

#[test]
fn merged_shards_give_the_results_of_one_pass() {
    let batches = data();
    let schema = batches[0].schema();
    let (_dir, ctx) = context();
    let single = run_with(RULESET, &batches, ctx());
    // The ruleset exercises both outcomes, so equality is not vacuous.
    let outcomes: Vec<Outcome> = single.rule_outcomes.iter().map(|r| r.outcome).collect();
    assert!(outcomes.contains(&Outcome::Passed) && outcomes.contains(&Outcome::Failed));
    assert!(
        !outcomes.contains(&Outcome::Error),
        "{:#?}",
        single.rule_outcomes
    );

    let contiguous = |k: usize| -> Vec<Vec<RecordBatch>> {
        let per = batches.len().div_ceil(k);
        batches.chunks(per).map(<[_]>::to_vec).collect()
    };
    let round_robin = |k: usize| -> Vec<Vec<RecordBatch>> {
        let mut groups = vec![Vec::new(); k];
        for (i, b) in batches.iter().enumerate() {
            groups[i % k].push(b.clone());
        }
        groups
    };
    let mut with_empty = contiguous(3);
    with_empty.insert(1, Vec::new());
    for (name, groups) in [
        ("one shard", contiguous(1)),
        ("two shards", contiguous(2)),
        ("seven shards", contiguous(7)),
        ("interleaved", round_robin(4)),
        ("an empty shard", with_empty),
    ] {
        let merged = sharded(&groups, &schema, &ctx);
        compare_results(&single, &merged).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn merge_refuses_a_state_of_another_ruleset_or_format() {
    let batches = data();
    let schema = batches[0].schema();
    let a = gluepipe_spec::dqdl::parse("Rules = [ RowCount > 1 ]").unwrap();
    let b = gluepipe_spec::dqdl::parse("Rules = [ RowCount > 2 ]").unwrap();
    let mut shard = DqEngine::new(&a, &schema, DqContext::at(now())).unwrap();
    shard.update(&batches[0]).unwrap();
    let mut state = shard.save();
    let mut other = DqEngine::new(&b, &schema, DqContext::at(now())).unwrap();
    let e = other.merge(&state).unwrap_err().to_string();
    assert!(e.contains("another ruleset or schema"), "{e}");
    state.format += 1;
    let mut same = DqEngine::new(&a, &schema, DqContext::at(now())).unwrap();
    let e = same.merge(&state).unwrap_err().to_string();
    assert!(e.contains("format"), "{e}");
}

#[test]
fn a_rule_that_failed_in_one_shard_is_an_error_after_the_merge() {
    let batches = data();
    let schema = batches[0].schema();
    let ruleset =
        gluepipe_spec::dqdl::parse("Rules = [ RowCount > 0, ColumnValues \"qty\" > 0 ]").unwrap();
    let mut merged = DqEngine::new(&ruleset, &schema, DqContext::at(now())).unwrap();
    for (i, group) in batches.chunks(10).enumerate() {
        let mut shard = DqEngine::new(&ruleset, &schema, DqContext::at(now())).unwrap();
        for b in group {
            shard.update(b).unwrap();
        }
        let mut state = shard.save();
        if i == 1 {
            // As a shard whose batch broke the rule would save it.
            state.rules[1] = crate::dq::partial::Saved::Error("disk on fire".into());
        }
        merged.merge(&state).unwrap();
    }
    let results = merged.finish().unwrap();
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Passed);
    let r = &results.rule_outcomes[1];
    assert_eq!(r.outcome, Outcome::Error);
    assert_eq!(r.failure_reason.as_deref(), Some("disk on fire"));
}

#[test]
fn a_reference_one_shard_could_not_read_makes_the_rule_an_error_not_the_merge() {
    let batches = data();
    let schema = batches[0].schema();
    let (_dir, with_refs) = context();
    let rules = "Rules = [ RowCount > 0, ReferentialIntegrity \"id\" \"ref.{id}\" >= 0.5 ]";
    let ruleset = gluepipe_spec::dqdl::parse(rules).unwrap();
    // The merge (and the first shard) read the reference; the second shard could not.
    let mut merged = DqEngine::new(&ruleset, &schema, with_refs()).unwrap();
    for (i, group) in batches.chunks(batches.len() / 2 + 1).enumerate() {
        let ctx = if i == 0 {
            with_refs()
        } else {
            DqContext::at(now())
        };
        let mut shard = DqEngine::new(&ruleset, &schema, ctx).unwrap();
        for b in group {
            shard.update(b).unwrap();
        }
        merged.merge(&shard.save()).unwrap();
    }
    let results = merged.finish().unwrap();
    assert_eq!(results.rule_outcomes[0].outcome, Outcome::Passed);
    let r = &results.rule_outcomes[1];
    assert_eq!(r.outcome, Outcome::Error, "{r:?}");
    assert!(r.failure_reason.is_some());

    // The other way round: a merge that cannot read the reference decides the rule itself.
    let mut merged = DqEngine::new(&ruleset, &schema, DqContext::at(now())).unwrap();
    let mut shard = DqEngine::new(&ruleset, &schema, with_refs()).unwrap();
    shard.update(&batches[0]).unwrap();
    merged.merge(&shard.save()).unwrap();
    let alone = run_with(rules, &batches[..1], DqContext::at(now()));
    compare_results(&alone, &merged.finish().unwrap()).unwrap();
}
