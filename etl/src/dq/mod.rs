//! DQDL evaluation in the conversion's single streaming pass, with results in the shape of Glue's
//! `EvaluateDataQuality`.
//!
//! ```text
//! let ruleset = gluepipe_spec::dqdl::parse(text)?;
//! let mut engine = DqEngine::new(&ruleset, &schema, DqContext::default())?;
//! for batch in batches {
//!     if let Some(rows) = engine.update(&batch)? {   // per-row outcomes, for quarantine
//!         let annotated = annotate_rows(&batch, &rows)?;
//!     }
//! }
//! let results: DqResults = engine.finish()?;         // serde: Glue's shape
//! ```
//!
//! # How a batch is evaluated
//!
//! [`DqEngine::new`] compiles each rule once against the schema ([`rules`]): columns are
//! resolved, `where` clauses parsed and bound ([`sql`]), and the metrics rules need are
//! registered on shared accumulators ([`plan`]) — rules over the same columns and filter share
//! one accumulator (Uniqueness, IsUnique and DistinctValuesCount of a column read one
//! distinct-value table; Mean, Sum and StandardDeviation one set of moments). Per batch,
//! [`DqEngine::update`] evaluates each distinct `where` once (Arrow kernels), updates every
//! accumulator once, and lets per-row rules test the batch in tight loops over Arrow buffers.
//! [`DqEngine::finish`] decides every rule from the accumulated state and history.
//!
//! # Memory
//!
//! Constant per rule — counts, sums, moments, min/max — with one exception: the exact
//! distinct-value state of Uniqueness, IsUnique, IsPrimaryKey, DistinctValuesCount,
//! UniqueValueRatio, Entropy, DuplicateRowCount, `COUNT(DISTINCT …)` and DatasetMatch's
//! primary-key check: one exact table per column set and filter ([`metrics::frequency`]), which
//! grows with the number of **distinct** values, never with rows. A key of up to 8 bytes (any
//! integer, float, date or timestamp column) is stored in the hash table next to its count —
//! 16 bytes plus table slack, 20–37 bytes per distinct value (measured: 31 bytes per distinct
//! `Int64` id over a million ids, so 10 million distinct ids ≈ 310 MB). A string or a tuple of
//! columns is stored once in a byte arena ([`metrics::key_table::KeyTable`]): the key bytes plus
//! about 21–26 bytes. A low-cardinality column (a status, a country code) costs kilobytes
//! however many rows pass. [`DqEngine::state_bytes`] reports the total. Reference datasets are
//! read once when the engine is built; ReferentialIntegrity and DatasetMatch keep the
//! reference's keys (and DatasetMatch its distinct match tuples) in the same kind of table.
//!
//! # Semantics
//!
//! As `shared/reference/dqdl-semantics.md` describes, per rule type in [`rules`]. Null handling:
//! Completeness counts non-null rows (empty strings are complete); frequency rules ignore rows
//! whose key columns are all null (DistinctValuesCount counts null as one more value);
//! statistics skip nulls; ColumnValues fails null rows except for `!=`/`not in` (and accepts
//! them when the condition names NULL); ColumnLength measures null as length 0. Number
//! comparisons are exact (`Double.equals`), `between` is exclusive. A rule whose metric is
//! undefined (no rows, only nulls) fails with `Value: NULL does not meet the constraint
//! requirement!`.
//!
//! Column names: a rule's column is a top-level column, else a dotted path into struct fields
//! (`"info.x"`, null when a parent is null), as Spark resolves them ([`columns`]).
//!
//! Outcomes are `Passed`, `Failed` (the data does not meet the rule, or lacks a column it
//! names) or `Error` (the rule cannot be evaluated: invalid `where`, unsupported SQL, a missing
//! reference, a rule type that needs the input files). An `Error` fails the ruleset.
//!
//! # Deviations from Glue, and choices where Glue is undocumented
//!
//! - `where`, CustomSql and the reference rules see top-level columns only (no dotted paths).
//! - CustomSql and `where` use a SQL subset evaluated in the pass, not Spark SQL (see [`sql`]);
//!   anything outside it is an `Error` naming the construct.
//! - Uniqueness, IsUnique and IsPrimaryKey give no row-level outcome (their per-row answer needs
//!   the final counts; a second pass would be needed). ColumnDataType and DataFreshness give
//!   none either (as Glue's table / deequ).
//! - `matches` is a full match with Rust's regex syntax (no look-around or back-references);
//!   `not matches` is its negation (deequ's `^(?!\bp\b).*$` is not reproduced).
//! - ColumnNamesMatchPattern searches unanchored, as deequ does.
//! - ColumnDataType casts with Arrow's rules: `"2.5"` is not an Integer (Spark would truncate).
//! - `timeZone` tags take the IDs Glue's Java accepts that the IANA database (chrono-tz) still
//!   has: every region but the `SystemV/*` ones, which validation refuses.
//! - DetectAnomalies uses our own detector (see [`rules::metric::AnomalyCheck`]); `std()` in
//!   dynamic rules is the population standard deviation.
//! - File rules (FileFreshness, FileMatch, FileSize, FileUniqueness) are `Error`: the engine sees
//!   batches, not files.

pub mod cli;
pub mod columns;
pub mod condition;
pub mod context;
pub mod engine;
pub mod error;
pub mod history;
pub mod metrics;
pub mod partial;
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
pub use reference::{Dataset, LocalReferenceResolver, ReferenceResolver};
pub use results::{AnalyzerResult, DqResults, Outcome, RuleResult};
pub use row_level::{RowOutcome, RowOutcomes, annotate_rows};
