//! Between Terraform values and [`PipelineConfig`]: decoding a configuration, plan or state
//! (which may hold unknown values) and encoding a spec and runtime back into attributes.
//!
//! Decoding never fails: an unknown value becomes a placeholder and its path is listed in
//! [`Decoded::unknown`] (validation skips those); a value of the right type that is not one of
//! the allowed options (`on_failure = "stop"`) is a diagnostic at its attribute.

use std::collections::BTreeMap;

use gluepipe_spec::PipelineSpec;
use gluepipe_spec::notifications::{DEFAULT_ON, Notifications, RunOutcome};
use gluepipe_spec::pipeline::{DataQuality, Mapping, Metrics, SPEC_VERSION, Source, Target};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{PipelineConfig, RuntimeConfig, ScaleOut, defaults};
use super::schema;
use crate::protocol::{AttributePath, Diagnostic, Diagnostics, Number, Value};

/// A decoded configuration.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub config: PipelineConfig,
    /// Attributes whose values are not known yet.
    pub unknown: Vec<AttributePath>,
    pub diags: Diagnostics,
}

impl Decoded {
    pub fn is_fully_known(&self) -> bool {
        self.unknown.is_empty()
    }
}

/// Decodes a resource value (config, planned or prior state). Unset optional attributes take
/// their defaults.
pub fn decode(value: &Value) -> Decoded {
    let mut r = Reader::default();
    let root = AttributePath::empty();
    let at = |name: &str| AttributePath::root(name);

    let source = value.attr("source");
    let sp = at("source");
    let spec_source = Source {
        catalog_database: r.opt_str(
            source.attr("catalog_database"),
            sp.clone().attr("catalog_database"),
        ),
        catalog_table: r.opt_str(
            source.attr("catalog_table"),
            sp.clone().attr("catalog_table"),
        ),
        paths: r
            .opt_str(source.attr("path"), sp.clone().attr("path"))
            .into_iter()
            .collect(),
        format: r.option(source.attr("format"), sp.clone().attr("format"), "json"),
        records_path: r.opt_str(source.attr("records_path"), sp.clone().attr("records_path")),
        incremental: r.bool(source.attr("incremental"), sp.clone().attr("incremental")),
    };

    let mut mapping = Vec::new();
    let mapping_value = value.attr("mapping");
    if !mapping_value.is_known() {
        r.unknown.push(at("mapping"));
    }
    for (i, m) in mapping_value.elements().iter().enumerate() {
        let mp = at("mapping").index(i);
        mapping.push(Mapping {
            from: r.str(m.attr("from"), mp.clone().attr("from")),
            to: r.str(m.attr("to"), mp.clone().attr("to")),
            data_type: r.str(m.attr("type"), mp.clone().attr("type")),
        });
    }

    let dq = value.attr("data_quality");
    let dp = at("data_quality");
    let data_quality = (!dq.is_null()).then(|| DataQuality {
        ruleset: r
            .opt_str(dq.attr("ruleset"), dp.clone().attr("ruleset"))
            .unwrap_or_else(|| gluepipe_spec::pipeline::DEFAULT_RULESET.to_string()),
        on_failure: r.option(
            dq.attr("on_failure"),
            dp.clone().attr("on_failure"),
            "fail, warn or quarantine",
        ),
        results_path: r.opt_str(dq.attr("results_path"), dp.clone().attr("results_path")),
        quarantine_path: r.opt_str(
            dq.attr("quarantine_path"),
            dp.clone().attr("quarantine_path"),
        ),
    });

    let metrics = value.attr("metrics");
    let metrics = (!metrics.is_null()).then(|| Metrics {
        evaluation_context: r.opt_str(
            metrics.attr("evaluation_context"),
            at("metrics").attr("evaluation_context"),
        ),
    });

    let n = value.attr("notifications");
    let notifications = (!n.is_null()).then(|| Notifications {
        sns_topic_arn: r.str(
            n.attr("sns_topic_arn"),
            at("notifications").attr("sns_topic_arn"),
        ),
        on: r.outcomes(n.attr("on"), at("notifications").attr("on")),
    });

    let target = value.attr("target");
    let tp = at("target");
    let spec_target = Target {
        path: r.str(target.attr("path"), tp.clone().attr("path")),
        compression: r.option(
            target.attr("compression"),
            tp.clone().attr("compression"),
            "snappy, zstd, gzip or none",
        ),
        partition_by: r.strings(target.attr("partition_by"), tp.clone().attr("partition_by")),
        catalog_database: r.opt_str(
            target.attr("catalog_database"),
            tp.clone().attr("catalog_database"),
        ),
        catalog_table: r.opt_str(
            target.attr("catalog_table"),
            tp.clone().attr("catalog_table"),
        ),
        write_mode: r.option(
            target.attr("write_mode"),
            tp.clone().attr("write_mode"),
            "append or overwrite",
        ),
    };

    let rt = value.attr("runtime");
    let rp = at("runtime");
    let runtime = RuntimeConfig {
        kind: r
            .opt_str(rt.attr("kind"), rp.clone().attr("kind"))
            .unwrap_or_else(|| defaults::RUNTIME_KIND.into()),
        artifact_bucket: r.str(
            rt.attr("artifact_bucket"),
            rp.clone().attr("artifact_bucket"),
        ),
        artifact_prefix: r
            .opt_str(
                rt.attr("artifact_prefix"),
                rp.clone().attr("artifact_prefix"),
            )
            .unwrap_or_else(|| defaults::ARTIFACT_PREFIX.into()),
        etl_binary: r.str(rt.attr("etl_binary"), rp.clone().attr("etl_binary")),
        max_capacity: r.f64(
            rt.attr("max_capacity"),
            rp.clone().attr("max_capacity"),
            defaults::MAX_CAPACITY,
        ),
        timeout_minutes: r.i64(
            rt.attr("timeout_minutes"),
            rp.clone().attr("timeout_minutes"),
            defaults::TIMEOUT_MINUTES,
        ),
        max_retries: r.i64(
            rt.attr("max_retries"),
            rp.clone().attr("max_retries"),
            defaults::MAX_RETRIES,
        ),
        max_concurrent_runs: r.i64(
            rt.attr("max_concurrent_runs"),
            rp.clone().attr("max_concurrent_runs"),
            defaults::MAX_CONCURRENT_RUNS,
        ),
        scale_out: ScaleOut {
            parallelism: r.opt_i64(rt.attr("parallelism"), rp.clone().attr("parallelism")),
            files_per_shard: r.opt_i64(
                rt.attr("files_per_shard"),
                rp.clone().attr("files_per_shard"),
            ),
        },
        ecs: {
            let ecs = super::ecs::values::decode(rt);
            r.unknown.extend(ecs.unknown);
            r.diags.extend(ecs.diags);
            ecs.settings
        },
    };

    let max_bad_records = r.i64(
        value.attr("max_bad_records"),
        root.clone().attr("max_bad_records"),
        0,
    );
    let max_bad_records = u64::try_from(max_bad_records).unwrap_or_else(|_| {
        r.diags.push(
            Diagnostic::error(
                "Value out of range",
                format!("{max_bad_records} is negative; use 0 or more"),
            )
            .at(at("max_bad_records")),
        );
        0
    });
    let spec = PipelineSpec {
        version: SPEC_VERSION,
        // Stamped when the spec is uploaded (PipelineSpec::for_upload): not configuration.
        gluepipe_version: None,
        name: r.str(value.attr("name"), at("name")),
        description: r.opt_str(value.attr("description"), at("description")),
        source: spec_source,
        mapping,
        data_quality,
        target: spec_target,
        max_bad_records,
        metrics,
        notifications,
    };
    let tags = r.string_map(value.attr("tags"), at("tags"));
    Decoded {
        config: PipelineConfig {
            spec,
            runtime,
            tags,
        },
        unknown: r.unknown,
        diags: r.diags,
    }
}

#[derive(Default)]
struct Reader {
    unknown: Vec<AttributePath>,
    diags: Diagnostics,
}

impl Reader {
    /// A string; null is `None`, unknown is `Some("")` (present, value not known).
    fn opt_str(&mut self, v: &Value, path: AttributePath) -> Option<String> {
        match v {
            Value::Unknown => {
                self.unknown.push(path);
                Some(String::new())
            }
            _ => v.as_str().map(str::to_owned),
        }
    }

    /// A bool; null is `false`, unknown is listed (and `false` meanwhile).
    fn bool(&mut self, v: &Value, path: AttributePath) -> bool {
        if !v.is_known() {
            self.unknown.push(path);
            return false;
        }
        v.as_bool().unwrap_or(false)
    }

    fn str(&mut self, v: &Value, path: AttributePath) -> String {
        self.opt_str(v, path).unwrap_or_default()
    }

    fn number(&mut self, v: &Value, path: &AttributePath) -> Option<f64> {
        if !v.is_known() {
            self.unknown.push(path.clone());
            return None;
        }
        v.as_f64()
    }

    fn f64(&mut self, v: &Value, path: AttributePath, default: f64) -> f64 {
        self.number(v, &path).unwrap_or(default)
    }

    fn i64(&mut self, v: &Value, path: AttributePath, default: i64) -> i64 {
        if let Some(n) = v.as_number() {
            return n.as_i64().unwrap_or_else(|| {
                self.diags.push(
                    Diagnostic::error("Not a whole number", format!("{n} must be a whole number"))
                        .at(path.clone()),
                );
                default
            });
        }
        self.number(v, &path);
        default
    }

    /// A whole number that has no default in state: null stays `None` (and unknown is listed).
    fn opt_i64(&mut self, v: &Value, path: AttributePath) -> Option<i64> {
        match v {
            Value::Null => None,
            Value::Unknown => {
                self.unknown.push(path);
                None
            }
            _ => Some(self.i64(v, path, 0)),
        }
    }

    fn strings(&mut self, v: &Value, path: AttributePath) -> Vec<String> {
        if !v.is_known() {
            self.unknown.push(path);
            return Vec::new();
        }
        v.elements()
            .iter()
            .enumerate()
            .map(|(i, item)| self.str(item, path.clone().index(i)))
            .collect()
    }

    fn string_map(&mut self, v: &Value, path: AttributePath) -> BTreeMap<String, String> {
        if !v.is_known() {
            self.unknown.push(path);
            return BTreeMap::new();
        }
        v.as_entries()
            .into_iter()
            .flatten()
            .map(|(k, item)| (k.clone(), self.str(item, path.clone().key(k))))
            .collect()
    }

    /// The run outcomes of a set; null is the default, an unknown name is reported.
    fn outcomes(&mut self, v: &Value, path: AttributePath) -> Vec<RunOutcome> {
        if v.is_null() || !v.is_known() {
            if !v.is_known() {
                self.unknown.push(path);
            }
            return DEFAULT_ON.to_vec();
        }
        let mut outcomes = Vec::new();
        for word in self.strings(v, path.clone()) {
            match RunOutcome::parse(&word) {
                Some(outcome) => outcomes.push(outcome),
                None if word.is_empty() => {}
                None => self.diags.push(
                    Diagnostic::error(
                        "Unsupported value",
                        format!(
                            "'{word}' is not a run outcome: use succeeded, failed or \
                             data_quality_failed"
                        ),
                    )
                    .at(path.clone()),
                ),
            }
        }
        outcomes.sort();
        outcomes
    }

    /// One of a spec enum's lower-case names; anything else is reported and the default used.
    fn option<T: DeserializeOwned + Default>(
        &mut self,
        v: &Value,
        path: AttributePath,
        allowed: &str,
    ) -> T {
        let Some(text) = self.opt_str(v, path.clone()).filter(|s| !s.is_empty()) else {
            return T::default();
        };
        serde_json::from_value(serde_json::Value::String(text.clone())).unwrap_or_else(|_| {
            self.diags.push(
                Diagnostic::error(
                    "Unsupported value",
                    format!("'{text}' is not one of the allowed values: {allowed}"),
                )
                .at(path),
            );
            T::default()
        })
    }
}

/// Fills in the default of every optional attribute the configuration leaves unset.
pub fn apply_defaults(planned: &mut Value, config: &Value) {
    for (block, attr, default) in schema::defaults() {
        if block.is_empty() {
            if config.attr(attr).is_null() {
                planned.set_attr(attr, default);
            }
            continue;
        }
        let configured = config.attr(block);
        if configured.is_null() || !configured.is_known() || !configured.attr(attr).is_null() {
            continue;
        }
        if let Some(target) = planned.get_mut(&AttributePath::root(block)) {
            target.set_attr(attr, default);
        }
    }
}

/// The attributes and blocks that hold the spec: `name`, `description`, `max_bad_records`,
/// `source`, `mapping`, `data_quality`, `target`, `metrics`, `notifications`.
pub fn encode_spec(spec: &PipelineSpec) -> BTreeMap<String, Value> {
    let s = &spec.source;
    let source = Value::object([
        ("catalog_database", Value::from(s.catalog_database.clone())),
        ("catalog_table", Value::from(s.catalog_table.clone())),
        ("path", Value::from(s.paths.first().cloned())),
        ("format", enum_value(&s.format)),
        ("records_path", Value::from(s.records_path.clone())),
        ("incremental", Value::Bool(s.incremental)),
    ]);
    let mapping = Value::List(
        spec.mapping
            .iter()
            .map(|m| {
                Value::object([
                    ("from", Value::from(&m.from)),
                    ("to", Value::from(&m.to)),
                    ("type", Value::from(&m.data_type)),
                ])
            })
            .collect(),
    );
    let data_quality = spec.data_quality.as_ref().map_or(Value::Null, |dq| {
        Value::object([
            ("ruleset", Value::from(&dq.ruleset)),
            ("on_failure", enum_value(&dq.on_failure)),
            ("results_path", Value::from(dq.results_path.clone())),
            ("quarantine_path", Value::from(dq.quarantine_path.clone())),
        ])
    });
    let metrics = spec.metrics.as_ref().map_or(Value::Null, |m| {
        Value::object([(
            "evaluation_context",
            Value::from(m.evaluation_context.clone()),
        )])
    });
    let notifications = spec.notifications.as_ref().map_or(Value::Null, |n| {
        let mut on = n.on.clone();
        on.sort();
        Value::object([
            ("sns_topic_arn", Value::from(n.sns_topic_arn.clone())),
            (
                "on",
                Value::Set(on.iter().map(|o| Value::from(o.as_str())).collect()),
            ),
        ])
    });
    let t = &spec.target;
    let partition_by = if t.partition_by.is_empty() {
        Value::Null
    } else {
        Value::list(t.partition_by.iter().map(String::as_str))
    };
    let target = Value::object([
        ("path", Value::from(&t.path)),
        ("compression", enum_value(&t.compression)),
        ("partition_by", partition_by),
        ("write_mode", enum_value(&t.write_mode)),
        ("catalog_database", Value::from(t.catalog_database.clone())),
        ("catalog_table", Value::from(t.catalog_table.clone())),
    ]);
    BTreeMap::from([
        ("name".to_string(), Value::from(&spec.name)),
        (
            "description".to_string(),
            Value::from(spec.description.clone()),
        ),
        (
            "max_bad_records".to_string(),
            Value::from(spec.max_bad_records),
        ),
        ("source".to_string(), source),
        ("mapping".to_string(), mapping),
        ("data_quality".to_string(), data_quality),
        ("target".to_string(), target),
        ("metrics".to_string(), metrics),
        ("notifications".to_string(), notifications),
    ])
}

/// The `runtime` block.
pub fn encode_runtime(rt: &RuntimeConfig) -> Value {
    let mut block = Value::object([
        ("kind", Value::from(&rt.kind)),
        ("artifact_bucket", Value::from(&rt.artifact_bucket)),
        ("artifact_prefix", Value::from(&rt.artifact_prefix)),
        ("etl_binary", Value::from(&rt.etl_binary)),
        (
            "max_capacity",
            Number::from_f64(rt.max_capacity).map_or(Value::Null, Value::Number),
        ),
        ("timeout_minutes", Value::from(rt.timeout_minutes)),
        ("max_retries", Value::from(rt.max_retries)),
        ("max_concurrent_runs", Value::from(rt.max_concurrent_runs)),
        ("parallelism", optional_number(rt.scale_out.parallelism)),
        (
            "files_per_shard",
            optional_number(rt.scale_out.files_per_shard),
        ),
    ]);
    super::ecs::values::encode_into(&mut block, &rt.kind, &rt.ecs);
    block
}

fn optional_number(n: Option<i64>) -> Value {
    n.map_or(Value::Null, Value::from)
}

/// A spec enum as its lower-case name.
fn enum_value<T: Serialize>(v: &T) -> Value {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Value::from(s),
        _ => Value::Null,
    }
}

/// A string map value.
pub fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::map(map.iter().map(|(k, v)| (k.clone(), v.clone())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gluepipe_spec::pipeline::{Compression, OnFailure, WriteMode};

    fn config_value() -> Value {
        Value::object([
            ("name", Value::from("orders")),
            ("description", Value::Null),
            ("max_bad_records", Value::Null),
            ("tags", Value::map([("team", "data")])),
            (
                "source",
                Value::object([
                    ("catalog_database", Value::Null),
                    ("catalog_table", Value::Null),
                    ("path", Value::from("s3://raw-bucket/orders/")),
                    ("format", Value::Null),
                    ("records_path", Value::from("data.items")),
                    ("incremental", Value::Bool(true)),
                ]),
            ),
            (
                "mapping",
                Value::list([Value::object([
                    ("from", Value::from("id")),
                    ("to", Value::from("order_id")),
                    ("type", Value::from("bigint")),
                ])]),
            ),
            (
                "data_quality",
                Value::object([
                    ("ruleset", Value::Null),
                    ("on_failure", Value::from("quarantine")),
                    ("results_path", Value::Null),
                    ("quarantine_path", Value::Null),
                ]),
            ),
            (
                "target",
                Value::object([
                    ("path", Value::from("s3://curated-bucket/orders/")),
                    ("compression", Value::from("zstd")),
                    ("partition_by", Value::list(["order_id"])),
                    ("write_mode", Value::Null),
                    ("catalog_database", Value::Null),
                    ("catalog_table", Value::Null),
                ]),
            ),
            (
                "runtime",
                Value::object([
                    ("kind", Value::Null),
                    ("artifact_bucket", Value::from("artifacts")),
                    ("artifact_prefix", Value::Null),
                    ("etl_binary", Value::from("target/release/gluepipe-etl")),
                    ("max_capacity", Value::Number(Number::parse("1").unwrap())),
                    ("timeout_minutes", Value::Null),
                    ("max_retries", Value::from(2)),
                    ("max_concurrent_runs", Value::Null),
                ]),
            ),
        ])
    }

    #[test]
    fn decodes_a_configuration_with_defaults() {
        let d = decode(&config_value());
        assert!(
            d.is_fully_known() && d.diags.is_empty(),
            "{:?} {}",
            d.unknown,
            d.diags
        );
        let spec = &d.config.spec;
        assert_eq!(spec.name, "orders");
        assert_eq!(spec.source.paths, ["s3://raw-bucket/orders/"]);
        assert_eq!(spec.mapping[0].data_type, "bigint");
        let dq = spec.data_quality.as_ref().unwrap();
        assert_eq!(
            (dq.ruleset.as_str(), dq.on_failure),
            (
                gluepipe_spec::pipeline::DEFAULT_RULESET,
                OnFailure::Quarantine
            )
        );
        assert_eq!(
            (spec.target.compression, spec.target.write_mode),
            (Compression::Zstd, WriteMode::Append)
        );
        assert_eq!(spec.max_bad_records, 0);
        let rt = &d.config.runtime;
        assert_eq!(
            (rt.kind.as_str(), rt.artifact_prefix.as_str()),
            ("python-shell", "gluepipe/")
        );
        assert_eq!(
            (
                rt.max_capacity,
                rt.timeout_minutes,
                rt.max_retries,
                rt.max_concurrent_runs
            ),
            (1.0, 60, 2, 1)
        );
        assert_eq!(d.config.tags.get("team").map(String::as_str), Some("data"));
        // Quarantine with the default ruleset (no rule judges rows) is a plan-time diagnostic.
        let issues: Vec<String> = spec.validate().iter().map(|i| i.path_string()).collect();
        assert_eq!(issues, ["data_quality.on_failure"]);
    }

    #[test]
    fn unknown_values_are_listed_not_guessed() {
        let mut v = config_value();
        v.set_at(
            &AttributePath::root("runtime").attr("artifact_bucket"),
            Value::Unknown,
        );
        v.set_at(
            &AttributePath::root("mapping").index(0).attr("to"),
            Value::Unknown,
        );
        v.set_attr("tags", Value::Unknown);
        let d = decode(&v);
        let unknown: Vec<String> = d.unknown.iter().map(ToString::to_string).collect();
        assert_eq!(
            unknown,
            ["mapping[0].to", "runtime.artifact_bucket", "tags"]
        );
        assert_eq!(d.config.runtime.artifact_bucket, "");
    }

    #[test]
    fn bad_options_are_diagnostics_at_their_attribute() {
        let mut v = config_value();
        v.set_at(
            &AttributePath::root("data_quality").attr("on_failure"),
            Value::from("stop"),
        );
        v.set_at(
            &AttributePath::root("target").attr("compression"),
            Value::from("lz4"),
        );
        v.set_at(
            &AttributePath::root("runtime").attr("max_retries"),
            Value::Number(Number::parse("1.5").unwrap()),
        );
        v.set_attr("max_bad_records", Value::from(-1));
        let d = decode(&v);
        let paths: Vec<String> = d
            .diags
            .iter()
            .map(|d| d.attribute.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "data_quality.on_failure",
                "target.compression",
                "runtime.max_retries",
                "max_bad_records"
            ]
        );
        assert!(
            d.diags
                .iter()
                .next()
                .unwrap()
                .detail
                .contains("fail, warn or quarantine")
        );
    }

    #[test]
    fn empty_and_null_blocks() {
        let mut v = config_value();
        v.set_attr("data_quality", Value::Null);
        v.set_attr("mapping", Value::List(vec![]));
        let d = decode(&v);
        assert!(d.config.spec.data_quality.is_none());
        assert!(d.config.spec.mapping.is_empty());
        // A null value (an import stub) decodes to empty placeholders, never panics.
        let d = decode(&Value::Null);
        assert_eq!(d.config.spec.name, "");
        assert!(d.config.spec.source.paths.is_empty());
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let d = decode(&config_value());
        let mut v = Value::object(encode_spec(&d.config.spec));
        v.set_attr("runtime", encode_runtime(&d.config.runtime));
        v.set_attr("tags", string_map(&d.config.tags));
        let back = decode(&v);
        assert_eq!(back.config, d.config);
        assert_eq!(
            back.config.spec.source.records_path.as_deref(),
            Some("data.items")
        );
        assert!(back.config.spec.source.incremental);
        assert_eq!(
            v.get(&AttributePath::root("target").attr("compression")),
            &Value::from("zstd")
        );
        assert_eq!(
            v.get(&AttributePath::root("source").attr("format")),
            &Value::from("json")
        );
    }

    #[test]
    fn notifications_default_their_outcomes_round_trip_and_refuse_a_bad_one() {
        let mut v = config_value();
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
        v.set_attr(
            "notifications",
            Value::object([("sns_topic_arn", Value::from(topic)), ("on", Value::Null)]),
        );
        let d = decode(&v);
        let n = d.config.spec.notifications.clone().unwrap();
        assert_eq!(
            (n.sns_topic_arn.as_str(), n.on.as_slice()),
            (topic, &DEFAULT_ON[..])
        );
        let encoded = Value::object(encode_spec(&d.config.spec));
        assert_eq!(
            encoded.get(&AttributePath::root("notifications").attr("on")),
            &Value::Set(vec![
                Value::from("failed"),
                Value::from("data_quality_failed")
            ])
        );
        assert_eq!(decode(&encoded).config.spec.notifications, Some(n));

        v.set_at(
            &AttributePath::root("notifications").attr("on"),
            Value::Set(vec![Value::from("succeeded"), Value::from("failure")]),
        );
        let d = decode(&v);
        let diag = d.diags.iter().next().unwrap();
        assert_eq!(
            diag.attribute.as_ref().unwrap().to_string(),
            "notifications.on"
        );
        assert!(
            diag.detail.contains("'failure' is not a run outcome"),
            "{}",
            diag.detail
        );
        let on = &d.config.spec.notifications.as_ref().unwrap().on;
        assert_eq!(on, &[RunOutcome::Succeeded]);
    }

    #[test]
    fn scale_out_stays_unset_unless_configured() {
        let runtime = |v: &Value| v.get(&AttributePath::root("runtime")).clone();
        // Unset: decoded as None and encoded back as null, so older states plan no change.
        let d = decode(&config_value());
        assert_eq!(d.config.runtime.scale_out, ScaleOut::default());
        let encoded = encode_runtime(&d.config.runtime);
        assert_eq!(encoded.attr("parallelism"), &Value::Null);
        assert_eq!(encoded.attr("files_per_shard"), &Value::Null);
        assert!(runtime(&config_value()).attr("parallelism").is_null());

        let with = |parallelism: Value, files: Value| {
            let mut v = config_value();
            let mut rt = v.attr("runtime").clone();
            rt.set_attr("parallelism", parallelism);
            rt.set_attr("files_per_shard", files);
            v.set_attr("runtime", rt);
            v
        };
        let d = decode(&with(Value::from(4), Value::from(2)));
        let want = ScaleOut {
            parallelism: Some(4),
            files_per_shard: Some(2),
        };
        assert_eq!(d.config.runtime.scale_out, want);
        let encoded = encode_runtime(&d.config.runtime);
        assert_eq!(encoded.attr("parallelism"), &Value::from(4));
        assert_eq!(encoded.attr("files_per_shard"), &Value::from(2));

        let d = decode(&with(
            Value::Unknown,
            Value::Number(Number::parse("2.5").unwrap()),
        ));
        assert_eq!(d.config.runtime.scale_out.parallelism, None);
        let unknown: Vec<String> = d.unknown.iter().map(ToString::to_string).collect();
        assert_eq!(unknown, ["runtime.parallelism"]);
        let diags: Vec<String> = d
            .diags
            .iter()
            .map(|d| d.attribute.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(diags, ["runtime.files_per_shard"]);
    }

    #[test]
    fn defaults_fill_only_unset_attributes() {
        let config = config_value();
        let mut planned = config.clone();
        apply_defaults(&mut planned, &config);
        let get = |p: AttributePath| planned.get(&p).clone();
        assert_eq!(get(AttributePath::root("max_bad_records")), Value::from(0));
        assert_eq!(
            get(AttributePath::root("source").attr("format")),
            Value::from("json")
        );
        assert_eq!(
            get(AttributePath::root("target").attr("compression")),
            Value::from("zstd"),
            "set in config"
        );
        assert_eq!(
            get(AttributePath::root("target").attr("write_mode")),
            Value::from("append")
        );
        assert_eq!(
            get(AttributePath::root("runtime").attr("max_retries")),
            Value::from(2),
            "set in config"
        );
        assert_eq!(
            get(AttributePath::root("runtime").attr("timeout_minutes")),
            Value::from(60)
        );
        assert_eq!(
            get(AttributePath::root("data_quality").attr("ruleset")),
            Value::from(gluepipe_spec::pipeline::DEFAULT_RULESET)
        );
        // No data_quality block: nothing is added.
        let mut config = config_value();
        config.set_attr("data_quality", Value::Null);
        let mut planned = config.clone();
        apply_defaults(&mut planned, &config);
        assert!(planned.attr("data_quality").is_null());
    }
}
