//! Conversions between the generated protobuf types and the protocol
//! layer's Rust types, field for field, one `From` per concept.

use super::diagnostics::{Diagnostic, Diagnostics, Severity};
use super::path::{AttributePath, PathStep};
use super::pb::tfplugin6 as pb;
use super::provider_server::DynamicValue;
use super::schema::{Attribute, Block, NestedBlock, Nesting, Schema};

// ----- values -----

impl From<pb::DynamicValue> for DynamicValue {
    fn from(v: pb::DynamicValue) -> Self {
        DynamicValue {
            msgpack: v.msgpack,
            json: v.json,
        }
    }
}

impl From<DynamicValue> for pb::DynamicValue {
    fn from(v: DynamicValue) -> Self {
        pb::DynamicValue {
            msgpack: v.msgpack,
            json: v.json,
        }
    }
}

/// An absent `DynamicValue` (e.g. no prior state) decodes as null.
pub(crate) fn dynamic(v: Option<pb::DynamicValue>) -> DynamicValue {
    v.map(Into::into).unwrap_or_default()
}

// ----- attribute paths -----

impl From<PathStep> for pb::attribute_path::Step {
    fn from(step: PathStep) -> Self {
        use pb::attribute_path::step::Selector;
        let selector = match step {
            PathStep::Attr(name) => Selector::AttributeName(name),
            PathStep::Key(key) => Selector::ElementKeyString(key),
            PathStep::Index(i) => Selector::ElementKeyInt(i),
        };
        pb::attribute_path::Step {
            selector: Some(selector),
        }
    }
}

impl From<AttributePath> for pb::AttributePath {
    fn from(path: AttributePath) -> Self {
        pb::AttributePath {
            steps: path.steps().iter().cloned().map(Into::into).collect(),
        }
    }
}

impl From<pb::AttributePath> for AttributePath {
    fn from(path: pb::AttributePath) -> Self {
        use pb::attribute_path::step::Selector;
        AttributePath::from_steps(
            path.steps
                .into_iter()
                .filter_map(|s| {
                    Some(match s.selector? {
                        Selector::AttributeName(n) => PathStep::Attr(n),
                        Selector::ElementKeyString(k) => PathStep::Key(k),
                        Selector::ElementKeyInt(i) => PathStep::Index(i),
                    })
                })
                .collect(),
        )
    }
}

// ----- diagnostics -----

impl From<Diagnostic> for pb::Diagnostic {
    fn from(d: Diagnostic) -> Self {
        let severity = match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        };
        pb::Diagnostic {
            severity: severity.into(),
            summary: d.summary,
            detail: d.detail,
            // An empty path would point at nothing; Terraform wants none.
            attribute: d.attribute.filter(|p| !p.is_empty()).map(Into::into),
        }
    }
}

pub(crate) fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.into_iter().map(Into::into).collect()
}

// ----- schemas -----

impl From<Schema> for pb::Schema {
    fn from(s: Schema) -> Self {
        pb::Schema {
            version: s.version,
            block: Some(block(s.block, s.version)),
        }
    }
}

fn block(b: Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.into_iter().map(Into::into).collect(),
        block_types: b.blocks.into_iter().map(Into::into).collect(),
        description: b.description,
        description_kind: pb::StringKind::Markdown.into(),
        deprecated: b.deprecated,
    }
}

impl From<Attribute> for pb::schema::Attribute {
    fn from(a: Attribute) -> Self {
        pb::schema::Attribute {
            r#type: a.ty.to_json_bytes(),
            name: a.name,
            nested_type: None,
            description: a.description,
            required: a.required,
            optional: a.optional,
            computed: a.computed,
            sensitive: a.sensitive,
            description_kind: pb::StringKind::Markdown.into(),
            deprecated: a.deprecated,
        }
    }
}

impl From<NestedBlock> for pb::schema::NestedBlock {
    fn from(b: NestedBlock) -> Self {
        use pb::schema::nested_block::NestingMode;
        let nesting = match b.nesting {
            Nesting::Single => NestingMode::Single,
            Nesting::Group => NestingMode::Group,
            Nesting::List => NestingMode::List,
            Nesting::Set => NestingMode::Set,
            Nesting::Map => NestingMode::Map,
        };
        pb::schema::NestedBlock {
            type_name: b.name,
            block: Some(block(b.block, 0)),
            nesting: nesting.into(),
            min_items: b.min_items,
            max_items: b.max_items,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::types::Type;

    #[test]
    fn paths_round_trip() {
        let cases = [
            AttributePath::empty(),
            AttributePath::root("a"),
            AttributePath::root("tags").key("env"),
            AttributePath::root("rule").index(3).attr("expr"),
        ];
        for path in cases {
            let wire: pb::AttributePath = path.clone().into();
            assert_eq!(AttributePath::from(wire), path);
        }
    }

    #[test]
    fn diagnostics_convert() {
        let d = Diagnostic::error("Bad", "Fix it").at(AttributePath::root("region"));
        let wire: pb::Diagnostic = d.into();
        assert_eq!(wire.severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(wire.summary, "Bad");
        assert_eq!(wire.attribute.unwrap().steps.len(), 1);
        let whole: pb::Diagnostic = Diagnostic::warning("W", "")
            .at(AttributePath::empty())
            .into();
        assert_eq!(whole.severity, pb::diagnostic::Severity::Warning as i32);
        assert!(whole.attribute.is_none());
    }

    #[test]
    fn schema_converts() {
        let schema = Schema::new()
            .version(2)
            .description("D")
            .attribute(Attribute::map("tags", Type::String).optional().sensitive())
            .block(NestedBlock::list("rule", Block::new()).items(1, 3));
        let wire: pb::Schema = schema.into();
        let block = wire.block.unwrap();
        assert_eq!(wire.version, 2);
        assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
        assert_eq!(block.attributes[0].r#type, br#"["map","string"]"#);
        assert!(block.attributes[0].sensitive && block.attributes[0].optional);
        let nested = &block.block_types[0];
        assert_eq!(
            nested.nesting,
            pb::schema::nested_block::NestingMode::List as i32
        );
        assert_eq!((nested.min_items, nested.max_items), (1, 3));
    }
}
