//! SIGTERM and SIGINT end a run cleanly. The first one is noted: the workers stop at their next
//! record batch, the run fails with [`Interrupted`] (exit 128 + the signal's number, as a
//! shell reports it), and everything it staged is discarded, so nothing of it is published. A
//! commit that has begun is not stopped (it takes seconds, and stopping it half-way would leave
//! work for the next run); a second signal ends the process at once, and whatever commit was
//! under way is completed by the next run to the target (see `storage::commit`).

use std::sync::atomic::{AtomicI32, Ordering};

use tokio::signal::unix::{SignalKind, signal};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The run stopped on a signal; nothing of it was published.
#[derive(Debug, thiserror::Error)]
#[error("stopped by {}: nothing of this run was published", name(*.0))]
pub struct Interrupted(pub i32);

impl Interrupted {
    /// What a shell reports for a process a signal ended.
    pub fn exit_code(&self) -> u8 {
        u8::try_from(128 + self.0).unwrap_or(1)
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Handles SIGTERM and SIGINT on `rt` from now on (registered before this returns, so none is
/// missed).
pub fn install(rt: &tokio::runtime::Runtime) {
    let _entered = rt.enter();
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    rt.spawn(async move {
        loop {
            let n = tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            };
            if RECEIVED.swap(n, Ordering::SeqCst) != 0 {
                eprintln!("gluepipe-etl: second {}: ending now", name(n));
                std::process::exit(128 + n);
            }
            eprintln!(
                "gluepipe-etl: {} received: stopping; nothing of this run will be published \
                 (a second one ends the process at once)",
                name(n)
            );
        }
    });
}

/// The signal received so far, if any.
pub fn received() -> Option<Interrupted> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        n => Some(Interrupted(n)),
    }
}
