//! Inline SVG charts, drawn here rather than by a charting library: the page must work offline
//! and under a CSP that allows no script, and these three shapes (bars, lines, bounds) are all
//! it needs.

use std::fmt::Write;

use super::escape;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One series of a chart: a value per run (`None`: the run has no value).
pub struct Series<'a> {
    pub name: &'a str,
    /// CSS class giving its colour (see the page's style sheet).
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

fn bounds(series: &[Series<'_>], stacked: bool) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let runs = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    for i in 0..runs {
        let values = series
            .iter()
            .filter_map(|s| s.values.get(i).copied().flatten());
        if stacked {
            hi = hi.max(values.sum());
            lo = 0.0;
        } else {
            for v in values.filter(|v| v.is_finite()) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        // A flat series sits in the middle of the chart, not on its edge.
        let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

struct Frame {
    runs: usize,
    lo: f64,
    hi: f64,
}

impl Frame {
    fn x(&self, i: usize) -> f64 {
        let inner = WIDTH - LEFT - RIGHT;
        if self.runs <= 1 {
            LEFT + inner / 2.0
        } else {
            LEFT + inner * i as f64 / (self.runs - 1) as f64
        }
    }
    fn slot(&self) -> f64 {
        (WIDTH - LEFT - RIGHT) / self.runs.max(1) as f64
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }
}

/// Scales the chart to its series and draws its frame: the `<svg>` element, axes and labels.
fn open(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    stacked: bool,
) -> (Frame, String) {
    let (lo, hi) = bounds(series, stacked);
    let frame = Frame {
        runs: labels.len(),
        lo,
        hi,
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" id="{}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title>{}</title>"#,
        escape(id),
        escape(title)
    );
    let (y_lo, y_hi) = (frame.y(frame.lo), frame.y(frame.hi));
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{y_lo}" x2="{}" y2="{y_lo}"/><line class="axis" x1="{LEFT}" y1="{y_hi}" x2="{LEFT}" y2="{y_lo}"/>"#,
        WIDTH - RIGHT
    );
    let _ = write!(
        out,
        r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
        LEFT - 6.0,
        y_hi + 4.0,
        number(frame.hi),
        LEFT - 6.0,
        y_lo,
        number(frame.lo)
    );
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        let _ = write!(
            out,
            r#"<text class="tick" x="{LEFT}" y="{}">{}</text><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            HEIGHT - 8.0,
            escape(first),
            WIDTH - RIGHT,
            HEIGHT - 8.0,
            escape(last)
        );
    }
    (frame, out)
}

/// Stacked bars, one per run; each segment's tooltip names the run, the series and the value.
pub fn stacked_bars(id: &str, title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (frame, mut out) = open(id, title, labels, series, true);
    let width = (frame.slot() * 0.7).max(1.0);
    for (i, label) in labels.iter().enumerate() {
        let centre = LEFT + frame.slot() * (i as f64 + 0.5);
        let mut base = 0.0;
        for s in series {
            let v = s.values.get(i).copied().flatten().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let (y_top, y_bottom) = (frame.y(base + v), frame.y(base));
            let _ = write!(
                out,
                r#"<rect class="{}" x="{:.1}" y="{y_top:.1}" width="{width:.1}" height="{:.1}"><title>{}: {} {}</title></rect>"#,
                s.class,
                centre - width / 2.0,
                (y_bottom - y_top).max(0.5),
                escape(label),
                number(v),
                escape(s.name)
            );
            base += v;
        }
    }
    out.push_str("</svg>");
    out
}

/// Lines, one per series, with a dot per value; a gap where a run has no value.
pub fn lines(id: &str, title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (frame, mut out) = open(id, title, labels, series, false);
    for s in series {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        frame.x(i),
                        frame.y(v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                out,
                r#"<path class="line {}" d="{}"/>"#,
                s.class,
                path.trim_end()
            );
        }
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                let _ = write!(
                    out,
                    r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3"><title>{}: {} = {}</title></circle>"#,
                    s.class,
                    frame.x(i),
                    frame.y(v),
                    escape(labels.get(i).map_or("", String::as_str)),
                    escape(s.name),
                    number(v)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("run-{i}")).collect()
    }

    #[test]
    fn bars_stack_and_carry_tooltips() {
        let svg = stacked_bars(
            "rows",
            "Rows",
            &labels(2),
            &[
                Series {
                    name: "written",
                    class: "written",
                    values: vec![Some(8.0), Some(10.0)],
                },
                Series {
                    name: "rejected",
                    class: "rejected",
                    values: vec![Some(2.0), None],
                },
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("<title>run-0: 2 rejected</title>"), "{svg}");
        // The tallest stack (10) reaches the top of the plot area.
        assert!(svg.contains(&format!(r#"y="{TOP:.1}""#)), "{svg}");
    }

    #[test]
    fn lines_break_where_a_run_has_no_value_and_escape_names() {
        let svg = lines(
            "m",
            "<m>",
            &labels(3),
            &[Series {
                name: "Column.\"a&b\".Completeness",
                class: "s0",
                values: vec![Some(1.0), None, Some(0.5)],
            }],
        );
        assert_eq!(svg.matches('M').count(), 2, "two pieces: {svg}");
        assert!(svg.contains("&lt;m&gt;"));
        assert!(svg.contains("Column.&quot;a&amp;b&quot;.Completeness"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn a_flat_or_empty_series_still_has_a_scale() {
        assert_eq!(
            bounds(
                &[Series {
                    name: "",
                    class: "",
                    values: vec![Some(5.0), Some(5.0)]
                }],
                false
            ),
            (4.5, 5.5)
        );
        assert_eq!(bounds(&[], false), (0.0, 1.0));
    }
}
