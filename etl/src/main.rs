//! `gluepipe-etl`: the one exit point. Parses the command line, runs the command, and turns
//! the outcome into an exit code (0 ok, 1 runtime error, 2 usage, 3 data quality), printing the
//! error chain once.

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use clap::Parser;
use gluepipe_etl::cli::{Cli, Command, LogFormat, SchemaFormat};
use gluepipe_etl::error::{exit, exit_code_for};
use gluepipe_etl::settings::RunSettings;

/// Says which release this binary is to a provider that cannot run it: the provider scans the
/// file for this marker at plan time (see `gluepipe_spec::version`). `#[used]` keeps it in the
/// binary although nothing reads it at run time.
#[used]
static VERSION_MARKER: &str = gluepipe_spec::etl_version_marker!();

fn main() -> ExitCode {
    tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                gluepipe_etl::reason::record(&e.render().to_string());
            }
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let log_format = cli.log_format;
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            report(&err, log_format);
            exit_code_for(&err)
        }
    }
}

/// Large buffers (input chunks, decoded columns, Parquet pages) come and go on several threads.
/// glibc raises its mmap threshold as they are freed, after which they are carved from the
/// per-thread heaps, which fragment: resident memory then creeps up over a long run (+10 % from
/// 1x to 5x the benchmark input). A fixed threshold keeps every buffer over 256 KiB in its own
/// mapping, returned to the system when freed, and memory flat (+1 %). glibc reads the setting
/// only from the environment at start-up, so the process re-executes itself once with it set
/// (same PID, arguments and streams); if that fails it just runs with the defaults.
fn tune_allocator() {
    const VAR: &str = "MALLOC_MMAP_THRESHOLD_";
    if std::env::var_os(VAR).is_some() || !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    // `exec` returns only if it failed.
    let _ = command.args(args).env(VAR, "262144").exec();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            let settings = RunSettings::resolve(&args, cli.log_format, cli.no_progress)?;
            gluepipe_etl::run::run(&settings)?;
            Ok(ExitCode::from(exit::OK))
        }
        Command::Merge(args) => {
            let settings = RunSettings::resolve_merge(&args, cli.log_format, cli.no_progress)?;
            gluepipe_etl::run::run(&settings)?;
            Ok(ExitCode::from(exit::OK))
        }
        // `dq` commands report their own outcome: 0 valid/passed, 2 invalid, 3 failed.
        Command::Dq(command) => {
            let code = gluepipe_etl::dq::cli::run(command);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(exit::RUNTIME)))
        }
        Command::Runs(args) => {
            print!("{}", gluepipe_etl::run_history::commands::runs(&args)?);
            Ok(ExitCode::from(exit::OK))
        }
        Command::Report(args) => {
            eprintln!("{}", gluepipe_etl::run_history::commands::report(&args)?);
            Ok(ExitCode::from(exit::OK))
        }
        Command::Schema(args) => {
            let sample = args
                .sample_rows
                .unwrap_or(gluepipe_etl::settings::Tuning::default().sample_rows);
            let columns = gluepipe_etl::run::infer_input_schema(
                &args.input,
                args.endpoint_url.clone(),
                sample,
                args.records_path.as_deref(),
            )?;
            match args.format {
                SchemaFormat::Text => {
                    for (name, ty) in &columns {
                        println!("{name}\t{ty}");
                    }
                }
                SchemaFormat::Json => {
                    let list: Vec<_> = columns
                        .iter()
                        .map(|(n, t)| serde_json::json!({ "Name": n, "Type": t }))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
            }
            Ok(ExitCode::from(exit::OK))
        }
    }
}

fn report(err: &anyhow::Error, format: LogFormat) {
    gluepipe_etl::reason::record(&format!("{err:#}"));
    match format {
        LogFormat::Text => eprintln!("error: {err:#}"),
        LogFormat::Json => {
            let line = serde_json::json!({ "level": "error", "event": "error", "message": format!("{err:#}") });
            eprintln!("{line}");
        }
    }
}
