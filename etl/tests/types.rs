//! Values and types survive JSON → gluepipe-etl → Parquet → pyarrow, with explicit types (a
//! mapping) and with inferred ones.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn write_lines(path: &std::path::Path, lines: &[Value]) {
    let text: Vec<String> = lines.iter().map(|v| v.to_string()).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

#[test]
fn typed_mapping_round_trips_every_glue_type() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let long = "ü".repeat(100_000);
    write_lines(
        &input,
        &[
            json!({"id": 9223372036854775807i64, "amount": "12.34", "price": 1.7976931348623157e308, "day": "2024-02-29",
                   "ts": "2024-01-01T10:00:00+05:30", "ok": true, "name": "Zoë 日本 🚀", "small": 127,
                   "address": {"city": "Oslo", "geo": {"lat": 59.91}}, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": null}],
                   "attrs": {"color": 1, "size": 2}, "tags": ["x", "y"], "extra": "ignored"}),
            json!({"id": -9223372036854775808i64, "amount": 0.5, "price": 5e-324, "day": "1970-01-01",
                   "ts": "2024-01-01T10:00:00Z", "ok": false, "name": long, "small": -128,
                   "address": null, "items": [], "attrs": {}, "tags": []}),
            json!({"id": 0, "ts": "2024-06-30 23:59:59.123456", "address": {"city": null}, "items": null}),
        ],
    );
    let mapping = dir.path().join("mapping.json");
    std::fs::write(
        &mapping,
        json!([
            {"from": "id", "to": "id", "type": "bigint"},
            {"from": "amount", "to": "amount", "type": "decimal(12,2)"},
            {"from": "price", "to": "price", "type": "double"},
            {"from": "day", "to": "day", "type": "date"},
            {"from": "ts", "to": "ts", "type": "timestamp"},
            {"from": "ok", "to": "ok", "type": "boolean"},
            {"from": "name", "to": "name", "type": "string"},
            {"from": "small", "to": "small", "type": "tinyint"},
            {"from": "address.city", "to": "city", "type": "string"},
            {"from": "address.geo.lat", "to": "lat", "type": "float"},
            {"from": "items", "to": "items", "type": "array<struct<sku:string,qty:int>>"},
            {"from": "attrs", "to": "attrs", "type": "map<string,bigint>"},
            {"from": "tags", "to": "tags", "type": "array<string>"}
        ])
        .to_string(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--mapping",
            p(&mapping),
            "--results",
            p(&results),
        ],
        0,
    );
    assert_eq!(counts(&run_record(&results)), (3, 3, 0, 0));
    let data = read_parquet(&out);
    let schema = &data["schema"];
    let want_types = [
        ("id", "int64"),
        ("amount", "decimal128(12, 2)"),
        ("price", "double"),
        ("day", "date32[day]"),
        ("ts", "timestamp[us, tz=+00:00]"),
        ("ok", "bool"),
        ("name", "string"),
        ("small", "int8"),
        ("city", "string"),
        ("lat", "float"),
        ("items", "list<element: struct<sku: string, qty: int32>>"),
        // pyarrow names a Parquet map's entries after the column: `map<string, int64 ('attrs')>`.
        ("attrs", "map<string, int64"),
        ("tags", "list<element: string>"),
    ];
    for (col, ty) in want_types {
        assert!(
            schema[col].as_str().unwrap().starts_with(ty),
            "type of {col}: {schema}"
        );
    }
    assert_eq!(
        schema.as_object().unwrap().len(),
        want_types.len(),
        "extra fields are dropped"
    );
    let rows = rows_by(&data, "ts");
    // Sorted by timestamp text: 04:30Z, 10:00Z, 2024-06-30.
    let r = &rows[0];
    assert_eq!(r["id"], 9223372036854775807i64);
    assert_eq!(r["amount"], "12.34");
    assert_eq!(r["price"], 1.7976931348623157e308);
    assert_eq!(r["day"], "2024-02-29");
    assert_eq!(
        r["ts"], "2024-01-01T04:30:00+00:00",
        "offsets are converted to UTC"
    );
    assert_eq!(r["name"], "Zoë 日本 🚀");
    assert_eq!(r["small"], 127);
    assert_eq!(r["city"], "Oslo");
    assert!((r["lat"].as_f64().unwrap() - 59.91).abs() < 1e-5);
    assert_eq!(
        r["items"],
        json!([{"sku": "a", "qty": 2}, {"sku": "b", "qty": null}])
    );
    assert_eq!(r["attrs"], json!([["color", 1], ["size", 2]]));
    assert_eq!(r["tags"], json!(["x", "y"]));
    let r = &rows[1];
    assert_eq!(r["id"], -9223372036854775808i64);
    assert_eq!(r["amount"], "0.50");
    assert_eq!(r["price"], 5e-324);
    assert_eq!(r["ts"], "2024-01-01T10:00:00+00:00");
    assert_eq!(r["name"].as_str().unwrap().chars().count(), 100_000);
    assert_eq!(
        r["city"],
        Value::Null,
        "a null parent makes its fields null"
    );
    assert_eq!(r["items"], json!([]));
    assert_eq!(r["attrs"], json!([]));
    let r = &rows[2];
    assert_eq!(
        r["ts"], "2024-06-30T23:59:59.123456+00:00",
        "a timestamp without offset is UTC"
    );
    for col in [
        "amount", "price", "day", "ok", "name", "small", "lat", "items", "tags", "attrs", "city",
    ] {
        assert_eq!(r[col], Value::Null, "missing field {col} is null");
    }
}

#[test]
fn inferred_schema_matches_the_schema_command() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    write_lines(
        &input,
        &[
            json!({"id": 1, "amount": 2, "when": "2024-01-01T00:00:00Z", "day": "2024-01-01", "tags": ["a"], "a": {"b": true}}),
            json!({"id": 2, "amount": 2.5, "when": "2024-01-02", "day": "2024-01-02", "tags": [], "a": null, "late": "x"}),
        ],
    );
    let schema = etl_expect(&["schema", "--input", p(&input)], 0);
    let text = String::from_utf8(schema.stdout).unwrap();
    assert_eq!(
        text,
        // json! writes keys sorted; the schema keeps the order of the file.
        "a\tstruct<b:boolean>\namount\tdouble\nday\tdate\nid\tbigint\ntags\tarray<string>\nwhen\ttimestamp\nlate\tstring\n"
    );
    let json_out = etl_expect(&["schema", "--input", p(&input), "--format", "json"], 0);
    let cols: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(cols[3], json!({"Name": "id", "Type": "bigint"}));

    let out = dir.path().join("out");
    etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--no-progress",
        ],
        0,
    );
    let data = read_parquet(&out);
    assert_eq!(data["schema"]["when"], "timestamp[us, tz=+00:00]");
    assert_eq!(data["schema"]["day"], "date32[day]");
    let rows = rows_by(&data, "id");
    assert_eq!(rows[1]["when"], "2024-01-02T00:00:00+00:00");
    assert_eq!(rows[1]["amount"], 2.5);
    assert_eq!(rows[0]["a"], json!({"b": true}));
}

#[test]
fn every_compression_codec_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let lines: Vec<Value> = (0..500)
        .map(|i| json!({"i": i, "s": format!("row {i}")}))
        .collect();
    write_lines(&input, &lines);
    for (codec, parquet_name) in [
        ("snappy", "SNAPPY"),
        ("zstd", "ZSTD"),
        ("gzip", "GZIP"),
        ("none", "UNCOMPRESSED"),
    ] {
        let out = dir.path().join(codec);
        etl_expect(
            &[
                "run",
                "--input",
                p(&input),
                "--output",
                p(&out),
                "--compression",
                codec,
            ],
            0,
        );
        let data = read_parquet(&out);
        assert_eq!(data["rows"].as_array().unwrap().len(), 500, "{codec}");
        assert_eq!(data["codecs"], json!([parquet_name]), "{codec}");
    }
}

#[test]
fn compressed_inputs_folders_and_globs() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.json"), "{\"i\":1}\n").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"i\":2}\n{\"i\":3}\n").unwrap();
    std::fs::write(src.join("b.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        src.join("sub/c.json.zst"),
        zstd::encode_all(&b"[{\"i\":4},{\"i\":5}]"[..], 3).unwrap(),
    )
    .unwrap();
    std::fs::write(src.join("_SUCCESS"), "").unwrap();

    let out = dir.path().join("all");
    let results = dir.path().join("all.json");
    etl_expect(
        &[
            "run",
            "--input",
            p(&src),
            "--output",
            p(&out),
            "--results",
            p(&results),
        ],
        0,
    );
    let ids: Vec<i64> = rows_by(&read_parquet(&out), "i")
        .iter()
        .map(|r| r["i"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    assert_eq!(run_record(&results)["input_files"], 3);

    let out = dir.path().join("glob");
    let pattern = format!("{}/*.json*", p(&src));
    etl_expect(&["run", "--input", &pattern, "--output", p(&out)], 0);
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 3);
}
