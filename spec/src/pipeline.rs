//! `PipelineSpec`: the one description of a pipeline that both sides share.
//!
//! The provider builds it from the `gluepipe_pipeline` resource, validates it at plan time and
//! uploads it to S3 as JSON; `gluepipe-etl run pipeline.json` executes the very same file, in a
//! Glue job or on a laptop. Validation lives here so both sides reject the same things with the
//! same words; each problem carries the path of the offending field.

use serde::{Deserialize, Serialize};

use crate::column_name::{column_key, same_column};
use crate::glue_type::parse_glue_type;
use crate::location::{Location, LocationError};
use crate::notifications::Notifications;

/// The spec format version this crate reads and writes.
pub const SPEC_VERSION: u32 = 1;

/// The ruleset used when `data_quality` is present but gives none (as Glue's default).
pub const DEFAULT_RULESET: &str = "Rules = [ ColumnCount > 0 ]";

/// The default quarantine folder is the target's name plus this, beside it.
pub const QUARANTINE_SUFFIX: &str = "_quarantine";

/// A whole pipeline: read `source`, apply `mapping`, check `data_quality`, write `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    #[serde(default = "spec_version")]
    pub version: u32,
    /// The gluepipe release that wrote the spec (the provider puts its own); a `gluepipe-etl`
    /// of another release refuses it, since the two sides must agree on every field's meaning.
    /// Absent in a hand-written spec, which any release runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gluepipe_version: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub source: Source,
    /// Applied in order; empty means every source column unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapping: Vec<Mapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<DataQuality>,
    pub target: Target,
    /// How many rejected records (malformed JSON, failed casts) a run may set aside before it
    /// fails. 0 fails on the first one, before anything is published.
    #[serde(default)]
    pub max_bad_records: u64,
    /// CloudWatch metrics after each run; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// An SNS message after each run with one of the listed outcomes; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
}

/// CloudWatch metrics each run publishes when it ends: Glue Data Quality's own (namespace
/// [`DQ_METRICS_NAMESPACE`]) and the run's counts (namespace [`RUN_METRICS_NAMESPACE`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// The `EvaluationContext` dimension of the data-quality metrics, as Glue's
    /// `dataQualityEvaluationContext`; default the pipeline's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_context: Option<String>,
}

/// Where Glue Data Quality publishes `glue.data.quality.rules.passed` and `.failed`.
pub const DQ_METRICS_NAMESPACE: &str = "Glue Data Quality";
/// Where gluepipe publishes each run's counts and duration, by `Pipeline` dimension.
pub const RUN_METRICS_NAMESPACE: &str = "gluepipe";
/// The longest CloudWatch dimension value.
pub const MAX_DIMENSION_VALUE: usize = 1024;

impl PipelineSpec {
    /// The `EvaluationContext` the data-quality metrics carry.
    pub fn evaluation_context(&self) -> Option<&str> {
        let m = self.metrics.as_ref()?;
        Some(m.evaluation_context.as_deref().unwrap_or(&self.name))
    }
}

/// Where the input comes from: a Glue catalog table, or explicit paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Convert only the input objects no earlier committed run of the target converted (the
    /// target's ledger: the inputs its manifests record). Append only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_table: Option<String>,
    /// Files, folders, globs or `s3://` prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    #[serde(default)]
    pub format: SourceFormat,
    /// Where the records are inside each JSON document: a dotted path to an array of objects
    /// (`features` for a GeoJSON FeatureCollection, `data.items` for an API dump), each element
    /// one record. Absent: each document (line, array element) is a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_path: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// Newline-delimited JSON or a top-level JSON array, plain, `.gz` or `.zst`.
    #[default]
    Json,
}

/// One ApplyMapping entry: `from` (dotted path into nested fields) becomes column `to` of `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataQuality {
    #[serde(default = "default_ruleset")]
    pub ruleset: String,
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Where results and metric history go; default `<target>/_gluepipe/dq/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_path: Option<String>,
    /// Where quarantined rows go; default: beside the target, `<target>_quarantine/`
    /// (see [`PipelineSpec::quarantine_location`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_path: Option<String>,
}

/// What a failed data-quality check does to the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Publish nothing and fail the run (exit 3).
    #[default]
    Fail,
    /// Publish and report.
    Warn,
    /// Rows failing row-level rules go to the quarantine location; the rest is published.
    Quarantine,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub path: String,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<String>,
    /// Register or update the output as this catalog table (both or neither).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_table: Option<String>,
    #[serde(default)]
    pub write_mode: WriteMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    Snappy,
    Zstd,
    Gzip,
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Add this run's files next to earlier ones (Glue's sink behaviour).
    #[default]
    Append,
    /// Replace earlier files, removed only once the new ones are complete.
    Overwrite,
}

/// One step of the path to a field in the spec: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Field(&'static str),
    Index(usize),
}

/// A problem found by [`PipelineSpec::validate`], located by its field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIssue {
    pub path: Vec<PathStep>,
    pub summary: String,
    pub detail: String,
}

impl SpecIssue {
    /// The path in dotted form, e.g. `mapping[2].type`.
    pub fn path_string(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                PathStep::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathStep::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

impl std::fmt::Display for SpecIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path_string(),
            self.summary,
            self.detail
        )
    }
}

fn spec_version() -> u32 {
    SPEC_VERSION
}

fn default_ruleset() -> String {
    DEFAULT_RULESET.to_string()
}

impl PipelineSpec {
    /// Parses a spec from JSON; unknown fields are rejected so typos do not pass silently.
    pub fn from_json(text: &str) -> Result<PipelineSpec, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The spec as the provider uploads it: stamped with this release, which the ETL checks.
    pub fn for_upload(&self) -> PipelineSpec {
        PipelineSpec {
            gluepipe_version: Some(crate::version::VERSION.to_string()),
            ..self.clone()
        }
    }

    pub fn to_json_pretty(&self) -> String {
        // Serialising plain structs of strings, numbers and enums cannot fail.
        serde_json::to_string_pretty(self).expect("PipelineSpec serialises")
    }

    /// Where a run puts quarantined rows: `None` unless `on_failure` is `quarantine`; then
    /// `data_quality.quarantine_path`, or by default the folder beside the target named
    /// `<target>_quarantine` (`s3://b/orders/` → `s3://b/orders_quarantine/`): outside the
    /// table, so that a reader of `<target>/**/*.parquet` or a crawler of the target never
    /// takes quarantined rows (which carry extra columns) for table data. `Err` when the
    /// location is invalid, or the target has no sibling (a bucket root) and none is given.
    pub fn quarantine_location(&self) -> Option<Result<Location, LocationError>> {
        let dq = self
            .data_quality
            .as_ref()
            .filter(|dq| dq.on_failure == OnFailure::Quarantine)?;
        Some(match &dq.quarantine_path {
            Some(path) => Location::parse(path),
            None => Location::parse(&self.target.path).and_then(|target| {
                target
                    .sibling(QUARANTINE_SUFFIX)
                    .ok_or_else(|| LocationError {
                        input: self.target.path.clone(),
                        reason: "the target has no folder beside it for quarantined rows; \
                                 set data_quality.quarantine_path"
                            .into(),
                    })
            }),
        })
    }

    /// Every problem in the spec, not just the first, each with its field path.
    pub fn validate(&self) -> Vec<SpecIssue> {
        let mut issues = Vec::new();
        let mut push = |path: Vec<PathStep>, summary: &str, detail: String| {
            issues.push(SpecIssue {
                path,
                summary: summary.to_string(),
                detail,
            });
        };
        use PathStep::{Field, Index};

        if self.version != SPEC_VERSION {
            push(
                vec![Field("version")],
                "Unsupported spec version",
                format!(
                    "this build reads version {SPEC_VERSION}, the file says {}",
                    self.version
                ),
            );
        }
        if let Some(context) = self
            .metrics
            .as_ref()
            .and_then(|m| m.evaluation_context.as_ref())
        {
            let chars = context.chars().count();
            if context.trim().is_empty()
                || chars > MAX_DIMENSION_VALUE
                || context.chars().any(char::is_control)
            {
                push(
                    vec![Field("metrics"), Field("evaluation_context")],
                    "Invalid evaluation context",
                    format!(
                        "a CloudWatch dimension value is 1 to {MAX_DIMENSION_VALUE} characters \
                         with no control characters, not blank; this one has {chars}"
                    ),
                );
            }
        }
        if let Some(n) = &self.notifications {
            for (path, summary, detail) in crate::notifications::validate(n) {
                let mut full = vec![Field("notifications")];
                full.extend(path);
                push(full, summary, detail);
            }
        }
        if self.name.trim().is_empty() {
            push(
                vec![Field("name")],
                "Empty name",
                "a pipeline needs a name".into(),
            );
        }

        // Source: a catalog table, or paths, never both.
        let s = &self.source;
        let catalog = (s.catalog_database.as_deref(), s.catalog_table.as_deref());
        match catalog {
            (Some(_), None) | (None, Some(_)) => push(
                vec![Field("source")],
                "Incomplete catalog source",
                "set both catalog_database and catalog_table".into(),
            ),
            (Some(_), Some(_)) if !s.paths.is_empty() => push(
                vec![Field("source")],
                "Conflicting source",
                "give either a catalog table or paths, not both".into(),
            ),
            (None, None) if s.paths.is_empty() => push(
                vec![Field("source")],
                "Missing source",
                "give a catalog table (catalog_database + catalog_table) or at least one path"
                    .into(),
            ),
            _ => {}
        }
        for (field, value) in [
            ("catalog_database", &s.catalog_database),
            ("catalog_table", &s.catalog_table),
        ] {
            if let Some(v) = value {
                if let Err(detail) = check_catalog_name(v) {
                    push(
                        vec![Field("source"), Field(field)],
                        "Invalid catalog name",
                        detail,
                    );
                }
            }
        }
        if let Some(path) = &s.records_path {
            if let Err(e) = crate::field_path::parse(path) {
                push(
                    vec![Field("source"), Field("records_path")],
                    "Invalid records path",
                    e.to_string(),
                );
            }
        }
        for (i, path) in s.paths.iter().enumerate() {
            if let Err(e) = Location::parse(path) {
                push(
                    vec![Field("source"), Field("paths"), Index(i)],
                    "Invalid source path",
                    e.reason,
                );
            }
        }

        // Mapping: valid types, no two entries writing the same column.
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, m) in self.mapping.iter().enumerate() {
            if let Err(e) = crate::field_path::parse(&m.from) {
                push(
                    vec![Field("mapping"), Index(i), Field("from")],
                    "Invalid source column",
                    e.to_string(),
                );
            }
            if m.to.trim().is_empty() {
                push(
                    vec![Field("mapping"), Index(i), Field("to")],
                    "Empty column name",
                    "name the output column".into(),
                );
            }
            if let Err(e) = parse_glue_type(&m.data_type) {
                push(
                    vec![Field("mapping"), Index(i), Field("type")],
                    "Invalid Glue type",
                    e.to_string(),
                );
            }
            let key = column_key(&m.to);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                push(
                    vec![Field("mapping"), Index(i), Field("to")],
                    "Mapping collision",
                    format!(
                        "mapping[{first}] already writes column '{}' (column names are case-insensitive in Glue)",
                        m.to
                    ),
                );
            } else {
                seen.push((key, i));
            }
        }

        if let Some(dq) = &self.data_quality {
            match crate::dqdl::parse(&dq.ruleset) {
                Err(e) => push(
                    vec![Field("data_quality"), Field("ruleset")],
                    "Invalid DQDL ruleset",
                    // The ruleset may come from a sensitive variable (Terraform does not say
                    // so to providers): the position, never its text.
                    e.without_input(),
                ),
                Ok(ruleset)
                    if dq.on_failure == OnFailure::Quarantine
                        && !ruleset.rules.iter().any(|r| r.judges_rows()) =>
                {
                    push(
                        vec![Field("data_quality"), Field("on_failure")],
                        "Nothing to quarantine",
                        "on_failure = quarantine moves rows that fail a row-level rule, and the \
                         ruleset has none (rules that judge rows: Completeness, IsComplete, \
                         ColumnValues, ColumnLength, CustomSql, ReferentialIntegrity, \
                         DatasetMatch); add one, or use fail or warn"
                            .into(),
                    )
                }
                Ok(_) => {}
            }
            if dq.quarantine_path.is_none() {
                if let Some(Err(e)) = self.quarantine_location() {
                    if Location::parse(&self.target.path).is_ok() {
                        push(
                            vec![Field("data_quality"), Field("quarantine_path")],
                            "Quarantine location needed",
                            e.reason,
                        );
                    }
                }
            }
            for (field, value) in [
                ("results_path", &dq.results_path),
                ("quarantine_path", &dq.quarantine_path),
            ] {
                if let Some(p) = value {
                    if let Err(e) = Location::parse(p) {
                        push(
                            vec![Field("data_quality"), Field(field)],
                            "Invalid location",
                            e.reason,
                        );
                    }
                }
            }
        }

        let t = &self.target;
        if let Err(e) = Location::parse(&t.path) {
            push(
                vec![Field("target"), Field("path")],
                "Invalid target path",
                e.reason,
            );
        }
        if s.incremental && t.write_mode == WriteMode::Overwrite {
            push(
                vec![Field("source"), Field("incremental")],
                "Incremental overwrite",
                "an incremental run converts only new inputs, and overwrite would then replace everything earlier runs published with just those; use write_mode append".into(),
            );
        }
        if let Ok(target) = Location::parse(&t.path) {
            if t.write_mode == WriteMode::Overwrite
                && target
                    .as_s3()
                    .is_some_and(|u| u.key.trim_matches('/').is_empty())
            {
                push(
                    vec![Field("target"), Field("path")],
                    "Overwrite of a bucket root",
                    format!(
                        "write_mode overwrite at {} would replace files in a whole bucket that other writers share; give the table its own prefix (s3://bucket/table/)",
                        t.path
                    ),
                );
            }
            for (i, path) in s.paths.iter().enumerate() {
                let Ok(input) = Location::parse(path) else {
                    continue;
                };
                if let Some(detail) = overlap(&input, &target) {
                    push(
                        vec![Field("source"), Field("paths"), Index(i)],
                        "Input and target overlap",
                        format!(
                            "{path} {detail} the target {}: a run would read its own output, and overwrite would delete its input; keep them apart",
                            t.path
                        ),
                    );
                }
            }
        }
        // The data-quality outputs are written too: inside the source, a run reads them back.
        let dq_outputs = [
            (
                "results_path",
                self.data_quality
                    .as_ref()
                    .and_then(|dq| dq.results_path.as_deref())
                    .map(Location::parse),
            ),
            ("quarantine_path", self.quarantine_location()),
        ];
        for (field, output) in dq_outputs {
            let Some(Ok(output)) = output else {
                continue;
            };
            for path in &s.paths {
                let Ok(input) = Location::parse(path) else {
                    continue;
                };
                if let Some(detail) = overlap(&input, &output) {
                    push(
                        vec![Field("data_quality"), Field(field)],
                        "Input and output overlap",
                        format!(
                            "the source {path} {detail} {output}: a run would read what it wrote; keep them apart"
                        ),
                    );
                }
            }
        }
        match (&t.catalog_database, &t.catalog_table) {
            (Some(_), None) | (None, Some(_)) => push(
                vec![Field("target")],
                "Incomplete catalog target",
                "set both catalog_database and catalog_table, or neither".into(),
            ),
            _ => {}
        }
        for (i, col) in t.partition_by.iter().enumerate() {
            let path = vec![Field("target"), Field("partition_by"), Index(i)];
            if t.partition_by[..i].iter().any(|c| same_column(c, col)) {
                push(
                    path,
                    "Duplicate partition column",
                    format!("'{col}' is listed twice"),
                );
            } else if !self.mapping.is_empty() {
                match self.mapping.iter().find(|m| same_column(&m.to, col)) {
                    None => push(
                        path,
                        "Unknown partition column",
                        format!("'{col}' is not an output column of the mapping"),
                    ),
                    // A partition value is a folder name: only a scalar has one.
                    Some(m) if parse_glue_type(&m.data_type).is_ok_and(|t| t.is_complex()) => push(
                        path,
                        "Cannot partition by this column",
                        format!(
                            "'{col}' is of type {}; Hive partitions need a scalar column \
                                 (string, number, date, boolean)",
                            m.data_type
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        for (field, value) in [
            ("catalog_database", &t.catalog_database),
            ("catalog_table", &t.catalog_table),
        ] {
            if let Some(v) = value {
                if let Err(detail) = check_catalog_name(v) {
                    push(
                        vec![Field("target"), Field(field)],
                        "Invalid catalog name",
                        detail,
                    );
                }
            }
        }
        if let Some(dq) = &self.data_quality {
            if let Some(detail) = self.unmapped_rule_columns(&dq.ruleset) {
                push(
                    vec![Field("data_quality"), Field("ruleset")],
                    "Rule on a column the mapping does not produce",
                    detail,
                );
            }
        }
        issues
    }
}

/// Whether `input` (a file, folder or glob) and the target folder overlap: "is inside" or
/// "contains", compared by path segment (`out2` is not inside `out`). A glob is taken by its
/// literal folder, except that one without `**` matches only paths exactly as deep as it is, so
/// `data/*.json` does not reach the files of a target `data/out/`. Local paths are compared as
/// written (plan time has no file system to resolve them).
pub fn overlap(input: &Location, target: &Location) -> Option<&'static str> {
    struct Segments {
        root: String,
        literal: Vec<String>,
        /// The segments from the first one with a glob character on.
        pattern: Vec<String>,
    }
    fn segments(loc: &Location) -> Segments {
        let (root, path) = match loc {
            Location::S3(u) => (format!("s3://{}", u.bucket), u.key.clone()),
            Location::Local(p) => {
                let text = p.to_string_lossy().replace('\\', "/");
                let root = if text.starts_with('/') { "/" } else { "." };
                (root.to_string(), text)
            }
        };
        let all: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_string)
            .collect();
        let first_glob = all
            .iter()
            .position(|s| crate::location::glob_start(s).is_some())
            .unwrap_or(all.len());
        Segments {
            root,
            literal: all[..first_glob].to_vec(),
            pattern: all[first_glob..].to_vec(),
        }
    }
    let input = segments(input);
    let target = segments(target);
    if input.root != target.root {
        return None;
    }
    if input.literal.starts_with(&target.literal) {
        return Some("is inside");
    }
    if !target.literal.starts_with(&input.literal) {
        return None;
    }
    let recursive = input.pattern.is_empty() || input.pattern.iter().any(|s| s.contains("**"));
    // The target's files lie at least one segment below the target folder.
    let reaches = input.literal.len() + input.pattern.len() > target.literal.len();
    (recursive || reaches).then_some("contains")
}

/// Glue catalog names: 1–255 letters, digits, `_` and `-` (Glue lower-cases them itself). Glue's
/// API takes more, but Athena and Hive do not, and a `*`, `?` or `/` would make the IAM grant on
/// `table/<db>/<table>` a wildcard or point elsewhere.
fn check_catalog_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 255 {
        return Err(format!("'{name}' must be 1 to 255 characters long"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "'{}' contains {c:?}; Glue catalog names take ASCII letters, digits, '_' and '-'",
            name.escape_debug()
        ));
    }
    Ok(())
}

impl PipelineSpec {
    /// With a mapping, the columns the data-quality rules name that the mapping does not write
    /// (rules run on the mapped output), as a diagnostic's detail; `None` if all are written, the
    /// ruleset does not parse (reported on its own), or there is no mapping.
    fn unmapped_rule_columns(&self, ruleset: &str) -> Option<String> {
        if self.mapping.is_empty() {
            return None;
        }
        let ruleset = crate::dqdl::parse(ruleset).ok()?;
        let mut missing: Vec<String> = Vec::new();
        for column in crate::dqdl::rule_columns(&ruleset.rules) {
            // A dotted name reaches into a struct column the mapping writes.
            let top = column.split('.').next().unwrap_or(&column);
            let written = self
                .mapping
                .iter()
                .any(|m| same_column(&m.to, &column) || same_column(&m.to, top));
            if !written && !missing.iter().any(|c| same_column(c, &column)) {
                missing.push(column);
            }
        }
        if missing.is_empty() {
            return None;
        }
        let outputs: Vec<&str> = self.mapping.iter().map(|m| m.to.as_str()).collect();
        Some(format!(
            "the ruleset checks {}, which the mapping does not write (rules run on its output \
             columns: {})",
            missing
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", "),
            outputs.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn minimal() -> PipelineSpec {
        PipelineSpec::from_json(
            r#"{"name": "orders", "source": {"paths": ["s3://raw-bucket/orders/"]},
                "target": {"path": "s3://curated-bucket/orders/"}}"#,
        )
        .unwrap()
    }

    fn issues(spec: &PipelineSpec) -> Vec<String> {
        spec.validate()
            .iter()
            .map(|i| format!("{}: {}", i.path_string(), i.summary))
            .collect()
    }

    #[test]
    fn metrics_default_their_context_to_the_name_and_refuse_a_bad_one() {
        let mut spec = minimal();
        assert_eq!(spec.evaluation_context(), None, "no metrics block");
        spec.metrics = Some(Metrics::default());
        assert_eq!(spec.evaluation_context(), Some("orders"));
        assert!(issues(&spec).is_empty());
        for bad in ["", " ", "a\nb", &"x".repeat(MAX_DIMENSION_VALUE + 1)] {
            spec.metrics = Some(Metrics {
                evaluation_context: Some(bad.to_string()),
            });
            assert_eq!(
                issues(&spec),
                ["metrics.evaluation_context: Invalid evaluation context"],
                "{bad:?}"
            );
        }
    }

    fn mapped(columns: &[(&str, &str)]) -> PipelineSpec {
        let mut spec = minimal();
        spec.mapping = columns
            .iter()
            .map(|(to, ty)| Mapping {
                from: to.to_string(),
                to: to.to_string(),
                data_type: ty.to_string(),
            })
            .collect();
        spec
    }

    #[test]
    fn data_quality_outputs_inside_the_source_are_refused() {
        let mut spec = minimal();
        spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [ IsComplete \"id\" ]".into(),
            on_failure: OnFailure::Quarantine,
            results_path: Some("s3://raw-bucket/orders/dq/".into()),
            quarantine_path: Some("s3://raw-bucket/orders/q/".into()),
        });
        assert_eq!(
            issues(&spec),
            [
                "data_quality.results_path: Input and output overlap",
                "data_quality.quarantine_path: Input and output overlap"
            ]
        );
    }

    #[test]
    fn partitions_are_scalar_columns() {
        for ty in ["struct<a:int>", "array<string>", "map<string,int>"] {
            let mut spec = mapped(&[("id", "bigint"), ("c", ty)]);
            spec.target.partition_by = vec!["C".into()];
            assert_eq!(
                issues(&spec),
                ["target.partition_by[0]: Cannot partition by this column"],
                "{ty}"
            );
        }
        let mut spec = mapped(&[("id", "bigint"), ("day", "date")]);
        spec.target.partition_by = vec!["day".into()];
        assert!(issues(&spec).is_empty());
    }

    #[test]
    fn rules_must_name_columns_the_mapping_writes() {
        let with_rules = |rules: &str, mapping: &[(&str, &str)]| {
            let mut spec = mapped(mapping);
            spec.data_quality = Some(DataQuality {
                ruleset: rules.into(),
                on_failure: OnFailure::Fail,
                results_path: None,
                quarantine_path: None,
            });
            spec
        };
        let mapping = [("order_id", "bigint"), ("customer", "struct<name:string>")];
        let spec = with_rules(
            r#"Rules = [ IsComplete "id", Mean "order_id" > 0 ]"#,
            &mapping,
        );
        assert_eq!(
            issues(&spec),
            ["data_quality.ruleset: Rule on a column the mapping does not produce"]
        );
        assert!(spec.validate()[0].detail.contains("'id'"));
        let fine = r#"Rules = [ IsComplete "ORDER_ID", IsComplete "customer.name", RowCount > 0 ]"#;
        assert!(issues(&with_rules(fine, &mapping)).is_empty());
        // Without a mapping the columns are the source's, unknown at plan time.
        assert!(issues(&with_rules(r#"Rules = [ IsComplete "id" ]"#, &[])).is_empty());
    }

    #[test]
    fn catalog_names_are_ones_glue_athena_and_iam_take() {
        for (db, table, expected) in [
            ("curated", "orders_2024", vec![]),
            (
                "Curated DB",
                "orders",
                vec!["target.catalog_database: Invalid catalog name"],
            ),
            (
                "curated",
                "orders*",
                vec!["target.catalog_table: Invalid catalog name"],
            ),
            (
                "curated",
                "a/b",
                vec!["target.catalog_table: Invalid catalog name"],
            ),
        ] {
            let mut spec = minimal();
            spec.target.catalog_database = Some(db.into());
            spec.target.catalog_table = Some(table.into());
            assert_eq!(issues(&spec), expected, "{db}.{table}");
        }
        let mut spec = minimal();
        spec.source.paths.clear();
        spec.source.catalog_database = Some("raw\n".into());
        spec.source.catalog_table = Some("t".into());
        assert_eq!(
            issues(&spec),
            ["source.catalog_database: Invalid catalog name"]
        );
    }

    #[test]
    fn ruleset_errors_give_the_position_not_the_text() {
        let secret = "s3cr3t-4111111111111111";
        for ruleset in [
            format!("Rules = [ ColumnCount > \"{secret}\" ]"),
            format!("Rules = [ ColumnValues \"{secret}\" in [ 1, ]"),
            format!("Rules = [ {secret} > 1 ]"),
            format!("Rules = [ IsComplete \"{secret}\" > ]"),
        ] {
            let mut spec = minimal();
            spec.data_quality = Some(DataQuality {
                ruleset: ruleset.clone(),
                on_failure: OnFailure::Fail,
                results_path: None,
                quarantine_path: None,
            });
            let issues = spec.validate();
            assert_eq!(issues.len(), 1, "{ruleset}: {issues:?}");
            let issue = &issues[0];
            assert_eq!(issue.summary, "Invalid DQDL ruleset");
            assert!(
                issue.detail.starts_with("line 1, column "),
                "{}",
                issue.detail
            );
            assert!(
                !issue.detail.contains("s3cr3t") && !issue.detail.contains("4111"),
                "{ruleset}: {}",
                issue.detail
            );
        }
    }

    #[test]
    fn quarantine_goes_beside_the_target_and_needs_a_row_rule() {
        let quarantining = |ruleset: &str, target: &str, path: Option<&str>| {
            let mut spec = minimal();
            spec.target.path = target.into();
            spec.data_quality = Some(DataQuality {
                ruleset: ruleset.into(),
                on_failure: OnFailure::Quarantine,
                results_path: None,
                quarantine_path: path.map(String::from),
            });
            spec
        };
        let rows = "Rules = [ IsComplete \"id\" ]";
        let spec = quarantining(rows, "s3://curated-bucket/orders/", None);
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        assert_eq!(
            spec.quarantine_location().unwrap().unwrap().to_string(),
            "s3://curated-bucket/orders_quarantine/"
        );
        let explicit = quarantining(
            rows,
            "s3://curated-bucket/orders/",
            Some("s3://q-bucket/q/"),
        );
        assert_eq!(
            explicit.quarantine_location().unwrap().unwrap().to_string(),
            "s3://q-bucket/q/"
        );
        let printed = |spec: &PipelineSpec| -> Vec<String> {
            spec.validate()
                .iter()
                .map(|i| format!("{}: {}", i.path_string(), i.summary))
                .collect()
        };
        assert_eq!(
            printed(&quarantining(
                DEFAULT_RULESET,
                "s3://curated-bucket/orders/",
                None
            )),
            ["data_quality.on_failure: Nothing to quarantine"]
        );
        assert_eq!(
            printed(&quarantining(rows, "s3://curated-bucket/", None)),
            ["data_quality.quarantine_path: Quarantine location needed"]
        );
        assert!(
            quarantining(rows, "s3://curated-bucket/", Some("s3://q-bucket/q/"))
                .validate()
                .is_empty()
        );
        // Not quarantining: no location.
        let mut warn = quarantining(DEFAULT_RULESET, "s3://curated-bucket/orders/", None);
        warn.data_quality.as_mut().unwrap().on_failure = OnFailure::Warn;
        assert!(warn.quarantine_location().is_none() && warn.validate().is_empty());
    }

    #[test]
    fn overlapping_input_and_target_and_an_overwritten_bucket_root_are_refused() {
        let issues = |paths: &[&str], target: &str, mode: WriteMode| {
            let mut spec = minimal();
            spec.source.paths = paths.iter().map(|p| p.to_string()).collect();
            spec.target.path = target.to_string();
            spec.target.write_mode = mode;
            spec.validate()
                .into_iter()
                .map(|i| format!("{i}"))
                .collect::<Vec<_>>()
        };
        use WriteMode::{Append, Overwrite};
        for (paths, target) in [
            (&["out/in.json"][..], "out"),
            (&["./out/sub/*.json"][..], "out/"),
            (&["data"][..], "data/out"),
            (&["s3://bkt/t/raw/x.json"][..], "s3://bkt/t"),
            (&["s3://bkt/**/*.json"][..], "s3://bkt/t/"),
            (&["data/*/*.json"][..], "data/out/"),
        ] {
            let found = issues(paths, target, Append);
            assert!(
                found
                    .iter()
                    .any(|i| i.contains("overlap") && i.contains(paths[0])),
                "{paths:?} -> {target}: {found:?}"
            );
        }
        for (paths, target) in [
            (&["out2/in.json"][..], "out"),
            (&["data/*.json"][..], "data/out/"),
            (&["s3://bkt/raw/*/*.json"][..], "s3://bkt/raw/t/x/"),
            (&["/data/in"][..], "data/in/out"),
            (&["s3://akt/t/x.json"][..], "s3://bkt/t"),
            (&["s3://bkt/raw/*.json"][..], "s3://bkt/table/"),
        ] {
            assert!(
                issues(paths, target, Overwrite).is_empty(),
                "{paths:?} -> {target}"
            );
        }
        let root = issues(&["s3://inb/x.json"], "s3://bkt/", Overwrite);
        assert!(root.iter().any(|i| i.contains("bucket root")), "{root:?}");
        assert!(issues(&["s3://inb/x.json"], "s3://bkt", Append).is_empty());
    }

    #[test]
    fn defaults_fill_in() {
        let spec = minimal();
        assert_eq!(spec.version, SPEC_VERSION);
        assert_eq!(spec.target.compression, Compression::Snappy);
        assert_eq!(spec.target.write_mode, WriteMode::Append);
        assert_eq!(spec.source.format, SourceFormat::Json);
        assert_eq!(spec.max_bad_records, 0);
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        let dq: DataQuality = serde_json::from_str("{}").unwrap();
        assert_eq!(dq.ruleset, DEFAULT_RULESET);
        assert_eq!(dq.on_failure, OnFailure::Fail);
    }

    #[test]
    fn json_round_trips() {
        let mut spec = minimal();
        spec.mapping.push(Mapping {
            from: "a.b".into(),
            to: "ab".into(),
            data_type: "bigint".into(),
        });
        spec.data_quality = Some(DataQuality {
            ruleset: DEFAULT_RULESET.into(),
            on_failure: OnFailure::Quarantine,
            results_path: None,
            quarantine_path: Some("s3://q-bucket/q/".into()),
        });
        let back = PipelineSpec::from_json(&spec.to_json_pretty()).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = PipelineSpec::from_json(
            r#"{"name": "x", "source": {"paths": ["a"]}, "target": {"path": "b", "compresion": "zstd"}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("compresion"), "{err}");
    }

    #[test]
    fn validation_names_each_problem_by_path() {
        let mut spec = minimal();
        spec.source.catalog_database = Some("raw".into());
        spec.mapping = vec![
            Mapping {
                from: "id".into(),
                to: "order_id".into(),
                data_type: "bigint".into(),
            },
            Mapping {
                from: "".into(),
                to: "ORDER_ID".into(),
                data_type: "bigitn".into(),
            },
        ];
        spec.target.path = "gs://x/y".into();
        spec.target.partition_by = vec!["day".into()];
        let issues = spec.validate();
        let paths: Vec<String> = issues.iter().map(SpecIssue::path_string).collect();
        assert_eq!(
            paths,
            [
                "source",
                "mapping[1].from",
                "mapping[1].type",
                "mapping[1].to",
                "target.path",
                "target.partition_by[0]",
            ],
            "{issues:#?}"
        );
        assert!(
            issues[3]
                .detail
                .contains("mapping[0] already writes column")
        );
        assert!(issues[2].detail.contains("unknown type 'bigitn'"));
    }

    #[test]
    fn unsupported_path_syntax_is_refused_with_what_is_supported() {
        let mut spec = minimal();
        spec.mapping = ["a[0]", "a[*].b", "a..b", "x.", "ok.`a.b`"]
            .iter()
            .enumerate()
            .map(|(i, from)| Mapping {
                from: from.to_string(),
                to: format!("c{i}"),
                data_type: "string".into(),
            })
            .collect();
        spec.source.records_path = Some("features[*]".into());
        let issues = spec.validate();
        let paths: Vec<String> = issues.iter().map(SpecIssue::path_string).collect();
        assert_eq!(
            paths,
            [
                "source.records_path",
                "mapping[0].from",
                "mapping[1].from",
                "mapping[2].from",
                "mapping[3].from",
            ],
            "{issues:#?}"
        );
        for issue in &issues {
            assert!(issue.detail.contains("`address.city`"), "{issue}");
        }
        assert!(issues[1].detail.contains("array indexes"), "{}", issues[1]);
        assert!(issues[3].detail.contains("empty name"), "{}", issues[3]);
    }

    #[test]
    fn dqdl_errors_point_at_line_and_column() {
        let mut spec = minimal();
        spec.data_quality = Some(DataQuality {
            ruleset: "Rules = [\n  IsComplete \"id\",\n  IsCompleet \"x\"\n]".into(),
            on_failure: OnFailure::Fail,
            results_path: None,
            quarantine_path: None,
        });
        let issues = spec.validate();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path_string(), "data_quality.ruleset");
        assert!(
            issues[0].detail.starts_with("line 3, column 3:"),
            "{}",
            issues[0].detail
        );
        assert!(
            issues[0].detail.contains("IsComplete"),
            "suggests the nearest rule: {}",
            issues[0].detail
        );
    }

    #[test]
    fn source_needs_exactly_one_kind() {
        let mut spec = minimal();
        spec.source.paths.clear();
        assert_eq!(spec.validate()[0].summary, "Missing source");
        spec.source.catalog_database = Some("raw".into());
        spec.source.catalog_table = Some("orders".into());
        assert!(spec.validate().is_empty());
        spec.source.paths.push("s3://raw-bucket/x/".into());
        assert_eq!(spec.validate()[0].summary, "Conflicting source");
    }
}
