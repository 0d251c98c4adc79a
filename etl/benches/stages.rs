//! Throughput of the pipeline's CPU stages on generated data, one case per data shape (flat,
//! string-heavy, nested), as arrow-rs's `json_reader` bench does: splitting, decoding (arrow-json
//! with our per-record control) and Parquet encoding, each in MB of JSON per second on one core.
//!
//! `cargo bench -p gluepipe-etl --bench stages` (a plain harness: no criterion, to keep the
//! crate's test builds light; each case runs a warm-up and reports the best of five).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use gluepipe_etl::decode::{RecordDecoder, Splitter};
use gluepipe_etl::schema::{InferOptions, infer_schema};
use parquet::arrow::ArrowWriter;

/// `rows` NDJSON records of one shape.
fn generate(shape: &str, rows: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..rows {
        let line = match shape {
            "flat" => format!(
                r#"{{"id":{i},"a":{},"b":{},"c":{},"flag":{},"ratio":{}}}"#,
                i * 7,
                i % 1000,
                i as i64 - 500_000,
                i % 2 == 0,
                i as f64 / 7.0
            ),
            "strings" => format!(
                r#"{{"id":{i},"name":"customer {i} of a long line","city":"City {}","note":"{}","code":"C{:06}"}}"#,
                i % 97,
                "lorem ipsum ".repeat(1 + i % 5),
                i % 100_000
            ),
            _ => format!(
                r#"{{"id":{i},"ts":"2024-01-{:02}T10:{:02}:00+02:00","tags":["a","b{}"],"address":{{"city":"C{}","geo":{{"lat":{},"lon":{}}}}},"items":[{{"sku":"S{}","qty":{},"price":{}}},{{"sku":"T{}","qty":1,"price":2.5}}]}}"#,
                1 + i % 28,
                i % 60,
                i % 9,
                i % 50,
                (i % 90) as f64 / 3.0,
                (i % 180) as f64 / 7.0,
                i % 1000,
                1 + i % 4,
                (i % 300) as f64 / 4.0,
                i % 77
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

fn best_of<F: FnMut()>(mut f: F) -> f64 {
    f();
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let rows = 100_000;
    println!(
        "{:<10}{:>8}{:>14}{:>14}{:>14}{:>17}",
        "shape", "MB", "split MB/s", "decode MB/s", "parquet MB/s", "serde_json MB/s"
    );
    for shape in ["flat", "strings", "nested"] {
        let data = generate(shape, rows);
        let mb = data.len() as f64 / 1e6;
        let schema = Arc::new(infer_schema(
            data.split(|b| *b == b'\n').filter(|l| !l.is_empty()),
            InferOptions { sample_rows: 1000 },
        ));
        let chunks =
            || Splitter::new(&data[..], "bench".into(), 0, 4 << 20).map(|c| c.expect("splits"));
        let split = best_of(|| {
            black_box(chunks().count());
        });
        let all: Vec<_> = chunks().collect();
        let mut decoder = RecordDecoder::new(schema.clone()).expect("decoder");
        let decode = best_of(|| {
            for chunk in &all {
                black_box(decoder.decode(chunk).expect("decodes"));
            }
        });
        let batches: Vec<_> = all
            .iter()
            .map(|c| decoder.decode(c).expect("decodes").batch)
            .collect();
        let encode = best_of(|| {
            let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), None).expect("writer");
            for b in &batches {
                w.write(b).expect("writes");
            }
            black_box(w.into_inner().expect("closes"));
        });
        let serde = best_of(|| {
            for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                black_box(serde_json::from_slice::<serde_json::Value>(line).expect("parses"));
            }
        });
        println!(
            "{shape:<10}{mb:>8.1}{:>14.0}{:>14.0}{:>14.0}{:>17.0}",
            mb / split,
            mb / decode,
            mb / encode,
            mb / serde
        );
    }
}
