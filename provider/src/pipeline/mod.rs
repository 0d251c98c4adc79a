//! The `gluepipe_pipeline` resource: one Terraform resource that owns a Glue job, its IAM role,
//! a Step Functions state machine, that machine's IAM role and the S3 artifacts they run.
//!
//! - [`model`]: the configuration as Rust data (the pipeline part is `gluepipe_spec::PipelineSpec`);
//! - [`schema`]: the resource schema and defaults; [`values`]: Terraform values ⇄ the model;
//! - [`names`]: names and ARNs of the children, and the pipeline-name rule;
//! - [`policy`], [`asl`]: IAM policy documents and the state machine definition;
//! - [`scale_out`]: `runtime.parallelism` above 1: a Distributed Map of shard runs, then a
//!   merge run, and the state machine role's extra grants;
//! - [`etl_binary`]: which gluepipe-etl is uploaded (found beside the provider, or given), checked;
//! - [`expand`]: configuration → desired AWS state (pure);
//! - [`validate`]: plan-time checks with attribute paths;
//! - [`ownership`]: the instance marker every child carries, and the claim a create checks;
//! - [`siblings`]: the pipelines this configuration plans, refused at plan when two claim one
//!   name or nest their artifact folders;
//! - [`lifecycle`]: converge, observe and destroy the children in AWS;
//! - [`private`]: the private state Terraform keeps beside it (the binary's hash at refresh);
//! - [`state`]: the state value from the plan or from what AWS reports (pure);
//! - [`resource`]: the `Resource` implementation;
//! - [`ecs`]: the ECS runtime (`runtime { kind = "ecs" }`): task definition, task roles and an
//!   `ecs:runTask.sync` state machine instead of the Glue job.
//!
//! AWS calls for each child are in [`crate::aws`].

pub mod asl;
pub mod ecs;
pub mod etl_binary;
pub mod expand;
pub mod lifecycle;
pub mod model;
pub mod names;
pub mod ownership;
pub mod policy;
pub mod private;
pub mod resource;
pub mod scale_out;
pub mod schema;
pub mod siblings;
pub mod state;
pub mod validate;
pub mod values;

pub use resource::PipelineResource;
