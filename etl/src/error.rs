//! How a run fails, sorted by who must act: the user (bad flags or spec, exit 2), the data
//! (failed quality checks, exit 3), or anything else (exit 1). `main` is the one place that turns
//! these into exit codes and prints the error chain. A run a signal stopped exits 128 + its
//! number (`crate::interrupt`).

use std::process::ExitCode;

/// Errors with a dedicated exit code. Everything else travels as `anyhow::Error` and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum EtlError {
    /// The command line or pipeline spec is invalid; nothing was read or written.
    #[error("{0}")]
    Usage(String),
    /// The data failed its quality checks with `on_failure = fail`; nothing was published.
    #[error("data quality check failed: {0}")]
    DataQuality(String),
}

/// Exit codes of `gluepipe-etl`.
pub mod exit {
    pub const OK: u8 = 0;
    pub const RUNTIME: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA_QUALITY: u8 = 3;
}

/// The exit code for an error that ended a run.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    if let Some(signal) = err.downcast_ref::<crate::interrupt::Interrupted>() {
        return ExitCode::from(signal.exit_code());
    }
    if let Some(crate::storage::StorageError::RunIdUsed(_)) = err.downcast_ref() {
        return ExitCode::from(exit::USAGE);
    }
    let code = match err.downcast_ref::<EtlError>() {
        Some(EtlError::Usage(_)) => exit::USAGE,
        Some(EtlError::DataQuality(_)) => exit::DATA_QUALITY,
        None => exit::RUNTIME,
    };
    ExitCode::from(code)
}

/// Shorthand for a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    EtlError::Usage(message.into()).into()
}
