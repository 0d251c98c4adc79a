//! The contract shared by the gluepipe provider and ETL, with light dependencies so the provider
//! can validate at plan time exactly what the ETL will run:
//! - [`pipeline`]: `PipelineSpec`, the JSON file the provider uploads and `gluepipe-etl run` executes;
//! - [`glue_type`]: Glue (Hive) type strings;
//! - [`column_name`]: column names as Glue compares them (case-insensitive, never empty);
//! - [`field_path`]: dotted paths into nested fields (mapping `from`, DQ columns, `records_path`);
//! - [`location`]: `s3://` URIs and local paths;
//! - [`version`]: the release version and the ETL binary's version marker;
//! - `aws_error` (feature `aws`): AWS errors rendered as operation, code and message.
//!
//! No I/O, no AWS calls, no CLI here.

#[cfg(feature = "aws")]
pub mod aws_error;
pub mod column_name;
pub mod dqdl;
pub mod field_path;
pub mod glue_type;
pub mod location;
pub mod notifications;
pub mod pipeline;
pub mod schedule;
pub mod version;

pub use glue_type::{GlueType, parse_glue_type};
pub use location::{Location, S3Uri};
pub use pipeline::PipelineSpec;
