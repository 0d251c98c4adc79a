//! The plan the framework prepares before a resource's own `plan` hook: the
//! rules every well-behaved resource follows, driven by the schema.
//!
//! 1. Destroy plans stay null.
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
    if req.is_create() || req.prior_state != req.proposed_new_state {
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
