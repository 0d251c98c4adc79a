//! DQDL, the AWS Glue Data Quality Definition Language: syntax tree, rule catalogue, parser,
//! canonical printer and JSON view. Shared by the provider (plan-time validation) and the ETL
//! (evaluation). The language and its semantics follow `shared/reference/dqdl-semantics.md`.

pub mod ast;
pub mod catalog;
mod print;

pub use ast::*;
pub use catalog::{ConditionKind, LookupError, Returns, RuleSpec, Scope};
