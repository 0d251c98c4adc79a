//! The data-quality stage of the pipeline: the seam where the DQDL evaluator (`crate::dq`)
//! plugs in. It sees every mapped batch in the same pass as the sink, may mark rows that fail
//! row-level rules (for quarantine), and at the end gives the Glue-shaped results and whether
//! the ruleset passed. The pipeline never invents results: without a ruleset there is no stage.

use anyhow::Result;
use arrow::array::{BooleanArray, RecordBatch};

/// Per-row outcome of one batch, when the ruleset has row-level rules.
#[derive(Debug, Clone)]
pub struct RowVerdicts {
    /// `true` where the row passed every row-level rule.
    pub passed: BooleanArray,
    /// The failing rows, annotated with the rules they failed, for the quarantine location.
    pub quarantine: RecordBatch,
}

/// What the ruleset concluded over the whole run.
#[derive(Debug, Clone)]
pub struct QualityReport {
    pub passed: bool,
    /// The results as Glue's EvaluateDataQuality gives them (rule, outcome, reason, metrics).
    pub results: serde_json::Value,
    /// One line per failed rule, for the summary and the error message.
    pub failures: Vec<String>,
}

/// A data-quality check run over the mapped batches.
pub trait QualityStage: Send {
    /// Sees one mapped batch; returns row verdicts when the ruleset has row-level rules.
    fn update(&mut self, batch: &RecordBatch) -> Result<Option<RowVerdicts>>;
    /// Concludes the run.
    fn finish(self: Box<Self>) -> Result<QualityReport>;
}

/// The stage for a `data_quality` block. The DQDL evaluator is wired in here.
pub fn build(
    dq: &gluepipe_spec::pipeline::DataQuality,
    schema: &arrow::datatypes::SchemaRef,
) -> Result<Option<Box<dyn QualityStage>>> {
    let _ = (dq, schema);
    Err(crate::error::usage(
        "this build of gluepipe-etl cannot evaluate data_quality rules yet (the DQDL evaluator is not wired in)",
    ))
}
