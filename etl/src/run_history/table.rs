//! `gluepipe-etl runs`: a target's run history as a table for people, or JSON lines for tools.

use super::{History, PastRun};

const HEADERS: [&str; 10] = [
    "RUN ID",
    "STARTED",
    "STATUS",
    "SECONDS",
    "INPUTS",
    "ROWS IN",
    "WRITTEN",
    "REJECTED",
    "QUARANTINED",
    "DATA QUALITY",
];

fn cells(run: &PastRun) -> [String; 10] {
    [
        run.run_id.clone(),
        run.started_at.clone(),
        run.status.clone(),
        format!("{:.1}", run.duration_seconds),
        run.input_files.to_string(),
        run.rows_in.to_string(),
        run.rows_written.to_string(),
        run.rows_rejected.to_string(),
        run.rows_quarantined.to_string(),
        run.dq_summary(),
    ]
}

/// The history as aligned columns, oldest run first, with a line on what was left out.
pub fn render(history: &History) -> String {
    let rows: Vec<[String; 10]> = history.runs.iter().map(cells).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let joined: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(joined.join("  ").trim_end());
        out.push('\n');
    };
    line(&HEADERS.map(String::from));
    for row in &rows {
        line(row);
    }
    if history.total > history.runs.len() + history.unreadable.len() {
        out.push_str(&format!(
            "({} earlier run(s) not shown; --last sets how many)\n",
            history.total - history.runs.len() - history.unreadable.len()
        ));
    }
    for (key, why) in &history.unreadable {
        out.push_str(&format!("unreadable run record {key}: {why}\n"));
    }
    out
}

/// One JSON object per run (oldest first): what `--format json` prints.
pub fn json_lines(history: &History) -> String {
    let mut out = String::new();
    for run in &history.runs {
        let line = serde_json::json!({
            "run_id": run.run_id,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "status": run.status,
            "duration_seconds": run.duration_seconds,
            "input_files": run.input_files,
            "rows_in": run.rows_in,
            "rows_written": run.rows_written,
            "rows_rejected": run.rows_rejected,
            "rows_quarantined": run.rows_quarantined,
            "rows_discarded": run.rows_discarded,
            "data_quality": run.data_quality.as_ref().map(|d| d.outcome.as_str()),
            "error": run.error,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn aligns_columns_and_says_what_is_left_out() {
        let history = History {
            runs: vec![
                PastRun {
                    run_id: "r1".into(),
                    started_at: "2026-12-07T09:00:00.000Z".into(),
                    status: "succeeded".into(),
                    rows_in: 10,
                    rows_written: 10,
                    input_files: 2,
                    ..PastRun::default()
                },
                PastRun {
                    run_id: "run-two".into(),
                    status: "data_quality_failed".into(),
                    ..PastRun::default()
                },
            ],
            total: 5,
            unreadable: vec![("s3://b/t/_gluepipe/runs/x.json".into(), "EOF".into())],
        };
        let text = render(&history);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("RUN ID   STARTED"), "{text}");
        assert!(
            lines[1].starts_with("r1       2026-12-07T09:00:00.000Z  succeeded"),
            "{text}"
        );
        assert!(lines[2].contains("data_quality_failed"), "{text}");
        assert_eq!(
            lines[3],
            "(2 earlier run(s) not shown; --last sets how many)"
        );
        assert_eq!(
            lines[4],
            "unreadable run record s3://b/t/_gluepipe/runs/x.json: EOF"
        );
    }
}
