//! `--records-path`: records taken from an array inside JSON documents (a GeoJSON
//! FeatureCollection's `features`, an API dump's `data.items`), through the real binary, read
//! back with pyarrow; bad documents and bad elements are named by file and line.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;

/// A pretty-printed FeatureCollection of `names` (population = index × 10 + first).
fn collection(names: &[&str], first: i64) -> String {
    let features: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({
                "type": "Feature",
                "properties": {"name": name, "pop": first + i as i64 * 10},
                "geometry": {"type": "Point", "coordinates": [10.5 + i as f64, 59.9]}
            })
        })
        .collect();
    serde_json::to_string_pretty(
        &serde_json::json!({"type": "FeatureCollection", "features": features}),
    )
    .unwrap()
}

fn run(
    input: &std::path::Path,
    path: &str,
    extra: &[&str],
    code: i32,
) -> (Value, String, std::path::PathBuf) {
    let dir = input.parent().unwrap();
    let out = dir.join(format!(
        "out-{}",
        input.file_name().unwrap().to_string_lossy()
    ));
    let results = dir.join("run.json");
    let mut args = vec![
        "run",
        "--input",
        p(input),
        "--output",
        p(&out),
        "--records-path",
        path,
        "--results",
        p(&results),
    ];
    args.extend_from_slice(extra);
    let run = etl_expect(&args, code);
    (run_record(&results), stderr(&run), out)
}

#[test]
fn a_geojson_feature_collection_gives_one_row_per_feature() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cities.geojson");
    std::fs::write(&input, collection(&["Oslo", "Bergen", "Tromsø"], 1)).unwrap();
    let (record, _, out) = run(&input, "features", &[], 0);
    assert_eq!(counts(&record), (3, 3, 0, 0));
    let data = read_parquet(&out);
    let rows = rows_by(&data, "properties");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["properties"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bergen", "Oslo", "Tromsø"]);
    assert_eq!(rows[1]["properties"]["pop"], 1);
    assert_eq!(
        rows[1]["geometry"]["coordinates"],
        serde_json::json!([10.5, 59.9])
    );
    assert_eq!(rows[1]["type"], "Feature");
    assert_eq!(
        data["schema"]["properties"],
        "struct<name: string, pop: int64>"
    );
}

#[test]
fn concatenated_documents_and_ndjson_lines_each_give_their_elements() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.geojson");
    let text = format!(
        "{}\n{}\n",
        collection(&["a", "b"], 1),
        collection(&["c", "d", "e"], 100)
    );
    std::fs::write(&input, text).unwrap();
    let (record, _, out) = run(&input, "features", &[], 0);
    assert_eq!(counts(&record), (5, 5, 0, 0));
    assert_eq!(read_parquet(&out)["rows"].as_array().unwrap().len(), 5);

    // NDJSON: every line a document, the records two levels down.
    let input = dir.path().join("pages.json");
    std::fs::write(
        &input,
        "{\"data\":{\"items\":[{\"id\":1},{\"id\":2}]},\"next\":\"p2\"}\n\
         {\"data\":{\"items\":[]}}\n\
         {\"data\":{\"items\":[{\"id\":3}]}}\n",
    )
    .unwrap();
    let (record, _, out) = run(&input, "data.items", &[], 0);
    assert_eq!(counts(&record), (3, 3, 0, 0));
    let ids: Vec<i64> = rows_by(&read_parquet(&out), "id")
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn a_document_without_the_path_and_a_bad_element_are_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.json");
    // Lines: 1-4 a good document; 5-6 one without `features`; 7-11 one whose second
    // feature (line 9) has a non-numeric pop, and whose third element (line 10) is no object.
    std::fs::write(
        &input,
        "{\"features\": [\n  {\"pop\": 1},\n  {\"pop\": 2}\n]}\n\
         {\"type\": \"FeatureCollection\",\n \"feature\": []}\n\
         {\"features\": [\n  {\"pop\": 3},\n  {\"pop\": \"many\"},\n  7\n]}\n",
    )
    .unwrap();
    let mapping = dir.path().join("m.json");
    std::fs::write(
        &mapping,
        r#"[{"from": "pop", "to": "pop", "type": "bigint"}]"#,
    )
    .unwrap();
    let (record, _, out) = run(
        &input,
        "features",
        &["--mapping", p(&mapping), "--max-bad-records", "10"],
        0,
    );
    assert_eq!(counts(&record), (6, 3, 3, 0));
    let rejects: Vec<Value> = std::fs::read_to_string(record["rejects_path"].as_str().unwrap())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<(u64, String)> = rejects
        .iter()
        .map(|r| {
            assert!(r["file"].as_str().unwrap().ends_with("mixed.json"), "{r}");
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, 5);
    assert!(
        got[0].1.contains("the document has no `features`"),
        "{got:?}"
    );
    assert_eq!(got[1].0, 9);
    assert_eq!(got[2].0, 10);
    assert!(got[2].1.contains("is a number, not an object"), "{got:?}");
    let pops: Vec<i64> = rows_by(&read_parquet(&out), "pop")
        .iter()
        .map(|r| r["pop"].as_i64().unwrap())
        .collect();
    assert_eq!(pops, [1, 2, 3]);

    // Without a limit the run fails on it, naming file and line; nothing more is published.
    let before = visible_files(&out);
    let (record, err, out) = run(&input, "features", &["--mapping", p(&mapping)], 1);
    assert!(err.contains("mixed.json line 5"), "{err}");
    assert!(err.contains("the document has no `features`"), "{err}");
    assert_eq!(record["status"], "failed");
    assert_eq!(visible_files(&out), before);
}

#[test]
fn an_unsupported_records_path_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, "{\"features\": []}\n").unwrap();
    let out = dir.path().join("out");
    let run = etl_expect(
        &[
            "run",
            "--input",
            p(&input),
            "--output",
            p(&out),
            "--records-path",
            "features[*]",
        ],
        2,
    );
    let err = stderr(&run);
    assert!(err.contains("records_path"), "{err}");
    assert!(err.contains("array indexes"), "{err}");
    assert!(!out.exists());
}
