//! Between the `runtime` block's ECS attributes and [`EcsSettings`]. Like `pipeline::values`,
//! decoding never fails: unknown values are listed (and left at their defaults), and a number
//! that is not whole is a diagnostic at its attribute.

use super::schema::ECS_ATTRIBUTES;
use super::settings::{EcsSettings, KIND};
use crate::protocol::{AttributePath, Diagnostic, Diagnostics, Value};

/// The ECS settings of a `runtime` block value.
#[derive(Debug, Clone, Default)]
pub struct DecodedEcs {
    pub settings: EcsSettings,
    /// Attributes whose values are not known yet.
    pub unknown: Vec<AttributePath>,
    pub diags: Diagnostics,
}

/// Decodes the ECS attributes of `runtime` (null ones take their defaults).
pub fn decode(runtime: &Value) -> DecodedEcs {
    let mut r = Reader {
        runtime,
        decoded: DecodedEcs::default(),
    };
    if let Some(cluster) = r.known("cluster").and_then(Value::as_str) {
        r.decoded.settings.cluster = cluster.to_owned();
    }
    if let Some(image) = r.known("image").and_then(Value::as_str) {
        r.decoded.settings.image = image.to_owned();
    }
    if let Some(arch) = r.known("cpu_architecture").and_then(Value::as_str) {
        r.decoded.settings.cpu_architecture = arch.to_owned();
    }
    let subnets = r.strings("subnets");
    let security_groups = r.strings("security_groups");
    let cpu = r.whole("cpu");
    let memory = r.whole("memory");
    let public_ip = r.known("assign_public_ip").and_then(Value::as_bool);
    let s = &mut r.decoded.settings;
    s.subnets = subnets;
    s.security_groups = security_groups;
    s.cpu = cpu.unwrap_or(s.cpu);
    s.memory = memory.unwrap_or(s.memory);
    s.assign_public_ip = public_ip.unwrap_or(s.assign_public_ip);
    r.decoded
}

struct Reader<'a> {
    runtime: &'a Value,
    decoded: DecodedEcs,
}

impl<'a> Reader<'a> {
    fn path(name: &str) -> AttributePath {
        AttributePath::root("runtime").attr(name)
    }

    /// The attribute's value if it is known (null included); otherwise it is listed.
    fn known(&mut self, name: &str) -> Option<&'a Value> {
        let v = self.runtime.attr(name);
        if v.is_known() {
            Some(v)
        } else {
            self.decoded.unknown.push(Self::path(name));
            None
        }
    }

    /// A list of strings; an unknown element is listed and read as "".
    fn strings(&mut self, name: &str) -> Vec<String> {
        let Some(list) = self.known(name) else {
            return Vec::new();
        };
        list.elements()
            .iter()
            .enumerate()
            .map(|(i, item)| {
                if !item.is_known() {
                    self.decoded.unknown.push(Self::path(name).index(i));
                }
                item.as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    /// A whole number; a fractional one is reported.
    fn whole(&mut self, name: &str) -> Option<i64> {
        let n = self.known(name)?.as_number()?;
        let whole = n.as_i64();
        if whole.is_none() {
            self.decoded.diags.push(
                Diagnostic::error("Not a whole number", format!("{n} must be a whole number"))
                    .at(Self::path(name)),
            );
        }
        whole
    }
}

/// Writes the ECS attributes into a `runtime` block value: the settings for the ECS runtime,
/// null for any other kind.
pub fn encode_into(block: &mut Value, kind: &str, ecs: &EcsSettings) {
    if kind != KIND {
        for name in ECS_ATTRIBUTES {
            block.set_attr(name, Value::Null);
        }
        return;
    }
    let list = |items: &[String]| {
        if items.is_empty() {
            Value::Null
        } else {
            Value::list(items.iter().map(String::as_str))
        }
    };
    for (name, value) in [
        ("cluster", Value::from(&ecs.cluster)),
        ("subnets", list(&ecs.subnets)),
        ("security_groups", list(&ecs.security_groups)),
        ("image", Value::from(&ecs.image)),
        ("cpu", Value::from(ecs.cpu)),
        ("memory", Value::from(ecs.memory)),
        ("assign_public_ip", Value::Bool(ecs.assign_public_ip)),
        ("cpu_architecture", Value::from(&ecs.cpu_architecture)),
    ] {
        block.set_attr(name, value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::Number;

    fn runtime() -> Value {
        Value::object([
            ("kind", Value::from("ecs")),
            ("cluster", Value::from("etl")),
            (
                "subnets",
                Value::list(["subnet-0a1b2c3d", "subnet-1a2b3c4d"]),
            ),
            ("security_groups", Value::list(["sg-12345678"])),
            ("image", Value::from("gluepipe-etl:1")),
            ("cpu", Value::from(512)),
            ("memory", Value::from(1024)),
            ("assign_public_ip", Value::Bool(true)),
            ("cpu_architecture", Value::from("ARM64")),
        ])
    }

    #[test]
    fn decodes_every_setting() {
        let d = decode(&runtime());
        assert!(d.unknown.is_empty() && d.diags.is_empty());
        assert_eq!(
            d.settings,
            EcsSettings {
                cluster: "etl".into(),
                subnets: vec!["subnet-0a1b2c3d".into(), "subnet-1a2b3c4d".into()],
                security_groups: vec!["sg-12345678".into()],
                image: "gluepipe-etl:1".into(),
                cpu: 512,
                memory: 1024,
                assign_public_ip: true,
                cpu_architecture: "ARM64".into(),
            }
        );
    }

    #[test]
    fn nulls_take_defaults() {
        let d = decode(&Value::object([("kind", Value::from("ecs"))]));
        assert_eq!(d.settings, EcsSettings::default());
        assert!(d.unknown.is_empty());
        let d = decode(&Value::Null);
        assert_eq!(d.settings, EcsSettings::default());
    }

    #[test]
    fn unknowns_are_listed() {
        let mut v = runtime();
        v.set_attr("cluster", Value::Unknown);
        v.set_attr("cpu", Value::Unknown);
        v.set_attr("security_groups", Value::Unknown);
        v.set_attr(
            "subnets",
            Value::List(vec![Value::from("subnet-0a1b2c3d"), Value::Unknown]),
        );
        let d = decode(&v);
        let unknown: Vec<String> = d.unknown.iter().map(ToString::to_string).collect();
        assert_eq!(
            unknown,
            [
                "runtime.cluster",
                "runtime.subnets[1]",
                "runtime.security_groups",
                "runtime.cpu"
            ]
        );
        assert_eq!(d.settings.cpu, EcsSettings::default().cpu);
        assert_eq!(d.settings.subnets, ["subnet-0a1b2c3d", ""]);
    }

    #[test]
    fn fractional_sizes_are_reported() {
        let mut v = runtime();
        v.set_attr("memory", Value::Number(Number::parse("1024.5").unwrap()));
        let d = decode(&v);
        assert_eq!(d.diags.len(), 1);
        let diag = d.diags.iter().next().unwrap();
        assert_eq!(
            diag.attribute.as_ref().map(ToString::to_string).as_deref(),
            Some("runtime.memory")
        );
    }

    #[test]
    fn encode_round_trips_and_nulls_other_kinds() {
        let settings = decode(&runtime()).settings;
        let mut block = Value::object([("kind", Value::from("ecs"))]);
        encode_into(&mut block, KIND, &settings);
        assert_eq!(decode(&block).settings, settings);
        assert_eq!(block.attr("cpu"), &Value::from(512));

        let mut glue = runtime();
        encode_into(&mut glue, "python-shell", &settings);
        for name in ECS_ATTRIBUTES {
            assert!(glue.attr(name).is_null(), "{name}");
        }
        // Empty lists are null (what an unset attribute reads as).
        let mut block = Value::Object(std::collections::BTreeMap::new());
        encode_into(&mut block, KIND, &EcsSettings::default());
        assert!(block.attr("security_groups").is_null());
    }
}
