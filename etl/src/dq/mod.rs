//! DQDL evaluation (work in progress).

pub mod error;
pub mod metrics;
pub mod sql;
