//! Where bytes live: the local file system or S3, behind one [`Store`].
//!
//! - [`aws`]: how we connect to AWS (credential chain, endpoint override, region, retries);
//! - [`store`]: [`Store`], rooted at a folder or prefix, with list, read, write, delete, copy;
//! - [`reader`] / [`writer`]: blocking `Read`/`Write` objects for the synchronous decode and
//!   Parquet stages; S3 reads run ranged GETs ahead, S3 writes stream as a multipart upload;
//! - [`inputs`]: turns input URIs (files, folders, globs, `s3://` prefixes, a catalog table's
//!   files) into the list of objects to read;
//! - [`hive`]: Hive-style partition paths (`col=value/`), escaping included;
//! - [`commit`]: the commit protocol of a target (lock, intent, publish, manifest, recovery);
//! - [`publish`]: the [`Publisher`] that collects a run's output files and commits them.
//!
//! Keys inside a store are relative, `/`-separated and never contain `..`; the same key means
//! the same thing locally and on S3.
//!
//! The `Read`/`Write` objects block: use them from a plain thread, a `spawn_blocking` task or a
//! multi-thread runtime worker (they step out with `block_in_place`), never from a
//! current-thread runtime's task.

pub mod aws;
pub mod commit;
pub mod hive;
pub mod inputs;
pub mod metric_history;
pub mod publish;
pub mod reader;
pub mod store;
pub mod writer;

mod blocking;
mod local;
mod s3;

pub use aws::{AwsClients, AwsOptions};
pub use inputs::{InputFile, resolve_catalog_inputs, resolve_inputs};
pub use publish::{Published, Publisher};
pub use reader::{ObjectReader, ReadOptions};
pub use store::{ObjectMeta, Store};
pub use writer::{ObjectWriter, WriteOptions, WrittenObject};

/// Why a storage operation failed, naming the operation and the object.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{uri}: no such file or object")]
    NotFound { uri: String },
    #[error("{op} {uri}: {message}")]
    Failed {
        op: &'static str,
        uri: String,
        message: String,
    },
    /// A request that cannot be carried out as asked (bad key, bad glob, no matches, …).
    #[error("{0}")]
    Invalid(String),
    /// Another run holds the target or committed to it meanwhile: nothing was published.
    #[error("{0}")]
    Conflict(String),
    /// A commit stopped after its files became visible; its intent stays and the next commit
    /// to the target completes it.
    #[error("{0}")]
    Unfinished(String),
    /// The run id was already published to the target (a usage error: give another).
    #[error("{0}")]
    RunIdUsed(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

impl StorageError {
    pub(crate) fn failed(
        op: &'static str,
        uri: impl Into<String>,
        message: impl std::fmt::Display,
    ) -> Self {
        StorageError::Failed {
            op,
            uri: uri.into(),
            message: message.to_string(),
        }
    }

    /// For errors from `std::fs`: `NotFound` keeps its kind so callers can tell it apart.
    pub(crate) fn io(op: &'static str, uri: impl Into<String>, err: std::io::Error) -> Self {
        let uri = uri.into();
        if err.kind() == std::io::ErrorKind::NotFound {
            StorageError::NotFound { uri }
        } else {
            StorageError::failed(op, uri, err)
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::NotFound { .. })
    }
}

impl From<StorageError> for std::io::Error {
    fn from(err: StorageError) -> Self {
        let kind = if err.is_not_found() {
            std::io::ErrorKind::NotFound
        } else {
            std::io::ErrorKind::Other
        };
        std::io::Error::new(kind, err)
    }
}

/// Checks a key is relative, `/`-separated, without empty, `.` or `..` segments.
pub(crate) fn check_key(key: &str) -> Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..");
    if bad {
        return Err(StorageError::Invalid(format!(
            "invalid object key {key:?}: keys are relative, '/'-separated, without empty, '.' or '..' segments"
        )));
    }
    Ok(())
}
