//! Installing the provider as users do, for the install and CI-example tests: the built
//! binaries packaged by `scripts/package_release.py` into a provider mirror, and a static HTTPS
//! server (`tests/bench/https_static.py`) to serve it as a network mirror.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bins;

/// The provider's address, as mirrors lay it out.
pub const ADDRESS: &str = "registry.terraform.io/gluepipe/gluepipe";

/// Packages the built provider and ETL as `version` into `out` and adds it to `mirror`,
/// returning the zip in the mirror.
pub fn package(version: &str, out: &Path, mirror: &Path) -> Result<PathBuf> {
    let script = bins::repo_root().join("scripts/package_release.py");
    let status = Command::new(bins::python()?)
        .arg(script)
        .args(["--version", version, "--dev", "--out"])
        .arg(out)
        .arg("--mirror")
        .arg(mirror)
        .arg(format!(
            "--provider=linux_amd64={}",
            bins::provider()?.display()
        ))
        .arg(format!("--etl=linux_amd64={}", bins::etl()?.display()))
        .output()?;
    if !status.status.success() {
        bail!(
            "packaging failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    Ok(mirror.join(ADDRESS).join(format!(
        "terraform-provider-gluepipe_{version}_linux_amd64.zip"
    )))
}

/// The static HTTPS server of `tests/bench/https_static.py`, stopped when dropped.
pub struct HttpsServer {
    child: std::process::Child,
    pub port: u16,
    /// The CA that signed its certificate (trust it with SSL_CERT_FILE / CURL_CA_BUNDLE).
    pub ca: PathBuf,
}

impl HttpsServer {
    pub fn start(root: &Path, work: &Path) -> Result<HttpsServer> {
        let mut child = Command::new(bins::python()?)
            .arg(bins::repo_root().join("tests/bench/https_static.py"))
            .arg(root)
            .arg(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut first = String::new();
        std::io::BufReader::new(stdout).read_line(&mut first)?;
        let mut parts = first.split_whitespace();
        let port = parts.next().context("no port printed")?.parse()?;
        let ca = PathBuf::from(parts.next().context("no CA printed")?);
        Ok(HttpsServer { child, port, ca })
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
