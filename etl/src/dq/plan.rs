//! The shared machinery rules are compiled onto: `where` filters evaluated once per batch per
//! distinct clause ([`Filters`]), metric accumulators shared by every rule that needs the same
//! metric over the same columns and filter ([`SharedMetrics`] — one distinct-value table serves
//! Uniqueness, IsUnique, DistinctValuesCount… of a column), and the per-batch view rules read
//! ([`BatchView`]: the batch, the filter masks, numeric columns cast to `f64` once).

use std::cell::OnceCell;
use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;

use crate::dq::columns::Columns;
use crate::dq::error::DqError;
use crate::dq::metrics::as_f64;
use crate::dq::metrics::frequency::{Frequencies, FrequencyStats};
use crate::dq::metrics::lengths::{LengthRange, char_lengths};
use crate::dq::metrics::moments::{CoMoments, Moments};
use crate::dq::partial::{AccumulatorState, Saved};
use crate::dq::sql::{Binder, Bound, EvalContext, parse_expr};

/// Index of a registered `where` clause.
pub type FilterId = usize;

/// The distinct `where` clauses of a ruleset, parsed and bound once.
#[derive(Debug, Default)]
pub struct Filters {
    clauses: Vec<(String, Bound)>,
}

impl Filters {
    /// Registers `clause` (blank means no filter); an invalid clause is the rule's error.
    pub fn register(
        &mut self,
        clause: Option<&str>,
        schema: &Schema,
    ) -> Result<Option<FilterId>, String> {
        let Some(text) = clause.filter(|c| !c.trim().is_empty()) else {
            return Ok(None);
        };
        if let Some(i) = self.clauses.iter().position(|(t, _)| t == text) {
            return Ok(Some(i));
        }
        let invalid =
            |e: &dyn std::fmt::Display| format!("The provided where clause is invalid: {e}");
        let expr = parse_expr(text).map_err(|e| invalid(&e))?;
        let bound = Binder::new(schema, &["primary"])
            .bind(&expr)
            .map_err(|e| invalid(&e))?;
        self.clauses.push((text.to_string(), bound));
        Ok(Some(self.clauses.len() - 1))
    }

    /// Evaluates every filter over `batch`: the rows each keeps, or why it could not be evaluated.
    pub fn masks(
        &self,
        batch: &RecordBatch,
        ctx: &EvalContext<'_>,
    ) -> Vec<Result<BooleanBuffer, String>> {
        self.clauses
            .iter()
            .map(|(text, bound)| {
                crate::dq::sql::eval::eval_predicate(bound, batch, ctx)
                    .map_err(|e| format!("The provided where clause is invalid: {text}: {e}"))
            })
            .collect()
    }
}

/// What one batch offers the rules.
pub struct BatchView<'a> {
    /// The batch.
    pub batch: &'a RecordBatch,
    masks: &'a [Result<BooleanBuffer, String>],
    columns: &'a Columns,
    /// Nested columns, extracted when first read.
    nested: Vec<OnceCell<ArrayRef>>,
    numbers: Vec<OnceCell<Option<Float64Array>>>,
    /// Evaluation context (the run's `now`).
    pub eval: EvalContext<'a>,
}

impl<'a> BatchView<'a> {
    /// A view of `batch` with the filter masks already computed.
    pub fn new(
        batch: &'a RecordBatch,
        masks: &'a [Result<BooleanBuffer, String>],
        columns: &'a Columns,
        eval: EvalContext<'a>,
    ) -> Self {
        BatchView {
            batch,
            masks,
            columns,
            nested: (0..columns.nested_len()).map(|_| OnceCell::new()).collect(),
            numbers: (0..columns.schema().fields().len())
                .map(|_| OnceCell::new())
                .collect(),
            eval,
        }
    }

    /// Rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Column `i` (a top-level column, or a nested one: see [`Columns`]).
    pub fn column(&self, i: usize) -> &ArrayRef {
        if !self.columns.is_nested(i) {
            return self.batch.column(i);
        }
        let k = i - self.batch.num_columns();
        self.nested[k].get_or_init(|| self.columns.nested(self.batch, i))
    }

    /// The rows `filter` keeps (`None`: every row).
    pub fn mask(&self, filter: Option<FilterId>) -> Result<Option<&BooleanBuffer>, String> {
        match filter {
            None => Ok(None),
            Some(f) => match &self.masks[f] {
                Ok(m) => Ok(Some(m)),
                Err(e) => Err(e.clone()),
            },
        }
    }

    /// Column `i` as `f64` (cast once per batch), or `None` when it is not numeric.
    pub fn numbers(&self, i: usize) -> Result<Option<&Float64Array>, DqError> {
        if let Some(done) = self.numbers[i].get() {
            return Ok(done.as_ref());
        }
        let cast = as_f64(self.column(i).as_ref())?;
        Ok(self.numbers[i].get_or_init(|| cast).as_ref())
    }
}

/// `values` with the rows outside `mask` turned into nulls (no copy of the values).
pub fn mask_values(values: &Float64Array, mask: Option<&BooleanBuffer>) -> Float64Array {
    match mask {
        None => values.clone(),
        Some(m) => {
            let nulls = NullBuffer::union(values.nulls(), Some(&NullBuffer::new(m.clone())));
            Float64Array::new(values.values().clone(), nulls)
        }
    }
}

/// A metric several rules may share.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Rows (after the filter).
    Rows,
    /// Rows and non-null values of a column.
    Completeness(usize),
    /// Numeric moments of a column.
    Moments(usize),
    /// Co-moments of two columns.
    CoMoments(usize, usize),
    /// Minimum and maximum character length of a column (null as 0).
    Lengths(usize),
    /// Exact value frequencies of a column tuple.
    Frequencies(Vec<usize>),
}

/// Index of a registered metric.
pub type MetricId = usize;

/// The state of one shared metric.
#[derive(Debug)]
pub enum Accumulator {
    /// Row count.
    Rows(u64),
    /// `(rows, non-null values)`.
    Completeness { rows: u64, non_null: u64 },
    /// Moments.
    Moments(Moments),
    /// Co-moments.
    CoMoments(CoMoments),
    /// Length range.
    Lengths(LengthRange),
    /// Frequencies.
    Frequencies(Box<Frequencies>),
}

struct Entry {
    kind: MetricKind,
    filter: Option<FilterId>,
    state: Accumulator,
    /// Set when a batch could not be added (its filter failed); the metric is then unusable.
    error: Option<String>,
}

/// Every metric the rules need, each updated once per batch.
#[derive(Default)]
pub struct SharedMetrics {
    index: HashMap<(MetricKind, Option<FilterId>), MetricId>,
    entries: Vec<Entry>,
}

impl SharedMetrics {
    /// The id of `kind` over `filter`, registering it on first use.
    pub fn register(
        &mut self,
        kind: MetricKind,
        filter: Option<FilterId>,
        schema: &Schema,
    ) -> Result<MetricId, DqError> {
        if let Some(&id) = self.index.get(&(kind.clone(), filter)) {
            return Ok(id);
        }
        let state = match &kind {
            MetricKind::Rows => Accumulator::Rows(0),
            MetricKind::Completeness(_) => Accumulator::Completeness {
                rows: 0,
                non_null: 0,
            },
            MetricKind::Moments(_) => Accumulator::Moments(Moments::default()),
            MetricKind::CoMoments(..) => Accumulator::CoMoments(CoMoments::default()),
            MetricKind::Lengths(_) => Accumulator::Lengths(LengthRange::default()),
            MetricKind::Frequencies(cols) => {
                let types: Vec<_> = cols
                    .iter()
                    .map(|&c| schema.field(c).data_type().clone())
                    .collect();
                Accumulator::Frequencies(Box::new(Frequencies::new(&types)?))
            }
        };
        let id = self.entries.len();
        self.entries.push(Entry {
            kind: kind.clone(),
            filter,
            state,
            error: None,
        });
        self.index.insert((kind, filter), id);
        Ok(id)
    }

    /// Adds one batch to every metric.
    pub fn update(&mut self, view: &BatchView<'_>) -> Result<(), DqError> {
        for entry in &mut self.entries {
            if entry.error.is_some() {
                continue;
            }
            let mask = match view.mask(entry.filter) {
                Ok(m) => m,
                Err(e) => {
                    entry.error = Some(e);
                    continue;
                }
            };
            let rows = || mask.map_or(view.num_rows(), BooleanBuffer::count_set_bits) as u64;
            match (&entry.kind, &mut entry.state) {
                (MetricKind::Rows, Accumulator::Rows(n)) => *n += rows(),
                (MetricKind::Completeness(c), Accumulator::Completeness { rows: r, non_null }) => {
                    *r += rows();
                    *non_null += non_null_count(view.column(*c).as_ref(), mask);
                }
                (MetricKind::Moments(c), Accumulator::Moments(m)) => {
                    if let Some(values) = view.numbers(*c)? {
                        m.update(&mask_values(values, mask));
                    }
                }
                (MetricKind::CoMoments(a, b), Accumulator::CoMoments(cm)) => {
                    if let (Some(x), Some(y)) = (view.numbers(*a)?, view.numbers(*b)?) {
                        cm.update(&mask_values(x, mask), y);
                    }
                }
                (MetricKind::Lengths(c), Accumulator::Lengths(range)) => {
                    let lengths = char_lengths(view.column(*c).as_ref())?;
                    range.update(&lengths, mask.map(|m| NullBuffer::new(m.clone())).as_ref());
                }
                (MetricKind::Frequencies(cols), Accumulator::Frequencies(f)) => {
                    let columns: Vec<ArrayRef> =
                        cols.iter().map(|&c| view.column(c).clone()).collect();
                    f.update(&columns, mask)?;
                }
                _ => unreachable!("metric kinds and states are created together in register"),
            }
        }
        Ok(())
    }

    /// The state of metric `id`, or why it could not be computed.
    pub fn get(&self, id: MetricId) -> Result<&Accumulator, String> {
        let entry = &self.entries[id];
        match &entry.error {
            Some(e) => Err(e.clone()),
            None => Ok(&entry.state),
        }
    }

    /// `(rows, non-null)` of a Completeness metric.
    pub fn completeness(&self, id: MetricId) -> Result<(u64, u64), String> {
        match self.get(id)? {
            Accumulator::Completeness { rows, non_null } => Ok((*rows, *non_null)),
            Accumulator::Rows(rows) => Ok((*rows, *rows)),
            other => Err(format!("internal: {other:?} is not a completeness metric")),
        }
    }

    /// A Rows metric.
    pub fn rows(&self, id: MetricId) -> Result<u64, String> {
        match self.get(id)? {
            Accumulator::Rows(n) => Ok(*n),
            other => Err(format!("internal: {other:?} is not a row count")),
        }
    }

    /// A Moments metric.
    pub fn moments(&self, id: MetricId) -> Result<Moments, String> {
        match self.get(id)? {
            Accumulator::Moments(m) => Ok(*m),
            other => Err(format!("internal: {other:?} is not a moments metric")),
        }
    }

    /// A CoMoments metric.
    pub fn co_moments(&self, id: MetricId) -> Result<CoMoments, String> {
        match self.get(id)? {
            Accumulator::CoMoments(c) => Ok(*c),
            other => Err(format!("internal: {other:?} is not a correlation metric")),
        }
    }

    /// A Lengths metric.
    pub fn lengths(&self, id: MetricId) -> Result<LengthRange, String> {
        match self.get(id)? {
            Accumulator::Lengths(l) => Ok(*l),
            other => Err(format!("internal: {other:?} is not a length metric")),
        }
    }

    /// A Frequencies metric's statistics.
    pub fn frequencies(&self, id: MetricId) -> Result<FrequencyStats, String> {
        match self.get(id)? {
            Accumulator::Frequencies(f) => Ok(f.stats()),
            other => Err(format!("internal: {other:?} is not a frequency metric")),
        }
    }

    /// Every metric's state, for a shard ([`crate::dq::partial`]).
    pub fn save(&self) -> Vec<Saved<AccumulatorState>> {
        self.entries
            .iter()
            .map(|e| match &e.error {
                Some(err) => Saved::Error(err.clone()),
                None => Saved::State(match &e.state {
                    Accumulator::Rows(n) => AccumulatorState::Rows(*n),
                    Accumulator::Completeness { rows, non_null } => {
                        AccumulatorState::Completeness {
                            rows: *rows,
                            non_null: *non_null,
                        }
                    }
                    Accumulator::Moments(m) => AccumulatorState::Moments(*m),
                    Accumulator::CoMoments(c) => AccumulatorState::CoMoments(*c),
                    Accumulator::Lengths(l) => AccumulatorState::Lengths(*l),
                    Accumulator::Frequencies(f) => AccumulatorState::Frequencies(f.save()),
                }),
            })
            .collect()
    }

    /// Adds a shard's saved metrics (from an engine built for the same ruleset and schema).
    pub fn merge(&mut self, saved: &[Saved<AccumulatorState>]) -> Result<(), DqError> {
        if saved.len() != self.entries.len() {
            return Err(DqError::Ruleset(format!(
                "a shard state has {} metrics where this ruleset has {}",
                saved.len(),
                self.entries.len()
            )));
        }
        for (i, (entry, saved)) in self.entries.iter_mut().zip(saved).enumerate() {
            let state = match saved {
                Saved::Error(e) => {
                    entry.error.get_or_insert_with(|| e.clone());
                    continue;
                }
                Saved::State(s) => s,
            };
            match (&mut entry.state, state) {
                (Accumulator::Rows(n), AccumulatorState::Rows(m)) => *n += m,
                (
                    Accumulator::Completeness { rows, non_null },
                    AccumulatorState::Completeness {
                        rows: r,
                        non_null: nn,
                    },
                ) => {
                    *rows += r;
                    *non_null += nn;
                }
                (Accumulator::Moments(a), AccumulatorState::Moments(b)) => a.merge(b),
                (Accumulator::CoMoments(a), AccumulatorState::CoMoments(b)) => a.merge(b),
                (Accumulator::Lengths(a), AccumulatorState::Lengths(b)) => a.merge(b),
                (Accumulator::Frequencies(a), AccumulatorState::Frequencies(b)) => a.merge(b)?,
                _ => {
                    return Err(DqError::Ruleset(format!(
                        "a shard state's metric {i} is of another kind than this ruleset's"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Approximate heap bytes of every distinct-value table (the only state that grows).
    pub fn heap_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| match &e.state {
                Accumulator::Frequencies(f) => f.heap_bytes(),
                _ => 0,
            })
            .sum()
    }
}

/// Non-null values of `array` among the rows of `mask`.
fn non_null_count(array: &dyn Array, mask: Option<&BooleanBuffer>) -> u64 {
    let valid = array.logical_nulls().map(|n| n.into_inner());
    (match (valid, mask) {
        (None, None) => array.len(),
        (None, Some(m)) => m.count_set_bits(),
        (Some(v), None) => v.count_set_bits(),
        (Some(v), Some(m)) => (&v & m).count_set_bits(),
    }) as u64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use chrono::Utc;

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(3)])),
                Arc::new(StringArray::from(vec![
                    Some("x"),
                    Some("y"),
                    None,
                    Some("x"),
                ])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn filters_are_shared_by_text_and_errors_name_the_clause() {
        let b = batch();
        let mut f = Filters::default();
        assert_eq!(f.register(None, b.schema_ref()).unwrap(), None);
        assert_eq!(f.register(Some("  "), b.schema_ref()).unwrap(), None);
        assert_eq!(f.register(Some("a > 1"), b.schema_ref()).unwrap(), Some(0));
        assert_eq!(
            f.register(Some("s = 'x'"), b.schema_ref()).unwrap(),
            Some(1)
        );
        assert_eq!(f.register(Some("a > 1"), b.schema_ref()).unwrap(), Some(0));
        let e = f.register(Some("nope > 1"), b.schema_ref()).unwrap_err();
        assert_eq!(
            e,
            "The provided where clause is invalid: column nope does not exist"
        );
        let masks = f.masks(&b, &EvalContext::new(Utc::now()));
        assert_eq!(
            masks[0].as_ref().unwrap(),
            &BooleanBuffer::from(vec![false, false, true, true])
        );
        assert_eq!(
            masks[1].as_ref().unwrap(),
            &BooleanBuffer::from(vec![true, false, false, true])
        );
    }

    #[test]
    fn shared_metrics_are_registered_once_and_respect_filters() {
        let b = batch();
        let schema = b.schema();
        let mut filters = Filters::default();
        let gt1 = filters.register(Some("a > 1"), &schema).unwrap();
        let mut m = SharedMetrics::default();
        let rows = m.register(MetricKind::Rows, None, &schema).unwrap();
        let rows_gt1 = m.register(MetricKind::Rows, gt1, &schema).unwrap();
        let compl = m
            .register(MetricKind::Completeness(0), None, &schema)
            .unwrap();
        let mean = m.register(MetricKind::Moments(0), None, &schema).unwrap();
        let freq = m
            .register(MetricKind::Frequencies(vec![1]), None, &schema)
            .unwrap();
        assert_eq!(
            m.register(MetricKind::Moments(0), None, &schema).unwrap(),
            mean
        );
        assert_eq!(
            m.register(MetricKind::Frequencies(vec![1]), None, &schema)
                .unwrap(),
            freq
        );

        let masks = filters.masks(&b, &EvalContext::new(Utc::now()));
        let columns = crate::dq::columns::Columns::new(&b.schema());
        let view = BatchView::new(&b, &masks, &columns, EvalContext::new(Utc::now()));
        m.update(&view).unwrap();
        m.update(&view).unwrap();
        assert_eq!(m.rows(rows).unwrap(), 8);
        assert_eq!(m.rows(rows_gt1).unwrap(), 4);
        assert_eq!(m.completeness(compl).unwrap(), (8, 6));
        // a = 1, 3, 3 twice: mean 7/3
        assert!((m.moments(mean).unwrap().mean().unwrap() - 7.0 / 3.0).abs() < 1e-12);
        // s = x, y, x twice (null skipped): x ×4, y ×2
        let s = m.frequencies(freq).unwrap();
        assert_eq!((s.distinct, s.rows, s.null_rows), (2, 6, 2));
        assert!(m.heap_bytes() > 0);
    }
}
