//! The plan the framework prepares before a resource's own `plan` hook: the
//! rules every well-behaved resource follows, driven by the schema.
//!
//! 1. Destroy plans stay null; a single nested block the config removed is null.
//! 2. When anything changes (or on create), computed attributes the config
//!    leaves unset become unknown ("known after apply").
//! 3. `use_state_for_unknown` attributes keep their prior value instead.
//! 4. Every `requires_replace` attribute or block whose planned value differs
//!    from the prior value is listed in `requires_replace`.
//!
//! Set-nested blocks are compared as a whole; their elements have no stable
//! identity to match prior and planned values by.

use super::resource::{PlanRequest, PlanResponse};
use crate::protocol::{AttributePath, Block, Nesting, Value};

/// The pre-filled plan for `req` under `block` (the resource schema's root).
pub(crate) fn prefill(block: &Block, req: &PlanRequest) -> PlanResponse {
    let mut plan = PlanResponse {
        planned_state: Value::Null,
        requires_replace: Vec::new(),
        planned_private: req.prior_private.clone(),
        diagnostics: Default::default(),
    };
    if req.is_destroy() {
        return plan;
    }
    let mut planned = req.proposed_new_state.clone();
    drop_removed_blocks(block, &mut planned, &req.config);
    if req.is_create() || req.prior_state != planned {
        mark_computed_unknown(block, &mut planned, &req.config);
    }
    if !req.is_create() {
        keep_prior(block, &mut planned, &req.prior_state, &req.config);
        replacements(
            block,
            &req.prior_state,
            &planned,
            &AttributePath::empty(),
            &mut plan.requires_replace,
        );
    }
    plan.planned_state = planned;
    plan
}

/// Which element of a nested block value: the value itself (single and
/// group blocks), a list position, or a map key.
#[derive(Clone, Copy)]
enum Element<'a> {
    Whole,
    Index(usize),
    Key(&'a str),
}

impl Element<'_> {
    /// The same element of another value of the block (null if absent).
    fn of<'v>(&self, value: &'v Value) -> &'v Value {
        match self {
            Element::Whole => value,
            Element::Index(i) => value
                .as_elements()
                .and_then(|e| e.get(*i))
                .unwrap_or(&Value::Null),
            Element::Key(k) => value.attr(k),
        }
    }
}

/// Calls `f` for each element of a planned nested block value.
fn for_each_element(
    nesting: Nesting,
    planned: &mut Value,
    mut f: impl FnMut(Element<'_>, &mut Value),
) {
    match (nesting, planned) {
        (Nesting::Single | Nesting::Group, v) => f(Element::Whole, v),
        (Nesting::List, Value::List(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                f(Element::Index(i), item);
            }
        }
        (Nesting::Map, Value::Map(entries)) => {
            for (k, item) in entries.iter_mut() {
                f(Element::Key(k), item);
            }
        }
        _ => {}
    }
}

/// A single nested block the configuration leaves out is planned null. Terraform 1.0's proposed
/// new state keeps the prior object instead (its `ProposedNew` returns the prior value where the
/// config is null), and planning that is "Provider produced invalid plan".
fn drop_removed_blocks(block: &Block, planned: &mut Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for nested in &block.blocks {
        let config = config.attr(&nested.name);
        let Some(value) = attrs.get_mut(&nested.name) else {
            continue;
        };
        if matches!(nested.nesting, Nesting::Single) && config.is_null() {
            *value = Value::Null;
            continue;
        }
        for_each_element(nested.nesting, value, |e, p| {
            drop_removed_blocks(&nested.block, p, e.of(config))
        });
    }
}

fn mark_computed_unknown(block: &Block, planned: &mut Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for attr in block.attributes.iter().filter(|a| a.computed) {
        if config.attr(&attr.name).is_null() {
            attrs.insert(attr.name.clone(), Value::Unknown);
        }
    }
    for nested in &block.blocks {
        if let Some(value) = attrs.get_mut(&nested.name) {
            let config = config.attr(&nested.name);
            for_each_element(nested.nesting, value, |e, p| {
                mark_computed_unknown(&nested.block, p, e.of(config))
            });
        }
    }
}

fn keep_prior(block: &Block, planned: &mut Value, prior: &Value, config: &Value) {
    let Value::Object(attrs) = planned else {
        return;
    };
    for attr in block.attributes.iter().filter(|a| a.use_state_for_unknown) {
        let prior_value = prior.attr(&attr.name);
        if attrs.get(&attr.name) == Some(&Value::Unknown)
            && config.attr(&attr.name).is_null()
            && !prior.is_null()
            && prior_value.is_known()
        {
            attrs.insert(attr.name.clone(), prior_value.clone());
        }
    }
    for nested in &block.blocks {
        if let Some(value) = attrs.get_mut(&nested.name) {
            let (prior, config) = (prior.attr(&nested.name), config.attr(&nested.name));
            for_each_element(nested.nesting, value, |e, p| {
                keep_prior(&nested.block, p, e.of(prior), e.of(config))
            });
        }
    }
}

fn replacements(
    block: &Block,
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for attr in block.attributes.iter().filter(|a| a.requires_replace) {
        if prior.attr(&attr.name) != planned.attr(&attr.name) {
            out.push(path.clone().attr(&attr.name));
        }
    }
    for nested in &block.blocks {
        let here = path.clone().attr(&nested.name);
        let (p, n) = (prior.attr(&nested.name), planned.attr(&nested.name));
        if nested.requires_replace {
            if p != n {
                out.push(here);
            }
            continue;
        }
        match nested.nesting {
            Nesting::Single | Nesting::Group => replacements(&nested.block, p, n, &here, out),
            Nesting::List => {
                for (i, item) in n.elements().iter().enumerate() {
                    let before = p
                        .as_elements()
                        .and_then(|e| e.get(i))
                        .unwrap_or(&Value::Null);
                    replacements(&nested.block, before, item, &here.clone().index(i), out);
                }
            }
            Nesting::Map => {
                for (k, item) in n.as_entries().into_iter().flatten() {
                    replacements(&nested.block, p.attr(k), item, &here.clone().key(k), out);
                }
            }
            Nesting::Set => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Attribute, NestedBlock, Type};

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::string("name").required().requires_replace())
            .attribute(Attribute::string("arn").computed().use_state_for_unknown())
            .attribute(Attribute::string("version").computed())
            .attribute(Attribute::string("mode").optional().computed())
            .attribute(Attribute::string("description").optional())
            .block(NestedBlock::list(
                "rule",
                Block::new()
                    .attribute(Attribute::string("expr").required().requires_replace())
                    .attribute(Attribute::string("id").computed().use_state_for_unknown()),
            ))
            .block(NestedBlock::single(
                "target",
                Block::new().attribute(Attribute::string("path").required()),
            ))
    }

    fn rule(expr: &str, id: Value) -> Value {
        Value::object([("expr", Value::from(expr)), ("id", id)])
    }

    /// A resource object: config has computed attributes null.
    fn object(name: &str, description: Option<&str>, rules: Vec<Value>, computed: bool) -> Value {
        let c = |v: &str| {
            if computed {
                Value::from(v)
            } else {
                Value::Null
            }
        };
        Value::object([
            ("name", Value::from(name)),
            ("arn", c("arn:1")),
            ("version", c("v1")),
            ("mode", c("auto")),
            ("description", description.into()),
            ("rule", Value::List(rules)),
            ("target", Value::Null),
        ])
    }

    fn request(prior: Value, config: Value) -> PlanRequest {
        // Terraform's proposed state: config, with prior values for
        // computed attributes the config leaves null.
        let mut proposed = config.clone();
        if let (Value::Object(p), Value::Object(prior)) = (&mut proposed, &prior) {
            for (k, v) in p.iter_mut() {
                if v.is_null() && matches!(k.as_str(), "arn" | "version" | "mode") {
                    *v = prior.get(k).cloned().unwrap_or_default();
                }
            }
            if let (Some(Value::List(rules)), Some(Value::List(prior_rules))) =
                (p.get_mut("rule"), prior.get("rule"))
            {
                for (r, pr) in rules.iter_mut().zip(prior_rules) {
                    r.set_attr("id", pr.attr("id").clone());
                }
            }
        }
        if config.is_null() {
            proposed = Value::Null;
        }
        PlanRequest {
            prior_state: prior,
            proposed_new_state: proposed,
            config,
            prior_private: b"private".to_vec(),
        }
    }

    #[test]
    fn create_marks_computed_attributes_unknown() {
        let config = object("a", None, vec![rule("x > 1", Value::Null)], false);
        let plan = prefill(&block(), &request(Value::Null, config));
        let p = &plan.planned_state;
        assert_eq!(p.attr("arn"), &Value::Unknown);
        assert_eq!(p.attr("version"), &Value::Unknown);
        assert_eq!(p.attr("mode"), &Value::Unknown);
        assert_eq!(p.attr("description"), &Value::Null);
        assert_eq!(p.attr("rule").elements()[0].attr("id"), &Value::Unknown);
        assert_eq!(p.attr("target"), &Value::Null);
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn configured_optional_computed_values_are_kept() {
        let mut config = object("a", None, vec![], false);
        config.set_attr("mode", Value::from("manual"));
        let plan = prefill(&block(), &request(Value::Null, config));
        assert_eq!(plan.planned_state.attr("mode").as_str(), Some("manual"));
    }

    #[test]
    fn no_change_plans_the_prior_state() {
        let prior = object("a", Some("d"), vec![rule("x", Value::from("r1"))], true);
        let config = object("a", Some("d"), vec![rule("x", Value::Null)], false);
        let plan = prefill(&block(), &request(prior.clone(), config));
        assert_eq!(plan.planned_state, prior);
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned_private, b"private");
    }

    #[test]
    fn update_keeps_state_for_unknown_and_marks_the_rest() {
        let prior = object("a", Some("d"), vec![rule("x", Value::from("r1"))], true);
        let config = object("a", Some("changed"), vec![rule("x", Value::Null)], false);
        let plan = prefill(&block(), &request(prior, config));
        let p = &plan.planned_state;
        assert_eq!(p.attr("arn").as_str(), Some("arn:1"));
        assert_eq!(p.attr("version"), &Value::Unknown);
        assert_eq!(p.attr("rule").elements()[0].attr("id").as_str(), Some("r1"));
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn requires_replace_lists_changed_paths() {
        let prior = object("a", None, vec![rule("x", Value::from("r1"))], true);
        let cases = [
            (
                "name",
                object("b", None, vec![rule("x", Value::Null)], false),
                vec![AttributePath::root("name")],
            ),
            (
                "nested expr",
                object("a", None, vec![rule("y", Value::Null)], false),
                vec![AttributePath::root("rule").index(0).attr("expr")],
            ),
            (
                "added rule",
                object(
                    "a",
                    None,
                    vec![rule("x", Value::Null), rule("z", Value::Null)],
                    false,
                ),
                vec![AttributePath::root("rule").index(1).attr("expr")],
            ),
            ("removed rule", object("a", None, vec![], false), vec![]),
        ];
        for (name, config, expected) in cases {
            let plan = prefill(&block(), &request(prior.clone(), config));
            assert_eq!(plan.requires_replace, expected, "{name}");
        }
    }

    #[test]
    fn replace_when_a_requires_replace_block_changes() {
        let b = Block::new().block(
            NestedBlock::single(
                "target",
                Block::new().attribute(Attribute::string("path").optional()),
            )
            .requires_replace(),
        );
        let target =
            |p: &str| Value::object([("target", Value::object([("path", Value::from(p))]))]);
        let plan = prefill(&b, &request(target("s3://a"), target("s3://b")));
        assert_eq!(plan.requires_replace, vec![AttributePath::root("target")]);
        let plan = prefill(&b, &request(target("s3://a"), target("s3://a")));
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn a_removed_single_block_is_planned_null() {
        let b = Block::new()
            .attribute(Attribute::string("name").required())
            .block(NestedBlock::single(
                "dq",
                Block::new().attribute(Attribute::string("rules").optional()),
            ));
        let with = |dq: Value| Value::object([("name", Value::from("a")), ("dq", dq)]);
        let prior = with(Value::object([("rules", Value::from("r"))]));
        // Terraform 1.0 proposes the prior block although the config has none.
        let req = PlanRequest {
            prior_state: prior.clone(),
            proposed_new_state: prior.clone(),
            config: with(Value::Null),
            prior_private: Vec::new(),
        };
        assert_eq!(prefill(&b, &req).planned_state.attr("dq"), &Value::Null);
        // A block still configured keeps its planned value; an unknown config is not absent.
        let req = PlanRequest {
            config: prior.clone(),
            ..req
        };
        assert_eq!(prefill(&b, &req).planned_state, prior);
        let req = PlanRequest {
            config: with(Value::Unknown),
            ..req
        };
        assert_eq!(prefill(&b, &req).planned_state.attr("dq"), prior.attr("dq"));
    }

    #[test]
    fn destroy_plans_null() {
        let prior = object("a", None, vec![], true);
        let plan = prefill(&block(), &request(prior, Value::Null));
        assert_eq!(plan.planned_state, Value::Null);
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned_private, b"private");
    }

    #[test]
    fn unknown_config_is_not_mistaken_for_unset() {
        let mut config = object("a", None, vec![], false);
        config.set_attr("mode", Value::Unknown);
        let plan = prefill(&block(), &request(Value::Null, config));
        assert_eq!(plan.planned_state.attr("mode"), &Value::Unknown);
        let ty = block().value_type();
        assert!(matches!(ty, Type::Object(_)));
    }
}
