//! The benchmark's yardstick: how fast `serde_json` alone parses an NDJSON file into
//! `serde_json::Value`s on one core (no Arrow, no Parquet, no I/O beyond one read).
//!
//! `cargo run --release -p gluepipe-etl --example serde_json_baseline -- FILE`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: serde_json_baseline FILE")?;
    let data = std::fs::read(&path)?;
    let started = Instant::now();
    let mut records = 0u64;
    for line in data.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(line)?;
        std::hint::black_box(&value);
        records += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"records\": {records}, \"bytes\": {}, \"seconds\": {secs:.3}, \"mb_per_s\": {:.1}}}",
        data.len(),
        data.len() as f64 / secs / 1e6
    );
    Ok(())
}
