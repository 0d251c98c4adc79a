//! `DqdlError`: what went wrong and where (line, column, byte span), printed with the source line
//! and a caret underline.

use std::fmt::{self, Display, Formatter};
use std::ops::Range;

/// A DQDL syntax or validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DqdlError {
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column (in characters) of the span's start.
    pub column: usize,
    /// Byte range in the input.
    pub span: Range<usize>,
    /// Human message, without position.
    pub message: String,
    /// The source line holding the span's start, without its line break.
    pub source_line: String,
}

impl DqdlError {
    /// An error at `span` of `src` (a span past the end is clamped to it). Line breaks quoted
    /// into the message from the input are escaped so the message stays on one line.
    pub fn new(src: &str, span: Range<usize>, message: impl Into<String>) -> DqdlError {
        let message = message.into().replace('\n', "\\n").replace('\r', "\\r");
        let start = clamp_to_char(src, span.start);
        let end = clamp_to_char(src, span.end.max(start));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let source_line = src[line_start..line_end]
            .strip_suffix('\r')
            .unwrap_or(&src[line_start..line_end])
            .to_string();
        DqdlError {
            line: src[..start].matches('\n').count() + 1,
            column: src[line_start..start].chars().count() + 1,
            span: start..end,
            message,
            source_line,
        }
    }

    /// The caret line under [`DqdlError::source_line`]: tabs kept so it lines up, one `^` per
    /// character of the span on that line, at least one.
    pub fn underline(&self) -> String {
        let prefix: String = self
            .source_line
            .chars()
            .take(self.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut width = 0;
        let mut bytes = 0;
        for c in self.source_line.chars().skip(self.column - 1) {
            if bytes >= self.span.len() {
                break;
            }
            bytes += c.len_utf8();
            width += 1;
        }
        format!("{prefix}{}", "^".repeat(width.max(1)))
    }
}

impl DqdlError {
    /// `line L, column C: message` with nothing of the input in it: every quoted piece of the
    /// message that is not DQDL's own vocabulary (a rule type, a keyword, punctuation) becomes
    /// `…`, and the source line is left out. For diagnostics about a ruleset that may be
    /// sensitive; the position still finds the spot.
    pub fn without_input(&self) -> String {
        format!(
            "line {}, column {}: {}",
            self.line,
            self.column,
            elide_quoted(&self.message)
        )
    }
}

/// DQDL words a message may quote without quoting the input.
const VOCABULARY: &[&str] = &[
    "Rules",
    "Analyzers",
    "and",
    "or",
    "of",
    "NULL",
    "in",
    "not",
    "between",
    "with",
    "where",
    "now",
    "last",
    "true",
    "false",
    "days",
    "hours",
    "minutes",
];

fn is_vocabulary(text: &str) -> bool {
    VOCABULARY.contains(&text)
        || super::catalog::RuleType::from_name(text).is_some()
        || text
            .chars()
            .all(|c| c.is_ascii_punctuation() && c != '"' && c != '\'')
}

/// Replaces the content of each `…`, "…" or '…' quote that is not vocabulary by `…`.
fn elide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"', '\'']) {
        let quote = rest[open..].chars().next().unwrap_or('"');
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(quote) {
            Some(close) => {
                let inner = &after[..close];
                out.push(quote);
                out.push_str(if is_vocabulary(inner) { inner } else { "…" });
                out.push(quote);
                rest = &after[close + 1..];
            }
            None => {
                // An unclosed quote: whatever follows may be input.
                out.push(quote);
                out.push('…');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn clamp_to_char(src: &str, mut at: usize) -> usize {
    at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Display for DqdlError {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}\n{}\n{}",
            self.line,
            self.column,
            self.message,
            self.source_line,
            self.underline()
        )
    }
}

impl std::error::Error for DqdlError {}
