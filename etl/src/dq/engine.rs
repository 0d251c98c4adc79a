//! `DqEngine`: a ruleset compiled against a schema, fed batch by batch in the conversion's
//! single pass, finished into Glue-shaped results (and, on the way, per-row outcomes).
//!
//! Per batch the engine evaluates each distinct `where` clause once, updates every shared
//! accumulator once, then lets each rule do its own per-row work; nothing is kept per row.

use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::{and_kleene, or_kleene};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use gluepipe_spec::dqdl::{CompositeRule, LogicalOperator, Rule, Ruleset, SingleRule};

use crate::dq::columns::Columns;
use crate::dq::context::{DqContext, FilteredRowLabel};
use crate::dq::error::DqError;
use crate::dq::history::{History, MetricHistory, RunRecord};
use crate::dq::partial::{self, PartialState, Saved};
use crate::dq::plan::{BatchView, Filters, SharedMetrics};
use crate::dq::reference::ReferenceResolver;
use crate::dq::results::{DqResults, Metrics, Outcome, RuleResult};
use crate::dq::row_level::RowOutcomes;
use crate::dq::rules::metric::{AnalyzerPlan, analyzer};
use crate::dq::rules::{Check, FinishContext, LeafOutcome, Planner, RowResult, compile};
use crate::dq::sql::EvalContext;

/// A top-level rule as a tree over leaf indices.
enum Node {
    Leaf(usize),
    Composite(LogicalOperator, Vec<Node>),
}

struct Leaf {
    check: Box<dyn Check>,
    /// Set when the rule failed during a batch; it is not called again.
    error: Option<String>,
    /// The rule's text, for messages.
    text: String,
}

/// Evaluates a DQDL ruleset over a stream of batches.
pub struct DqEngine {
    /// Kept to compile [`DqEngine::fork`]s.
    ruleset: Ruleset,
    schema: SchemaRef,
    /// Top-level and nested columns rules read (see [`Columns`]).
    columns: Columns,
    filters: Filters,
    metrics: SharedMetrics,
    rules: Vec<(Rule, Node)>,
    rule_texts: Arc<[String]>,
    leaves: Vec<Leaf>,
    analyzers: Vec<AnalyzerPlan>,
    history: History,
    history_store: Option<Box<dyn MetricHistory>>,
    references: Option<Arc<dyn ReferenceResolver>>,
    evaluated_at: DateTime<Utc>,
    run_id: String,
    filtered_row_label: FilteredRowLabel,
    row_level: bool,
    rows: u64,
    /// Identifies the ruleset and schema in shard states (see [`crate::dq::partial`]).
    fingerprint: String,
}

impl DqEngine {
    /// Compiles `ruleset` for batches of `schema`. Problems with single rules (missing columns,
    /// invalid `where`, unsupported SQL, unknown references) become those rules' outcomes; an
    /// error here means the evaluation cannot happen at all (e.g. the history is unreadable).
    pub fn new(ruleset: &Ruleset, schema: &SchemaRef, ctx: DqContext) -> Result<Self, DqError> {
        let history = match &ctx.history {
            Some(store) => History::new(store.load()?),
            None => History::default(),
        };
        Ok(Self::compile(ruleset, schema, ctx, history))
    }

    /// An engine for another worker of the same run: the same ruleset, schema, evaluation time,
    /// references and loaded history, with nothing accumulated and no history store (it records
    /// nothing). Its state reaches the run's engine with `merge(&fork.save())`, as a shard's
    /// does, so N workers need no lock around one engine.
    pub fn fork(&self) -> DqEngine {
        let ctx = DqContext {
            history: None,
            references: self.references.clone(),
            evaluated_at: self.evaluated_at,
            run_id: self.run_id.clone(),
            filtered_row_label: self.filtered_row_label,
        };
        Self::compile(&self.ruleset, &self.schema, ctx, self.history.clone())
    }

    fn compile(ruleset: &Ruleset, schema: &SchemaRef, ctx: DqContext, history: History) -> Self {
        let mut filters = Filters::default();
        let mut metrics = SharedMetrics::default();
        let mut leaves = Vec::new();
        let mut rules = Vec::new();
        let mut analyzers = Vec::new();
        let columns = Columns::new(schema);
        {
            let mut planner = Planner {
                schema,
                columns: &columns,
                filters: &mut filters,
                metrics: &mut metrics,
                references: ctx.references.as_deref(),
                now: ctx.evaluated_at,
                history: &history,
            };
            for rule in &ruleset.rules {
                let node = plan_node(rule, &mut planner, &mut leaves);
                rules.push((rule.clone(), node));
            }
            for a in &ruleset.analyzers {
                analyzers.push(analyzer(a, &mut planner));
            }
        }
        let row_level = rules.iter().any(|(_, node)| node_row_level(node, &leaves));
        let rule_texts: Arc<[String]> = rules.iter().map(|(r, _)| r.text()).collect();
        let fingerprint = fingerprint(ruleset, schema);
        DqEngine {
            ruleset: ruleset.clone(),
            schema: schema.clone(),
            columns,
            filters,
            metrics,
            rules,
            rule_texts,
            leaves,
            analyzers,
            history,
            history_store: ctx.history,
            references: ctx.references,
            evaluated_at: ctx.evaluated_at,
            run_id: ctx.run_id,
            filtered_row_label: ctx.filtered_row_label,
            row_level,
            rows: 0,
            fingerprint,
        }
    }

    /// Whether [`DqEngine::update`] returns row-level outcomes (some rule judges rows).
    pub fn has_row_level_rules(&self) -> bool {
        self.row_level
    }

    /// Approximate heap bytes of the distinct-value tables (the only state that grows with data).
    pub fn state_bytes(&self) -> usize {
        self.metrics.heap_bytes()
    }

    /// Feeds one batch (after mapping). Returns per-row outcomes when the ruleset has row-level
    /// rules.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<Option<RowOutcomes>, DqError> {
        self.check_schema(batch)?;
        self.rows += batch.num_rows() as u64;
        let eval = EvalContext::new(self.evaluated_at);
        let masks = self.filters.masks(batch, &eval);
        let view = BatchView::new(batch, &masks, &self.columns, eval);
        self.metrics.update(&view)?;
        let mut results: Vec<Option<RowResult>> = Vec::with_capacity(self.leaves.len());
        for leaf in &mut self.leaves {
            let result = match &leaf.error {
                Some(_) => None,
                None => match leaf.check.update(&view) {
                    Ok(r) => r,
                    Err(e) => {
                        leaf.error = Some(e);
                        None
                    }
                },
            };
            results.push(result);
        }
        if !self.row_level {
            return Ok(None);
        }
        let n = batch.num_rows();
        let outcomes = self
            .rules
            .iter()
            .map(|(_, node)| row_outcome(node, &results, n, self.filtered_row_label))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(RowOutcomes::new(self.rule_texts.clone(), outcomes, n)))
    }

    /// What this engine has accumulated, for one shard of a sharded run. The shard does not
    /// call `finish`: the merge does, on an engine that merged every shard's state.
    pub fn save(&self) -> PartialState {
        PartialState {
            format: partial::FORMAT,
            fingerprint: self.fingerprint.clone(),
            rows: self.rows,
            metrics: self.metrics.save(),
            rules: self
                .leaves
                .iter()
                .map(|leaf| match (&leaf.error, leaf.check.problem()) {
                    (Some(e), _) => Saved::Error(e.clone()),
                    // It could not be compiled here (e.g. its reference was unreadable).
                    (None, Some(p)) => Saved::Error(p),
                    (None, None) => Saved::State(leaf.check.save()),
                })
                .collect(),
        }
    }

    /// Adds a shard's state (saved by an engine built for the same ruleset and schema).
    pub fn merge(&mut self, state: &PartialState) -> Result<(), DqError> {
        if state.format != partial::FORMAT {
            return Err(DqError::Ruleset(format!(
                "a shard state has format {}; this gluepipe-etl reads format {}",
                state.format,
                partial::FORMAT
            )));
        }
        if state.fingerprint != self.fingerprint {
            return Err(DqError::Ruleset(
                "a shard state was made for another ruleset or schema than this run's".into(),
            ));
        }
        if state.rules.len() != self.leaves.len() {
            return Err(DqError::Ruleset(format!(
                "a shard state has {} rules where this ruleset has {}",
                state.rules.len(),
                self.leaves.len()
            )));
        }
        self.metrics.merge(&state.metrics)?;
        for (leaf, saved) in self.leaves.iter_mut().zip(&state.rules) {
            if leaf.error.is_some() || leaf.check.problem().is_some() {
                // Already decided here: an error, or the same compile problem every shard had.
                continue;
            }
            match saved {
                Saved::Error(e) => leaf.error = Some(e.clone()),
                Saved::State(s) => leaf.check.merge(s).map_err(|e| {
                    DqError::Ruleset(format!(
                        "merging the shard state of rule {}: {e}",
                        leaf.text
                    ))
                })?,
            }
        }
        self.rows += state.rows;
        Ok(())
    }

    fn check_schema(&self, batch: &RecordBatch) -> Result<(), DqError> {
        let (expected, found) = (self.schema.fields(), batch.schema_ref().fields());
        if expected.len() != found.len() {
            return Err(DqError::SchemaMismatch(format!(
                "{} columns, but the engine was built for {}",
                found.len(),
                expected.len()
            )));
        }
        for (e, f) in expected.iter().zip(found.iter()) {
            if e.name() != f.name() || e.data_type() != f.data_type() {
                return Err(DqError::SchemaMismatch(format!(
                    "column {} {} where the engine expects {} {}",
                    f.name(),
                    f.data_type(),
                    e.name(),
                    e.data_type()
                )));
            }
        }
        Ok(())
    }

    /// Decides every rule, computes the analyzers, and records this run's metrics in the history.
    pub fn finish(mut self) -> Result<DqResults, DqError> {
        let ctx = FinishContext {
            metrics: &self.metrics,
            history: &self.history,
        };
        let leaf_outcomes: Vec<LeafOutcome> = self
            .leaves
            .iter_mut()
            .map(|leaf| match &leaf.error {
                Some(e) => LeafOutcome::error(e.clone()),
                None => leaf.check.finish(&ctx),
            })
            .collect();
        let mut recorded = Metrics::new();
        for o in &leaf_outcomes {
            recorded.extend(o.history.iter().cloned());
        }
        let rule_outcomes: Vec<RuleResult> = self
            .rules
            .iter()
            .map(|(rule, node)| {
                let combined = combine(node, &leaf_outcomes);
                let evaluated = evaluated_rule(
                    rule,
                    &mut leaf_evaluations(node, &leaf_outcomes).into_iter(),
                );
                RuleResult {
                    rule: rule.text(),
                    outcome: combined.outcome,
                    failure_reason: combined.reason,
                    evaluated_metrics: combined.metrics,
                    evaluated_rule: evaluated.text(),
                }
            })
            .collect();
        let mut analyzer_results = Vec::new();
        for a in &self.analyzers {
            let (result, history) = a.finish(&self.metrics);
            recorded.extend(history);
            analyzer_results.push(result);
        }
        let results = DqResults::new(self.rows, rule_outcomes, analyzer_results);
        if let Some(store) = &self.history_store {
            store.append(&RunRecord {
                run_id: std::mem::take(&mut self.run_id),
                evaluated_at: self
                    .evaluated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                outcome: results.outcome,
                metrics: recorded,
            })?;
        }
        Ok(results)
    }
}

/// A digest of the ruleset's canonical text and the schema's columns.
fn fingerprint(ruleset: &Ruleset, schema: &SchemaRef) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(ruleset.to_string().as_bytes());
    for f in schema.fields() {
        h.update(format!("\n{}: {}", f.name(), f.data_type()).as_bytes());
    }
    hex::encode(h.finalize())
}

fn plan_node(rule: &Rule, planner: &mut Planner<'_>, leaves: &mut Vec<Leaf>) -> Node {
    match rule {
        Rule::Single(r) => {
            leaves.push(Leaf {
                check: compile(r, planner),
                error: None,
                text: Rule::Single(r.clone()).text(),
            });
            Node::Leaf(leaves.len() - 1)
        }
        Rule::Composite(c) => Node::Composite(
            c.operator,
            c.rules
                .iter()
                .map(|r| plan_node(r, planner, leaves))
                .collect(),
        ),
    }
}

fn node_row_level(node: &Node, leaves: &[Leaf]) -> bool {
    match node {
        Node::Leaf(i) => leaves[*i].check.row_level(),
        Node::Composite(_, children) => children.iter().all(|c| node_row_level(c, leaves)),
    }
}

/// The per-row outcome of a rule tree: pass/fail, null = skipped; `None` = skipped everywhere.
fn row_outcome(
    node: &Node,
    results: &[Option<RowResult>],
    n: usize,
    filtered: FilteredRowLabel,
) -> Result<Option<BooleanArray>, DqError> {
    match node {
        Node::Leaf(i) => Ok(results[*i].as_ref().map(|r| match (&r.scope, filtered) {
            (None, _) => BooleanArray::new(r.pass.clone(), None),
            (Some(scope), FilteredRowLabel::Passed) => {
                // Rows outside the where clause pass.
                BooleanArray::new(&r.pass | &!scope, None)
            }
            (Some(scope), FilteredRowLabel::Skipped) => {
                BooleanArray::new(r.pass.clone(), Some(NullBuffer::new(scope.clone())))
            }
        })),
        Node::Composite(op, children) => {
            let mut acc: Option<BooleanArray> = None;
            for c in children {
                let Some(child) = row_outcome(c, results, n, filtered)? else {
                    return Ok(None);
                };
                acc = Some(match acc {
                    None => child,
                    Some(a) if *op == LogicalOperator::And => and_kleene(&a, &child)?,
                    Some(a) => or_kleene(&a, &child)?,
                });
            }
            Ok(Some(acc.unwrap_or_else(|| {
                BooleanArray::new(BooleanBuffer::new_set(n), None)
            })))
        }
    }
}

/// A composite's outcome: AND passes when all members pass, OR when one does; `Error` wins over
/// `Failed` in AND only when nothing failed, and in OR only when nothing passed. Failure reasons
/// are joined with line breaks and metrics merged, as Glue does.
fn combine(node: &Node, leaves: &[LeafOutcome]) -> LeafOutcome {
    let (op, children) = match node {
        Node::Leaf(i) => return leaves[*i].clone(),
        Node::Composite(op, children) => (op, children),
    };
    let parts: Vec<LeafOutcome> = children.iter().map(|c| combine(c, leaves)).collect();
    let has = |o: Outcome| parts.iter().any(|p| p.outcome == o);
    let outcome = match op {
        LogicalOperator::And if parts.iter().all(|p| p.outcome == Outcome::Passed) => {
            Outcome::Passed
        }
        LogicalOperator::And if has(Outcome::Failed) => Outcome::Failed,
        LogicalOperator::And => Outcome::Error,
        LogicalOperator::Or if has(Outcome::Passed) => Outcome::Passed,
        LogicalOperator::Or if has(Outcome::Error) => Outcome::Error,
        LogicalOperator::Or => Outcome::Failed,
    };
    let reasons: Vec<String> = parts.iter().filter_map(|p| p.reason.clone()).collect();
    let mut metrics = Metrics::new();
    for p in &parts {
        metrics.extend(p.metrics.clone());
    }
    LeafOutcome {
        outcome,
        reason: (!reasons.is_empty()).then(|| reasons.join("\n")),
        metrics,
        history: vec![],
        evaluated_rule: None,
    }
}

/// Each leaf's evaluated form (or `None` when it equals the rule), depth first.
fn leaf_evaluations(node: &Node, leaves: &[LeafOutcome]) -> Vec<Option<SingleRule>> {
    match node {
        Node::Leaf(i) => vec![leaves[*i].evaluated_rule.clone()],
        Node::Composite(_, children) => children
            .iter()
            .flat_map(|c| leaf_evaluations(c, leaves))
            .collect(),
    }
}

/// `rule` with each leaf replaced by its evaluated form, consumed depth first.
fn evaluated_rule(rule: &Rule, evaluated: &mut impl Iterator<Item = Option<SingleRule>>) -> Rule {
    match rule {
        Rule::Single(r) => Rule::Single(evaluated.next().flatten().unwrap_or_else(|| r.clone())),
        Rule::Composite(c) => Rule::Composite(CompositeRule {
            operator: c.operator,
            rules: c
                .rules
                .iter()
                .map(|r| evaluated_rule(r, evaluated))
                .collect(),
            labels: c.labels.clone(),
        }),
    }
}
