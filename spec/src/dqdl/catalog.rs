//! The DQDL rule catalogue: every rule type Glue knows, with its parameters, the condition kinds it
//! takes and whether it supports `where` and `with threshold` — the one table the parser checks
//! rules against and the evaluator dispatches on.
//!
//! Facts follow Glue's public `rules-config.json` (plus `Range`, release 1.0.5, and
//! `DuplicateRowCount`, release 1.0.6). A rule name resolves to the **first** entry with that
//! name whose parameter count fits (exact, or at least the declared count when the last parameter
//! is variadic), which is how `DatasetMatch`, `FileMatch`, … get their overloads.

use serde::Serialize;

/// A rule (or analyzer) type name from the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(missing_docs)]
pub enum RuleType {
    RowCount,
    RowCountMatch,
    ColumnCount,
    Completeness,
    IsComplete,
    ColumnDataType,
    ColumnNamesMatchPattern,
    ColumnExists,
    ColumnCorrelation,
    Uniqueness,
    IsUnique,
    Mean,
    Sum,
    StandardDeviation,
    Variance,
    Range,
    Entropy,
    DistinctValuesCount,
    UniqueValueRatio,
    ColumnLength,
    IsPrimaryKey,
    ColumnValues,
    DataFreshness,
    CustomSql,
    ReferentialIntegrity,
    DatasetMatch,
    SchemaMatch,
    AggregateMatch,
    DetectAnomalies,
    AllStatistics,
    DuplicateRowCount,
    FileMatch,
    FileUniqueness,
    FileFreshness,
    FileSize,
}

impl RuleType {
    /// Every rule type, in catalogue order.
    pub const ALL: &'static [RuleType] = &[
        RuleType::RowCount,
        RuleType::RowCountMatch,
        RuleType::ColumnCount,
        RuleType::Completeness,
        RuleType::IsComplete,
        RuleType::ColumnDataType,
        RuleType::ColumnNamesMatchPattern,
        RuleType::ColumnExists,
        RuleType::ColumnCorrelation,
        RuleType::Uniqueness,
        RuleType::IsUnique,
        RuleType::Mean,
        RuleType::Sum,
        RuleType::StandardDeviation,
        RuleType::Variance,
        RuleType::Range,
        RuleType::Entropy,
        RuleType::DistinctValuesCount,
        RuleType::UniqueValueRatio,
        RuleType::ColumnLength,
        RuleType::IsPrimaryKey,
        RuleType::ColumnValues,
        RuleType::DataFreshness,
        RuleType::CustomSql,
        RuleType::ReferentialIntegrity,
        RuleType::DatasetMatch,
        RuleType::SchemaMatch,
        RuleType::AggregateMatch,
        RuleType::DetectAnomalies,
        RuleType::AllStatistics,
        RuleType::DuplicateRowCount,
        RuleType::FileMatch,
        RuleType::FileUniqueness,
        RuleType::FileFreshness,
        RuleType::FileSize,
    ];

    /// The name as written in DQDL (case-sensitive).
    pub fn name(self) -> &'static str {
        match self {
            RuleType::RowCount => "RowCount",
            RuleType::RowCountMatch => "RowCountMatch",
            RuleType::ColumnCount => "ColumnCount",
            RuleType::Completeness => "Completeness",
            RuleType::IsComplete => "IsComplete",
            RuleType::ColumnDataType => "ColumnDataType",
            RuleType::ColumnNamesMatchPattern => "ColumnNamesMatchPattern",
            RuleType::ColumnExists => "ColumnExists",
            RuleType::ColumnCorrelation => "ColumnCorrelation",
            RuleType::Uniqueness => "Uniqueness",
            RuleType::IsUnique => "IsUnique",
            RuleType::Mean => "Mean",
            RuleType::Sum => "Sum",
            RuleType::StandardDeviation => "StandardDeviation",
            RuleType::Variance => "Variance",
            RuleType::Range => "Range",
            RuleType::Entropy => "Entropy",
            RuleType::DistinctValuesCount => "DistinctValuesCount",
            RuleType::UniqueValueRatio => "UniqueValueRatio",
            RuleType::ColumnLength => "ColumnLength",
            RuleType::IsPrimaryKey => "IsPrimaryKey",
            RuleType::ColumnValues => "ColumnValues",
            RuleType::DataFreshness => "DataFreshness",
            RuleType::CustomSql => "CustomSql",
            RuleType::ReferentialIntegrity => "ReferentialIntegrity",
            RuleType::DatasetMatch => "DatasetMatch",
            RuleType::SchemaMatch => "SchemaMatch",
            RuleType::AggregateMatch => "AggregateMatch",
            RuleType::DetectAnomalies => "DetectAnomalies",
            RuleType::AllStatistics => "AllStatistics",
            RuleType::DuplicateRowCount => "DuplicateRowCount",
            RuleType::FileMatch => "FileMatch",
            RuleType::FileUniqueness => "FileUniqueness",
            RuleType::FileFreshness => "FileFreshness",
            RuleType::FileSize => "FileSize",
        }
    }

    /// Looks a name up exactly as Glue does (case-sensitive).
    pub fn from_name(name: &str) -> Option<RuleType> {
        RuleType::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The catalogue entries (overloads) of this type, in lookup order.
    pub fn specs(self) -> impl Iterator<Item = &'static RuleSpec> {
        CATALOG.iter().filter(move |s| s.rule_type == self)
    }
}

impl std::fmt::Display for RuleType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The syntactic kind of a condition; [`Returns`] says which kinds a rule type accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ConditionKind {
    /// `> 5`, `between 1 and 2`, `in [1, 2]`, `= avg(last(3))`, …
    Number,
    /// `= "a"`, `in ["a", NULL]`, `matches "re"`, `in $var`, …
    String,
    /// `> "2024-01-01"`, `>= (now() - 3 days)`, `< "9:30 AM"`, …
    Date,
    /// `< 3 days`, `between 1 hours and 2 hours`, …
    Duration,
    /// `< 5 MB`, `in [1 KB, 2 KB]`, …
    Size,
}

impl ConditionKind {
    /// Lower-case name used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            ConditionKind::Number => "number",
            ConditionKind::String => "string",
            ConditionKind::Date => "date",
            ConditionKind::Duration => "duration",
            ConditionKind::Size => "size",
        }
    }
}

/// What a rule type evaluates to, which decides the condition it takes (Glue's `return_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Returns {
    /// `BOOLEAN`: no condition allowed.
    Boolean,
    /// `NUMBER`: a number condition is required.
    Number,
    /// `STRING`: a string condition is required.
    String,
    /// `STRING_ARRAY|NUMBER_ARRAY|DATE_ARRAY` (ColumnValues): a string, number or date condition.
    Values,
    /// `DURATION_ARRAY` (DataFreshness): a duration condition.
    Durations,
    /// `DATE` (FileFreshness): a date condition.
    Date,
    /// `SIZE` (FileSize): a size condition, or a number condition of integer literals (bytes).
    Size,
    /// `NUMBER|BOOLEAN` (CustomSql): a number condition, or none.
    NumberOrBoolean,
}

impl Returns {
    /// Whether a rule of this kind may be written without a condition.
    pub fn condition_optional(self) -> bool {
        matches!(self, Returns::Boolean | Returns::NumberOrBoolean)
    }

    /// Whether a condition of `kind` is accepted. For [`Returns::Size`] a number condition is
    /// accepted here; the parser additionally requires integer literal operands.
    pub fn accepts(self, kind: ConditionKind) -> bool {
        use ConditionKind as K;
        match self {
            Returns::Boolean => false,
            Returns::Number | Returns::NumberOrBoolean => kind == K::Number,
            Returns::String => kind == K::String,
            Returns::Values => matches!(kind, K::String | K::Number | K::Date),
            Returns::Durations => kind == K::Duration,
            Returns::Date => kind == K::Date,
            Returns::Size => matches!(kind, K::Size | K::Number),
        }
    }

    /// The condition kinds accepted, for messages ("a number condition", "no condition", …).
    pub fn describe(self) -> &'static str {
        match self {
            Returns::Boolean => "no condition",
            Returns::Number => "a number condition",
            Returns::String => "a string condition",
            Returns::Values => "a string, number or date condition",
            Returns::Durations => "a duration condition",
            Returns::Date => "a date condition",
            Returns::Size => "a size condition (or integer bytes)",
            Returns::NumberOrBoolean => "a number condition or no condition",
        }
    }
}

/// Where a rule looks: the whole table, named columns, or the files behind the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum Scope {
    Table,
    Column,
    File,
}

/// One catalogue entry (one overload of a rule type).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSpec {
    /// The type this entry belongs to.
    pub rule_type: RuleType,
    /// Declared parameter names, in order.
    pub params: &'static [&'static str],
    /// The last declared parameter repeats (one or more values).
    pub var_arg: bool,
    /// Which condition the rule takes.
    pub returns: Returns,
    /// `where "…"` is allowed.
    pub where_supported: bool,
    /// `with threshold <number condition>` is allowed.
    pub threshold_supported: bool,
    /// Not usable in row-level composite evaluation (`compositeRuleEvaluation.method = ROW`).
    pub excluded_at_row_level_in_composite: bool,
    /// Only valid in the `Analyzers` section.
    pub analyzer_only: bool,
    /// What the rule looks at.
    pub scope: Scope,
    /// Marked experimental in Glue's catalogue (File* rules).
    pub experimental: bool,
}

impl RuleSpec {
    /// Whether `count` parameters fit this entry.
    pub fn accepts_count(&self, count: usize) -> bool {
        if self.var_arg {
            count >= self.params.len()
        } else {
            count == self.params.len()
        }
    }

    /// Parameter names for `count` actual parameters as Glue names them: a variadic parameter `P`
    /// becomes `P1, P2, …`, except `Uniqueness`/`IsUnique` with one column, which keep `P`.
    pub fn parameter_names(&self, count: usize) -> Vec<String> {
        let Some((last, fixed)) = self.params.split_last() else {
            return Vec::new();
        };
        if !self.var_arg {
            return self.params.iter().map(|p| p.to_string()).collect();
        }
        let mut names: Vec<String> = fixed.iter().map(|p| p.to_string()).collect();
        let single_keeps_name = matches!(self.rule_type, RuleType::Uniqueness | RuleType::IsUnique);
        if single_keeps_name && count == 1 {
            names.push(last.to_string());
        } else {
            names.extend((fixed.len()..count).map(|i| format!("{last}{}", i + 1)));
        }
        names
    }

    /// Human description of the parameters this entry takes, e.g. `1 parameter (TargetColumn)`.
    pub fn describe_params(&self) -> String {
        let list = self.params.join(", ");
        match (self.params.len(), self.var_arg) {
            (0, _) => "no parameters".to_string(),
            (n, true) => format!(
                "at least {n} parameter{} ({list}, …)",
                if n == 1 { "" } else { "s" }
            ),
            (1, false) => format!("1 parameter ({list})"),
            (n, false) => format!("{n} parameters ({list})"),
        }
    }
}

/// Why a name/arity pair does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No rule type has this name; carries the nearest catalogue name when one is close.
    UnknownName {
        /// The closest known name by edit distance, if reasonably close.
        suggestion: Option<&'static str>,
    },
    /// The name exists but no overload takes this many parameters; carries what it takes.
    WrongArity {
        /// The type that was found.
        rule_type: RuleType,
        /// E.g. `1 parameter (TargetColumn)` or `2 or 3 parameters (…)`.
        expected: String,
    },
}

/// Resolves `name` with `count` parameters to the first fitting catalogue entry, as Glue does.
pub fn lookup(name: &str, count: usize) -> Result<&'static RuleSpec, LookupError> {
    let Some(rule_type) = RuleType::from_name(name) else {
        return Err(LookupError::UnknownName {
            suggestion: nearest_name(name),
        });
    };
    rule_type
        .specs()
        .find(|s| s.accepts_count(count))
        .ok_or_else(|| LookupError::WrongArity {
            rule_type,
            expected: rule_type
                .specs()
                .map(RuleSpec::describe_params)
                .collect::<Vec<_>>()
                .join(", or "),
        })
}

/// The catalogue name closest to `name` (case-insensitive edit distance), when it is close enough
/// to be a plausible typo: at most a third of the name's length, and at least 1 edit allowed.
pub fn nearest_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let (best, distance) = RuleType::ALL
        .iter()
        .map(|t| {
            (
                t.name(),
                edit_distance(&lower, &t.name().to_ascii_lowercase()),
            )
        })
        .min_by_key(|&(_, d)| d)?;
    let budget = (best.len().max(name.len()) / 3).max(1);
    (distance <= budget).then_some(best)
}

/// Levenshtein distance over chars (two-row dynamic programme).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

const fn entry(rule_type: RuleType, params: &'static [&'static str], returns: Returns) -> RuleSpec {
    RuleSpec {
        rule_type,
        params,
        var_arg: false,
        returns,
        where_supported: false,
        threshold_supported: false,
        excluded_at_row_level_in_composite: false,
        analyzer_only: false,
        scope: Scope::Column,
        experimental: false,
    }
}

const fn table(mut s: RuleSpec) -> RuleSpec {
    s.scope = Scope::Table;
    s
}
const fn file(mut s: RuleSpec) -> RuleSpec {
    s.scope = Scope::File;
    s.experimental = true;
    s
}
const fn with_where(mut s: RuleSpec) -> RuleSpec {
    s.where_supported = true;
    s
}
const fn with_threshold(mut s: RuleSpec) -> RuleSpec {
    s.threshold_supported = true;
    s
}
const fn var_arg(mut s: RuleSpec) -> RuleSpec {
    s.var_arg = true;
    s
}
const fn row_excluded(mut s: RuleSpec) -> RuleSpec {
    s.excluded_at_row_level_in_composite = true;
    s
}

const COL: &[&str] = &["TargetColumn"];
const PATH: &[&str] = &["DataPath"];
const ALIAS: &[&str] = &["ReferenceDatasetAlias"];

use RuleType as T;

/// The catalogue, in Glue's lookup order (overloads of one name are tried top to bottom).
pub static CATALOG: &[RuleSpec] = &[
    with_where(table(entry(T::RowCount, &[], Returns::Number))),
    entry(T::RowCountMatch, ALIAS, Returns::Number),
    table(entry(T::ColumnCount, &[], Returns::Number)),
    row_excluded(with_where(entry(T::Completeness, COL, Returns::Number))),
    with_where(entry(T::IsComplete, COL, Returns::Boolean)),
    with_threshold(with_where(entry(T::ColumnDataType, COL, Returns::String))),
    table(entry(
        T::ColumnNamesMatchPattern,
        &["PatternToMatch"],
        Returns::Boolean,
    )),
    entry(T::ColumnExists, COL, Returns::Boolean),
    with_where(entry(
        T::ColumnCorrelation,
        &["TargetColumn1", "TargetColumn2"],
        Returns::Number,
    )),
    row_excluded(with_where(var_arg(entry(
        T::Uniqueness,
        COL,
        Returns::Number,
    )))),
    with_where(var_arg(entry(T::IsUnique, COL, Returns::Boolean))),
    with_where(entry(T::Mean, COL, Returns::Number)),
    with_where(entry(T::Sum, COL, Returns::Number)),
    with_where(entry(T::StandardDeviation, COL, Returns::Number)),
    with_where(entry(T::Variance, COL, Returns::Number)),
    with_where(entry(T::Range, COL, Returns::Number)),
    with_where(entry(T::Entropy, COL, Returns::Number)),
    with_where(entry(T::DistinctValuesCount, COL, Returns::Number)),
    with_where(entry(T::UniqueValueRatio, COL, Returns::Number)),
    with_where(entry(T::ColumnLength, COL, Returns::Number)),
    with_where(var_arg(entry(T::IsPrimaryKey, COL, Returns::Boolean))),
    with_threshold(with_where(entry(T::ColumnValues, COL, Returns::Values))),
    with_where(entry(T::DataFreshness, COL, Returns::Durations)),
    with_threshold(table(entry(
        T::CustomSql,
        &["CustomSqlStatement"],
        Returns::NumberOrBoolean,
    ))),
    row_excluded(table(entry(
        T::ReferentialIntegrity,
        &["PrimaryDatasetColumns", "ReferenceDatasetColumns"],
        Returns::Number,
    ))),
    row_excluded(table(entry(
        T::DatasetMatch,
        &["ReferenceDatasetAlias", "KeyColumnMappings"],
        Returns::Number,
    ))),
    table(entry(
        T::DatasetMatch,
        &[
            "ReferenceDatasetAlias",
            "KeyColumnMappings",
            "MatchColumnMappings",
        ],
        Returns::Number,
    )),
    table(entry(T::SchemaMatch, ALIAS, Returns::Number)),
    entry(
        T::AggregateMatch,
        &["AggregateExpression1", "AggregateExpression2"],
        Returns::Number,
    ),
    var_arg(entry(
        T::DetectAnomalies,
        &["MetricParameter"],
        Returns::Boolean,
    )),
    RuleSpec {
        analyzer_only: true,
        ..entry(T::AllStatistics, COL, Returns::Number)
    },
    with_where(table(entry(T::DuplicateRowCount, &[], Returns::Number))),
    with_where(var_arg(entry(T::DuplicateRowCount, COL, Returns::Number))),
    file(entry(
        T::FileMatch,
        &["DataPath", "CompareDataPath"],
        Returns::Boolean,
    )),
    file(entry(T::FileMatch, PATH, Returns::String)),
    file(entry(T::FileMatch, &[], Returns::String)),
    file(entry(T::FileUniqueness, PATH, Returns::Number)),
    file(entry(T::FileUniqueness, &[], Returns::Number)),
    with_threshold(file(entry(T::FileFreshness, PATH, Returns::Date))),
    with_threshold(file(entry(T::FileFreshness, &[], Returns::Date))),
    with_threshold(file(entry(T::FileSize, PATH, Returns::Size))),
    with_threshold(file(entry(T::FileSize, &[], Returns::Size))),
];
