//! The AWS side of `gluepipe_pipeline`: one module per child resource, each with `find_*`
//! (a missing object is [`AwsError::NotFound`]), create/update/delete, `wait_*` and `flatten_*`,
//! plus the semantic comparisons drift detection needs.
//!
//! - [`error`]: [`AwsError`], with NotFound as its own variant;
//! - [`retry`]: named retry predicates (`is_iam_propagation`, …) with bounded timeouts;
//! - [`call_log`]: a debug log line per AWS request;
//! - [`json_equiv`]: IAM policy and state machine definition equivalence;
//! - [`tags`]: tag reconciliation;
//! - children: [`glue_job`], [`iam_role`], [`state_machine`], [`artifacts`], and for the ECS
//!   runtime [`ecs_task_definition`].

pub mod artifacts;
pub mod call_log;
pub mod ecs_task_definition;
pub mod error;
pub mod glue_job;
pub mod iam_role;
pub mod json_equiv;
pub mod retry;
pub mod state_machine;
pub mod tags;

pub use error::{AwsError, OptionalExt};
