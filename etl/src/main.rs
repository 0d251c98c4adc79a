//! `gluepipe-etl`: the one exit point. Parses the command line, runs the command, and turns
//! the outcome into an exit code (0 ok, 1 runtime error, 2 usage, 3 data quality), printing the
//! error chain once.

use std::process::ExitCode;

use clap::Parser;
use gluepipe_etl::cli::{Cli, Command, LogFormat, SchemaFormat};
use gluepipe_etl::error::{exit, exit_code_for};
use gluepipe_etl::settings::RunSettings;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let log_format = cli.log_format;
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            report(&err, log_format);
            exit_code_for(&err)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => {
            let settings = RunSettings::resolve(&args, cli.log_format, cli.no_progress)?;
            gluepipe_etl::run::run(&settings)?;
            Ok(())
        }
        Command::Schema(args) => {
            let sample = args
                .sample_rows
                .unwrap_or(gluepipe_etl::settings::Tuning::default().sample_rows);
            let columns = gluepipe_etl::run::infer_input_schema(
                &args.input,
                args.endpoint_url.clone(),
                sample,
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
            Ok(())
        }
    }
}

fn report(err: &anyhow::Error, format: LogFormat) {
    match format {
        LogFormat::Text => eprintln!("error: {err:#}"),
        LogFormat::Json => {
            let line = serde_json::json!({ "level": "error", "event": "error", "message": format!("{err:#}") });
            eprintln!("{line}");
        }
    }
}
