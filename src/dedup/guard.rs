//! [`DedupGuard`]: the dedup protocol around one piece of work —
//! claim → run → finish (mark done) or release → retry the done mark — so
//! that callers only say what to run and read one [`Guarded`] report.
//!
//! - The claim lives `claim_ttl` (the handler deadline plus a margin), so a
//!   crashed replica's claim expires soon; the done mark lives `done_ttl`.
//! - Work that failed releases the claim: Alexa's re-delivery runs it again.
//! - A done mark that could not be written is retried in a tracked task
//!   (graceful shutdown waits for it) while the claim still blocks
//!   re-deliveries, until the claim would have expired anyway.
//! - Every claim carries a fresh owner token, so an attempt whose claim
//!   expired and was taken over can never finish or release the new one.
//!
//! Time comes from tokio (`tokio::time`), so tests run on the paused clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::{new_owner_token, Claim, DedupStore, StoreError};
use crate::dedup::OnStoreError;
use crate::telemetry::spans;

/// First pause between done-mark retries; doubled up to [`MAX_RETRY_PAUSE`].
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Longest pause between done-mark retries.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Called once for every store call that fails.
pub type StoreErrorObserver = Arc<dyn Fn() + Send + Sync>;

/// What [`DedupGuard::run`] reports, exactly once per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guarded<T> {
    /// This call ran the work. Its claim was marked done (the mark is retried
    /// in the background if the first write failed) when the work succeeded,
    /// or released when it failed, so that a re-delivery runs it again.
    Done(T),
    /// The id was handled before: the work did not run.
    AlreadyDone,
    /// Another attempt holds the claim right now (this call lost the race):
    /// the work did not run.
    Lost,
}

/// The dedup protocol over a [`DedupStore`]. Cheap to clone.
#[derive(Clone)]
pub struct DedupGuard {
    store: Arc<dyn DedupStore>,
    claim_ttl: Duration,
    done_ttl: Duration,
    on_store_error: OnStoreError,
    tasks: TaskTracker,
    on_error: Option<StoreErrorObserver>,
}

impl DedupGuard {
    /// A guard over `store`: claims live `claim_ttl`, done marks `done_ttl`;
    /// `on_store_error` decides what a store failure at claim time does; the
    /// done-mark retries run on `tasks`.
    pub fn new(
        store: Arc<dyn DedupStore>,
        claim_ttl: Duration,
        done_ttl: Duration,
        on_store_error: OnStoreError,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            store,
            claim_ttl,
            done_ttl,
            on_store_error,
            tasks,
            on_error: None,
        }
    }

    /// Call `observer` for every store call that fails (claim, done mark,
    /// release, done-mark retry), whatever `on_store_error` decides.
    pub fn with_error_observer(mut self, observer: StoreErrorObserver) -> Self {
        self.on_error = Some(observer);
        self
    }

    fn store_failed(&self) {
        if let Some(observe) = &self.on_error {
            observe();
        }
    }

    /// The store this guard uses.
    pub fn store(&self) -> &Arc<dyn DedupStore> {
        &self.store
    }

    /// Run `work` at most once for `id`: claim, run, then mark done when
    /// `succeeded(&result)`, else release.
    ///
    /// `Err` only when the store failed at claim time and `on_store_error =
    /// "reject"` (the work did not run); with `"process"` the work runs
    /// unguarded and is reported [`Guarded::Done`].
    pub async fn run<T, F>(
        &self,
        id: &str,
        work: F,
        succeeded: impl FnOnce(&T) -> bool,
    ) -> Result<Guarded<T>, StoreError>
    where
        F: Future<Output = T>,
    {
        let owner = new_owner_token();
        let claimed = traced(
            "dedup_claim",
            self.store.name(),
            self.store.claim(id, &owner, self.claim_ttl),
            |claimed| match claimed {
                Ok(Claim::New) => "new",
                Ok(Claim::Done) => "done",
                Ok(Claim::InProgress) => "in_progress",
                Err(_) => "error",
            },
        )
        .await;
        match claimed {
            Ok(Claim::New) => {}
            Ok(Claim::Done) => {
                tracing::debug!(request_id = %id, "already handled: not running it again");
                return Ok(Guarded::AlreadyDone);
            }
            Ok(Claim::InProgress) => return Ok(Guarded::Lost),
            Err(e) => {
                self.store_failed();
                match self.on_store_error {
                    OnStoreError::Reject => return Err(e),
                    OnStoreError::Process => {
                        tracing::warn!(
                            request_id = %id, error = %e,
                            "dedup store unavailable; handling anyway (dedup.on_store_error = \"process\"): a re-delivery may run the handler again"
                        );
                        return Ok(Guarded::Done(work.await));
                    }
                }
            }
        }
        let result = work.await;
        if succeeded(&result) {
            self.finish(id, owner).await;
        } else if let Err(e) = traced(
            "dedup_release",
            self.store.name(),
            self.store.release(id, &owner),
            ok_or_error,
        )
        .await
        {
            self.store_failed();
            tracing::warn!(request_id = %id, error = %e,
                "could not release the claim; a re-delivery waits until it expires");
        }
        Ok(Guarded::Done(result))
    }

    /// Mark done; on failure keep retrying in a tracked task while the claim
    /// still blocks re-deliveries.
    async fn finish(&self, id: &str, owner: String) {
        let finished = traced(
            "dedup_finish",
            self.store.name(),
            self.store.finish(id, &owner, self.done_ttl),
            ok_or_error,
        )
        .await;
        if let Err(e) = finished {
            self.store_failed();
            tracing::warn!(request_id = %id, error = %e, "could not mark the message handled; retrying");
            self.tasks.spawn(retry_finish(
                self.store.clone(),
                id.to_owned(),
                owner,
                self.done_ttl,
                self.claim_ttl,
                self.on_error.clone(),
            ));
        }
    }
}

/// Run one store call in its `name` span and record the result `outcome`
/// names.
async fn traced<T>(
    name: &'static str,
    store: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
    outcome: impl FnOnce(&Result<T, StoreError>) -> &'static str,
) -> Result<T, StoreError> {
    let span = spans::dedup_span(name, store);
    let result = call.instrument(span.clone()).await;
    spans::record_result(&span, outcome(&result));
    result
}

fn ok_or_error(result: &Result<(), StoreError>) -> &'static str {
    if result.is_ok() {
        "ok"
    } else {
        "error"
    }
}

/// Keep trying to mark a handled id done until the claim would have expired
/// anyway (after that a re-delivery runs again: nothing is lost, but it may
/// run twice).
async fn retry_finish(
    store: Arc<dyn DedupStore>,
    id: String,
    owner: String,
    done_ttl: Duration,
    claim_ttl: Duration,
    on_error: Option<StoreErrorObserver>,
) {
    let give_up = tokio::time::Instant::now() + claim_ttl;
    let mut pause = FIRST_RETRY_PAUSE;
    while tokio::time::Instant::now() + pause < give_up {
        tokio::time::sleep(pause).await;
        match store.finish(&id, &owner, done_ttl).await {
            Ok(()) => {
                tracing::info!(request_id = %id, "message marked handled after a retry");
                return;
            }
            Err(_) => {
                if let Some(observe) = &on_error {
                    observe();
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
    }
    tracing::error!(request_id = %id,
        "could not mark the message handled before its claim expired: a re-delivery will run the handler again");
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A store in a map, without expiry; `finish` fails its first
    /// `failing_finishes` calls, `claim` fails while `down`.
    #[derive(Default)]
    struct FakeStore {
        entries: Mutex<HashMap<String, Entry>>,
        failing_finishes: AtomicUsize,
        finishes: AtomicUsize,
        releases: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Entry {
        Claimed(String),
        Done,
    }

    #[async_trait::async_trait]
    impl DedupStore for FakeStore {
        async fn claim(&self, id: &str, owner: &str, _: Duration) -> Result<Claim, StoreError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Timeout);
            }
            let mut map = self.entries.lock().unwrap();
            Ok(match map.get(id) {
                None => {
                    map.insert(id.into(), Entry::Claimed(owner.into()));
                    Claim::New
                }
                Some(Entry::Done) => Claim::Done,
                Some(Entry::Claimed(o)) if o == owner => Claim::New,
                Some(Entry::Claimed(_)) => Claim::InProgress,
            })
        }
        async fn finish(&self, id: &str, owner: &str, _: Duration) -> Result<(), StoreError> {
            self.finishes.fetch_add(1, Ordering::SeqCst);
            let failing = self.failing_finishes.load(Ordering::SeqCst);
            if failing > 0 {
                self.failing_finishes.store(failing - 1, Ordering::SeqCst);
                return Err(StoreError::Unavailable("down".into()));
            }
            let mut map = self.entries.lock().unwrap();
            if map.get(id) == Some(&Entry::Claimed(owner.into())) {
                map.insert(id.into(), Entry::Done);
            }
            Ok(())
        }
        async fn release(&self, id: &str, owner: &str) -> Result<(), StoreError> {
            self.releases.fetch_add(1, Ordering::SeqCst);
            let mut map = self.entries.lock().unwrap();
            if map.get(id) == Some(&Entry::Claimed(owner.into())) {
                map.remove(id);
            }
            Ok(())
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn name(&self) -> &'static str {
            "fake"
        }
    }

    const CLAIM_TTL: Duration = Duration::from_secs(12);

    fn guard(store: &Arc<FakeStore>, policy: OnStoreError) -> (DedupGuard, TaskTracker) {
        let tasks = TaskTracker::new();
        let guard = DedupGuard::new(
            store.clone(),
            CLAIM_TTL,
            Duration::from_secs(86_400),
            policy,
            tasks.clone(),
        );
        (guard, tasks)
    }

    fn ok(r: &Result<u32, ()>) -> bool {
        r.is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn done_then_already_done() {
        let store = Arc::new(FakeStore::default());
        let (guard, _) = guard(&store, OnStoreError::Reject);
        let runs = AtomicUsize::new(0);
        let work = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, ()>(7)
        };
        assert_eq!(
            guard.run("a", work(), ok).await.unwrap(),
            Guarded::Done(Ok(7))
        );
        assert_eq!(
            guard.run("a", work(), ok).await.unwrap(),
            Guarded::AlreadyDone
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(store.finishes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_attempt_while_the_first_runs_is_lost() {
        let store = Arc::new(FakeStore::default());
        let (guard, _) = guard(&store, OnStoreError::Reject);
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let guard = guard.clone();
            async move {
                let work = async {
                    let _ = entered_tx.send(());
                    let _ = release_rx.await;
                    Ok::<u32, ()>(1)
                };
                guard.run("b", work, ok).await
            }
        });
        entered_rx.await.unwrap();
        let second = guard
            .run("b", async { Ok::<u32, ()>(2) }, ok)
            .await
            .unwrap();
        assert_eq!(second, Guarded::Lost);
        release_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), Guarded::Done(Ok(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_work_releases_the_claim_and_runs_again() {
        let store = Arc::new(FakeStore::default());
        let (guard, _) = guard(&store, OnStoreError::Reject);
        let first = guard.run("c", async { Err::<u32, ()>(()) }, ok).await;
        assert_eq!(first.unwrap(), Guarded::Done(Err(())));
        assert_eq!(store.releases.load(Ordering::SeqCst), 1);
        let second = guard.run("c", async { Ok::<u32, ()>(3) }, ok).await;
        assert_eq!(second.unwrap(), Guarded::Done(Ok(3)));
        assert_eq!(
            guard
                .run("c", async { Ok::<u32, ()>(4) }, ok)
                .await
                .unwrap(),
            Guarded::AlreadyDone
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_done_mark_is_retried_while_the_claim_holds() {
        let store = Arc::new(FakeStore::default());
        store.failing_finishes.store(3, Ordering::SeqCst);
        let (guard, tasks) = guard(&store, OnStoreError::Reject);
        // Reported done at once although the mark failed.
        let report = guard.run("d", async { Ok::<u32, ()>(5) }, ok).await;
        assert_eq!(report.unwrap(), Guarded::Done(Ok(5)));
        assert_eq!(store.finishes.load(Ordering::SeqCst), 1);
        // Meanwhile the claim still blocks a re-delivery.
        assert_eq!(
            guard
                .run("d", async { Ok::<u32, ()>(6) }, ok)
                .await
                .unwrap(),
            Guarded::Lost
        );
        // The paused clock advances through the back-off: 50, 100, 200 ms.
        tasks.close();
        tasks.wait().await;
        assert_eq!(store.finishes.load(Ordering::SeqCst), 4);
        assert_eq!(
            guard
                .run("d", async { Ok::<u32, ()>(7) }, ok)
                .await
                .unwrap(),
            Guarded::AlreadyDone
        );
    }

    #[tokio::test(start_paused = true)]
    async fn done_mark_retries_stop_when_the_claim_would_expire() {
        let store = Arc::new(FakeStore::default());
        store.failing_finishes.store(usize::MAX, Ordering::SeqCst);
        let (guard, tasks) = guard(&store, OnStoreError::Reject);
        let started = tokio::time::Instant::now();
        let report = guard.run("e", async { Ok::<u32, ()>(1) }, ok).await;
        assert_eq!(report.unwrap(), Guarded::Done(Ok(1)));
        tasks.close();
        tasks.wait().await;
        assert!(started.elapsed() <= CLAIM_TTL, "{:?}", started.elapsed());
        // 1 first try + retries after 50, 100, 200, 400, 800 ms, then every 1 s.
        assert_eq!(store.finishes.load(Ordering::SeqCst), 16);
    }

    #[tokio::test(start_paused = true)]
    async fn store_errors_reject_or_process() {
        let store = Arc::new(FakeStore::default());
        store.down.store(true, Ordering::SeqCst);
        let (reject, _) = guard(&store, OnStoreError::Reject);
        let runs = AtomicUsize::new(0);
        let work = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, ()>(1)
        };
        assert!(matches!(
            reject.run("f", work(), ok).await,
            Err(StoreError::Timeout)
        ));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        let errors = Arc::new(AtomicUsize::new(0));
        let (process, _) = guard(&store, OnStoreError::Process);
        let process = process.with_error_observer({
            let errors = errors.clone();
            Arc::new(move || {
                errors.fetch_add(1, Ordering::SeqCst);
            })
        });
        assert_eq!(
            process.run("f", work(), ok).await.unwrap(),
            Guarded::Done(Ok(1))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Handled anyway, but the failed claim is still counted.
        assert_eq!(errors.load(Ordering::SeqCst), 1);
    }
}
