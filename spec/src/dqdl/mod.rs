//! DQDL, the AWS Glue Data Quality Definition Language: syntax tree, rule catalogue, parser,
//! canonical printer and JSON view. Shared by the provider (plan-time validation) and the ETL
//! (evaluation). The language and its semantics follow `shared/reference/dqdl-semantics.md`.
//!
//! [`parse`] accepts what Glue's parser accepts and rejects what it rejects, with two deliberate
//! differences: `\r\n` line endings are accepted, and any input after the last section is an
//! error (Glue silently ignores it).

pub mod ast;
pub mod catalog;
mod columns;
mod conditions;
mod error;
mod json;
mod lexer;
mod parser;
mod print;
mod row_level;
mod validate;
pub mod zones;

pub use ast::*;
pub use catalog::{ConditionKind, LookupError, Returns, RuleSpec, Scope};
pub use columns::rule_columns;
pub use error::DqdlError;
pub use json::to_json;
pub use parser::parse;
