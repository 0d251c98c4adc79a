//! A command run in the background the way a terminal runs it, so a test can press Ctrl-C or
//! kill it part-way, and find the processes it started.
//!
//! Terraform v1.0 is two processes: the one started re-executes itself under a panic guard
//! (panicwrap) that ignores SIGINT, and the child does the work and starts the providers. A
//! terminal's Ctrl-C reaches the whole foreground process group, so [`Running`] starts the
//! command in a group of its own and [`Running::interrupt`] signals that group — signalling
//! only the first pid would test nothing.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A background command in its own process group; the group is killed if the test ends early.
pub struct Running {
    child: Option<Child>,
    pid: u32,
}

impl Running {
    pub fn start(mut command: Command) -> Result<Running> {
        let child = command
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the command")?;
        Ok(Running {
            pid: child.id(),
            child: Some(child),
        })
    }

    /// The process started (and the id of its process group).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Ctrl-C, as a terminal sends it: SIGINT to every process in the group.
    pub fn interrupt(&self) {
        signal(&format!("-{}", self.pid), "INT");
    }

    /// Waits up to `limit` for the exit; `None` if still running.
    pub fn wait_for(&mut self, limit: Duration) -> Result<Option<ExitStatus>> {
        let child = self.child.as_mut().context("already collected")?;
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(None)
    }

    /// Both streams, once the process has ended.
    pub fn output(&mut self) -> Result<(String, String)> {
        let out = self
            .child
            .take()
            .context("already collected")?
            .wait_with_output()?;
        Ok((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Whatever is left of the group (a provider that outlived Terraform included).
        signal(&format!("-{}", self.pid), "KILL");
        if let Some(child) = self.child.as_mut() {
            let _ = child.wait();
        }
    }
}

/// `kill -NAME TARGET` (a pid, or `-pgid` for a group); a target already gone is fine.
pub fn signal(target: &str, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), "--".into(), target.into()])
        .stderr(Stdio::null())
        .status();
}

/// True while `pid` exists and is not a zombie (a re-parented process may never be reaped).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Every live descendant of `pid` (children, theirs, …), with its command line.
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        for child in children(parent) {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default();
            found.push((child, cmdline));
            queue.push(child);
        }
    }
    found
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The parent of `pid`, from `/proc/<pid>/stat`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}
