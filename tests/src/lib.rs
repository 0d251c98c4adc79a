//! gluepipe's local AWS test bench: everything an end-to-end test needs to run the real pieces
//! offline on 127.0.0.1.
//!
//! - [`Emulator`]: moto, mended and extended by `tests/bench/emulator.py` (Step Functions
//!   executions on, Glue job runs that execute a local command, fault injection).
//! - [`Terraform`]: the real Terraform CLI v1.0.3 driving the freshly built provider through
//!   `dev_overrides`, in a temporary directory, offline.
//! - [`cloudwatch`]: metrics read back from the emulator's CloudWatch.
//! - [`bins`]: where the built binaries and the project's Python tools are.
//! - [`install`]: the provider packaged into a mirror, and an HTTPS server to serve it.
//! - [`process`]: a command run in its own process group, to press Ctrl-C or kill it.
//! - [`readback`]: our Parquet read back independently, with pyarrow.
//! - [`sns`]: SNS topics with a subscribed SQS queue, to read what was published.
//! - [`tf_helpers`]: Terraform steps, IAM document decoding and SDK clients the pipeline
//!   end-to-end tests share.
//!
//! The Python tools come from `scripts/bootstrap.sh`; the binaries from `cargo build --bins`.
//! `scripts/test.sh` does both before `cargo test`.

pub mod bins;
pub mod cloudwatch;
mod control;
pub mod emulator;
pub mod install;
pub mod process;
pub mod readback;
pub mod s3;
pub mod sns;
pub mod terraform;
pub mod tf_helpers;

pub use emulator::Emulator;
pub use terraform::{Terraform, TfOutput};
