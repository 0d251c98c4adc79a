//! The `runs` and `report` commands: read a target's history and show it.

use anyhow::{Context, Result};
use gluepipe_spec::Location;

use crate::cli::{ReportArgs, RunsArgs, SchemaFormat};
use crate::storage::{AwsClients, AwsOptions, Store};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the I/O runtime")
}

/// `gluepipe-etl runs`: the history as text (or JSON lines) for stdout.
pub fn runs(args: &RunsArgs) -> Result<String> {
    let aws = AwsClients::new(AwsOptions::with_endpoint(args.endpoint_url.clone()));
    let location = Location::parse(&args.target)?;
    runtime()?.block_on(async {
        let store = Store::at(&location, &aws).await?;
        let history = super::load(&store, Some(args.last)).await?;
        Ok(match args.format {
            SchemaFormat::Text => super::table::render(&history),
            SchemaFormat::Json => super::table::json_lines(&history),
        })
    })
}

/// `gluepipe-etl report`: writes the page; returns the line that says what it holds.
pub fn report(args: &ReportArgs) -> Result<String> {
    let aws = AwsClients::new(AwsOptions::with_endpoint(args.endpoint_url.clone()));
    runtime()?.block_on(async {
        let (html, written) = super::report::build(&args.target, Some(args.last), &aws).await?;
        let (store, name) = Store::for_object(&args.out, &aws).await?;
        store
            .put_bytes(&name, html.into_bytes())
            .await
            .with_context(|| format!("writing the report to {}", args.out))?;
        Ok(format!(
            "report: {} run(s), {} chart(s) written to {}",
            written.runs, written.charts, args.out
        ))
    })
}
