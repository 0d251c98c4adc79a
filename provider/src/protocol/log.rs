//! Logging to stderr as hclog JSON lines (`{"@level":…,"@message":…}`),
//! which go-plugin parses and forwards into Terraform's own log at the right
//! level. Stdout belongs to the handshake and must stay silent.
//!
//! The provider logs through `tracing` (the `log_*` macros are its events);
//! [`HclogSubscriber`] writes this crate's events as hclog lines, their fields
//! as hclog fields. The AWS SDK's own events are left out: one line per AWS
//! request comes from `aws::call_log`.
//!
//! The level comes from `TF_LOG_PROVIDER_GLUEPIPE`, else `TF_LOG_PROVIDER`,
//! else `TF_LOG` (`trace`, `debug`, `info`, `warn`, `error`, `off`; `json`
//! means trace), and defaults to `warn`.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn of(level: &tracing::Level) -> Level {
        match *level {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warn,
            _ => Level::Error,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// `None` for `off`; unknown words fall back to `warn`.
    fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "trace" | "json" => Some(Level::Trace),
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "error" => Some(Level::Error),
            "off" => None,
            _ => Some(Level::Warn),
        }
    }
}

static THRESHOLD: OnceLock<Option<Level>> = OnceLock::new();

fn threshold() -> Option<Level> {
    *THRESHOLD.get_or_init(|| {
        ["TF_LOG_PROVIDER_GLUEPIPE", "TF_LOG_PROVIDER", "TF_LOG"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .map_or(Some(Level::Warn), |v| Level::parse(&v))
    })
}

pub fn enabled(level: Level) -> bool {
    threshold().is_some_and(|t| level >= t)
}

/// Writes one log line if `level` is enabled.
pub fn write(level: Level, message: fmt::Arguments<'_>) {
    write_fields(level, &message.to_string(), serde_json::Map::new());
}

fn write_fields(level: Level, message: &str, fields: serde_json::Map<String, serde_json::Value>) {
    if !enabled(level) {
        return;
    }
    let mut line = serde_json::json!({
        "@level": level.name(),
        "@message": message,
        "@module": "provider.gluepipe",
        "@timestamp": timestamp(SystemTime::now()),
    });
    if let Some(object) = line.as_object_mut() {
        object.extend(fields);
    }
    // A failed write to stderr has nowhere better to go.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The crate whose events are logged (the SDK's and others' are not).
const OWN_TARGET: &str = "terraform_provider_gluepipe";

/// `tracing` events of this crate as hclog lines; spans are not kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct HclogSubscriber;

impl HclogSubscriber {
    /// Makes this the process's subscriber (once; later calls change nothing).
    pub fn install() {
        let _ = tracing::subscriber::set_global_default(HclogSubscriber);
    }
}

impl tracing::Subscriber for HclogSubscriber {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with(OWN_TARGET) && enabled(Level::of(metadata.level()))
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        write_fields(
            Level::of(event.metadata().level()),
            &fields.message,
            fields.others,
        );
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// An event's message and its other fields.
#[derive(Default)]
struct Fields {
    message: String,
    others: serde_json::Map<String, serde_json::Value>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.others.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.others
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
    }
}

/// hclog's timestamp layout, `2006-01-02T15:04:05.000000Z07:00`, in UTC.
fn timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[macro_export]
macro_rules! log_trace { ($($t:tt)*) => { ::tracing::trace!($($t)*) } }
#[macro_export]
macro_rules! log_debug { ($($t:tt)*) => { ::tracing::debug!($($t)*) } }
#[macro_export]
macro_rules! log_info { ($($t:tt)*) => { ::tracing::info!($($t)*) } }
#[macro_export]
macro_rules! log_warn { ($($t:tt)*) => { ::tracing::warn!($($t)*) } }
#[macro_export]
macro_rules! log_error { ($($t:tt)*) => { ::tracing::error!($($t)*) } }

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_in_hclog_layout() {
        let cases = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, "2000-02-29T00:00:00.000000Z"),
            (1_700_000_000, "2023-11-14T22:13:20.000000Z"),
        ];
        for (secs, text) in cases {
            assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(secs)), text);
        }
        let micro = UNIX_EPOCH + Duration::from_micros(1_500_001);
        assert_eq!(timestamp(micro), "1970-01-01T00:00:01.500001Z");
    }

    #[test]
    fn levels() {
        let cases = [
            ("TRACE", Some(Level::Trace)),
            ("json", Some(Level::Trace)),
            ("debug", Some(Level::Debug)),
            ("info", Some(Level::Info)),
            ("error", Some(Level::Error)),
            ("off", None),
            ("1", Some(Level::Warn)),
        ];
        for (text, level) in cases {
            assert_eq!(Level::parse(text), level, "{text}");
        }
    }
}
