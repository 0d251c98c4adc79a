//! `gluepipe-etl report`: one self-contained HTML page of a target's run history — rows per
//! run, each rule's outcome over time, metric trends (with the bounds dynamic rules were held
//! to), the latest failed rules with their reasons, and samples of the latest rejects and
//! quarantined rows.
//!
//! The page has no script and loads nothing: styles are inline, charts are inline SVG, and a
//! Content-Security-Policy says so, so it opens offline, from an S3 bucket or an e-mail. Every
//! value from the data is escaped.

mod charts;
pub mod samples;

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::Result;

use super::{History, PastRun};
use crate::dq::results::Outcome;
use crate::storage::{AwsClients, Store};
use charts::Series;
use samples::Sample;

/// How many metrics get a trend chart (the most a reader can take in; the rest are named).
const MAX_METRIC_CHARTS: usize = 40;

/// Everything the page shows.
pub struct Page<'a> {
    pub target: &'a str,
    pub history: &'a History,
    pub rejects: Option<Sample>,
    pub quarantine: Option<Sample>,
    pub generated_at: String,
}

/// What a report holds, for the command's summary line.
#[derive(Debug)]
pub struct Written {
    pub runs: usize,
    pub charts: usize,
}

/// Reads the target's last `last` runs and their samples, and renders the page.
pub async fn build(
    target: &str,
    last: Option<usize>,
    aws: &AwsClients,
) -> Result<(String, Written)> {
    let location = gluepipe_spec::Location::parse(target)?;
    let store = Store::at(&location, aws).await?;
    let history = super::load(&store, last).await?;
    let latest_with = |pick: fn(&PastRun) -> Option<&str>| {
        history
            .runs
            .iter()
            .rev()
            .find_map(|r| pick(r).map(|p| (r.run_id.clone(), p.to_string())))
    };
    let rejects = match latest_with(|r| r.rejects_path.as_deref()) {
        Some((run, path)) => Some(samples::rejects(&run, &path, aws).await),
        None => None,
    };
    let quarantine = match latest_with(|r| r.quarantine_outputs.first().map(|o| o.path.as_str())) {
        Some((run, path)) => Some(samples::quarantine(&run, &path, aws).await),
        None => None,
    };
    let html = render(&Page {
        target,
        history: &history,
        rejects,
        quarantine,
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let written = summary(&html, history.runs.len());
    Ok((html, written))
}

/// Counts what a rendered page holds (for the command's summary).
fn summary(html: &str, history_runs: usize) -> Written {
    Written {
        runs: history_runs,
        charts: html.matches(r#"<svg class="chart""#).count(),
    }
}

/// HTML-escapes text for element content and attribute values alike.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left;vertical-align:top}
td.num{text-align:right}.raw{font-family:monospace;white-space:pre-wrap;word-break:break-all;max-width:420px}
.status-succeeded,.passed{background:#dafbe1}.status-failed,.failed{background:#ffebe9}
.status-data_quality_failed,.error{background:#fff8c5}.none{background:#f6f8fa;color:#8c959f}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:18px}.note{color:#57606a}
svg.chart{display:block;margin:8px 0;max-width:100%;height:auto;background:#fff}
.axis{stroke:#8c959f}.tick{font-size:10px;fill:#57606a}
path.line{fill:none;stroke-width:2}.s0{stroke:#0969da;fill:#0969da}.s1{stroke:#cf222e;fill:#cf222e}
.s2{stroke:#8250df;fill:#8250df}.bound{stroke:#9a6700;fill:#9a6700;stroke-dasharray:4 3}
rect.written{fill:#2da44e}rect.rejected{fill:#cf222e}rect.quarantined{fill:#bf8700}rect.discarded{fill:#8c959f}
.metrics{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:8px}
.metrics figure{margin:0}.metrics figcaption{font-size:12px;word-break:break-all}
";

/// Renders the page. Pure: the same history gives the same page (but for `generated_at`).
pub fn render(page: &Page<'_>) -> String {
    let runs = &page.history.runs;
    let labels: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let pipeline = runs.last().map_or("", |r| r.pipeline.as_str());
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gluepipe runs: {}</title><style>{STYLE}</style></head><body>
<h1>Run history of {}</h1><p class="note">Target <code>{}</code> · {} of {} run(s) · generated {}</p>"#,
        escape(pipeline),
        escape(if pipeline.is_empty() {
            page.target
        } else {
            pipeline
        }),
        escape(page.target),
        runs.len(),
        page.history.total,
        escape(&page.generated_at)
    );
    if runs.is_empty() {
        out.push_str(r#"<p id="no-runs">This target has no run records yet.</p>"#);
    }
    latest(&mut out, runs.last());
    rows_chart(&mut out, &labels, runs);
    rule_grid(&mut out, runs);
    metric_trends(&mut out, &labels, runs);
    failed_rules(&mut out, runs);
    for (id, title, sample) in [
        ("rejects-sample", "Latest rejected records", &page.rejects),
        (
            "quarantine-sample",
            "Latest quarantined rows",
            &page.quarantine,
        ),
    ] {
        if let Some(sample) = sample {
            sample_table(&mut out, id, title, sample);
        }
    }
    runs_table(&mut out, runs);
    if !page.history.unreadable.is_empty() {
        out.push_str(r#"<h2>Unreadable run records</h2><ul id="unreadable">"#);
        for (key, why) in &page.history.unreadable {
            let _ = write!(
                out,
                "<li><code>{}</code>: {}</li>",
                escape(key),
                escape(why)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</body></html>\n");
    out
}

fn latest(out: &mut String, run: Option<&PastRun>) {
    let Some(run) = run else { return };
    let _ = write!(
        out,
        r#"<h2>Latest run</h2><div class="cards" id="latest"><div class="card status-{}">status<b>{}</b></div>"#,
        escape(&run.status),
        escape(&run.status)
    );
    for (name, value) in [
        ("started", run.started_at.clone()),
        ("seconds", format!("{:.1}", run.duration_seconds)),
        ("inputs", run.input_files.to_string()),
        ("rows in", run.rows_in.to_string()),
        ("written", run.rows_written.to_string()),
        ("rejected", run.rows_rejected.to_string()),
        ("quarantined", run.rows_quarantined.to_string()),
        ("data quality", run.dq_summary()),
    ] {
        let _ = write!(
            out,
            r#"<div class="card">{name}<b>{}</b></div>"#,
            escape(&value)
        );
    }
    out.push_str("</div>");
    if let Some(error) = &run.error {
        let _ = write!(
            out,
            r#"<p id="latest-error"><b>Error:</b> {}</p>"#,
            escape(error)
        );
    }
}

fn rows_chart(out: &mut String, labels: &[String], runs: &[PastRun]) {
    if runs.is_empty() {
        return;
    }
    let series = |name, class, f: fn(&PastRun) -> u64| Series {
        name,
        class,
        values: runs.iter().map(|r| Some(f(r) as f64)).collect(),
    };
    out.push_str("<h2>Rows per run</h2>");
    out.push_str(&charts::stacked_bars(
        "chart-rows",
        "Rows per run: written, rejected, quarantined, discarded",
        labels,
        &[
            series("written", "written", |r| r.rows_written),
            series("rejected", "rejected", |r| r.rows_rejected),
            series("quarantined", "quarantined", |r| r.rows_quarantined),
            series("discarded", "discarded", |r| r.rows_discarded),
        ],
    ));
    out.push_str(&charts::lines(
        "chart-duration",
        "Run duration, seconds",
        labels,
        &[Series {
            name: "seconds",
            class: "s0",
            values: runs.iter().map(|r| Some(r.duration_seconds)).collect(),
        }],
    ));
}

/// Rule texts in the order they first appear across runs.
fn rules_seen(runs: &[PastRun]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for run in runs {
        for rule in run.data_quality.iter().flat_map(|d| &d.rule_outcomes) {
            if !seen.contains(&rule.rule) {
                seen.push(rule.rule.clone());
            }
        }
    }
    seen
}

fn rule_grid(out: &mut String, runs: &[PastRun]) {
    let rules = rules_seen(runs);
    if rules.is_empty() {
        return;
    }
    out.push_str(r#"<h2>Rule outcomes over time</h2><table id="rule-outcomes"><tr><th>rule</th>"#);
    for run in runs {
        let _ = write!(out, "<th>{}</th>", escape(&run.run_id));
    }
    out.push_str("</tr>");
    for rule in &rules {
        let _ = write!(out, r#"<tr><td class="raw">{}</td>"#, escape(rule));
        for run in runs {
            let found = run
                .data_quality
                .iter()
                .flat_map(|d| &d.rule_outcomes)
                .find(|r| &r.rule == rule);
            let (class, mark, tip) = match found {
                None => ("none", "·", "not evaluated".to_string()),
                Some(r) => {
                    let tip = r
                        .failure_reason
                        .clone()
                        .unwrap_or_else(|| r.evaluated_rule.clone());
                    match r.outcome {
                        Outcome::Passed => ("passed", "✓", tip),
                        Outcome::Failed => ("failed", "✗", tip),
                        Outcome::Error => ("error", "!", tip),
                    }
                }
            };
            let _ = write!(
                out,
                r#"<td class="{class}" title="{}">{mark}</td>"#,
                escape(&tip)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// Every metric's value per run, metrics in the order they first appear.
fn metric_values(runs: &[PastRun]) -> Vec<(String, Vec<Option<f64>>)> {
    let mut order: Vec<String> = Vec::new();
    let mut per_run: Vec<BTreeMap<&str, f64>> = Vec::new();
    for run in runs {
        let mut values = BTreeMap::new();
        if let Some(dq) = &run.data_quality {
            let rule_metrics = dq.rule_outcomes.iter().map(|r| &r.evaluated_metrics);
            let analyzer_metrics = dq.analyzer_results.iter().map(|a| &a.evaluated_metrics);
            for metrics in rule_metrics.chain(analyzer_metrics) {
                for (name, v) in metrics {
                    if !order.contains(name) {
                        order.push(name.clone());
                    }
                    values.insert(name.as_str(), *v);
                }
            }
        }
        per_run.push(values);
    }
    order
        .into_iter()
        .map(|name| {
            let values = per_run
                .iter()
                .map(|m| m.get(name.as_str()).copied())
                .collect();
            (name, values)
        })
        .collect()
}

/// The numbers a dynamic rule was held to in one run: those of its evaluated rule (where
/// `avg(last(3))` became `95.2`), outside quoted names.
fn rule_bounds(evaluated_rule: &str) -> Vec<f64> {
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in evaluated_rule.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            unquoted.push(c);
        }
    }
    unquoted
        .split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .filter_map(|t| t.parse::<f64>().ok())
        .collect()
}

fn metric_trends(out: &mut String, labels: &[String], runs: &[PastRun]) {
    let metrics = metric_values(runs);
    if metrics.is_empty() {
        return;
    }
    out.push_str(r#"<h2>Metric trends</h2><div class="metrics" id="metric-trends">"#);
    // A dynamic rule over one metric is drawn with the bounds each run held it to.
    let mut bounds: BTreeMap<String, (String, Vec<Vec<f64>>)> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for rule in run.data_quality.iter().flat_map(|d| &d.rule_outcomes) {
            let dynamic = rule.rule.contains("last(") || rule.rule.starts_with("DetectAnomalies");
            if !dynamic || rule.evaluated_metrics.len() != 1 {
                continue;
            }
            if let Some(metric) = rule.evaluated_metrics.keys().next() {
                let entry = bounds
                    .entry(metric.clone())
                    .or_insert_with(|| (rule.rule.clone(), vec![Vec::new(); runs.len()]));
                entry.1[i] = rule_bounds(&rule.evaluated_rule);
            }
        }
    }
    for (n, (name, values)) in metrics.iter().take(MAX_METRIC_CHARTS).enumerate() {
        let mut series = vec![Series {
            name,
            class: "s0",
            values: values.clone(),
        }];
        let mut caption = escape(name);
        if let Some((rule, per_run)) = bounds.get(name) {
            let most = per_run.iter().map(Vec::len).max().unwrap_or(0);
            for b in 0..most.min(2) {
                series.push(Series {
                    name: if b == 0 { "bound" } else { "upper bound" },
                    class: "bound",
                    values: per_run.iter().map(|v| v.get(b).copied()).collect(),
                });
            }
            let _ = write!(caption, r#"<br><span class="note">{}</span>"#, escape(rule));
        }
        let _ = write!(
            out,
            "<figure>{}<figcaption>{caption}</figcaption></figure>",
            charts::lines(&format!("metric-{n}"), name, labels, &series)
        );
    }
    out.push_str("</div>");
    if metrics.len() > MAX_METRIC_CHARTS {
        let rest: Vec<String> = metrics[MAX_METRIC_CHARTS..]
            .iter()
            .map(|(n, _)| escape(n))
            .collect();
        let _ = write!(
            out,
            r#"<p class="note">Not charted ({}): {}</p>"#,
            rest.len(),
            rest.join(", ")
        );
    }
}

fn failed_rules(out: &mut String, runs: &[PastRun]) {
    let Some((run, failed)) = runs.iter().rev().find_map(|run| {
        let failed: Vec<_> = run
            .data_quality
            .iter()
            .flat_map(|d| &d.rule_outcomes)
            .filter(|r| r.outcome != Outcome::Passed)
            .collect();
        (!failed.is_empty()).then_some((run, failed))
    }) else {
        return;
    };
    let _ = write!(
        out,
        r#"<h2>Latest failed rules</h2><p class="note">Run {} ({})</p><table id="failed-rules"><tr><th>rule</th><th>outcome</th><th>reason</th><th>evaluated as</th></tr>"#,
        escape(&run.run_id),
        escape(&run.started_at)
    );
    for r in failed {
        let _ = write!(
            out,
            r#"<tr><td class="raw">{}</td><td class="{}">{}</td><td>{}</td><td class="raw">{}</td></tr>"#,
            escape(&r.rule),
            if r.outcome == Outcome::Error {
                "error"
            } else {
                "failed"
            },
            r.outcome,
            escape(r.failure_reason.as_deref().unwrap_or("")),
            escape(&r.evaluated_rule)
        );
    }
    out.push_str("</table>");
}

fn sample_table(out: &mut String, id: &str, title: &str, sample: &Sample) {
    let _ = write!(
        out,
        r#"<h2>{}</h2><p class="note">Run {} · <code>{}</code>{}</p>"#,
        escape(title),
        escape(&sample.run_id),
        escape(&sample.source),
        sample
            .note
            .as_ref()
            .map(|n| format!(" · {}", escape(n)))
            .unwrap_or_default()
    );
    if sample.rows.is_empty() {
        return;
    }
    let _ = write!(out, r#"<table id="{id}"><tr>"#);
    for c in &sample.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr>");
    for row in &sample.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, r#"<td class="raw">{}</td>"#, escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn runs_table(out: &mut String, runs: &[PastRun]) {
    if runs.is_empty() {
        return;
    }
    out.push_str(
        r#"<h2>Runs</h2><table id="runs"><tr><th>run</th><th>started</th><th>status</th><th>seconds</th><th>inputs</th><th>rows in</th><th>written</th><th>rejected</th><th>quarantined</th><th>data quality</th><th>error</th></tr>"#,
    );
    for run in runs.iter().rev() {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td class="status-{}">{}</td><td class="num">{:.1}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td><td class="raw">{}</td></tr>"#,
            escape(&run.run_id),
            escape(&run.started_at),
            escape(&run.status),
            escape(&run.status),
            run.duration_seconds,
            run.input_files,
            run.rows_in,
            run.rows_written,
            run.rows_rejected,
            run.rows_quarantined,
            escape(&run.dq_summary()),
            escape(run.error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dq::results::{DqResults, RuleResult};

    fn run(id: &str, completeness: f64, outcome: Outcome, bound: f64) -> PastRun {
        let rule = |text: &str, evaluated: String, metric: &str, v: f64, o: Outcome| RuleResult {
            rule: text.into(),
            outcome: o,
            failure_reason: (o != Outcome::Passed).then(|| format!("Value: {v} <script>")),
            evaluated_metrics: [(metric.to_string(), v)].into(),
            evaluated_rule: evaluated,
        };
        PastRun {
            run_id: id.into(),
            pipeline: "orders".into(),
            status: "succeeded".into(),
            rows_in: 10,
            rows_written: 9,
            rows_rejected: 1,
            data_quality: Some(DqResults::new(
                10,
                vec![
                    rule(
                        "IsComplete \"id\"",
                        "IsComplete \"id\"".into(),
                        "Column.id.Completeness",
                        completeness,
                        outcome,
                    ),
                    rule(
                        "RowCount > avg(last(3))",
                        format!("RowCount > {bound}"),
                        "Dataset.*.RowCount",
                        10.0,
                        Outcome::Passed,
                    ),
                ],
                vec![],
            )),
            ..PastRun::default()
        }
    }

    #[test]
    fn the_page_holds_every_section_escaped() {
        let history = History {
            runs: vec![
                run("r1", 1.0, Outcome::Passed, 8.0),
                run("r2", 0.5, Outcome::Failed, 9.5),
            ],
            total: 2,
            unreadable: vec![],
        };
        let html = render(&Page {
            target: "s3://b/t/",
            history: &history,
            rejects: None,
            quarantine: None,
            generated_at: "now".into(),
        });
        for id in [
            "chart-rows",
            "chart-duration",
            "rule-outcomes",
            "metric-trends",
            "failed-rules",
            "runs",
        ] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "no {id}");
        }
        assert!(!html.contains("<script"), "data must be escaped");
        assert!(html.contains("Value: 0.5 &lt;script&gt;"));
        // The dynamic rule's bound is drawn beside its metric.
        assert!(html.contains("bound = 9.5"), "{html}");
        assert_eq!(summary(&html, 2).charts, 4, "rows, duration, two metrics");
    }

    #[test]
    fn bounds_are_the_numbers_outside_quoted_names() {
        assert_eq!(rule_bounds("RowCount between 90.5 and 110"), [90.5, 110.0]);
        assert_eq!(rule_bounds("ColumnValues \"col2\" > -1.5e3"), [-1500.0]);
    }
}
