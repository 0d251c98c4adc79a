//! gluepipe-etl: streaming JSON → Arrow → mapping → data quality → Parquet.
//!
//! The pipeline is a chain of stages over Arrow `RecordBatch`es (see [`run`]):
//! [`source`] lists and opens inputs, [`decode`] splits them into records and decodes them with
//! per-record error control, [`mapping`] applies Glue's ApplyMapping, the quality stage checks
//! DQDL rules, and [`sink`] writes Parquet to a staging area that is published atomically.
//! [`rejects`] keeps every record that could not be read, so none is lost silently.

pub mod catalog;
pub mod cli;
pub mod decode;
pub mod dq;
pub mod error;
pub mod field_path;
pub mod interrupt;
pub mod ledger;
pub mod mapping;
pub mod metrics;
pub mod notify;
pub mod progress;
pub mod quality;
pub mod reason;
pub mod rejects;
pub mod run;
pub mod run_history;
pub mod schema;
pub mod settings;
pub mod shard;
pub mod sink;
pub mod source;
pub mod storage;
