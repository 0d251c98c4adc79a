//! Data-quality overhead on a conversion-like workload: NDJSON decoded to Arrow batches and
//! written as Parquet (to a sink), alone and with ten typical DQDL rules evaluated in the same
//! pass.
//!
//! ```sh
//! cargo run --release -p gluepipe-etl --example dq_bench -- [ROWS] [BATCH_ROWS] [REPEATS]
//! ```
//!
//! Defaults: 1,000,000 rows, 8,192-row batches, 3 repeats (the median is reported). The data is
//! synthetic orders: a unique id, a customer (2 % null), one of four statuses, a quantity and a
//! price (1 % null each), a country code and a timestamp.
//!
//! `DQ_BENCH_PER_RULE=1` also times each rule on its own; `DQ_BENCH_PROFILE=1` runs only the
//! rules, REPEATS times over the same decoded batches (for `perf record`).
//!
//! The real pipeline (`gluepipe-etl run`, multi-threaded decode, Snappy, files on disk) converts
//! more slowly than this single-threaded decode into a sink, so the overhead it reports is the
//! pessimistic one; compare `gluepipe-etl run --rules` with and without rules for the figure
//! that counts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::json::ReaderBuilder;
use arrow::record_batch::RecordBatch;
use gluepipe_etl::dq::{DqContext, DqEngine};
use parquet::arrow::ArrowWriter;

const RULES: &str = r#"Rules = [
    RowCount > 0,
    IsComplete "order_id",
    IsUnique "order_id",
    Completeness "customer" > 0.95,
    ColumnValues "status" in ["new", "paid", "shipped", "cancelled"],
    ColumnValues "qty" between -1 and 1000 with threshold > 0.98,
    Mean "price" between 1 and 1000,
    ColumnLength "customer" <= 16,
    DistinctValuesCount "country" <= 50,
    CustomSql "select count(*) from primary where price < 0" = 0
]"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(match std::env::args().nth(i) {
            Some(s) => s.parse()?,
            None => default,
        })
    };
    let rows = arg(1, 1_000_000)?;
    let batch_rows = arg(2, 8192)?;
    let repeats = arg(3, 3)?.max(1);

    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("qty", DataType::Int64, true),
        Field::new("price", DataType::Float64, true),
        Field::new("country", DataType::Utf8, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
    ]));
    let ndjson = generate(rows);
    println!(
        "dq_bench: {rows} rows, {:.1} MB of NDJSON, {batch_rows}-row batches, median of {repeats}",
        ndjson.len() as f64 / 1e6
    );
    let ruleset = gluepipe_spec::dqdl::parse(RULES)?;
    if std::env::var_os("DQ_BENCH_PROFILE").is_some() {
        // Only the rules, many times over the same decoded batches: a clean profile of the DQ code.
        let batches = decode_all(&ndjson, &schema, batch_rows)?;
        let start = Instant::now();
        for _ in 0..repeats {
            let mut engine = DqEngine::new(&ruleset, &schema, DqContext::default())?;
            for b in &batches {
                engine.update(b)?;
            }
            engine.finish()?;
        }
        println!(
            "DQ rules alone: {:.3} s per pass",
            start.elapsed().as_secs_f64() / repeats as f64
        );
        return Ok(());
    }

    let mut alone = Vec::new();
    let mut with_dq = Vec::new();
    let mut dq_only = Vec::new();
    let mut state_bytes = 0;
    for _ in 0..repeats {
        alone.push(convert(&ndjson, &schema, batch_rows, None)?.0);
        let engine = DqEngine::new(&ruleset, &schema, DqContext::default())?;
        let (elapsed, engine) = convert(&ndjson, &schema, batch_rows, Some(engine))?;
        with_dq.push(elapsed);
        if let Some(engine) = engine {
            state_bytes = engine.state_bytes();
            let results = engine.finish()?;
            assert!(
                results.passed(),
                "the synthetic data passes every rule: {}",
                results.summary()
            );
        }
        // The rules alone, over batches decoded beforehand.
        let batches = decode_all(&ndjson, &schema, batch_rows)?;
        let mut engine = DqEngine::new(&ruleset, &schema, DqContext::default())?;
        let start = Instant::now();
        for b in &batches {
            engine.update(b)?;
        }
        engine.finish()?;
        dq_only.push(start.elapsed());
    }
    let (a, w, d) = (
        median(&mut alone),
        median(&mut with_dq),
        median(&mut dq_only),
    );
    if std::env::var_os("DQ_BENCH_PER_RULE").is_some() {
        per_rule(&ndjson, &schema, batch_rows)?;
    }
    let rate = |t: Duration| rows as f64 / t.as_secs_f64() / 1e6;
    println!(
        "conversion alone (decode + Parquet): {:>8.3} s  {:>6.2} M rows/s",
        a.as_secs_f64(),
        rate(a)
    );
    println!(
        "conversion + 10 DQ rules:            {:>8.3} s  {:>6.2} M rows/s",
        w.as_secs_f64(),
        rate(w)
    );
    println!(
        "DQ rules alone (decoded batches):    {:>8.3} s  {:>6.2} M rows/s",
        d.as_secs_f64(),
        rate(d)
    );
    println!(
        "overhead: {:+.1} % of the conversion's wall time (target: at most +25 %)",
        (w.as_secs_f64() / a.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "distinct-value state after the run: {:.1} MB ({:.1} bytes per distinct order_id)",
        state_bytes as f64 / 1e6,
        state_bytes as f64 / rows as f64
    );
    Ok(())
}

/// Each rule on its own over decoded batches (set `DQ_BENCH_PER_RULE=1`).
fn per_rule(
    ndjson: &[u8],
    schema: &SchemaRef,
    batch_rows: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let batches = decode_all(ndjson, schema, batch_rows)?;
    let lines = RULES
        .lines()
        .filter(|l| l.starts_with("    "))
        .map(|l| l.trim().trim_end_matches(','));
    for rule in lines {
        let ruleset = gluepipe_spec::dqdl::parse(&format!("Rules = [ {rule} ]"))?;
        let mut engine = DqEngine::new(&ruleset, schema, DqContext::default())?;
        let start = Instant::now();
        for b in &batches {
            engine.update(b)?;
        }
        engine.finish()?;
        println!("  {:>7.1} ms  {rule}", start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Decodes `ndjson` batch by batch, optionally evaluating `engine` on each batch, and writes
/// Parquet to a sink.
fn convert(
    ndjson: &[u8],
    schema: &SchemaRef,
    batch_rows: usize,
    mut engine: Option<DqEngine>,
) -> Result<(Duration, Option<DqEngine>), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let reader = ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_rows)
        .build(ndjson)?;
    let mut writer = ArrowWriter::try_new(std::io::sink(), schema.clone(), None)?;
    for batch in reader {
        let batch = batch?;
        if let Some(e) = engine.as_mut() {
            e.update(&batch)?;
        }
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok((start.elapsed(), engine))
}

fn decode_all(
    ndjson: &[u8],
    schema: &SchemaRef,
    batch_rows: usize,
) -> Result<Vec<RecordBatch>, Box<dyn std::error::Error>> {
    let reader = ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_rows)
        .build(ndjson)?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

/// Synthetic orders as NDJSON (a fixed linear congruential generator, so runs are comparable).
fn generate(rows: usize) -> Vec<u8> {
    use std::fmt::Write;
    const STATUS: [&str; 4] = ["new", "paid", "shipped", "cancelled"];
    const COUNTRY: [&str; 8] = ["DE", "FR", "PL", "US", "JP", "BR", "IN", "NL"];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut out = String::with_capacity(rows * 170);
    for i in 0..rows {
        let r = next();
        let customer = if r % 50 == 0 {
            "null".to_string()
        } else {
            format!("\"cust-{}\"", next() % 1_000_000)
        };
        let qty = if r % 100 == 1 {
            "null".to_string()
        } else {
            (next() % 500).to_string()
        };
        let price = if r % 100 == 2 {
            "null".to_string()
        } else {
            format!("{:.2}", 1.0 + (next() % 99_900) as f64 / 100.0)
        };
        let _ = writeln!(
            out,
            "{{\"order_id\":{},\"customer\":{customer},\"status\":\"{}\",\"qty\":{qty},\"price\":{price},\
             \"country\":\"{}\",\"created_at\":\"2024-0{}-1{}T{:02}:{:02}:{:02}\"}}",
            10_000_000 + i,
            STATUS[(next() % 4) as usize],
            COUNTRY[(next() % 8) as usize],
            1 + next() % 9,
            next() % 10,
            next() % 24,
            next() % 60,
            next() % 60,
        );
    }
    out.into_bytes()
}
