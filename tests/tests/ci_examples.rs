//! `examples/ci/`: the GitHub Actions and Azure Pipelines workflows parse, and every step they
//! mark "Check: …" (the steps that need no cloud account) runs here as the CI service would run
//! it: bash, the workflow's variables, the provider installed from an HTTPS network mirror of
//! the packaged build, gluepipe-etl from the release tarball, and what a step exports
//! (`$GITHUB_ENV`, `$GITHUB_PATH`, `##vso[...]`) passed on to the next steps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use gluepipe_tests::bins;
use gluepipe_tests::install::{HttpsServer, package};
use gluepipe_tests::terraform::copy_tree;

/// `(name, script)` of every step of `workflow`, in order, read with PyYAML.
fn steps(workflow: &Path) -> Result<Vec<(String, String)>> {
    let code = r#"
import json, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
steps = doc["jobs"]["deploy"]["steps"] if "jobs" in doc else doc["steps"]
out = []
for s in steps:
    name = s.get("name") or s.get("displayName") or s.get("uses") or s.get("task") or ""
    out.append([name, s.get("run") or s.get("bash") or ""])
print(json.dumps(out))
"#;
    let out = Command::new(bins::python()?)
        .args(["-c", code])
        .arg(workflow)
        .output()?;
    if !out.status.success() {
        bail!(
            "{} does not parse: {}",
            workflow.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Runs the workflow's "Check:" steps in `root` (a copy of the repository's examples).
fn run_checks(
    workflow: &Path,
    root: &Path,
    base_env: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let all = steps(workflow)?;
    for wanted in ["Plan", "Apply"] {
        assert!(
            all.iter().any(|(n, _)| n == wanted),
            "{} has a {wanted} step",
            workflow.display()
        );
    }
    let temp = tempfile::tempdir()?;
    let github_env = temp.path().join("github_env");
    let github_path = temp.path().join("github_path");
    let mut env = base_env.clone();
    env.insert("RUNNER_TEMP".into(), temp.path().display().to_string());
    env.insert(
        "AGENT_TEMPDIRECTORY".into(),
        temp.path().display().to_string(),
    );
    env.insert("GITHUB_ENV".into(), github_env.display().to_string());
    env.insert("GITHUB_PATH".into(), github_path.display().to_string());
    let mut ran = Vec::new();
    for (name, script) in all.iter().filter(|(n, _)| n.starts_with("Check:")) {
        std::fs::write(&github_env, "")?;
        std::fs::write(&github_path, "")?;
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(root)
            .env_clear()
            .envs(&env)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "{}: step {name:?} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
                workflow.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // What the step hands to later steps, in each service's own way.
        let mut add_path = |dir: &str| {
            let path = env.get("PATH").cloned().unwrap_or_default();
            env.insert("PATH".into(), format!("{dir}:{path}"));
        };
        for line in std::fs::read_to_string(&github_path)?.lines() {
            add_path(line);
        }
        for line in stdout.lines() {
            if let Some(dir) = line.strip_prefix("##vso[task.prependpath]") {
                add_path(dir);
            }
        }
        for line in std::fs::read_to_string(&github_env)?.lines() {
            if let Some((k, v)) = line.split_once('=') {
                env.insert(k.into(), v.into());
            }
        }
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("##vso[task.setvariable variable=") {
                if let Some((k, v)) = rest.split_once(']') {
                    env.insert(k.into(), v.into());
                }
            }
        }
        ran.push(name.clone());
    }
    Ok(ran)
}

#[test]
fn the_ci_workflows_check_steps_run_locally() -> Result<()> {
    let work = tempfile::tempdir()?;
    let served = work.path().join("served");
    package("0.1.0", &served.join("dist"), &served.join("mirror"))?;
    let server = HttpsServer::start(&served, &work.path().join("tls"))?;
    let url = format!("https://127.0.0.1:{}", server.port);

    let terraform_dir = bins::terraform()?
        .parent()
        .map(Path::to_path_buf)
        .context("terraform's folder")?;
    let mut env = BTreeMap::new();
    env.insert(
        "PATH".to_string(),
        format!(
            "{}:{}",
            terraform_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    env.insert("HOME".into(), work.path().display().to_string());
    env.insert("CHECKPOINT_DISABLE".into(), "1".into());
    env.insert("TF_IN_AUTOMATION".into(), "1".into());
    env.insert("TF_DIR".into(), "examples/quickstart".into());
    env.insert("RULES".into(), "examples/quickstart/orders.dqdl".into());
    env.insert("GLUEPIPE_VERSION".into(), "0.1.0".into());
    env.insert("GLUEPIPE_MIRROR".into(), format!("{url}/mirror/"));
    env.insert("GLUEPIPE_RELEASES".into(), format!("{url}/dist"));
    // The test CA, for Terraform (Go) and curl.
    env.insert("SSL_CERT_FILE".into(), server.ca.display().to_string());
    env.insert("CURL_CA_BUNDLE".into(), server.ca.display().to_string());

    let repo = bins::repo_root();
    for workflow in ["github-actions.yml", "azure-pipelines.yml"] {
        let root: PathBuf = work.path().join(workflow.replace('.', "-"));
        copy_tree(&repo.join("examples"), &root.join("examples"))?;
        let ran = run_checks(&repo.join("examples/ci").join(workflow), &root, &env)?;
        assert_eq!(
            ran,
            [
                "Check: install the provider from the mirror",
                "Check: install gluepipe-etl",
                "Check: terraform fmt",
                "Check: terraform validate",
                "Check: data-quality rules",
                "Check: run the pipeline on sample data",
            ],
            "{workflow}"
        );
        // The sample run really converted the sample data.
        let parquet =
            gluepipe_tests::readback::parquet_in_dir(&root.join("target/gluepipe-local/orders"))?;
        let sample_rows: usize = std::fs::read_dir(repo.join("examples/quickstart/data"))?
            .map(|e| -> Result<usize> {
                Ok(std::fs::read_to_string(e?.path())?
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .count())
            })
            .sum::<Result<usize>>()?;
        assert_eq!(
            parquet["rows"].as_u64(),
            Some(sample_rows as u64),
            "{workflow}: every sample order published"
        );
    }
    Ok(())
}
