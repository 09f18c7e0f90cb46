//! [`run_detached`]: run a handler job so that it completes even if the
//! request that started it is dropped, without a task hop when the job
//! finishes at once.
//!
//! Spawning every job and awaiting its `JoinHandle` costs a trip through the
//! scheduler per request. Under overload that trip is the expensive part: the
//! connection task is usually already queued again (hyper's body channel woke
//! it while it was running), so it waits behind every other ready connection
//! before it can write the answer, holding its `server.max_in_flight` slot all
//! that time. Measured with 1,024 connections on one core, about half of all
//! connections sat in that state and most answers became 503s.
//!
//! So the job is polled once in place. A CPU-bound job (a `log` handler, a
//! duplicate, a verification failure) finishes there and then; a job that has
//! to wait (an Alexa API call, a webhook) is moved into a task of its own and
//! awaited, so that a caller hanging up does not cancel it half-way.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::task::Poll;

use futures_util::FutureExt;
use tokio_util::task::TaskTracker;

/// Run `job` to completion, tracked by `tasks` (graceful shutdown waits for
/// it): polled once here, then — if it is not done — in a task of its own.
/// `Err(())` if the job panicked.
pub(crate) async fn run_detached<F>(tasks: &TaskTracker, job: F) -> Result<F::Output, ()>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut job = Box::pin(AssertUnwindSafe(tasks.track_future(job)).catch_unwind());
    let first = std::future::poll_fn(|cx| Poll::Ready(job.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(done) => done.map_err(|_panic| ()),
        // The job keeps its place in the tracker while it moves into the task.
        Poll::Pending => match tokio::spawn(job).await {
            Ok(done) => done.map_err(|_panic| ()),
            Err(_join_error) => Err(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn a_job_that_is_ready_at_once_runs_in_place() {
        // The caller is a task of its own (as a connection is), so "in
        // place" means "in the caller's task": a job that was spawned would
        // report another task id. (A thread id could not tell them apart on
        // the test's single-threaded runtime.)
        let tasks = TaskTracker::new();
        let tracker = tasks.clone();
        let (caller, ran_in) = tokio::spawn(async move {
            let caller = tokio::task::id();
            let ran_in = run_detached(&tracker, async { tokio::task::id() }).await;
            (caller, ran_in)
        })
        .await
        .expect("the caller task");
        assert_eq!(ran_in, Ok(caller));
        assert!(tasks.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_job_completes_even_if_the_caller_is_dropped() {
        let tasks = TaskTracker::new();
        let (go, wait) = oneshot::channel::<()>();
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        let caller = run_detached(&tasks, async move {
            let _ = wait.await;
            done.store(true, Ordering::SeqCst);
        });
        // Poll the caller until the job has moved into its task, then drop it.
        tokio::select! {
            biased;
            _ = caller => panic!("the job cannot finish before `go`"),
            () = std::future::ready(()) => {}
        }
        assert_eq!(tasks.len(), 1, "the job is still tracked");
        go.send(()).expect("the job is waiting");
        tasks.close();
        tasks.wait().await;
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panic_is_an_error_in_place_and_in_the_task() {
        let tasks = TaskTracker::new();
        let at_once = run_detached(&tasks, async { panic!("boom") }).await;
        assert_eq!(at_once, Err::<(), ()>(()));
        let later = run_detached(&tasks, async {
            tokio::task::yield_now().await;
            panic!("boom later")
        })
        .await;
        assert_eq!(later, Err::<(), ()>(()));
    }
}
