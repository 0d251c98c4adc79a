//! Waiting on async S3 work from the synchronous `Read`/`Write` side.
//!
//! `Handle::block_on` panics on a runtime worker thread; on a multi-thread runtime we step out
//! with `block_in_place` first, so the blocking objects also work when a caller (or a `Drop`)
//! happens to run inside a task.

use std::future::Future;

use tokio::runtime::{Handle, RuntimeFlavor};

pub(crate) fn block_on<F: Future>(handle: &Handle, fut: F) -> F::Output {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| handle.block_on(fut)),
        _ => handle.block_on(fut),
    }
}
