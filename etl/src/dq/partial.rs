//! Sharded evaluation: what one shard of a run has accumulated, saved as a [`PartialState`] and
//! merged into an engine built for the same ruleset and schema, so that the merged engine's
//! `finish` gives the results one engine over all the data would have given.
//!
//! Every accumulator merges exactly except in floating-point rounding:
//! - counts, compliance tallies, min/max and length ranges add or fold exactly;
//! - moments (mean, variance, sum) and co-moments merge with Chan et al.'s pairwise formula —
//!   the same one the engine already uses between batches — so a merged value can differ from
//!   a single pass in its last bits (the summation order differs), never more;
//! - the exact distinct-value tables (Uniqueness, DistinctValuesCount, Entropy, …) are saved
//!   whole, key bytes and counts, and merged by adding counts per key. This is the one state
//!   whose size grows with the data (with distinct keys, not rows); we keep it exact rather
//!   than switch to a sketch (HyperLogLog), because a rule like `IsUnique` or
//!   `DistinctValuesCount = 42` must not pass or fail by approximation.
//!
//! Reference datasets are not part of the state: every shard, and the merge, reads them itself.
//! Rule outcomes that a shard could not compute (a failed `where`) travel as errors and win.

use serde::{Deserialize, Serialize};

use crate::dq::metrics::frequency::FrequencyState;
use crate::dq::metrics::lengths::LengthRange;
use crate::dq::metrics::moments::{CoMoments, Moments};

/// Version of the saved format; a merge refuses any other.
pub const FORMAT: u32 = 1;

/// One shard's accumulated data-quality state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartialState {
    /// [`FORMAT`].
    pub format: u32,
    /// Digest of the ruleset and the schema the engine was built for.
    pub fingerprint: String,
    /// Rows the shard evaluated.
    pub rows: u64,
    /// The shared metrics, in registration order.
    pub metrics: Vec<Saved<AccumulatorState>>,
    /// Each rule's own state (see `Check::save`), in compile order.
    pub rules: Vec<Saved<serde_json::Value>>,
}

/// A piece of state, or why the shard could not compute it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved<T> {
    State(T),
    Error(String),
}

/// The saved form of a shared metric ([`crate::dq::plan::Accumulator`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccumulatorState {
    Rows(u64),
    Completeness { rows: u64, non_null: u64 },
    Moments(Moments),
    CoMoments(CoMoments),
    Lengths(LengthRange),
    Frequencies(FrequencyState),
}

/// Serialises a rule's state (a tuple of its accumulators) for `Check::save`.
pub fn save<T: Serialize>(state: &T) -> serde_json::Value {
    // Plain data (numbers, options, tuples) always serialises; `Null` would make the merge
    // refuse the state rather than merge wrong numbers.
    serde_json::to_value(state).unwrap_or(serde_json::Value::Null)
}

/// Reads a rule's state saved by [`save`].
pub fn load<T: serde::de::DeserializeOwned>(state: &serde_json::Value) -> Result<T, String> {
    T::deserialize(state).map_err(|e| format!("unreadable shard state for this rule: {e}"))
}

/// `f64` fields as their IEEE-754 bits: exact, and infinities (an empty min/max) survive JSON.
pub mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// Byte blobs as base64 text.
pub mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Relative tolerance within which a merged floating-point metric counts as equal to a single
/// pass's (the summation order differs; see the module notes).
pub const METRIC_TOLERANCE: f64 = 1e-9;

fn close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() <= METRIC_TOLERANCE * x.abs().max(y.abs()) || (x.is_nan() && y.is_nan())
}

/// Whether two texts are equal except for numbers that are [`close`] (a failure reason quotes
/// its metric).
fn same_text(a: &str, b: &str) -> bool {
    static NUMBER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?").expect("a valid pattern")
    });
    let split = |t: &str| -> (Vec<String>, Vec<f64>) {
        let words = NUMBER.split(t).map(str::to_string).collect();
        let numbers = NUMBER
            .find_iter(t)
            .map(|m| m.as_str().parse().unwrap_or(f64::NAN))
            .collect();
        (words, numbers)
    };
    let ((wa, na), (wb, nb)) = (split(a), split(b));
    wa == wb && na.len() == nb.len() && na.iter().zip(&nb).all(|(x, y)| close(*x, *y))
}

/// Checks that sharded results equal single-run results: row count, score and every rule's
/// outcome exactly; its failure reason and evaluated rule exactly but for the numbers they quote, and every metric
/// (rules and analyzers), which must be within [`METRIC_TOLERANCE`]. Returns the first
/// difference.
pub fn compare_results(
    single: &crate::dq::DqResults,
    sharded: &crate::dq::DqResults,
) -> Result<(), String> {
    use crate::dq::results::Metrics;
    let metrics = |what: &str, a: &Metrics, b: &Metrics| -> Result<(), String> {
        if a.keys().ne(b.keys()) {
            return Err(format!("{what}: metrics {a:?} != {b:?}"));
        }
        for (k, x) in a {
            let y = b[k];
            if !close(*x, y) {
                return Err(format!("{what}: {k} = {x} single, {y} sharded"));
            }
        }
        Ok(())
    };
    if single.row_count != sharded.row_count || single.score != sharded.score {
        return Err(format!(
            "{} rows, score {} single; {} rows, score {} sharded",
            single.row_count, single.score, sharded.row_count, sharded.score
        ));
    }
    if (
        single.outcome,
        single.rule_outcomes.len(),
        single.analyzer_results.len(),
    ) != (
        sharded.outcome,
        sharded.rule_outcomes.len(),
        sharded.analyzer_results.len(),
    ) {
        return Err(format!(
            "outcome {:?} with {} rules and {} analyzers single, {:?} with {} and {} sharded",
            single.outcome,
            single.rule_outcomes.len(),
            single.analyzer_results.len(),
            sharded.outcome,
            sharded.rule_outcomes.len(),
            sharded.analyzer_results.len()
        ));
    }
    for (a, b) in single.rule_outcomes.iter().zip(&sharded.rule_outcomes) {
        let reasons = match (&a.failure_reason, &b.failure_reason) {
            (Some(x), Some(y)) => same_text(x, y),
            (x, y) => x == y,
        };
        if a.outcome != b.outcome || !reasons || !same_text(&a.evaluated_rule, &b.evaluated_rule) {
            return Err(format!("{}: {a:?} single, {b:?} sharded", a.rule));
        }
        metrics(&a.rule, &a.evaluated_metrics, &b.evaluated_metrics)?;
    }
    for (a, b) in single
        .analyzer_results
        .iter()
        .zip(&sharded.analyzer_results)
    {
        let reasons = match (&a.failure_reason, &b.failure_reason) {
            (Some(x), Some(y)) => same_text(x, y),
            (x, y) => x == y,
        };
        if !reasons {
            return Err(format!("{}: {a:?} single, {b:?} sharded", a.analyzer));
        }
        metrics(&a.analyzer, &a.evaluated_metrics, &b.evaluated_metrics)?;
    }
    Ok(())
}
