//! [`Terraform`]: the real Terraform CLI (v1.0.3) in a temporary working directory, using the
//! provider we just built through `dev_overrides`, offline.
//!
//! Offline rules (see shared/reference/aws-emulator.md): `CHECKPOINT_DISABLE=1` always; never
//! `terraform init` with dev overrides (it would ask the registry); local modules are installed
//! with `terraform get`, which is offline.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Emulator, bins};

/// The provider's source address, as configurations name it: `source = "gluepipe/gluepipe"`.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/gluepipe/gluepipe";

pub struct Terraform {
    dir: tempfile::TempDir,
    cli_config: PathBuf,
    env: Vec<(String, String)>,
    /// The configuration directory, relative to the temporary root.
    work: PathBuf,
}

/// The result of one CLI run.
#[derive(Debug, Clone)]
pub struct TfOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    /// Fails with both streams when the command did not exit 0.
    pub fn ok(&self) -> Result<&Self> {
        if self.code != 0 {
            bail!(
                "terraform exited {}\n--- stdout\n{}\n--- stderr\n{}",
                self.code,
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }
}

impl Terraform {
    /// A working directory whose provider talks to `emulator`.
    pub fn new(emulator: &Emulator) -> Result<Terraform> {
        Terraform::with_env(emulator.env())
    }

    /// A working directory for plans that need no AWS answer (no emulator): a region and fake
    /// credentials, so the provider configures, and `extra`.
    pub fn offline(extra: Vec<(String, String)>) -> Result<Terraform> {
        let mut env: Vec<(String, String)> = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        env.extend(extra);
        Terraform::with_env(env)
    }

    /// A working directory with the given extra environment (no emulator needed).
    pub fn with_env(env: Vec<(String, String)>) -> Result<Terraform> {
        let dir = tempfile::Builder::new().prefix("gluepipe-tf-").tempdir()?;
        let provider_dir = bins::provider()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| dir.path().join("no-provider-built"));
        let cli_config = dir.path().join(".terraformrc");
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display()
            ),
        )?;
        std::fs::create_dir_all(dir.path().join("work"))?;
        Ok(Terraform {
            dir,
            cli_config,
            env,
            work: PathBuf::from("work"),
        })
    }

    /// A copy of the repository's `examples/` and `modules/` in a temporary root, working in
    /// `config` (e.g. `examples/quickstart`), so relative module sources resolve and nothing is
    /// written into the repository.
    pub fn from_repo(env: Vec<(String, String)>, config: &str) -> Result<Terraform> {
        let mut tf = Terraform::with_env(env)?;
        let root = bins::repo_root();
        for folder in ["examples", "modules"] {
            copy_tree(&root.join(folder), &tf.dir.path().join(folder))?;
        }
        // A folder the repository lacks is created, for configurations a test writes itself.
        tf.work = PathBuf::from(config);
        std::fs::create_dir_all(tf.path())?;
        Ok(tf)
    }

    /// Replaces the CLI configuration (by default `dev_overrides` of the built provider), e.g.
    /// with a `provider_installation` block naming a mirror, for `terraform init`.
    pub fn set_cli_config(&self, text: &str) -> Result<()> {
        std::fs::write(&self.cli_config, text)
            .with_context(|| format!("writing {}", self.cli_config.display()))
    }

    /// The configuration directory (`terraform` runs here).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.work)
    }

    /// Writes a file (e.g. `main.tf`) into the configuration directory.
    pub fn write(&self, name: &str, contents: &str) -> Result<()> {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
    }

    /// Runs `terraform ARGS…` in the configuration directory.
    pub fn run(&self, args: &[&str]) -> Result<TfOutput> {
        let terraform = bins::terraform()?;
        let output = Command::new(&terraform)
            .args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env_remove("TF_LOG")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .with_context(|| format!("running {} {}", terraform.display(), args.join(" ")))?;
        Ok(TfOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

impl Terraform {
    /// The command [`Terraform::run`] would run, to start it in the background (and signal or
    /// kill it); the caller adds `TF_LOG` or the like.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        let terraform = bins::terraform()?;
        let mut command = Command::new(&terraform);
        command
            .args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env_remove("TF_LOG")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Ok(command)
    }
}

/// Copies a folder recursively, leaving out Terraform's working data and state.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == ".terraform"
            || name_str.ends_with(".tfstate")
            || name_str.ends_with(".tfstate.backup")
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
