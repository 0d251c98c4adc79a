//! The ECS runtime of `gluepipe_pipeline` (`runtime { kind = "ecs" … }`): instead of a Glue
//! Python-shell job, a Fargate task runs `gluepipe-etl run <spec>` from a container image, and
//! the state machine runs it with `ecs:runTask.sync`. The pipeline part (spec, data access,
//! artifact folder, state machine role trust) is shared with the Python-shell runtime.
//!
//! - [`settings`]: the ECS settings, Fargate task sizes, clusters, subnet/SG ids, ECR images;
//! - [`schema`]: the ECS attributes, which attributes belong to which kind, kind defaults;
//! - [`values`]: Terraform values ⇄ [`settings::EcsSettings`];
//! - [`validate`]: plan-time checks, including attributes set for the other kind;
//! - [`iam`], [`asl`]: the three roles' policies and the state machine definition;
//! - [`expand`]: configuration → desired task definition, roles, state machine (pure);
//! - [`lifecycle`]: converge, observe and destroy them in AWS;
//! - [`state`]: the state value from the plan or from what AWS reports (pure);
//! - [`resource`]: plan, apply, refresh and delete, dispatched from `pipeline::resource`.
//!
//! The task definition family's AWS calls are in [`crate::aws::ecs_task_definition`].

pub mod asl;
pub mod expand;
pub mod iam;
pub mod lifecycle;
pub mod resource;
pub mod schema;
pub mod settings;
pub mod state;
pub mod validate;
pub mod values;

pub use settings::{EcsSettings, KIND};
