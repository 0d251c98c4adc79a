//! Rules against a reference dataset named by alias (see [`crate::dq::reference`]):
//! - ReferentialIntegrity `"a,b" "ref.{x,y}"`: share of primary rows whose key tuple occurs in
//!   the reference (a key with a null never matches, as in a SQL join);
//! - DatasetMatch `"ref" "k1->rk1,k2" ["c1->rc1,…"]`: share of primary rows whose key is in the
//!   reference with equal match columns (default: every non-key primary column, same names);
//!   keys must be unique on both sides;
//! - RowCountMatch `"ref"`: primary rows / reference rows;
//! - SchemaMatch `"ref"`: share of primary columns with the same name and type in the reference
//!   (0 and failed when the column counts differ);
//! - AggregateMatch `"sum(col)" "avg(ref.col)"`: first aggregate / second (both 0 → 1.0,
//!   second 0 → 0.0).
//!
//! The reference is read once, when the engine is built. Join keys are stored exactly in a
//! [`KeyTable`]; their memory grows with the reference's distinct keys.

use arrow::array::{Array, ArrayRef};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema};
use arrow::row::{RowConverter, Rows, SortField};
use gluepipe_spec::dqdl::SingleRule;

use super::metric::{Decided, MetricCheck, MetricSpec, decide_number};
use super::{
    Check, Compliance, FinishContext, LeafOutcome, Planner, Problem, RowResult, compliance_state,
    history_key, param,
};
use crate::dq::metrics::as_f64;
use crate::dq::metrics::key_table::KeyTable;
use crate::dq::metrics::moments::Moments;
use crate::dq::plan::{BatchView, MetricId, MetricKind};
use crate::dq::reference::Dataset;
use crate::dq::results::{Metrics, Outcome};
use crate::dq::sql::bind::resolve_column;
use crate::dq::sql::value::is_numeric;

fn open(planner: &Planner<'_>, alias: &str) -> Result<Dataset, Problem> {
    let resolver = planner.references.ok_or_else(|| {
        Problem::Error(format!(
            "{alias} not found in additional sources: no reference datasets were given to the engine"
        ))
    })?;
    resolver
        .open(alias)
        .map_err(|e| Problem::Error(format!("reference dataset {alias}: {e}")))
}

/// Encodes key tuples of fixed types into comparable bytes; other sides are cast to these types.
struct KeyEncoder {
    types: Vec<DataType>,
    converter: RowConverter,
}

impl KeyEncoder {
    fn new(types: Vec<DataType>) -> Result<Self, Problem> {
        let converter =
            RowConverter::new(types.iter().map(|t| SortField::new(t.clone())).collect())
                .map_err(|e| Problem::Error(e.to_string()))?;
        Ok(KeyEncoder { types, converter })
    }

    /// The encoded rows, and which rows have no null in any key column.
    fn encode(&self, columns: &[ArrayRef]) -> Result<(Rows, BooleanBuffer), String> {
        let len = columns.first().map_or(0, |c| c.len());
        let mut cast = Vec::with_capacity(columns.len());
        let mut complete = BooleanBuffer::new_set(len);
        for (c, t) in columns.iter().zip(&self.types) {
            let c = cast_with_options(c.as_ref(), t, &CastOptions::default())
                .map_err(|e| e.to_string())?;
            if let Some(n) = c.logical_nulls() {
                complete = &complete & n.inner();
            }
            cast.push(c);
        }
        let rows = self
            .converter
            .convert_columns(&cast)
            .map_err(|e| e.to_string())?;
        Ok((rows, complete))
    }
}

/// Column indices of `names` in `schema`, or the failure naming the missing ones.
fn indices(
    schema: &Schema,
    names: &[String],
    missing: impl Fn(&[String]) -> String,
) -> Result<Vec<usize>, Problem> {
    let mut found = Vec::new();
    let mut absent = Vec::new();
    for n in names {
        match resolve_column(schema, n) {
            Ok(i) => found.push(i),
            Err(_) => absent.push(n.clone()),
        }
    }
    if absent.is_empty() {
        Ok(found)
    } else {
        Err(Problem::Failed(missing(&absent)))
    }
}

/// Splits `"a, b"` into trimmed names.
fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `alias.{x,y}` or `alias.x`.
fn alias_and_columns(spec: &str) -> Option<(String, Vec<String>)> {
    if let Some(body) = spec.strip_suffix('}') {
        let (alias, cols) = body.split_once(".{")?;
        return (!alias.is_empty()).then(|| (alias.to_string(), names(cols)));
    }
    let (alias, col) = spec.rsplit_once('.')?;
    (!alias.is_empty() && !col.is_empty())
        .then(|| (alias.to_string(), vec![col.trim().to_string()]))
}

/// `ReferentialIntegrity "a,b" "ref.{x,y}" <condition>`.
pub struct IntegrityCheck {
    rule: SingleRule,
    alias: String,
    columns: Vec<usize>,
    encoder: KeyEncoder,
    keys: KeyTable,
    compliance: Compliance,
}

/// Compiles ReferentialIntegrity.
pub fn referential_integrity(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    super::number_condition(rule)?;
    let primary_names = names(param(rule, 0)?);
    let (alias, reference_names) = alias_and_columns(param(rule, 1)?)
        .ok_or_else(|| Problem::Error("Could not parse DatasetsetColumns parameter".into()))?;
    if primary_names.is_empty() || primary_names.len() != reference_names.len() {
        return Err(Problem::Failed(
            "The number of columns to check from the primary data frame must equal the number of columns \
             to check from the reference data frame."
                .into(),
        ));
    }
    let missing = |side: &'static str| {
        move |absent: &[String]| match absent {
            [one] => format!("Column {one} does not exist in {side} data frame."),
            many => format!(
                "Columns {} do not exist in {side} data frame.",
                many.join(", ")
            ),
        }
    };
    let columns = indices(planner.schema, &primary_names, missing("primary"))?;
    let reference = open(planner, &alias)?;
    let reference_columns = indices(&reference.schema, &reference_names, missing("reference"))?;
    let types = columns
        .iter()
        .map(|&c| planner.field(c).data_type().clone())
        .collect();
    let encoder = KeyEncoder::new(types)?;
    let mut keys = KeyTable::default();
    for batch in reference.batches {
        let batch = batch?;
        let cols: Vec<ArrayRef> = reference_columns
            .iter()
            .map(|&c| batch.column(c).clone())
            .collect();
        let (rows, complete) = encoder
            .encode(&cols)
            .map_err(|e| Problem::Error(format!("reference {alias}: {e}")))?;
        for i in complete.set_indices() {
            keys.insert(rows.row(i).as_ref())?;
        }
    }
    Ok(Box::new(IntegrityCheck {
        rule: rule.clone(),
        alias,
        columns,
        encoder,
        keys,
        compliance: Compliance::default(),
    }))
}

impl Check for IntegrityCheck {
    compliance_state!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let cols: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|&c| view.column(c).clone())
            .collect();
        let (rows, complete) = self.encoder.encode(&cols)?;
        let pass = BooleanBuffer::collect_bool(view.num_rows(), |i| {
            complete.value(i) && self.keys.find(rows.row(i).as_ref()).is_some()
        });
        self.compliance.add(&pass, None);
        Ok(Some(RowResult { pass, scope: None }))
    }

    fn row_level(&self) -> bool {
        true
    }

    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome {
        if self.compliance.total == 0 {
            return LeafOutcome::failed("Primary data frame contains no data.");
        }
        let key = format!("Column.{}.ReferentialIntegrity", self.alias);
        ratio_outcome(&self.rule, &key, self.compliance.ratio(), ctx)
    }
}

/// A ratio decided by the rule's number condition, published under `key`.
fn ratio_outcome(
    rule: &SingleRule,
    key: &str,
    ratio: Option<f64>,
    ctx: &FinishContext<'_>,
) -> LeafOutcome {
    let hk = history_key(key, rule);
    let mut out = decide_number(rule, key, &hk, ratio, ctx.history);
    if let Some(r) = ratio {
        out.metrics.insert(key.to_string(), r);
        out.history.push((hk, r));
    }
    out
}

/// `a->b,c` into `(primary, reference)` name pairs.
fn mappings(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| match m.split_once("->") {
            Some((p, r)) => (p.trim().to_string(), r.trim().to_string()),
            None => (m.to_string(), m.to_string()),
        })
        .collect()
}

/// `DatasetMatch "ref" "keys" ["match columns"] <condition>`.
pub struct MatchCheck {
    rule: SingleRule,
    alias: String,
    key_columns: Vec<usize>,
    match_columns: Vec<usize>,
    keys: KeyEncoder,
    values: KeyEncoder,
    reference_keys: KeyTable,
    /// Distinct match tuples of the reference, and for each reference key the index of its tuple.
    reference_values: KeyTable,
    value_of_key: Vec<u32>,
    /// Set when the reference's keys are not unique.
    reference_duplicates: Option<String>,
    primary_keys: MetricId,
    compliance: Compliance,
}

/// Compiles DatasetMatch.
pub fn dataset_match(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    super::number_condition(rule)?;
    let alias = param(rule, 0)?.to_string();
    let key_map = mappings(param(rule, 1)?);
    if key_map.is_empty() {
        return Err(Problem::Error("Could not parse KeyColumnMappings".into()));
    }
    let (primary_keys, reference_keys): (Vec<String>, Vec<String>) = key_map.into_iter().unzip();
    let key_columns = indices(planner.schema, &primary_keys, |a| {
        format!(
            "The following key columns were not found in the first dataset: {}",
            a.join(", ")
        )
    })?;
    let reference = open(planner, &alias)?;
    let reference_key_columns = indices(&reference.schema, &reference_keys, |a| {
        format!(
            "The following key columns were not found in the second dataset: {}",
            a.join(", ")
        )
    })?;
    let (primary_match, reference_match): (Vec<String>, Vec<String>) = match rule.parameters.get(2)
    {
        Some(p) => {
            let m = mappings(p.value.text());
            if m.is_empty() {
                return Err(Problem::Error(
                    "Empty column comparison map provided.".into(),
                ));
            }
            m.into_iter().unzip()
        }
        None => {
            let rest: Vec<String> = planner
                .schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(i, _)| !key_columns.contains(i))
                .map(|(_, f)| f.name().clone())
                .collect();
            if rest
                .iter()
                .any(|n| resolve_column(&reference.schema, n).is_err())
            {
                return Err(Problem::Failed(
                    "Non key columns in the given data frames do not match.".into(),
                ));
            }
            (rest.clone(), rest)
        }
    };
    let match_columns = indices(planner.schema, &primary_match, |a| {
        format!(
            "The following columns were not found in the first dataset: {}",
            a.join(", ")
        )
    })?;
    let reference_match_columns = indices(&reference.schema, &reference_match, |a| {
        format!(
            "The following columns were not found in the second dataset: {}",
            a.join(", ")
        )
    })?;
    let type_of = |cols: &[usize]| -> Vec<DataType> {
        cols.iter()
            .map(|&c| planner.field(c).data_type().clone())
            .collect()
    };
    let keys = KeyEncoder::new(type_of(&key_columns))?;
    let values = KeyEncoder::new(type_of(&match_columns))?;
    let mut reference_key_table = KeyTable::default();
    let mut reference_values = KeyTable::default();
    let mut value_of_key = Vec::new();
    let (mut reference_rows, mut duplicate_rows) = (0u64, 0u64);
    let error = |e: String| Problem::Error(format!("reference {alias}: {e}"));
    for batch in reference.batches {
        let batch = batch?;
        let pick = |cols: &[usize]| -> Vec<ArrayRef> {
            cols.iter().map(|&c| batch.column(c).clone()).collect()
        };
        let (key_rows, complete) = keys.encode(&pick(&reference_key_columns)).map_err(error)?;
        let (value_rows, _) = values
            .encode(&pick(&reference_match_columns))
            .map_err(error)?;
        reference_rows += batch.num_rows() as u64;
        for i in 0..batch.num_rows() {
            let (k, new) = reference_key_table.insert(key_rows.row(i).as_ref())?;
            if !new {
                duplicate_rows += 1;
                continue;
            }
            let (v, _) = reference_values.insert(value_rows.row(i).as_ref())?;
            debug_assert_eq!(k, value_of_key.len());
            // A key with a null never joins; keep its slot so indices stay aligned.
            value_of_key.push(if complete.value(i) {
                v as u32
            } else {
                u32::MAX
            });
        }
    }
    let reference_duplicates = (duplicate_rows > 0).then(|| {
        format!(
            "in Dataframe 2, there are {} unique records and {reference_rows} rows",
            reference_rows - duplicate_rows
        )
    });
    let primary_keys = planner.metrics.register(
        MetricKind::Frequencies(key_columns.clone()),
        None,
        planner.columns.schema(),
    )?;
    Ok(Box::new(MatchCheck {
        rule: rule.clone(),
        alias,
        key_columns,
        match_columns,
        keys,
        values,
        reference_keys: reference_key_table,
        reference_values,
        value_of_key,
        reference_duplicates,
        primary_keys,
        compliance: Compliance::default(),
    }))
}

impl Check for MatchCheck {
    compliance_state!();

    fn update(&mut self, view: &BatchView<'_>) -> Result<Option<RowResult>, String> {
        let pick = |cols: &[usize]| -> Vec<ArrayRef> {
            cols.iter().map(|&c| view.column(c).clone()).collect()
        };
        let (key_rows, complete) = self.keys.encode(&pick(&self.key_columns))?;
        let (value_rows, _) = self.values.encode(&pick(&self.match_columns))?;
        let pass = BooleanBuffer::collect_bool(view.num_rows(), |i| {
            if !complete.value(i) {
                return false;
            }
            let Some(k) = self.reference_keys.find(key_rows.row(i).as_ref()) else {
                return false;
            };
            let expected = self.value_of_key[k];
            expected != u32::MAX
                && self.reference_values.find(value_rows.row(i).as_ref()) == Some(expected as usize)
        });
        self.compliance.add(&pass, None);
        Ok(Some(RowResult { pass, scope: None }))
    }

    fn row_level(&self) -> bool {
        true
    }

    fn finish(&mut self, ctx: &FinishContext<'_>) -> LeafOutcome {
        let stats = match ctx.metrics.frequencies(self.primary_keys) {
            Ok(s) => s,
            Err(e) => return LeafOutcome::error(e),
        };
        let primary_rows = stats.rows + stats.null_rows;
        let primary_unique = stats.distinct + u64::from(stats.null_rows > 0);
        if primary_unique != primary_rows || self.reference_duplicates.is_some() {
            let mut parts = Vec::new();
            if primary_unique != primary_rows {
                parts.push(format!("in Dataframe 1, there are {primary_unique} unique records and {primary_rows} rows"));
            }
            parts.extend(self.reference_duplicates.clone());
            return LeafOutcome::failed(format!(
                "The selected columns are not comparable due to duplicates present in the dataset. \
                 Comparison keys must be unique, but {}",
                parts.join(", and ")
            ));
        }
        if self.compliance.total == 0 {
            return LeafOutcome::failed("Cannot evaluate: primary DataFrame is empty");
        }
        let key = format!("Dataset.{}.DatasetMatch", self.alias);
        ratio_outcome(&self.rule, &key, self.compliance.ratio(), ctx)
    }
}

/// Compiles RowCountMatch.
pub fn row_count_match(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    super::number_condition(rule)?;
    let alias = param(rule, 0)?.to_string();
    let mut reference_rows = 0u64;
    for batch in open(planner, &alias)?.batches {
        reference_rows += batch?.num_rows() as u64;
    }
    let rows = planner
        .metrics
        .register(MetricKind::Rows, None, planner.columns.schema())?;
    let key = format!("Dataset.{alias}.RowCountMatch");
    let spec = MetricSpec {
        history_key: history_key(&key, rule),
        key,
        source: Box::new(move |m| Ok(Some(m.rows(rows)? as f64 / reference_rows as f64))),
    };
    Ok(Box::new(MetricCheck::with_condition(rule, vec![spec])))
}

/// Spark's name for a column type, the level at which SchemaMatch compares types.
fn type_name(t: &DataType) -> String {
    use DataType as D;
    match t {
        D::Null => "void".into(),
        D::Boolean => "boolean".into(),
        D::Int8 | D::UInt8 => "byte".into(),
        D::Int16 | D::UInt16 => "short".into(),
        D::Int32 | D::UInt32 => "integer".into(),
        D::Int64 | D::UInt64 => "long".into(),
        D::Float16 | D::Float32 => "float".into(),
        D::Float64 => "double".into(),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => "string".into(),
        D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => "binary".into(),
        D::Date32 | D::Date64 => "date".into(),
        D::Timestamp(..) => "timestamp".into(),
        D::Decimal32(p, s) | D::Decimal64(p, s) | D::Decimal128(p, s) | D::Decimal256(p, s) => {
            format!("decimal({p},{s})")
        }
        D::List(_)
        | D::LargeList(_)
        | D::FixedSizeList(..)
        | D::ListView(_)
        | D::LargeListView(_) => "array".into(),
        D::Struct(_) => "struct".into(),
        D::Map(..) => "map".into(),
        D::Dictionary(_, v) => type_name(v),
        other => other.to_string(),
    }
}

/// Compiles SchemaMatch.
pub fn schema_match(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    super::number_condition(rule)?;
    let alias = param(rule, 0)?.to_string();
    let reference = open(planner, &alias)?;
    let key = format!("Dataset.{alias}.SchemaMatch");
    let (primary, other) = (planner.schema.fields(), reference.schema.fields());
    let failed = |message: &str| {
        Box::new(Decided(LeafOutcome {
            outcome: Outcome::Failed,
            reason: Some(message.to_string()),
            metrics: Metrics::from([(key.clone(), 0.0)]),
            history: vec![(history_key(&key, rule), 0.0)],
            evaluated_rule: None,
        }))
    };
    if primary.is_empty() || other.is_empty() {
        return Ok(failed("One or both DataFrames have no columns"));
    }
    if primary.len() != other.len() {
        return Ok(failed("Column counts do not match"));
    }
    let matched = primary
        .iter()
        .filter(|f| {
            other.iter().any(|g| {
                g.name() == f.name() && type_name(g.data_type()) == type_name(f.data_type())
            })
        })
        .count();
    let ratio = matched as f64 / primary.len() as f64;
    let spec = MetricSpec {
        history_key: history_key(&key, rule),
        key,
        source: Box::new(move |_| Ok(Some(ratio))),
    };
    Ok(Box::new(MetricCheck::with_condition(rule, vec![spec])))
}

/// One side of AggregateMatch: `sum(col)` / `avg(alias.col)`.
enum Side {
    /// Over the primary data: the shared moments of the column.
    Primary(MetricId, bool),
    /// Over a reference, computed when the engine is built.
    Reference(Option<f64>),
}

/// Compiles AggregateMatch.
pub fn aggregate_match(
    rule: &SingleRule,
    planner: &mut Planner<'_>,
) -> Result<Box<dyn Check>, Problem> {
    super::number_condition(rule)?;
    let (first, first_col) = aggregate_side(param(rule, 0)?, planner)?;
    let (second, second_col) = aggregate_side(param(rule, 1)?, planner)?;
    let instance = if first_col == second_col {
        first_col
    } else {
        format!("{first_col},{second_col}")
    };
    let key = format!("Column.{instance}.AggregateMatch");
    let read = |side: &Side, m: &crate::dq::plan::SharedMetrics| -> Result<f64, String> {
        Ok(match side {
            Side::Primary(id, avg) => {
                let moments = m.moments(*id)?;
                (if *avg { moments.mean() } else { moments.sum() }).unwrap_or(0.0)
            }
            Side::Reference(v) => v.unwrap_or(0.0),
        })
    };
    let spec = MetricSpec {
        history_key: history_key(&key, rule),
        key,
        source: Box::new(move |m| {
            let (a, b) = (read(&first, m)?, read(&second, m)?);
            Ok(Some(if a == 0.0 && b == 0.0 {
                1.0
            } else if b == 0.0 {
                0.0
            } else {
                a / b
            }))
        }),
    };
    Ok(Box::new(MetricCheck::with_condition(rule, vec![spec])))
}

/// Parses `sum(col)` / `avg(alias.col)` (case-insensitive function name).
fn aggregate_side(text: &str, planner: &mut Planner<'_>) -> Result<(Side, String), Problem> {
    let unsupported = || {
        Problem::Error(format!(
            "Unsupported aggregate expression {text}: use sum(column) or avg(column)"
        ))
    };
    let (func, inner) = text.trim().split_once('(').ok_or_else(unsupported)?;
    let inner = inner.strip_suffix(')').ok_or_else(unsupported)?;
    let avg = match func.to_ascii_lowercase().as_str() {
        "sum" => false,
        "avg" => true,
        _ => return Err(unsupported()),
    };
    let inner = inner.replace('"', "");
    let (alias, column) = match inner.rsplit_once('.') {
        Some((a, c)) => (a.to_string(), c.to_string()),
        None => ("primary".to_string(), inner.clone()),
    };
    if alias == "primary" {
        let c = planner.column(&column)?;
        if !is_numeric(planner.field(c).data_type()) {
            return Err(Problem::Failed(format!("Column {column} is not numeric")));
        }
        let id =
            planner
                .metrics
                .register(MetricKind::Moments(c), None, planner.columns.schema())?;
        return Ok((Side::Primary(id, avg), column));
    }
    let reference = open(planner, &alias)?;
    let c = resolve_column(&reference.schema, &column)
        .map_err(|_| Problem::Failed(format!("Column {column} does not exist in {alias}")))?;
    let mut moments = Moments::default();
    for batch in reference.batches {
        let batch = batch?;
        let values = as_f64(batch.column(c).as_ref())?
            .ok_or_else(|| Problem::Failed(format!("Column {column} of {alias} is not numeric")))?;
        moments.update(&values);
    }
    let value = if avg { moments.mean() } else { moments.sum() };
    Ok((Side::Reference(value), column))
}
