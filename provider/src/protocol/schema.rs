//! Schemas: what a provider, resource or data source accepts and exposes,
//! declared as data with builders. Descriptions are Markdown (they become the
//! registry documentation and `terraform providers schema` output).
//!
//! Attributes also carry plan modifiers ([`Attribute::requires_replace`],
//! [`Attribute::use_state_for_unknown`]). They are not sent to Terraform; the
//! framework applies them when planning.
//!
//! ```
//! use terraform_provider_gluepipe::protocol::{Attribute, Block, NestedBlock, Schema, Type};
//! let schema = Schema::new()
//!     .description("A thing.")
//!     .attribute(Attribute::string("name").required().requires_replace().description("Name."))
//!     .attribute(Attribute::string("arn").computed().use_state_for_unknown().description("ARN."))
//!     .attribute(Attribute::map("tags", Type::String).optional().description("Tags."))
//!     .block(NestedBlock::list("rule", Block::new()
//!         .attribute(Attribute::string("expr").required().description("Rule."))));
//! assert_eq!(schema.value_type().to_string(),
//!     r#"["object",{"arn":"string","name":"string","rule":["list",["object",{"expr":"string"}]],"tags":["map","string"]}]"#);
//! ```

use super::path::{AttributePath, PathStep};
use super::types::Type;

/// The schema of a provider, resource or data source: a versioned block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    /// Recorded in state; `UpgradeResourceState` receives the stored version.
    pub version: i64,
    pub block: Block,
}

/// A set of attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Markdown.
    pub description: String,
    pub deprecated: bool,
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
    /// Changing the value replaces the resource (plan modifier).
    pub requires_replace: bool,
    /// Keep the prior state's value instead of "known after apply" when the
    /// configuration leaves this computed attribute unset (plan modifier).
    pub use_state_for_unknown: bool,
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one; absent is null.
    Single,
    /// Exactly one; absent is an object of nulls.
    Group,
    List,
    Set,
    /// Labelled blocks: `name "label" { … }`.
    Map,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
    /// Adding, removing or changing this block replaces the resource.
    pub requires_replace: bool,
}

impl Schema {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.block.description = markdown.into();
        self
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.block.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.block.blocks.push(block);
        self
    }

    /// The object type of values of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

impl Block {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }

    /// The object type of values of this block.
    pub fn value_type(&self) -> Type {
        let attrs = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()));
        let blocks = self.blocks.iter().map(|b| (b.name.clone(), b.value_type()));
        Type::Object(attrs.chain(blocks).collect())
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The attribute a path points at (through nested blocks), if any.
    pub fn attribute_at(&self, path: &AttributePath) -> Option<&Attribute> {
        let mut block = self;
        let mut steps = path.steps().iter().peekable();
        while let Some(step) = steps.next() {
            let PathStep::Attr(name) = step else {
                continue;
            };
            if let Some(attr) = block.find_attribute(name) {
                return Some(attr);
            }
            block = &block.find_block(name)?.block;
            // Skip the index/key step into a repeated block.
            if matches!(steps.peek(), Some(PathStep::Index(_) | PathStep::Key(_))) {
                steps.next();
            }
        }
        None
    }
}

macro_rules! flag {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(mut self) -> Self {
            self.$name = true;
            self
        }
    };
}

impl Attribute {
    /// An attribute of any type; see the typed shorthands below.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            requires_replace: false,
            use_state_for_unknown: false,
        }
    }

    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }

    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }

    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }

    pub fn list(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, Type::list(element))
    }

    pub fn set(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, Type::set(element))
    }

    pub fn map(name: impl Into<String>, element: Type) -> Self {
        Self::new(name, Type::map(element))
    }

    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = markdown.into();
        self
    }

    flag!(
        /// Must be set in configuration.
        required
    );
    flag!(
        /// May be set in configuration.
        optional
    );
    flag!(
        /// Set by the provider (with `optional`: set by either).
        computed
    );
    flag!(
        /// Hidden in plan output.
        sensitive
    );
    flag!(deprecated);
    flag!(
        /// Plan modifier: a change replaces the resource.
        requires_replace
    );
    flag!(
        /// Plan modifier: keep the prior value instead of unknown when unset.
        use_state_for_unknown
    );
}

impl NestedBlock {
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> Self {
        Self {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
            requires_replace: false,
        }
    }

    pub fn single(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, Nesting::Single, block)
    }

    pub fn group(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, Nesting::Group, block)
    }

    pub fn list(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, Nesting::List, block)
    }

    pub fn set(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, Nesting::Set, block)
    }

    pub fn map(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, Nesting::Map, block)
    }

    /// For list and set blocks: how many Terraform requires.
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// Plan modifier: any change inside the block replaces the resource.
    pub fn requires_replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }

    /// The type of this block's value in its parent object.
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => object,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
            Nesting::Map => Type::map(object),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_types_of_every_nesting_mode() {
        let inner = Block::new().attribute(Attribute::string("a").optional());
        let obj = Type::object([("a", Type::String)]);
        let cases = [
            (Nesting::Single, obj.clone()),
            (Nesting::Group, obj.clone()),
            (Nesting::List, Type::list(obj.clone())),
            (Nesting::Set, Type::set(obj.clone())),
            (Nesting::Map, Type::map(obj.clone())),
        ];
        for (nesting, ty) in cases {
            assert_eq!(
                NestedBlock::new("b", nesting, inner.clone()).value_type(),
                ty,
                "{nesting:?}"
            );
        }
        assert_eq!(Block::new().value_type(), Type::object::<&str>([]));
    }

    #[test]
    fn attribute_at_follows_blocks() {
        let schema = Schema::new()
            .attribute(Attribute::string("name").required())
            .block(NestedBlock::list(
                "rule",
                Block::new().attribute(Attribute::string("expr").required().requires_replace()),
            ))
            .block(NestedBlock::single(
                "target",
                Block::new().attribute(Attribute::string("path").optional()),
            ));
        let found = |p: AttributePath| schema.block.attribute_at(&p).map(|a| a.name.clone());
        assert_eq!(found(AttributePath::root("name")), Some("name".into()));
        assert_eq!(
            found(AttributePath::root("rule").index(2).attr("expr")),
            Some("expr".into())
        );
        assert_eq!(
            found(AttributePath::root("target").attr("path")),
            Some("path".into())
        );
        assert_eq!(found(AttributePath::root("nope")), None);
        assert_eq!(found(AttributePath::empty()), None);
    }
}
