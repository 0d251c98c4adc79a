//! `DqContext`: what an evaluation needs from outside the data — the metric history store
//! (dynamic rules, DetectAnomalies), the reference datasets, the evaluation time, and Glue's
//! row-level option for rows a `where` clause leaves out.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::dq::history::MetricHistory;
use crate::dq::reference::ReferenceResolver;

/// How row-level outcomes label rows a rule's `where` clause filters out (Glue's
/// `rowLevelConfiguration.filteredRowLabel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FilteredRowLabel {
    /// Filtered rows count as passing the rule (Glue's default).
    #[default]
    Passed,
    /// Filtered rows are listed under `DataQualityRulesSkip`.
    Skipped,
}

/// The evaluation's surroundings.
pub struct DqContext {
    /// Earlier runs' metrics; `None` means no history (dynamic rules see `last(k) = [0.0]`, and
    /// nothing is recorded).
    pub history: Option<Box<dyn MetricHistory>>,
    /// Reference datasets by alias; `None` makes rules that need one end in `Error`.
    /// Shared, so that the engines of a run's workers resolve through one resolver.
    pub references: Option<Arc<dyn ReferenceResolver>>,
    /// The evaluation time: `now()` in rules and SQL, the age in DataFreshness.
    pub evaluated_at: DateTime<Utc>,
    /// Identifies the run in the metric history.
    pub run_id: String,
    /// Label for rows a `where` filters out.
    pub filtered_row_label: FilteredRowLabel,
}

impl Default for DqContext {
    fn default() -> Self {
        DqContext::at(Utc::now())
    }
}

impl DqContext {
    /// A context without history or references, evaluated at `evaluated_at`.
    pub fn at(evaluated_at: DateTime<Utc>) -> Self {
        DqContext {
            history: None,
            references: None,
            evaluated_at,
            run_id: format!("run-{}", evaluated_at.format("%Y%m%dT%H%M%S%.3fZ")),
            filtered_row_label: FilteredRowLabel::Passed,
        }
    }

    /// Uses `history` for dynamic rules and records this run in it.
    pub fn with_history(mut self, history: impl MetricHistory + 'static) -> Self {
        self.history = Some(Box::new(history));
        self
    }

    /// Resolves reference aliases with `references`.
    pub fn with_references(mut self, references: impl ReferenceResolver + 'static) -> Self {
        self.references = Some(Arc::new(references));
        self
    }

    /// Names the run in the history.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// Sets how filtered rows are labelled.
    pub fn with_filtered_row_label(mut self, label: FilteredRowLabel) -> Self {
        self.filtered_row_label = label;
        self
    }
}
