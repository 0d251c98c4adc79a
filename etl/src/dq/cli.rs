//! The `gluepipe-etl dq …` subcommands, for the binary's command line to embed as
//! `Dq(DqCommand)` and dispatch with [`run`]:
//!
//! - `dq validate FILE` — exit 0 when the ruleset parses; exit 2 with `FILE:LINE:COL: message`
//!   (then the source line and a caret) on stderr when it does not;
//! - `dq parse FILE [--json]` — the parsed ruleset: canonical DQDL, or with `--json`
//!   `{"rules": [{"type": …, "text": …}, …], "analyzers": [...]}`;
//! - `dq check --input PATH --rules FILE [--json] [--reference ALIAS=PATH]… [--results DIR]` —
//!   evaluate only and print the results (text, or Glue-shaped JSON); exit 0 when every rule
//!   passed, 3 when one did not.
//!
//! Exit codes: 0 valid/passed, 1 the command could not run (unreadable input …), 2 invalid
//! ruleset, 3 data-quality failure.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gluepipe_spec::dqdl::{DqdlError, Ruleset, parse, to_json};

use super::history::LocalMetricHistory;
use super::reference::{Dataset, LocalReferenceResolver, open_path};
use super::{DqContext, DqEngine};

/// Exit code: valid ruleset / every rule passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: the command could not run.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: the ruleset is invalid.
pub const EXIT_INVALID: i32 = 2;
/// Exit code: some rule did not pass.
pub const EXIT_FAILED: i32 = 3;

/// `gluepipe-etl dq …`
#[derive(Debug, Subcommand)]
pub enum DqCommand {
    /// Check that a DQDL ruleset is valid (exit 0) or say where it is not (exit 2).
    Validate {
        /// The ruleset file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the parsed ruleset (canonical DQDL, or JSON with --json).
    Parse {
        /// The ruleset file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print `{"rules": [...], "analyzers": [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a ruleset over data and print the results (exit 0 passed, 3 failed).
    Check(CheckArgs),
}

/// Arguments of `dq check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The data: an NDJSON or Parquet file, or a folder of them.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// The DQDL ruleset file.
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Print the results as JSON (Glue's shape) instead of text.
    #[arg(long)]
    pub json: bool,
    /// A reference dataset for ReferentialIntegrity, DatasetMatch, …: `ALIAS=PATH` (repeatable).
    #[arg(long = "reference", value_name = "ALIAS=PATH")]
    pub references: Vec<String>,
    /// Keep metric history here (for dynamic rules and DetectAnomalies) and record this run.
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// The evaluation context: names the history within --results.
    #[arg(long, value_name = "NAME", default_value = "default_context")]
    pub context: String,
}

/// Runs a `dq` subcommand; returns the process exit code.
pub fn run(command: DqCommand) -> i32 {
    match command {
        DqCommand::Validate { file } => validate_file(&file),
        DqCommand::Parse { file, json } => match load(&file) {
            Err(e) => report(&e),
            Ok(ruleset) if json => print_json(&to_json(&ruleset)),
            Ok(ruleset) => {
                println!("{ruleset}");
                EXIT_OK
            }
        },
        DqCommand::Check(args) => check_command(&args),
    }
}

/// A ruleset file that cannot be used.
#[derive(Debug)]
pub enum FileError {
    /// The file cannot be read.
    Read(PathBuf, std::io::Error),
    /// The ruleset is invalid.
    Invalid(PathBuf, DqdlError),
}

impl FileError {
    /// The exit code this error ends a command with.
    pub fn exit_code(&self) -> i32 {
        match self {
            FileError::Read(..) => EXIT_ERROR,
            FileError::Invalid(..) => EXIT_INVALID,
        }
    }
}

impl fmt::Display for FileError {
    /// `FILE: cannot read: …`, or `FILE:LINE:COL: message` then the source line and a caret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Read(p, e) => write!(f, "{}: cannot read: {e}", p.display()),
            FileError::Invalid(p, e) => write!(
                f,
                "{}:{}:{}: {}\n{}\n{}",
                p.display(),
                e.line,
                e.column,
                e.message,
                e.source_line,
                e.underline()
            ),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads and parses a ruleset file.
pub fn load(path: &Path) -> Result<Ruleset, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::Read(path.to_path_buf(), e))?;
    parse(&text).map_err(|e| FileError::Invalid(path.to_path_buf(), e))
}

fn report(e: &FileError) -> i32 {
    eprintln!("{e}");
    e.exit_code()
}

fn print_json(v: &serde_json::Value) -> i32 {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            println!("{s}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("cannot print JSON: {e}");
            EXIT_ERROR
        }
    }
}

/// `dq validate FILE`: 0 when valid, 2 (message on stderr) when not, 1 when unreadable.
pub fn validate_file(path: &Path) -> i32 {
    match load(path) {
        Ok(r) => {
            println!(
                "{}: valid ({} rules, {} analyzers)",
                path.display(),
                r.rules.len(),
                r.analyzers.len()
            );
            EXIT_OK
        }
        Err(e) => report(&e),
    }
}

/// `dq parse FILE --json`: the ruleset as JSON.
pub fn parse_file_json(path: &Path) -> Result<serde_json::Value, FileError> {
    load(path).map(|r| to_json(&r))
}

/// Evaluates the ruleset in `rules_file` over `input` and prints the results; returns 0 when
/// every rule passed, 3 when one did not, 2 for an invalid ruleset and 1 when evaluation failed.
pub fn check(input: Dataset, rules_file: &Path, json: bool, ctx: DqContext) -> i32 {
    let ruleset = match load(rules_file) {
        Ok(r) => r,
        Err(e) => return report(&e),
    };
    let evaluated = (|| {
        let mut engine = DqEngine::new(&ruleset, &input.schema, ctx)?;
        for batch in input.batches {
            engine.update(&batch?)?;
        }
        engine.finish()
    })();
    let results = match evaluated {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dq check: {e}");
            return EXIT_ERROR;
        }
    };
    if json {
        match serde_json::to_value(&results) {
            Ok(v) => {
                if print_json(&v) != EXIT_OK {
                    return EXIT_ERROR;
                }
            }
            Err(e) => {
                eprintln!("cannot print JSON: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        print!("{}", results.summary());
    }
    if results.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

fn check_command(args: &CheckArgs) -> i32 {
    let mut references = LocalReferenceResolver::new();
    for spec in &args.references {
        references = match references.with_spec(spec) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("--reference: {e}");
                return EXIT_ERROR;
            }
        };
    }
    let mut ctx = DqContext::default().with_references(references);
    if let Some(dir) = &args.results {
        ctx = ctx.with_history(LocalMetricHistory::new(dir, &args.context));
    }
    let input = match open_path(&args.input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("--input: {e}");
            return EXIT_ERROR;
        }
    };
    check(input, &args.rules, args.json, ctx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        dq: DqCommand,
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn validate_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(
            dir.path(),
            "good.dqdl",
            "Rules = [ RowCount > 0, (IsComplete \"a\") and (IsUnique \"a\") ]",
        );
        let bad = write(dir.path(), "bad.dqdl", "Rules = [\n  RowCont > 0\n]");
        assert_eq!(validate_file(&good), EXIT_OK);
        assert_eq!(validate_file(&bad), EXIT_INVALID);
        assert_eq!(validate_file(&dir.path().join("missing.dqdl")), EXIT_ERROR);
        let e = load(&bad).unwrap_err();
        let first = e.to_string().lines().next().unwrap().to_string();
        assert!(
            first.starts_with(&format!("{}:2:3: ", bad.display())),
            "{first}"
        );
        let v = parse_file_json(&good).unwrap();
        assert_eq!(v["rules"][0]["type"], "RowCount");
        assert_eq!(v["rules"][1]["type"], "Composite");
        assert_eq!(v["rules"][1]["operator"], "AND");
        assert!(v["analyzers"].as_array().unwrap().is_empty());
    }

    #[test]
    fn check_exit_codes_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let data = write(
            dir.path(),
            "data.json",
            "{\"id\": 1, \"v\": 2}\n{\"id\": 2}\n{\"id\": 3, \"v\": 4}\n",
        );
        let pass = write(
            dir.path(),
            "pass.dqdl",
            "Rules = [ RowCount = 3, IsUnique \"id\" ]",
        );
        let fail = write(dir.path(), "fail.dqdl", "Rules = [ IsComplete \"v\" ]");
        let bad = write(dir.path(), "bad.dqdl", "Rules = [ ]");
        let input = || open_path(&data).unwrap();
        assert_eq!(check(input(), &pass, false, DqContext::default()), EXIT_OK);
        assert_eq!(
            check(input(), &fail, true, DqContext::default()),
            EXIT_FAILED
        );
        assert_eq!(
            check(input(), &bad, true, DqContext::default()),
            EXIT_INVALID
        );

        let results = dir.path().join("results");
        let args = |rules: &Path| {
            Top::try_parse_from([
                "x",
                "check",
                "--input",
                data.to_str().unwrap(),
                "--rules",
                rules.to_str().unwrap(),
                "--json",
                "--results",
                results.to_str().unwrap(),
                "--context",
                "orders",
            ])
            .unwrap()
            .dq
        };
        assert_eq!(run(args(&pass)), EXIT_OK);
        assert_eq!(run(args(&fail)), EXIT_FAILED);
        let history = std::fs::read_to_string(results.join("orders/metric-history.jsonl")).unwrap();
        assert_eq!(history.lines().count(), 2);
        let missing = Top::try_parse_from([
            "x",
            "check",
            "--input",
            "/nonexistent.json",
            "--rules",
            pass.to_str().unwrap(),
        ])
        .unwrap()
        .dq;
        assert_eq!(run(missing), EXIT_ERROR);
    }

    #[test]
    fn subcommands_parse() {
        let v = Top::try_parse_from(["x", "parse", "r.dqdl", "--json"]).unwrap();
        assert!(matches!(v.dq, DqCommand::Parse { json: true, .. }));
        let v = Top::try_parse_from(["x", "validate", "r.dqdl"]).unwrap();
        assert!(matches!(v.dq, DqCommand::Validate { .. }));
        let v = Top::try_parse_from([
            "x",
            "check",
            "--input",
            "d",
            "--rules",
            "r",
            "--reference",
            "ref=x.json",
        ])
        .unwrap();
        let DqCommand::Check(a) = v.dq else {
            panic!("check")
        };
        assert_eq!(a.references, ["ref=x.json"]);
        assert!(Top::try_parse_from(["x", "check", "--input", "d"]).is_err());
    }
}
