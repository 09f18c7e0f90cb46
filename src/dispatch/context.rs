//! [`RequestContext`]: what a handler knows about the request beyond its
//! typed body, the skill's shared state, and the Alexa API clients it may use.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::api::{AlexaApi, ApiError, ListsClient, RemindersClient};
use crate::envelope::{EnvelopeInfo, Request, RequestEnvelope, RequestKind};
use crate::metrics::Metrics;

/// Per-request context handed to every handler, with the skill's shared
/// state `S` (see [`SkillBuilder::with_state`](crate::SkillBuilder::with_state)).
/// Cheap to clone when `S` is.
///
/// `Debug` shows ids only: the tokens never reach a log through it.
#[derive(Clone)]
pub struct RequestContext<S = ()> {
    shared: Arc<Shared>,
    state: S,
    deadline: Option<Instant>,
}

struct Shared {
    info: EnvelopeInfo,
    kind: RequestKind,
    /// The wire type of an unknown request (a known one is `kind.as_str()`).
    unknown_type: Option<String>,
    request_id: String,
    timestamp: OffsetDateTime,
    locale: Option<String>,
    api: AlexaApi,
    /// Set when the pipeline runs the handler (built-in handlers count into it).
    #[cfg_attr(not(any(feature = "webhook", feature = "queue")), allow(dead_code))]
    metrics: Option<Arc<Metrics>>,
}

impl RequestContext {
    /// Split a parsed envelope into the context and the typed request, which
    /// is then moved into the handler (the dispatcher does this; public for
    /// handler tests).
    pub fn new(envelope: RequestEnvelope, api: AlexaApi) -> (Self, Request) {
        Self::build(envelope, api, None)
    }

    /// [`RequestContext::new`] with the endpoint's metrics (the pipeline).
    pub(crate) fn with_metrics(
        envelope: RequestEnvelope,
        api: AlexaApi,
        metrics: Arc<Metrics>,
    ) -> (Self, Request) {
        Self::build(envelope, api, Some(metrics))
    }

    fn build(
        envelope: RequestEnvelope,
        api: AlexaApi,
        metrics: Option<Arc<Metrics>>,
    ) -> (Self, Request) {
        let (info, request) = envelope.into_parts();
        let unknown_type = match &request {
            Request::Unknown(r) => Some(r.request_type.clone()),
            _ => None,
        };
        let shared = Shared {
            info,
            kind: request.kind(),
            unknown_type,
            request_id: request.request_id().to_owned(),
            timestamp: request.timestamp(),
            locale: request.locale().map(str::to_owned),
            api,
            metrics,
        };
        let ctx = Self {
            shared: Arc::new(shared),
            state: (),
            deadline: None,
        };
        (ctx, request)
    }
}

impl<S> RequestContext<S> {
    /// The same context with another shared state.
    pub fn with_state<T>(self, state: T) -> RequestContext<T> {
        RequestContext {
            shared: self.shared,
            state,
            deadline: self.deadline,
        }
    }

    /// The skill's shared state, as given to
    /// [`SkillBuilder::with_state`](crate::SkillBuilder::with_state).
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The endpoint's metrics when run by the pipeline (built-in handlers' own counters).
    #[cfg_attr(not(any(feature = "webhook", feature = "queue")), allow(dead_code))]
    pub(crate) fn metrics(&self) -> Option<&Metrics> {
        self.shared.metrics.as_deref()
    }

    /// The same context with the instant the handler's answer is due (the
    /// dispatcher sets it from `handler.deadline_ms`). The Alexa API clients
    /// handed out here make no retry that would end past it.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// When the handler's answer is due, if the dispatcher set it.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `request.requestId`: unique per message, stable across re-deliveries.
    pub fn request_id(&self) -> &str {
        &self.shared.request_id
    }

    /// `request.timestamp`.
    pub fn timestamp(&self) -> OffsetDateTime {
        self.shared.timestamp
    }

    /// The request's kind.
    pub fn kind(&self) -> RequestKind {
        self.shared.kind
    }

    /// `request.type` as sent by Alexa.
    pub fn request_type(&self) -> &str {
        self.shared
            .unknown_type
            .as_deref()
            .unwrap_or(self.shared.kind.as_str())
    }

    /// `context.System.user.userId` (else the session's); `None` when Alexa
    /// sent no user or an empty one.
    pub fn user_id(&self) -> Option<&str> {
        self.shared.info.user_id()
    }

    /// The skill id (`applicationId`) the request is for.
    pub fn skill_id(&self) -> Option<&str> {
        self.shared.info.skill_id()
    }

    /// `request.locale`, e.g. `en-US`.
    pub fn locale(&self) -> Option<&str> {
        self.shared.locale.as_deref()
    }

    /// `context.System.apiEndpoint`: the base URL of Alexa's APIs for this user.
    pub fn api_endpoint(&self) -> Option<&str> {
        self.shared.info.api_endpoint()
    }

    /// `context.System.apiAccessToken`: valid for 60 minutes, do not persist.
    pub fn api_access_token(&self) -> Option<&SecretString> {
        self.shared.info.api_access_token()
    }

    /// The account-linking `accessToken`, if the user linked an account.
    pub fn access_token(&self) -> Option<&SecretString> {
        self.shared.info.access_token()
    }

    /// The envelope without its typed request (which the handler received):
    /// `version`, `session`, `context`.
    pub fn envelope(&self) -> &EnvelopeInfo {
        &self.shared.info
    }

    /// A List Management client with this request's `apiEndpoint` and
    /// `apiAccessToken`. Fails, sending nothing, when the endpoint is not in
    /// `alexa_api.allowed_endpoints` or the request carries no endpoint or token.
    pub fn lists(&self) -> Result<ListsClient, ApiError> {
        let endpoint = self.api_endpoint().ok_or(ApiError::NoEndpoint)?;
        let token = self.api_access_token().ok_or(ApiError::NoToken)?;
        let client = self.shared.api.lists(endpoint, token.clone())?;
        Ok(match self.deadline {
            Some(deadline) => client.with_deadline(deadline),
            None => client,
        })
    }

    /// A Reminders client with this request's `apiEndpoint` and
    /// `apiAccessToken`, guarded like [`RequestContext::lists`]. A 401/403
    /// from it ([`ApiError::is_permission_denied`]) means the user has not
    /// granted [`REMINDERS_PERMISSION`](crate::api::REMINDERS_PERMISSION).
    pub fn reminders(&self) -> Result<RemindersClient, ApiError> {
        let endpoint = self.api_endpoint().ok_or(ApiError::NoEndpoint)?;
        let token = self.api_access_token().ok_or(ApiError::NoToken)?;
        let client = self.shared.api.reminders(endpoint, token.clone())?;
        Ok(match self.deadline {
            Some(deadline) => client.with_deadline(deadline),
            None => client,
        })
    }

    /// The shared Alexa API state (HTTP client, endpoint allowlist).
    pub fn api(&self) -> &AlexaApi {
        &self.shared.api
    }
}

impl<S> fmt::Debug for RequestContext<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_type", &self.request_type())
            .field("request_id", &self.request_id())
            .field("skill_id", &self.skill_id())
            .field("user_id", &self.user_id())
            .finish_non_exhaustive()
    }
}
