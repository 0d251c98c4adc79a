//! Narrow, named retries for AWS's eventual consistency, each bounded in time.
//!
//! A freshly created IAM role is not usable everywhere at once: Step Functions answers
//! `AccessDeniedException` ("…is not authorized to assume the provided role") and Glue
//! `InvalidInputException` ("Service is unable to assume provided role") for a few seconds.
//! [`is_iam_propagation`] recognises exactly those answers; a genuine permission gap gives up
//! after [`IAM_PROPAGATION_TIMEOUT`] with AWS's own message.
//!
//! Every wait between attempts ends early when Terraform stops the provider ([`STOP`]:
//! `StopProvider`, i.e. Ctrl-C, or Terraform gone): the call in flight is let finish (cutting it
//! off could orphan what it creates), then the last answer is returned as "stopped".

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::error::AwsError;
use crate::log_debug;

/// A cancellation flag that sleeping retries wake up for.
#[derive(Debug)]
pub struct Stop {
    requested: AtomicBool,
    notify: Notify,
}

impl Stop {
    pub const fn new() -> Stop {
        Stop {
            requested: AtomicBool::new(false),
            notify: Notify::const_new(),
        }
    }

    /// Stops every retry and poll of this process; there is no way back (Terraform only asks
    /// when it is ending the operation).
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Resolves once [`Stop::request`] was called.
    pub async fn requested(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a request between the two is not missed.
            notified.as_mut().enable();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps for `delay`; false if a stop came first.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => !self.is_requested(),
            () = self.requested() => false,
        }
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

/// The provider process's stop: requested by `StopProvider` and when Terraform goes away.
pub static STOP: Stop = Stop::new();

/// The message of a wait cut short by [`STOP`].
pub const STOPPED: &str = "stopped: Terraform interrupted the operation";

/// How long a new role may take to become assumable (the AWS provider's `propagationTimeout`).
pub const IAM_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a deleted state machine with the same name may block a new one.
pub const STATE_MACHINE_DELETING_TIMEOUT: Duration = Duration::from_secs(300);
/// How long IAM may refuse to delete a role whose policies were just removed.
pub const DELETE_CONFLICT_TIMEOUT: Duration = Duration::from_secs(120);

/// True if `err` is AWS not yet trusting a role that was just created or changed.
pub fn is_iam_propagation(err: &AwsError) -> bool {
    let message = err.message().to_ascii_lowercase();
    match err.code() {
        // Step Functions: "Neither the global service principal states.amazonaws.com, nor the
        // regional one is authorized to assume the provided role."
        Some("AccessDeniedException") => message.contains("assume"),
        // Glue: "Service is unable to assume provided role. Please verify role's TrustPolicy".
        Some("InvalidInputException") => message.contains("unable to assume"),
        // IAM: a trust policy naming a principal created moments ago.
        Some("MalformedPolicyDocument") => message.contains("invalid principal"),
        _ => false,
    }
}

/// True if a state machine of the same name is still being deleted.
pub fn is_state_machine_deleting(err: &AwsError) -> bool {
    err.code() == Some("StateMachineDeleting")
}

/// True if IAM refuses to delete a role that still has policies or instance profiles attached.
pub fn is_delete_conflict(err: &AwsError) -> bool {
    err.code() == Some("DeleteConflict")
}

/// How long to wait between attempts: `first`, doubling up to `max`, for at most `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl Backoff {
    /// For retrying a call AWS refused: 1 s, 2 s, 4 s, … 10 s.
    pub const fn retry(timeout: Duration) -> Backoff {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(10),
            timeout,
        }
    }

    /// For polling until AWS reports a change done: 250 ms, 500 ms, … 5 s.
    pub const fn poll(timeout: Duration) -> Backoff {
        Backoff {
            first: Duration::from_millis(250),
            max: Duration::from_secs(5),
            timeout,
        }
    }
}

/// What a retryable answer means, for the log line of the retry.
fn waiting_for(err: &AwsError) -> &'static str {
    if is_iam_propagation(err) {
        "waiting for IAM to propagate the role (AWS cannot assume it yet)"
    } else if is_state_machine_deleting(err) {
        "waiting for the state machine of this name to finish deleting"
    } else if is_delete_conflict(err) {
        "waiting for IAM to see the role's policies removed"
    } else {
        "retrying"
    }
}

/// Runs `op` until it succeeds, fails with an error `retryable` rejects, the backoff's
/// timeout has passed (then the last error is returned), or [`STOP`] is requested.
pub async fn retry_while<T, F, Fut>(
    retryable: fn(&AwsError) -> bool,
    backoff: Backoff,
    op: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    retry_while_or_stop(&STOP, retryable, backoff, op).await
}

/// [`retry_while`] with its own stop.
pub async fn retry_while_or_stop<T, F, Fut>(
    stop: &Stop,
    retryable: fn(&AwsError) -> bool,
    backoff: Backoff,
    mut op: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let start = Instant::now();
    let deadline = start + backoff.timeout;
    let mut delay = backoff.first;
    loop {
        match op().await {
            Err(err) if retryable(&err) && Instant::now() + delay < deadline => {
                log_debug!(
                    "{err}; {} — attempt again in {delay:?} (waited {:?} of at most {:?})",
                    waiting_for(&err),
                    start.elapsed(),
                    backoff.timeout
                );
                if !stop.sleep(delay).await {
                    return Err(AwsError::local(
                        err.context(),
                        format!("{STOPPED} (last answer: {})", last_answer(&err)),
                    ));
                }
                delay = (delay * 2).min(backoff.max);
            }
            result => return result,
        }
    }
}

fn last_answer(err: &AwsError) -> String {
    match err.code() {
        Some(code) => format!("{code}: {}", err.message()),
        None => err.message().to_owned(),
    }
}

/// Polls `check` until it returns `Some`, or fails once the backoff's timeout has passed.
pub async fn wait_until<T, F, Fut>(what: &str, backoff: Backoff, check: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    wait_until_or_stop(&STOP, what, backoff, check).await
}

/// [`wait_until`] with its own stop.
pub async fn wait_until_or_stop<T, F, Fut>(
    stop: &Stop,
    what: &str,
    backoff: Backoff,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let deadline = Instant::now() + backoff.timeout;
    let mut delay = backoff.first;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() + delay >= deadline {
            return Err(AwsError::local(
                what,
                format!("still not done after {:?}", backoff.timeout),
            ));
        }
        log_debug!("{what}: not yet, checking again in {delay:?}");
        if !stop.sleep(delay).await {
            return Err(AwsError::local(what, STOPPED));
        }
        delay = (delay * 2).min(backoff.max);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn failed(code: &str, message: &str) -> AwsError {
        AwsError::Failed {
            context: "x".into(),
            code: Some(code.into()),
            message: message.into(),
        }
    }

    #[test]
    fn recognises_propagation_and_nothing_else() {
        let propagation = [
            failed(
                "AccessDeniedException",
                "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.",
            ),
            failed(
                "InvalidInputException",
                "Service is unable to assume provided role. Please verify role's TrustPolicy",
            ),
            failed(
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\"",
            ),
        ];
        for err in &propagation {
            assert!(is_iam_propagation(err), "{err}");
        }
        let other = [
            failed(
                "AccessDeniedException",
                "User is not authorized to perform: states:CreateStateMachine",
            ),
            failed("InvalidInputException", "Invalid name"),
            failed("MalformedPolicyDocument", "Syntax errors in policy"),
            failed("ThrottlingException", "Rate exceeded"),
            AwsError::NotFound {
                context: "x".into(),
            },
            AwsError::local("x", "assume"),
        ];
        for err in &other {
            assert!(!is_iam_propagation(err), "{err}");
        }
        assert!(is_state_machine_deleting(&failed(
            "StateMachineDeleting",
            ""
        )));
        assert!(is_delete_conflict(&failed("DeleteConflict", "")));
    }

    /// Millisecond steps so the tests run in real time.
    fn quick(timeout_ms: u64) -> Backoff {
        Backoff {
            first: Duration::from_millis(2),
            max: Duration::from_millis(8),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn retries_until_success() {
        let calls = AtomicU32::new(0);
        let result = retry_while(is_iam_propagation, quick(5_000), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(failed(
                    "InvalidInputException",
                    "Service is unable to assume provided role",
                ))
            } else {
                Ok("created")
            }
        })
        .await;
        assert_eq!(result, Ok("created"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result: Result<(), _> = retry_while(is_iam_propagation, quick(60), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(failed(
                "AccessDeniedException",
                "not authorized to assume the provided role",
            ))
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Some("AccessDeniedException"));
        assert!(
            start.elapsed() < Duration::from_millis(60 + 50),
            "{:?}",
            start.elapsed()
        );
        assert!(calls.load(Ordering::SeqCst) >= 4);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = retry_while(is_iam_propagation, quick(5_000), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(failed("ValidationException", "bad"))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stop_ends_retries_and_waits_at_once() {
        let stop = Stop::new();
        let slow = Backoff {
            first: Duration::from_secs(30),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(600),
        };
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let (result, ()) = tokio::join!(
            retry_while_or_stop(&stop, is_iam_propagation, slow, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(failed(
                    "InvalidInputException",
                    "Service is unable to assume provided role",
                ))
            }),
            async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                stop.request();
            }
        );
        let err = result.unwrap_err();
        assert!(err.to_string().contains(STOPPED), "{err}");
        assert!(err.to_string().contains("unable to assume"), "{err}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Already stopped: a wait ends before its first sleep.
        let waited: Result<(), _> =
            wait_until_or_stop(&stop, "deleting z", slow, || async { Ok(None) }).await;
        assert_eq!(waited.unwrap_err().message(), STOPPED);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn waits_until_done_or_times_out() {
        let calls = AtomicU32::new(0);
        let done = wait_until("deleting x", quick(5_000), || async {
            Ok((calls.fetch_add(1, Ordering::SeqCst) >= 2).then_some(7))
        })
        .await;
        assert_eq!(done, Ok(7));
        let never: Result<(), _> = wait_until("deleting y", quick(30), || async { Ok(None) }).await;
        assert!(
            never
                .unwrap_err()
                .to_string()
                .starts_with("deleting y: still not done")
        );
    }
}
