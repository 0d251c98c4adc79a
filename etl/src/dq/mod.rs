//! DQDL evaluation in the conversion's single streaming pass.
//!
//! (module documentation is completed with the public API)

pub mod condition;
pub mod context;
pub mod engine;
pub mod error;
pub mod history;
pub mod metrics;
pub mod plan;
pub mod reference;
pub mod results;
pub mod row_level;
pub mod rules;
pub mod sql;

#[cfg(test)]
mod tests;

pub use context::{DqContext, FilteredRowLabel};
pub use engine::DqEngine;
pub use error::DqError;
pub use history::{LocalMetricHistory, MetricHistory, RunRecord};
pub use reference::{LocalReferenceResolver, ReferenceData, ReferenceResolver};
pub use results::{AnalyzerResult, DqResults, Outcome, RuleResult};
pub use row_level::{RowOutcome, RowOutcomes, annotate_rows};
