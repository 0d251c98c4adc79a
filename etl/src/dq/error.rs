//! `DqError`: what stops the data-quality engine as a whole.
//!
//! A problem with one rule (a missing column, an invalid `where`, unsupported SQL) is not a
//! `DqError`: it becomes that rule's `Failed`/`Error` outcome, so one bad rule never hides the
//! results of the others. `DqError` is for what makes the whole evaluation impossible: a batch
//! that does not match the schema the engine was built for, an unreadable history store, I/O.

use std::path::PathBuf;

/// An error that stops the evaluation of a whole ruleset.
#[derive(Debug, thiserror::Error)]
pub enum DqError {
    /// A batch does not match the schema given to `DqEngine::new` (or its row outcomes).
    #[error("data-quality batch does not match: {0}")]
    SchemaMismatch(String),
    /// An Arrow kernel failed on data the engine itself prepared (a bug or resource limit).
    #[error("data-quality evaluation: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Reading or writing a file of the results store or a reference dataset.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A history store or reference dataset whose content cannot be read.
    #[error("{location}: {message}")]
    Store {
        /// Where the problem is (file path, `file:line`, S3 URI …).
        location: String,
        /// What is wrong there.
        message: String,
    },
    /// The ruleset cannot be evaluated at all (e.g. it has neither rules nor analyzers).
    #[error("{0}")]
    Ruleset(String),
}

impl DqError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DqError::Io {
            path: path.into(),
            source,
        }
    }

    /// A content problem at `location`.
    pub fn store(location: impl Into<String>, message: impl Into<String>) -> Self {
        DqError::Store {
            location: location.into(),
            message: message.into(),
        }
    }
}
