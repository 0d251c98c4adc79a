//! Mapping paths through the real binary: a path that matches nothing is a warning in the
//! summary and the run record (never a silent all-null column); a path spelled in a syntax
//! gluepipe does not support (`a[0]`, `a[*]`, `a..b`) is refused before anything is read.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;

fn mapping(dir: &std::path::Path, json: &str) -> std::path::PathBuf {
    let path = dir.join("mapping.json");
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn a_path_that_matches_no_record_is_a_warning_in_the_summary_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    // `address.city` is there (null in one record); `adress.city` and `zip` are in none;
    // `note` is null in every record, which counts as no value.
    std::fs::write(
        &input,
        "{\"id\":1,\"address\":{\"city\":\"Oslo\"},\"note\":null}\n\
         {\"id\":2,\"address\":{\"city\":null},\"note\":null}\n",
    )
    .unwrap();
    let map = mapping(
        dir.path(),
        r#"[{"from": "id", "to": "id", "type": "bigint"},
            {"from": "address.city", "to": "city", "type": "string"},
            {"from": "adress.city", "to": "city2", "type": "string"},
            {"from": "zip", "to": "zip", "type": "string"},
            {"from": "note", "to": "note", "type": "string"}]"#,
    );
    let out = dir.path().join("out");
    let results = dir.path().join("run.json");
    let run = etl_expect(
        &run_args(
            &input,
            &out,
            &["--mapping", p(&map), "--results", p(&results)],
        ),
        0,
    );
    let record = run_record(&results);
    assert_eq!(
        record["unmatched_mapping_paths"],
        serde_json::json!([
            {"mapping": 2, "from": "adress.city"},
            {"mapping": 3, "from": "zip"},
            {"mapping": 4, "from": "note"}
        ]),
        "{record}"
    );
    let err = stderr(&run);
    assert!(
        err.contains(
            "mapping path(s) matched no value in any record, their columns are all null: \
             mapping[2].from 'adress.city', mapping[3].from 'zip', mapping[4].from 'note'"
        ),
        "{err}"
    );
    // The rows are still written, the unmatched columns null.
    let rows = rows_by(&read_parquet(&out), "id");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["city"], "Oslo");
    assert!(rows[0]["city2"].is_null());
}

#[test]
fn unsupported_path_syntax_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, "{\"items\":[{\"a\":1}]}\n").unwrap();
    for (from, problem) in [
        ("items[0].a", "array indexes"),
        ("items[*]", "array indexes"),
        ("a..b", "empty name"),
        ("a.", "empty name"),
    ] {
        let map = mapping(
            dir.path(),
            &format!(
                r#"[{{"from": "id", "to": "id", "type": "bigint"}},
                    {{"from": "{from}", "to": "x", "type": "string"}}]"#
            ),
        );
        let out = dir.path().join("out");
        let run = etl_expect(&run_args(&input, &out, &["--mapping", p(&map)]), 2);
        let err = stderr(&run);
        assert!(err.contains("mapping[1].from"), "{from}: {err}");
        assert!(err.contains(problem), "{from}: {err}");
        assert!(err.contains("`address.city`"), "{from}: {err}");
        assert!(!out.exists(), "{from}: nothing is written");
    }
}
