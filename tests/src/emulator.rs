//! [`Emulator`]: a private moto server for one test (or test binary), started on a free port of
//! 127.0.0.1 and stopped, by its own process id, when dropped.
//!
//! The server is `tests/bench/emulator.py`: moto 5.2.5 with the gaps we need mended, Step
//! Functions executions switched on, and a Glue job runner. Its log is kept in a temporary file
//! and printed when the test that owned it panics, so a failure shows what the emulator saw.
//!
//! [`Emulator::start_with_iam`] turns on IAM enforcement (`emulator.py --iam`, see
//! `tests/bench/iam_enforcement.py` for exactly what moto evaluates): every request must be
//! signed by a known principal and is authorized against its policies. [`Emulator::env`] and
//! [`Emulator::sdk_config`] then carry the bench's admin user's keys (so Terraform and the
//! tests act as an administrator), Glue job runs act with their job role and Step Functions
//! executions with their state machine's role; [`Emulator::denials`] lists what IAM refused.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{bins, control};

/// How long moto may take to import and answer (about 1–2 s normally; more on a loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Emulator {
    child: Child,
    endpoint: String,
    port: u16,
    log_path: PathBuf,
    /// The access key and secret every client of this emulator signs with.
    credentials: (String, String),
    // Holds the log file and the job runs' folders; removed on drop.
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts the emulator and waits until it serves.
    pub fn start() -> Result<Emulator> {
        Emulator::launch(false)
    }

    /// Starts the emulator with IAM enforcement on (see the module documentation).
    pub fn start_with_iam() -> Result<Emulator> {
        Emulator::launch(true)
    }

    fn launch(iam: bool) -> Result<Emulator> {
        let python = bins::python()?;
        let script = bins::repo_root().join("tests/bench/emulator.py");
        let dir = tempfile::Builder::new()
            .prefix("gluepipe-emulator-")
            .tempdir()?;
        let log_path = dir.path().join("emulator.log");
        let log = std::fs::File::create(&log_path)?;
        let runs = dir.path().join("runs");
        std::fs::create_dir_all(&runs)?;
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--workdir")
            .arg(&runs)
            .args(iam.then_some("--iam"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {} {}", python.display(), script.display()))?;

        // The one stdout line, read on a thread so a hung start times out.
        let stdout = child.stdout.take().context("emulator stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                bail!(
                    "the emulator did not start within {START_TIMEOUT:?}; log:\n{}",
                    read_log(&log_path)
                );
            }
        };
        let Some(endpoint) = line.trim().strip_prefix("READY ").map(str::to_string) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the emulator failed to start; log:\n{}",
                read_log(&log_path)
            );
        };
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port in {endpoint}"))?;
        let mut emulator = Emulator {
            child,
            endpoint,
            port,
            log_path,
            credentials: ("testing".into(), "testing".into()),
            _dir: dir,
        };
        if iam {
            let keys: serde_json::Value = serde_json::from_str(&control::request(
                port,
                "GET",
                "/_gluepipe/iam",
                &serde_json::json!({}),
            )?)?;
            let key = |name: &str| {
                keys[name]
                    .as_str()
                    .map(str::to_string)
                    .with_context(|| format!("no {name} in the emulator's IAM answer {keys}"))
            };
            emulator.credentials = (key("access_key_id")?, key("secret_access_key")?);
        }
        Ok(emulator)
    }

    /// Every request IAM denied so far: `[{"principal", "action", "resource"}]` (empty unless
    /// started with [`Emulator::start_with_iam`]).
    pub fn denials(&self) -> Result<Vec<serde_json::Value>> {
        let body = control::request(
            self.port,
            "GET",
            "/_gluepipe/denials",
            &serde_json::json!({}),
        )?;
        serde_json::from_str(&body).context("parsing the denials report")
    }

    /// `http://127.0.0.1:PORT`: one endpoint for every AWS service.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The environment that points an AWS SDK or CLI (ours included) at this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", self.credentials.0.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.credentials.1.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// An SDK configuration for this emulator (its static credentials, us-east-1). For S3 use
    /// `aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true)`.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials = aws_sdk_s3::config::Credentials::new(
            &self.credentials.0,
            &self.credentials.1,
            None,
            None,
            "gluepipe-tests",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// An S3 client for this emulator, path-style as moto needs.
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let cfg = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&cfg)
                .force_path_style(true)
                .build(),
        )
    }

    /// Runs `command` (plus `--JOB_NAME`, `--JOB_RUN_ID` and the run's `--key value` arguments)
    /// for every Glue job run from now on, with `env` added to the emulator's AWS environment.
    pub fn set_job_runner(&self, command: &[&str], env: &[(&str, &str)]) -> Result<()> {
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        self.control(
            "/_gluepipe/job-runner",
            serde_json::json!({ "command": command, "env": env }),
        )
    }

    /// Runs each job's own script (its `Command.ScriptLocation` in S3) with `python`, as Glue
    /// Python shell does.
    pub fn set_job_runner_script(&self, python: &Path, env: &[(&str, &str)]) -> Result<()> {
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        self.control(
            "/_gluepipe/job-runner",
            serde_json::json!({ "mode": "script", "python": python, "env": env }),
        )
    }

    /// Makes the next `count` calls of API `action` (e.g. `CreateStateMachine`) fail with an
    /// HTTP 400 error `code`.
    pub fn inject_fault(&self, action: &str, code: &str, count: u32) -> Result<()> {
        self.control(
            "/_gluepipe/faults",
            serde_json::json!({ "action": action, "code": code, "count": count, "status": 400 }),
        )
    }

    /// The endpoint "goes away": the next `after` AWS calls succeed, every later one fails with
    /// HTTP 503 until [`Emulator::end_outage`].
    pub fn outage_after(&self, after: u32) -> Result<()> {
        self.control("/_gluepipe/outage", serde_json::json!({ "after": after }))
    }

    /// The endpoint is back.
    pub fn end_outage(&self) -> Result<()> {
        self.control("/_gluepipe/outage", serde_json::json!({ "end": true }))
    }

    /// [`Emulator::inject_fault`] with the error's message too (retry predicates read it, e.g.
    /// Glue's "Service is unable to assume provided role").
    pub fn inject_fault_with_message(
        &self,
        action: &str,
        code: &str,
        message: &str,
        count: u32,
    ) -> Result<()> {
        self.control(
            "/_gluepipe/faults",
            serde_json::json!({
                "action": action, "code": code, "message": message, "count": count, "status": 400,
            }),
        )
    }

    /// Every job run the runner started: state, command, exit code, stdout and stderr.
    pub fn job_runs(&self) -> Result<serde_json::Value> {
        let body = control::request(
            self.port,
            "GET",
            "/_gluepipe/job-runs",
            &serde_json::json!({}),
        )?;
        serde_json::from_str(&body).context("parsing the job-run report")
    }

    /// The emulator's log so far.
    pub fn log(&self) -> String {
        read_log(&self.log_path)
    }

    fn control(&self, path: &str, body: serde_json::Value) -> Result<()> {
        control::request(self.port, "POST", path, &body).map(drop)
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SIGTERM lets it stop its job runs; it exits in about 2 s. SIGKILL if it does not.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- emulator log ({}) ----\n{}", self.endpoint, self.log());
        }
    }
}
