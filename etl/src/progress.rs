//! What the run tells a person or a log while it works: a progress bar on a terminal (bytes
//! and rows per second, ETA), nothing when stderr is not a terminal, and one JSON object per
//! line with `--log-format json`, for CloudWatch and friends.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::LogFormat;

/// Counters the pipeline stages bump, read by the progress display.
#[derive(Debug, Default)]
pub struct Counters {
    /// Raw (possibly compressed) input bytes read.
    pub bytes_read: Arc<AtomicU64>,
    /// Records read so far.
    pub rows_in: AtomicU64,
}

/// Logs events as text or JSON lines on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub format: LogFormat,
}

impl Log {
    /// An informational event: text `message`, or JSON with `fields` merged in.
    pub fn event(&self, event: &str, message: &str, fields: serde_json::Value) {
        match self.format {
            LogFormat::Text => eprintln!("{message}"),
            LogFormat::Json => {
                let mut line = json!({ "level": "info", "event": event, "message": message });
                if let (Some(obj), serde_json::Value::Object(extra)) =
                    (line.as_object_mut(), fields)
                {
                    obj.extend(extra);
                }
                eprintln!("{line}");
            }
        }
    }

    /// A warning that does not stop the run.
    pub fn warn(&self, message: &str) {
        match self.format {
            LogFormat::Text => eprintln!("warning: {message}"),
            LogFormat::Json => eprintln!(
                "{}",
                json!({ "level": "warn", "event": "warning", "message": message })
            ),
        }
    }
}

/// The progress bar, drawn from its own thread while the run works.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing if `enabled` and stderr is a terminal; otherwise does nothing.
    pub fn start(enabled: bool, total_bytes: u64, counters: Arc<Counters>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { stop, thread: None };
        }
        let bar =
            ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} · {msg} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let rows = counters.rows_in.load(Ordering::Relaxed);
                let rate = rows as f64 / started.elapsed().as_secs_f64().max(0.001);
                bar.set_position(counters.bytes_read.load(Ordering::Relaxed));
                bar.set_message(format!("{rows} rows ({rate:.0}/s)"));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        Progress {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and clears the bar.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
