//! The data-quality stage of the pipeline: the seam where the DQDL evaluator (`crate::dq`)
//! plugs in. It sees every mapped batch in the same pass as the sink, may mark rows that fail
//! row-level rules (for quarantine), and at the end gives the Glue-shaped results and whether
//! the ruleset passed. The pipeline never invents results: without a ruleset there is no stage.

use std::path::PathBuf;

use anyhow::Result;
use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;
use gluepipe_spec::pipeline::{DataQuality, OnFailure};

use crate::dq::partial::PartialState;
use crate::dq::{DqContext, DqEngine, LocalMetricHistory, Outcome, annotate_rows};

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
    /// What this process accumulated, for one shard of a sharded run (instead of `finish`).
    fn save(&self) -> PartialState;
    /// Adds a shard's (or a worker's) state, before `finish`.
    fn merge(&mut self, state: &PartialState) -> Result<()>;
    /// An empty stage for another worker of the same run, merged back with `save`/`merge`.
    fn fork(&self) -> Box<dyn QualityStage>;
}

/// The DQDL evaluator ([`crate::dq::DqEngine`]) as the pipeline's quality stage.
pub struct DqdlStage {
    engine: DqEngine,
    /// Quarantine needs the failing rows annotated; warn and fail only need the verdict.
    annotate: bool,
}

/// Where a run keeps its metric history for dynamic rules (`avg(last(10))`).
pub enum HistoryAt {
    /// `<dir>/<pipeline>/metric-history.jsonl`.
    Local(PathBuf),
    /// `<store>/<pipeline>/metric-history.jsonl` in S3, reached through `handle`.
    Store(crate::storage::Store, tokio::runtime::Handle),
}

/// The stage for a `data_quality` block: parses the ruleset (a usage error if it does not
/// parse) and compiles it against the output schema.
pub fn build(
    dq: &DataQuality,
    schema: &SchemaRef,
    run_id: &str,
    pipeline: &str,
    history: HistoryAt,
    evaluated_at: chrono::DateTime<chrono::Utc>,
) -> Result<Box<dyn QualityStage>> {
    let ruleset = gluepipe_spec::dqdl::parse(&dq.ruleset)
        .map_err(|e| crate::error::usage(format!("data_quality.ruleset: {e}")))?;
    let mut ctx = DqContext::at(evaluated_at).with_run_id(run_id);
    ctx = match history {
        HistoryAt::Local(dir) => ctx.with_history(LocalMetricHistory::new(dir, pipeline)),
        HistoryAt::Store(store, handle) => ctx.with_history(
            crate::storage::metric_history::StoreMetricHistory::new(store, pipeline, handle),
        ),
    };
    let engine = DqEngine::new(&ruleset, schema, ctx)?;
    Ok(Box::new(DqdlStage {
        engine,
        annotate: dq.on_failure == OnFailure::Quarantine,
    }))
}

impl QualityStage for DqdlStage {
    fn update(&mut self, batch: &RecordBatch) -> Result<Option<RowVerdicts>> {
        let Some(outcomes) = self.engine.update(batch)? else {
            return Ok(None);
        };
        if !self.annotate {
            return Ok(None);
        }
        let failed = BooleanArray::new(outcomes.failed(), None);
        let quarantine = if failed.true_count() == 0 {
            RecordBatch::new_empty(batch.schema())
        } else {
            filter_record_batch(&annotate_rows(batch, &outcomes)?, &failed)?
        };
        Ok(Some(RowVerdicts {
            passed: BooleanArray::new(outcomes.passed(), None),
            quarantine,
        }))
    }

    fn save(&self) -> PartialState {
        self.engine.save()
    }

    fn merge(&mut self, state: &PartialState) -> Result<()> {
        Ok(self.engine.merge(state)?)
    }

    fn fork(&self) -> Box<dyn QualityStage> {
        Box::new(DqdlStage {
            engine: self.engine.fork(),
            annotate: self.annotate,
        })
    }

    fn finish(self: Box<Self>) -> Result<QualityReport> {
        let results = self.engine.finish()?;
        let failures = results
            .rule_outcomes
            .iter()
            .filter(|r| r.outcome != Outcome::Passed)
            .map(|r| match &r.failure_reason {
                Some(reason) => format!("{} ({}): {reason}", r.rule, r.outcome.as_str()),
                None => format!("{} ({})", r.rule, r.outcome.as_str()),
            })
            .collect();
        Ok(QualityReport {
            passed: results.passed(),
            results: serde_json::to_value(&results)?,
            failures,
        })
    }
}
