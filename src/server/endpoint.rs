//! [`Endpoint`]: the skill endpoint as embeddable pieces — the Alexa route,
//! the operations routes, and a shutdown that waits for in-flight handlers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::dedup::DedupStore;
use crate::dispatch::{Pipeline, Skill, StartupError};
use crate::metrics::Metrics;
use crate::verify::Verifier;

use super::body::BodyLimits;
use super::routes;
use super::throttle::Throttled;

/// A skill endpoint built from a [`Skill`] and a [`Config`]: verification,
/// de-duplication, handler deadline, admission limits.
///
/// Cheap to clone (an `Arc` inside); every clone is the same endpoint.
///
/// - [`Endpoint::router`]: only `POST {server.path}`, to merge or nest in any
///   axum app (no fallback, no other route);
/// - [`Endpoint::ops_router`]: `/healthz`, `/readyz`, `/metrics` (opt-in);
/// - [`Endpoint::shutdown`]: `/readyz` turns 503, then waits for in-flight
///   handlers.
///
/// The standalone [`crate::Server`] is built from these same pieces.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Pipeline,
    path: String,
    body: BodyLimits,
    max_in_flight: u32,
    in_flight: Semaphore,
    /// The rate-limited "shedding" warning.
    shedding: Mutex<Throttled>,
    draining: CancellationToken,
}

/// An admitted request: holds one `server.max_in_flight` slot and counts in
/// the in-flight gauge until dropped.
pub(crate) struct Admitted<'a> {
    _permit: SemaphorePermit<'a>,
    metrics: &'a Metrics,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight(-1);
    }
}

impl Endpoint {
    /// Build from config: verifier (when `verification.enabled`), dedup store,
    /// Alexa API clients. Never waits for the network.
    ///
    /// `config` is validated first ([`Config::validate`]): its fields are
    /// public, so a loaded config may have been changed since; an invalid
    /// one is a [`StartupError::Config`] naming the key, before anything is
    /// built from it.
    pub fn new(skill: Skill, config: &Config) -> Result<Self, StartupError> {
        config.validate()?;
        let pipeline = Pipeline::new(skill, config)?;
        Ok(Self::from_pipeline(pipeline, config))
    }

    /// Build with an explicit verifier (or none) and dedup store: for tests
    /// and for apps that bring their own. `config` is validated first, as by
    /// [`Endpoint::new`].
    pub fn with_parts(
        skill: Skill,
        config: &Config,
        verifier: Option<Arc<Verifier>>,
        dedup: Arc<dyn DedupStore>,
    ) -> Result<Self, StartupError> {
        config.validate()?;
        let pipeline = Pipeline::with_parts(skill, config, verifier, dedup)?;
        Ok(Self::from_pipeline(pipeline, config))
    }

    fn from_pipeline(pipeline: Pipeline, config: &Config) -> Self {
        let s = &config.server;
        // Validated > 0; a semaphore holds at most `u32::MAX >> 3` permits.
        let max_in_flight = u32::try_from(s.max_in_flight)
            .unwrap_or(u32::MAX)
            .min(Semaphore::MAX_PERMITS as u32);
        Self {
            inner: Arc::new(Inner {
                pipeline,
                path: s.path.clone(),
                body: BodyLimits {
                    limit: s.body_limit_bytes,
                    timeout: s.body_read_timeout,
                },
                max_in_flight,
                in_flight: Semaphore::new(max_in_flight as usize),
                shedding: Mutex::new(Throttled::new()),
                draining: CancellationToken::new(),
            }),
        }
    }

    /// An `axum::Router` serving only `POST {server.path}`: no fallback and no
    /// other route, so it merges into any app (including one with its own
    /// fallback and `/healthz`) and nests under a prefix.
    ///
    /// Other methods on the path get axum's default 405 (or the host app's
    /// `method_not_allowed_fallback`).
    pub fn router(&self) -> Router {
        Router::new()
            .route(&self.inner.path, post(routes::alexa))
            .with_state(self.clone())
    }

    /// An `axum::Router` serving `GET /healthz` (alive), `GET /readyz` (not
    /// shutting down and the dedup store answers) and `GET /metrics`
    /// (OpenMetrics text). Mount it where only operators can reach it.
    pub fn ops_router(&self) -> Router {
        Router::new()
            .route("/healthz", get(routes::healthz))
            .route("/readyz", get(routes::readyz))
            .route("/metrics", get(routes::metrics))
            .with_state(self.clone())
    }

    /// Shut down: `/readyz` answers 503 from now on, new Alexa requests and
    /// requests whose body is still arriving answer 503 `shutting_down`, and
    /// this waits — up to `grace` — until every in-flight request and handler
    /// task has finished (so their dedup bookkeeping is done).
    pub async fn shutdown(&self, grace: Duration) {
        self.begin_shutdown();
        let tasks = self.inner.pipeline.tasks();
        tasks.close();
        let admitted = async {
            // Every admitted request holds a permit: all permits back means
            // none is in flight. They stay taken: nothing new is admitted.
            if let Ok(all) = self
                .inner
                .in_flight
                .acquire_many(self.inner.max_in_flight)
                .await
            {
                all.forget();
            }
            // Closed: a second `shutdown` does not wait for permits again.
            self.inner.in_flight.close();
        };
        let drained = async { tokio::join!(admitted, tasks.wait()) };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                in_flight = tasks.len(),
                "shutdown grace elapsed with handlers still running"
            );
        }
    }

    /// Turn `/readyz` to 503 and stop admitting requests, without waiting.
    pub(crate) fn begin_shutdown(&self) {
        self.inner.draining.cancel();
    }

    /// Whether [`Endpoint::shutdown`] has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.draining.is_cancelled()
    }

    /// Resolves when shutdown begins.
    pub(crate) fn draining(&self) -> &CancellationToken {
        &self.inner.draining
    }

    /// This endpoint's metrics.
    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        self.inner.pipeline.metrics()
    }

    /// The dedup store.
    pub(crate) fn dedup_store(&self) -> &Arc<dyn DedupStore> {
        self.inner.pipeline.dedup_store()
    }

    /// The path Alexa POSTs to (`server.path`).
    pub(crate) fn path(&self) -> &str {
        &self.inner.path
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    pub(crate) fn body_limits(&self) -> BodyLimits {
        self.inner.body
    }

    /// Take an in-flight slot, or `None` at `server.max_in_flight` (the
    /// caller answers 503 at once; counted as shed).
    pub(crate) fn admit(&self) -> Option<Admitted<'_>> {
        let metrics = self.metrics();
        match self.inner.in_flight.try_acquire() {
            Ok(permit) => {
                metrics.in_flight(1);
                Some(Admitted {
                    _permit: permit,
                    metrics,
                })
            }
            Err(_) => {
                metrics.shed("in_flight");
                let occurrences = self.inner.shedding.lock().map(|mut t| t.hit());
                if let Ok(Some(shed)) = occurrences {
                    tracing::warn!(
                        max_in_flight = self.inner.max_in_flight,
                        shed,
                        "overloaded: requests beyond server.max_in_flight answered 503 (logged at most every 10 s)"
                    );
                }
                None
            }
        }
    }
}
