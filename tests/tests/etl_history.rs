//! A target's run history, end to end: every run that ends keeps its record under
//! `<target>/_gluepipe/runs/`, `gluepipe-etl runs` lists them, and `gluepipe-etl report` writes
//! a page that renders in headless Chromium (Debian's chromium, driven by Selenium) with no
//! console errors and its charts drawn — locally and on the emulator's S3.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use gluepipe_tests::Emulator;

const RULES: &str = r#"Rules = [
    IsComplete "id",
    ColumnValues "amount" > 0,
    RowCount > avg(last(2)) * 0.5
]"#;

fn etl(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(gluepipe_tests::bins::etl().unwrap())
        .args(args)
        .arg("--no-progress")
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Four runs into `target`: clean, with a rejected record and a quarantined row, failing its
/// gate (`fail`), and clean again.
fn run_series(dir: &Path, target: &str, env: &[(String, String)]) {
    let rules = dir.join("rules.dqdl");
    std::fs::write(&rules, RULES).unwrap();
    let rules = rules.to_str().unwrap();
    let inputs = [
        (
            "1.json",
            "{\"id\":1,\"amount\":5}\n{\"id\":2,\"amount\":7}\n{\"id\":3,\"amount\":1}\n",
            "quarantine",
        ),
        (
            "2.json",
            "{\"id\":4,\"amount\":2}\n{\"id\":5,\"amount\":-1}\n{not json\n{\"id\":6,\"amount\":3}\n",
            "quarantine",
        ),
        ("3.json", "{\"id\":7,\"amount\":-4}\n", "fail"),
        (
            "4.json",
            "{\"id\":8,\"amount\":9}\n{\"id\":9,\"amount\":4}\n",
            "quarantine",
        ),
    ];
    for (name, body, on_failure) in inputs {
        let input = dir.join(name);
        std::fs::write(&input, body).unwrap();
        let out = etl(
            &[
                "run",
                "--input",
                input.to_str().unwrap(),
                "--output",
                target,
                "--rules",
                rules,
                "--on-dq-failure",
                on_failure,
                "--max-bad-records",
                "5",
            ],
            env,
        );
        if on_failure == "fail" {
            assert_eq!(
                out.status.code(),
                Some(3),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            ok(out, name);
        }
    }
}

fn check_runs_listing(target: &str, env: &[(String, String)]) {
    let listed = ok(
        etl(&["runs", "--target", target, "--format", "json"], env),
        "runs",
    );
    let runs: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["succeeded", "succeeded", "data_quality_failed", "succeeded"],
        "oldest first: {listed}"
    );
    assert_eq!(runs[1]["rows_rejected"], 1, "{listed}");
    assert_eq!(runs[1]["rows_quarantined"], 1, "{listed}");
    assert_eq!(
        runs[2]["rows_written"], 0,
        "a failed gate publishes nothing: {listed}"
    );

    let text = ok(
        etl(&["runs", "--target", target, "--last", "2"], env),
        "runs --last",
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RUN ID"), "{text}");
    assert_eq!(
        lines.len(),
        4,
        "header, two runs, and the note on the rest: {text}"
    );
    assert!(
        lines[1].contains("data_quality_failed") && lines[1].contains("Failed 1/3"),
        "{text}"
    );
    assert!(lines[3].contains("2 earlier run(s) not shown"), "{text}");
}

#[derive(Debug, serde::Deserialize)]
struct Rendered {
    console: Vec<serde_json::Value>,
    charts: Vec<Chart>,
    tables: std::collections::BTreeMap<String, usize>,
    screenshot: Shot,
}

#[derive(Debug, serde::Deserialize)]
struct Chart {
    id: String,
    width: f64,
    height: f64,
    shapes: usize,
    colours: usize,
}

#[derive(Debug, serde::Deserialize)]
struct Shot {
    width: u32,
    height: u32,
    colours: usize,
}

fn render_in_chromium(page: &Path) -> Rendered {
    let shot = page.with_extension("png");
    let out = Command::new(gluepipe_tests::bins::python().unwrap())
        .arg(gluepipe_tests::bins::repo_root().join("tests/browser/check_page.py"))
        .arg(page)
        .arg(&shot)
        .output()
        .unwrap();
    let stdout = ok(
        out,
        "check_page.py (needs chromium and chromium-driver: scripts/bootstrap.sh)",
    );
    assert!(shot.exists(), "no screenshot");
    serde_json::from_str(&stdout).unwrap()
}

fn check_page(page: &Path) {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("http://") && !html.contains("https://"),
        "self-contained: no script, nothing loaded"
    );
    let seen = render_in_chromium(page);
    assert!(
        seen.console.is_empty(),
        "console messages: {:?}",
        seen.console
    );
    let chart = |id: &str| {
        seen.charts
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no chart {id}: {:?}", seen.charts))
    };
    // Rows per run: a bar segment per non-zero count (3 + 3 + 1 + 2 = 9 runs' segments at least).
    let rows = chart("chart-rows");
    assert!(
        rows.shapes >= 6 && rows.width > 300.0 && rows.height > 100.0,
        "{rows:?}"
    );
    let metrics: Vec<&Chart> = seen
        .charts
        .iter()
        .filter(|c| c.id.starts_with("metric-"))
        .collect();
    assert!(
        metrics.len() >= 3,
        "completeness, values, row count: {:?}",
        seen.charts
    );
    for c in seen.charts.iter() {
        assert!(
            c.colours > 2,
            "chart {} renders as an empty box: {c:?}",
            c.id
        );
    }
    assert_eq!(seen.tables["rule-outcomes"], 3, "{:?}", seen.tables);
    assert_eq!(seen.tables["runs"], 4, "{:?}", seen.tables);
    assert_eq!(seen.tables["rejects-sample"], 1, "{:?}", seen.tables);
    assert_eq!(seen.tables["quarantine-sample"], 1, "{:?}", seen.tables);
    assert!(seen.tables["failed-rules"] >= 1, "{:?}", seen.tables);
    assert!(html.contains("{not json"), "the rejected record is shown");
    assert!(
        seen.screenshot.width > 0 && seen.screenshot.height > 0 && seen.screenshot.colours > 10
    );
}

#[test]
fn a_local_targets_history_is_listed_and_its_report_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let target = target.to_str().unwrap();
    run_series(dir.path(), target, &[]);
    let records = std::fs::read_dir(dir.path().join("out/_gluepipe/runs"))
        .unwrap()
        .count();
    assert_eq!(records, 4, "one record per run, the failed one included");
    check_runs_listing(target, &[]);

    let page = dir.path().join("report.html");
    let said = etl(
        &[
            "report",
            "--target",
            target,
            "--out",
            page.to_str().unwrap(),
        ],
        &[],
    );
    let said = String::from_utf8_lossy(&ok_stderr(said)).into_owned();
    assert!(said.contains("4 run(s)"), "{said}");
    check_page(&page);
}

fn ok_stderr(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stderr
}

#[test]
fn the_checker_sees_console_errors_so_their_absence_means_something() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>
<body><svg class="chart" id="c" width="10" height="10"></svg><img src="data:image/png;base64,AAAA"></body></html>"#,
    )
    .unwrap();
    let seen = render_in_chromium(&page);
    assert!(
        !seen.console.is_empty(),
        "a CSP refusal must be seen: {seen:?}"
    );
    assert_eq!(seen.charts[0].colours, 1, "an empty chart is one colour");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_targets_history_is_listed_and_reported_on_the_emulator() {
    let emu = Emulator::start().unwrap();
    let s3 = emu.s3().await;
    s3.create_bucket().bucket("hist").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = emu.env();
    let target = "s3://hist/orders/";
    run_series(dir.path(), target, &env);
    let records = gluepipe_tests::s3::keys(&s3, "hist", "orders/_gluepipe/runs/")
        .await
        .unwrap();
    assert_eq!(records.len(), 4, "{records:?}");
    check_runs_listing(target, &env);

    ok_stderr(etl(
        &[
            "report",
            "--target",
            target,
            "--out",
            "s3://hist/reports/orders.html",
        ],
        &env,
    ));
    let body = s3
        .get_object()
        .bucket("hist")
        .key("reports/orders.html")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let page = dir.path().join("orders.html");
    std::fs::write(&page, body).unwrap();
    check_page(&page);
}
