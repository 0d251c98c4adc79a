//! The one-line reason a failed run gives its caller: written, besides stderr, to the file named
//! by `GLUEPIPE_REASON_FILE` when set, so the Glue launcher reports the error itself and not
//! whatever line came last (a usage hint, a progress line).

/// The environment variable naming the reason file.
pub const REASON_FILE_ENV: &str = "GLUEPIPE_REASON_FILE";

/// `message` on one line: its lines joined, clap's "error: " and hints left out.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the reason if the caller asked for it; a failure to write has nowhere to go but the
/// stderr line the caller already gets.
pub fn record(message: &str) {
    if let Some(path) = std::env::var_os(REASON_FILE_ENV).filter(|p| !p.is_empty()) {
        let _ = std::fs::write(path, format!("{}\n", one_line(message)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_one_line_without_hints() {
        let clap = "error: unexpected argument '--ouput' found\n\n  tip: a similar argument exists: '--output'\n\nUsage: gluepipe-etl run <SPEC>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(clap),
            "unexpected argument '--ouput' found tip: a similar argument exists: '--output'"
        );
        assert_eq!(
            one_line("reading s3://a/b: NoSuchKey: gone"),
            "reading s3://a/b: NoSuchKey: gone"
        );
    }
}
