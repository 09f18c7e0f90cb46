//! The request path, framework-free: raw bytes in, answer out.
//!
//! ```text
//! verify signature (raw bytes) → parse → check timestamp + skill id → route
//!   → dedup claim (MessageReceived only) → handler under deadline, panics caught
//!   → finish / release claim → response bytes
//! ```
//!
//! The claim-run-finish sequence runs in its own task (tracked for graceful
//! shutdown): if Alexa hangs up mid-handler, the handler still completes and
//! its claim is finished or released instead of lingering until it expires.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::HeaderMap;
use time::OffsetDateTime;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::api::AlexaApi;
use crate::config::{Config, DedupBackend, OnStoreError};
use crate::dedup::{self, Claim, DedupStore};
use crate::dispatch::skill::{Call, Route};
use crate::dispatch::{RequestContext, Skill};
use crate::envelope::{self, Request, RequestEnvelope};
use crate::error::EndpointError;
use crate::metrics::{CertFiguresSource, DedupOutcome, Metrics};
use crate::verify::Verifier;

/// Extra lifetime of a dedup claim beyond the handler deadline, so that a
/// claim outlives a handler that finishes right at its deadline but a
/// crashed replica's claim still expires soon.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The endpoint's request path with everything it needs. Build one per
/// process (or per test server) and share it.
pub struct Endpoint {
    skill: Skill,
    verifier: Option<Arc<Verifier>>,
    dedup: Arc<dyn DedupStore>,
    on_store_error: OnStoreError,
    deadline: Duration,
    claim_ttl: Duration,
    done_ttl: Duration,
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

/// What happened to one request: for the access log and metrics.
#[derive(Debug)]
pub struct Handled {
    /// `request.type`, once parsed.
    pub request_type: Option<String>,
    /// `request.requestId`, once parsed.
    pub request_id: Option<String>,
    /// Short outcome label: `handled`, `duplicate`, `ack_default`, or the error reason.
    pub outcome: &'static str,
    /// The answer: response JSON bytes, or the error.
    pub result: Result<Bytes, EndpointError>,
}

impl Endpoint {
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
    /// for apps that bring their own.
    pub fn with_parts(
        skill: Skill,
        config: &Config,
        verifier: Option<Arc<Verifier>>,
        dedup: Arc<dyn DedupStore>,
    ) -> Result<Self, StartupError> {
        config.validate()?;
        let metrics = Metrics::new(
            verifier
                .clone()
                .map(|v| -> CertFiguresSource { Arc::new(move || v.cert_stats()) }),
        );
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
        if config.dedup.backend == DedupBackend::Off {
            tracing::warn!(
                "dedup.backend = \"off\": a re-delivered Messaging.MessageReceived runs its handler again"
            );
        }
        let deadline = config.handler_deadline();
        Ok(Self {
            skill,
            verifier,
            dedup,
            on_store_error: config.dedup.on_store_error,
            deadline,
            claim_ttl: deadline + CLAIM_MARGIN,
            done_ttl: Duration::from_secs(config.dedup.ttl_secs),
            api,
            tasks: TaskTracker::new(),
            metrics,
        })
    }

    /// This endpoint's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The verifier, when verification is on.
    pub fn verifier(&self) -> Option<&Arc<Verifier>> {
        self.verifier.as_ref()
    }

    /// The dedup store.
    pub fn dedup_store(&self) -> &Arc<dyn DedupStore> {
        &self.dedup
    }

    /// Handler tasks in flight; graceful shutdown waits on it.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Handle one request: `body` is the raw bytes Alexa signed.
    pub async fn handle(&self, headers: &HeaderMap, body: Bytes) -> Handled {
        let now = OffsetDateTime::now_utc();
        if let Some(verifier) = &self.verifier {
            if let Err(e) = verifier.verify_signature(headers, &body, now).await {
                self.metrics.verification_failure(e.reason());
                return Handled::rejected(None, e.into());
            }
        }
        let envelope = match envelope::parse(&body) {
            Ok(envelope) => envelope,
            Err(e) => return Handled::rejected(None, e.into()),
        };
        let request = &envelope.request;
        if let Some(verifier) = &self.verifier {
            if let Err(e) = verifier.check_request(
                request.request_type(),
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
        let request_type = envelope.request.request_type().to_owned();
        let request_id = envelope.request.request_id().to_owned();
        let is_message = matches!(envelope.request, Request::MessageReceived(_));
        let envelope = Arc::new(envelope);
        // The handler's deadline starts a little later (after the dedup
        // claim): API retries bounded by this one stop on the safe side.
        let ctx = RequestContext::new(envelope.clone(), self.api.clone(), self.metrics.clone())
            .with_deadline(tokio::time::Instant::now() + self.deadline);
        let (outcome, result) = match self.skill.route(ctx, &envelope.request) {
            Route::Ack => ("ack_default", Ok(ack_bytes())),
            Route::Missing => {
                let e = EndpointError::NoHandler(request_type.clone());
                (e.reason(), Err(e))
            }
            Route::Run(handler) => {
                // Everything the handler logs carries the request's id and type.
                let span = tracing::info_span!("alexa_request", request_id = %request_id, request_type = %request_type);
                let job = self
                    .job(handler, is_message.then(|| request_id.clone()))
                    .instrument(span);
                // Why a task: see the module docs. The JoinHandle only fails
                // if the runtime is shutting down under us.
                match self.tasks.spawn(job).await {
                    Ok(answer) => answer,
                    Err(_) => ("handler_panicked", Err(EndpointError::HandlerPanicked)),
                }
            }
        };
        if is_message && result.is_ok() {
            self.metrics.acknowledged();
        }
        Handled {
            request_type: Some(request_type),
            request_id: Some(request_id),
            outcome,
            result,
        }
    }

    /// The claim → run → finish/release sequence, as a `'static` future.
    fn job(
        &self,
        handler: Call,
        dedup_id: Option<String>,
    ) -> impl std::future::Future<Output = (&'static str, Result<Bytes, EndpointError>)> + Send + 'static
    {
        let store = self.dedup.clone();
        let metrics = self.metrics.clone();
        let on_store_error = self.on_store_error;
        let tasks = self.tasks.clone();
        let (deadline, claim_ttl, done_ttl) = (self.deadline, self.claim_ttl, self.done_ttl);
        async move {
            let mut claim = None;
            if let Some(id) = dedup_id {
                let owner = dedup::new_owner_token();
                match store.claim(&id, &owner, claim_ttl).await {
                    Ok(Claim::New) => {
                        metrics.dedup(DedupOutcome::New);
                        claim = Some((id, owner));
                    }
                    Ok(Claim::Done) => {
                        metrics.dedup(DedupOutcome::Duplicate);
                        tracing::debug!(request_id = %id, "already handled: acknowledged without running the handler");
                        return ("duplicate", Ok(ack_bytes()));
                    }
                    Ok(Claim::InProgress) => {
                        metrics.dedup(DedupOutcome::InProgress);
                        return ("in_progress", Err(EndpointError::InProgress));
                    }
                    Err(e) => {
                        metrics.dedup(DedupOutcome::StoreError);
                        match on_store_error {
                            OnStoreError::Reject => {
                                let e = EndpointError::DedupStore(e);
                                return (e.reason(), Err(e));
                            }
                            OnStoreError::Process => tracing::warn!(
                                request_id = %id, error = %e,
                                "dedup store unavailable; handling anyway (dedup.on_store_error = \"process\"): a re-delivery may run the handler again"
                            ),
                        }
                    }
                }
            }
            let result = run_handler(handler, deadline, &metrics).await;
            if let Some((id, owner)) = claim {
                match &result {
                    Ok(_) => {
                        if let Err(e) = store.finish(&id, &owner, done_ttl).await {
                            // The handler did its work: Alexa gets its 200 now,
                            // and the done mark is retried while our claim
                            // still blocks re-deliveries.
                            tracing::warn!(request_id = %id, error = %e, "could not mark the message handled; retrying");
                            tasks.spawn(retry_finish(store, id, owner, done_ttl, claim_ttl));
                        }
                    }
                    Err(_) => {
                        if let Err(e) = store.release(&id, &owner).await {
                            tracing::warn!(request_id = %id, error = %e,
                                "could not release the claim; a re-delivery waits until it expires");
                        }
                    }
                }
            }
            match result {
                Ok(bytes) => ("handled", Ok(bytes)),
                Err(e) => (e.reason(), Err(e)),
            }
        }
    }
}

/// Keep trying to mark a handled message done until our claim would have
/// expired anyway (after that a re-delivery runs again: nothing is lost).
async fn retry_finish(
    store: Arc<dyn DedupStore>,
    id: String,
    owner: String,
    done_ttl: Duration,
    claim_ttl: Duration,
) {
    let give_up = tokio::time::Instant::now() + claim_ttl;
    let mut pause = Duration::from_millis(50);
    while tokio::time::Instant::now() + pause < give_up {
        tokio::time::sleep(pause).await;
        match store.finish(&id, &owner, done_ttl).await {
            Ok(()) => {
                tracing::info!(request_id = %id, "message marked handled after a retry");
                return;
            }
            Err(_) => pause = (pause * 2).min(Duration::from_secs(1)),
        }
    }
    tracing::error!(request_id = %id,
        "could not mark the message handled before its claim expired: a re-delivery will run the handler again");
}

/// Run a handler under its deadline with panics caught, and serialize its
/// response (over 24 KB is a handler error).
async fn run_handler(
    handler: Call,
    deadline: Duration,
    metrics: &Metrics,
) -> Result<Bytes, EndpointError> {
    let started = Instant::now();
    // The call itself may panic (a closure's synchronous part), as may the
    // future it returns: both are caught.
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(handler)) {
        Ok(fut) => tokio::time::timeout(deadline, AssertUnwindSafe(fut).catch_unwind()).await,
        Err(panic) => Ok(Err(panic)),
    };
    metrics.handler_duration(started.elapsed());
    let error = match outcome {
        Ok(Ok(Ok(response))) => match response.to_bytes() {
            Ok(bytes) => return Ok(Bytes::from(bytes)),
            Err(too_large) => {
                metrics.handler_error("response_too_large");
                EndpointError::ResponseTooLarge(too_large)
            }
        },
        Ok(Ok(Err(e))) => {
            metrics.handler_error(if e.is_transient() {
                "unavailable"
            } else {
                "error"
            });
            EndpointError::Handler(e)
        }
        Ok(Err(_panic)) => {
            metrics.handler_error("panic");
            EndpointError::HandlerPanicked
        }
        Err(_elapsed) => {
            metrics.handler_error("deadline");
            EndpointError::DeadlineExceeded
        }
    };
    Err(error)
}

fn ack_bytes() -> Bytes {
    Bytes::from_static(br#"{"version":"1.0","response":{}}"#)
}

impl Handled {
    /// A request answered with `error` before (or without) reaching a handler.
    pub(crate) fn rejected(envelope: Option<&RequestEnvelope>, error: EndpointError) -> Self {
        Self {
            request_type: envelope.map(|e| e.request.request_type().to_owned()),
            request_id: envelope.map(|e| e.request.request_id().to_owned()),
            outcome: error.reason(),
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
