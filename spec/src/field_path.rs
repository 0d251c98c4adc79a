//! Field paths: how a mapping's `from`, a DQ rule's column and `records_path` name a field
//! nested inside objects. One spelling everywhere, as Glue's ApplyMapping and Spark read it:
//! names joined by dots (`address.geo.lat`), a name that itself holds dots quoted in backticks
//! (`` `a.b`.c ``). Array indexes and wildcards (`a[0]`, `a[*]`) and empty names (`a..b`, `a.`)
//! are not paths; they are refused with what is supported, so a typo never reads as a column
//! that is silently all null.

/// What a path may look like, for error messages.
pub const SUPPORTED: &str = "a field name or a dotted path into nested objects, such as \
     `address.city` (quote a name that holds dots in backticks: `` `a.b`.c ``); array indexes \
     and wildcards such as `a[0]` or `a[*]` are not supported";

/// Why a text is not a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{path}' is not a field path: {problem}; use {SUPPORTED}")]
pub struct PathError {
    pub path: String,
    pub problem: String,
}

/// Splits `path` into its field names.
pub fn parse(path: &str) -> Result<Vec<String>, PathError> {
    let fail = |problem: &str| PathError {
        path: path.to_string(),
        problem: problem.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = path;
    loop {
        let (segment, after) = if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted.find('`').ok_or_else(|| fail("a ` is not closed"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let segment = &rest[..end];
            if segment.contains('[') || segment.contains(']') {
                return Err(fail("array indexes and wildcards are not supported"));
            }
            if segment.contains('`') {
                return Err(fail("a ` may only quote a whole name"));
            }
            (segment, &rest[end..])
        };
        if segment.trim().is_empty() {
            return Err(fail(if path.trim().is_empty() {
                "it is empty"
            } else {
                "it has an empty name (two dots in a row, or a dot at either end)"
            }));
        }
        out.push(segment.to_string());
        if after.is_empty() {
            return Ok(out);
        }
        rest = after
            .strip_prefix('.')
            .ok_or_else(|| fail("a quoted name must be followed by '.' or end the path"))?;
        if rest.is_empty() {
            return Err(fail(
                "it has an empty name (two dots in a row, or a dot at either end)",
            ));
        }
    }
}

/// The path text for `segments`, quoting names that hold dots or brackets (the inverse of
/// [`parse`]).
pub fn join(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            if s.contains(['.', '[', ']']) {
                format!("`{s}`")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_dotted_and_quoted_names() {
        let cases: &[(&str, &[&str])] = &[
            ("a", &["a"]),
            ("a.b.c", &["a", "b", "c"]),
            ("`a.b`.c", &["a.b", "c"]),
            ("x.`y.z`", &["x", "y.z"]),
            ("`a[0]`", &["a[0]"]),
        ];
        for (input, want) in cases {
            let got = parse(input).unwrap();
            assert_eq!(got, *want, "{input}");
            assert_eq!(parse(&join(&got)).unwrap(), got, "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_path_and_says_what_is() {
        for (bad, problem) in [
            ("", "empty"),
            ("  ", "empty"),
            ("a..b", "empty name"),
            ("a.", "empty name"),
            (".a", "empty name"),
            ("a[0]", "array indexes"),
            ("a[*].b", "array indexes"),
            ("features[*]", "array indexes"),
            ("`a", "not closed"),
            ("`a`b", "followed by '.'"),
            ("a`b`", "whole name"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(problem), "{bad}: {e}");
            assert!(e.contains("`address.city`"), "{bad}: {e}");
        }
    }
}
