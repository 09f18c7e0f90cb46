//! The request path, framework-free: raw bytes in, answer out.
//!
//! ```text
//! verify signature (raw bytes) → parse → check timestamp + skill id → route
//!   → dedup guard (MessageReceived only): claim → handler under deadline,
//!     panics caught → finish / release claim → response bytes
//! ```
//!
//! The guarded handler is detached from the request (and tracked for graceful
//! shutdown): if Alexa hangs up mid-handler, the handler still completes and
//! its claim is finished or released instead of lingering until it expires.
//! A handler that finishes without waiting runs in place ([`run_detached`]).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::HeaderMap;
use time::OffsetDateTime;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::api::AlexaApi;
use crate::config::Config;
use crate::dedup::DedupBackend;
use crate::dedup::{self, DedupGuard, DedupStore, Guarded};
use crate::dispatch::detach::run_detached;
use crate::dispatch::skill::{Call, Route};
use crate::dispatch::{Outcome, RequestContext, Skill};
use crate::envelope::{self, RequestEnvelope, RequestKind};
use crate::error::EndpointError;
use crate::metrics::{CertFiguresSource, Metrics};
use crate::telemetry::spans;
use crate::verify::{Verifier, VerifyError};

/// Extra lifetime of a dedup claim beyond the handler deadline, so that a
/// claim outlives a handler that finishes right at its deadline but a
/// crashed replica's claim still expires soon.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The request path with everything it needs (wrapped by [`crate::Endpoint`]).
pub struct Pipeline {
    skill: Skill,
    verifier: Option<Arc<Verifier>>,
    dedup: DedupGuard,
    deadline: Duration,
    api: AlexaApi,
    tasks: TaskTracker,
    metrics: Arc<Metrics>,
}

/// The endpoint could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Verifier set-up failed (bad `extra_roots`, ...).
    #[error(transparent)]
    Verifier(#[from] crate::verify::VerifierInitError),
    /// Dedup store set-up failed.
    #[error("dedup: {0}")]
    Dedup(#[from] crate::dedup::StoreError),
    /// Alexa API client set-up failed.
    #[error("alexa_api: {0}")]
    Api(#[from] crate::api::ApiError),
    /// Configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// What happened to one request: for [`observe`](crate::dispatch::observe)
/// (access log, metrics, HTTP answer).
#[derive(Debug)]
pub struct Handled {
    /// The request's kind, once parsed.
    pub kind: Option<RequestKind>,
    /// `request.requestId`, once parsed.
    pub request_id: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// The answer: response JSON bytes, or the error.
    pub result: Result<Bytes, EndpointError>,
}

impl Pipeline {
    /// Build from config: verifier (when `verification.enabled`), dedup store,
    /// Alexa API clients. Never waits for the network.
    pub fn new(skill: Skill, config: &Config) -> Result<Self, StartupError> {
        let verifier = if config.verification.enabled {
            Some(Verifier::from_config(&config.verification)?)
        } else {
            None
        };
        let dedup = dedup::from_config(&config.dedup)?;
        Self::with_parts(skill, config, verifier, dedup)
    }

    /// Build with an explicit verifier (or none) and dedup store: for tests and
    /// for apps that bring their own. `config` has been validated by the
    /// caller ([`Endpoint`](crate::Endpoint)'s constructors).
    pub fn with_parts(
        skill: Skill,
        config: &Config,
        verifier: Option<Arc<Verifier>>,
        dedup: Arc<dyn DedupStore>,
    ) -> Result<Self, StartupError> {
        let metrics = Metrics::new(
            verifier
                .clone()
                .map(|v| -> CertFiguresSource { Arc::new(move || v.cert_stats()) }),
        );
        dedup.observe_resets({
            let metrics = metrics.clone();
            Arc::new(move || metrics.dedup_store_reset())
        });
        let api = AlexaApi::new(&config.alexa_api)?
            .with_observer({
                let metrics = metrics.clone();
                Arc::new(move |api, status| metrics.api_call(api, status))
            })
            .with_retry_observer({
                let metrics = metrics.clone();
                Arc::new(move |api| metrics.api_retry(api))
            });
        if verifier.is_none() {
            tracing::warn!(
                "REQUEST VERIFICATION IS OFF (verification.enabled = false): anyone who can reach \
                 this endpoint can make it run handlers. Use this only for local replay."
            );
        }
        if config.dedup.store.backend() == DedupBackend::Off {
            tracing::warn!(
                "dedup.backend = \"off\": a re-delivered Messaging.MessageReceived runs its handler again"
            );
        }
        let deadline = config.handler.deadline;
        let tasks = TaskTracker::new();
        let dedup = DedupGuard::new(
            dedup,
            deadline + CLAIM_MARGIN,
            config.dedup.ttl,
            config.dedup.on_store_error,
            tasks.clone(),
        )
        .with_error_observer({
            let metrics = metrics.clone();
            Arc::new(move || metrics.dedup_store_error())
        });
        Ok(Self {
            skill,
            verifier,
            dedup,
            deadline,
            api,
            tasks,
            metrics,
        })
    }

    /// This endpoint's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The skill this endpoint serves.
    pub fn skill(&self) -> &Skill {
        &self.skill
    }

    /// The dedup store.
    pub fn dedup_store(&self) -> &Arc<dyn DedupStore> {
        self.dedup.store()
    }

    /// Handler tasks in flight; graceful shutdown waits on it.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Handle one request: `body` is the raw bytes Alexa signed.
    pub async fn handle(&self, headers: &HeaderMap, body: Bytes) -> Handled {
        let now = OffsetDateTime::now_utc();
        if let Some(verifier) = &self.verifier {
            let span = spans::verify_span();
            let verified = verifier
                .verify_signature(headers, &body, now)
                .instrument(span.clone())
                .await;
            if let Err(e) = verified {
                span.record("outcome", e.reason());
                span.record("otel.status_code", "ERROR");
                self.metrics.verification_failure(e.reason());
                if matches!(e, VerifyError::CertDownloadsSaturated) {
                    // The cert download pool is an outbound pool like the
                    // webhook's: its 503s are shedding too.
                    self.metrics.shed("outbound_saturated");
                }
                return Handled::rejected(None, e.into());
            }
        }
        let envelope = match envelope::parse(&body) {
            Ok(envelope) => envelope,
            Err(e) => return Handled::rejected(None, e.into()),
        };
        let request = &envelope.request;
        spans::record_request(
            &tracing::Span::current(),
            request.kind().as_str(),
            request.request_id(),
            envelope.skill_id(),
        );
        if let Some(verifier) = &self.verifier {
            if let Err(e) = verifier.check_request(
                request.kind(),
                request.timestamp(),
                envelope.skill_id(),
                now,
            ) {
                self.metrics.verification_failure(e.reason());
                return Handled::rejected(Some(&envelope), e.into());
            }
        }
        self.dispatch(envelope).await
    }

    async fn dispatch(&self, envelope: RequestEnvelope) -> Handled {
        let (ctx, request) =
            RequestContext::with_metrics(envelope, self.api.clone(), self.metrics.clone());
        // The handler's deadline starts a little later (after the dedup
        // claim): API retries bounded by this one stop on the safe side.
        let ctx = ctx.with_deadline(tokio::time::Instant::now() + self.deadline);
        let kind = ctx.kind();
        let request_id = ctx.request_id().to_owned();
        let is_message = kind == RequestKind::MessageReceived;
        let (outcome, result) = match self.skill.route(ctx, request) {
            Route::Ack => (Outcome::AckDefault, Ok(ack_bytes())),
            Route::Missing => {
                let e = EndpointError::NoHandler(kind);
                (e.outcome(), Err(e))
            }
            Route::Run(handler) => {
                // The job may move into a task: it continues the request's span.
                let job = self
                    .job(handler, request_id.clone(), kind, is_message)
                    .instrument(tracing::Span::current());
                // Why detached: see the module docs.
                match run_detached(&self.tasks, job).await {
                    Ok(answer) => answer,
                    Err(_) => (
                        Outcome::HandlerPanicked,
                        Err(EndpointError::HandlerPanicked),
                    ),
                }
            }
        };
        if is_message && result.is_ok() {
            self.metrics.acknowledged();
        }
        Handled {
            kind: Some(kind),
            request_id: Some(request_id),
            outcome,
            result,
        }
    }

    /// The handler run, through the dedup guard for a message, as a
    /// `'static` future.
    fn job(
        &self,
        handler: Call,
        request_id: String,
        kind: RequestKind,
        guarded: bool,
    ) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let guard = guarded.then(|| self.dedup.clone());
        let metrics = self.metrics.clone();
        let deadline = self.deadline;
        async move {
            let work = async {
                // Opened when the handler starts (after the dedup claim).
                // Everything the handler logs carries the request's id and type.
                let span = spans::handler_span(&request_id, kind.as_str());
                let answer = run_handler(handler, deadline, &metrics, &request_id)
                    .instrument(span.clone())
                    .await;
                spans::record_handler(&span, answer.0.as_str(), answer.1.is_err());
                answer
            };
            let Some(guard) = guard else {
                return work.await;
            };
            let answer = match guard.run(&request_id, work, |a| a.1.is_ok()).await {
                Ok(Guarded::Done(answer)) => answer,
                Ok(Guarded::AlreadyDone) => (Outcome::Duplicate, Ok(ack_bytes())),
                Ok(Guarded::Lost) => (Outcome::InProgress, Err(EndpointError::InProgress)),
                Err(e) => {
                    let e = EndpointError::DedupStore(e);
                    (e.outcome(), Err(e))
                }
            };
            metrics.dedup(answer.0);
            answer
        }
    }
}

/// What a request ended as, and its answer.
type Answer = (Outcome, Result<Bytes, EndpointError>);

/// Run a handler under its deadline with panics caught, and serialize its
/// response (over 24 KB is a handler error). A
/// [`Response::reject_message`](crate::Response::reject_message) is logged
/// and counted here.
async fn run_handler(
    handler: Call,
    deadline: Duration,
    metrics: &Metrics,
    request_id: &str,
) -> Answer {
    let started = tokio::time::Instant::now();
    // The call itself may panic (a closure's synchronous part), as may the
    // future it returns: both are caught.
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(fut) => tokio::time::timeout(deadline, AssertUnwindSafe(fut).catch_unwind()).await,
        Err(panic) => Ok(Err(panic)),
    };
    metrics.handler_duration(started.elapsed());
    let error = match outcome {
        Ok(Ok(Ok(response))) => match response.to_bytes() {
            Ok(bytes) => {
                let Some(reason) = response.unprocessable_reason() else {
                    return (Outcome::Handled, Ok(Bytes::from(bytes)));
                };
                tracing::error!(
                    request_id,
                    reason,
                    "message can never be processed: acknowledged so that Alexa stops re-delivering it"
                );
                metrics.unprocessable();
                return (Outcome::Unprocessable, Ok(Bytes::from(bytes)));
            }
            Err(too_large) => EndpointError::ResponseTooLarge(too_large),
        },
        Ok(Ok(Err(e))) => EndpointError::Handler(e),
        Ok(Err(_panic)) => EndpointError::HandlerPanicked,
        Err(_elapsed) => EndpointError::DeadlineExceeded,
    };
    let outcome = error.outcome();
    metrics.handler_error(outcome);
    (outcome, Err(error))
}

fn ack_bytes() -> Bytes {
    Bytes::from_static(br#"{"version":"1.0","response":{}}"#)
}

impl Handled {
    /// A request answered with `error` before (or without) reaching a handler.
    pub(crate) fn rejected(envelope: Option<&RequestEnvelope>, error: EndpointError) -> Self {
        Self {
            kind: envelope.map(|e| e.request.kind()),
            request_id: envelope.map(|e| e.request.request_id().to_owned()),
            outcome: error.outcome(),
            result: Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Response;

    #[test]
    fn ack_bytes_are_the_serialized_ack() {
        let expected = Response::ack().to_bytes().expect("ack is small");
        assert_eq!(ack_bytes().as_ref(), expected.as_slice());
    }
}
