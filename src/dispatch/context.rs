//! [`RequestContext`]: what a handler knows about the request beyond its
//! typed body, and the Alexa API clients it may use.

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::api::{AlexaApi, ApiError, ListsClient, RemindersClient};
use crate::envelope::{RequestEnvelope, Response};
use crate::metrics::Metrics;

/// Per-request context handed to every handler. Cheap to clone.
///
/// `Debug` shows ids only: the tokens never reach a log through it.
#[derive(Clone)]
pub struct RequestContext {
    envelope: Arc<RequestEnvelope>,
    api: AlexaApi,
    metrics: Arc<Metrics>,
    deadline: Option<Instant>,
}

impl RequestContext {
    /// Build a context (the dispatcher does this; public for handler tests).
    pub fn new(envelope: Arc<RequestEnvelope>, api: AlexaApi, metrics: Arc<Metrics>) -> Self {
        Self {
            envelope,
            api,
            metrics,
            deadline: None,
        }
    }

    /// The instant the handler's answer is due (the dispatcher sets it from
    /// `handler.deadline_ms`). The Alexa API clients handed out here make no
    /// retry that would end past it.
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
        self.envelope.request.request_id()
    }

    /// `request.timestamp`.
    pub fn timestamp(&self) -> OffsetDateTime {
        self.envelope.request.timestamp()
    }

    /// `request.type` as sent by Alexa.
    pub fn request_type(&self) -> &str {
        self.envelope.request.request_type()
    }

    /// `context.System.user.userId` (else the session's).
    pub fn user_id(&self) -> Option<&str> {
        self.envelope.user_id()
    }

    /// The skill id (`applicationId`) the request is for.
    pub fn skill_id(&self) -> Option<&str> {
        self.envelope.skill_id()
    }

    /// `request.locale`, e.g. `en-US`.
    pub fn locale(&self) -> Option<&str> {
        self.envelope.request.locale()
    }

    /// `context.System.apiEndpoint`: the base URL of Alexa's APIs for this user.
    pub fn api_endpoint(&self) -> Option<&str> {
        self.envelope.api_endpoint()
    }

    /// `context.System.apiAccessToken`: valid for 60 minutes, do not persist.
    pub fn api_access_token(&self) -> Option<&SecretString> {
        self.envelope.api_access_token()
    }

    /// The account-linking `accessToken`, if the user linked an account.
    pub fn access_token(&self) -> Option<&SecretString> {
        self.envelope.access_token()
    }

    /// The whole request envelope.
    pub fn envelope(&self) -> &RequestEnvelope {
        &self.envelope
    }

    /// A List Management client with this request's `apiEndpoint` and
    /// `apiAccessToken`. Fails, sending nothing, when the endpoint is not in
    /// `alexa_api.allowed_endpoints` or the request carries no endpoint or token.
    pub fn lists(&self) -> Result<ListsClient, ApiError> {
        let endpoint = self.api_endpoint().ok_or(ApiError::NoEndpoint)?;
        let token = self.api_access_token().ok_or(ApiError::NoToken)?;
        let client = self.api.lists(endpoint, token.clone())?;
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
        let client = self.api.reminders(endpoint, token.clone())?;
        Ok(match self.deadline {
            Some(deadline) => client.with_deadline(deadline),
            None => client,
        })
    }

    /// Acknowledge a message that can never be processed (wrong shape,
    /// unknown target...), so that Alexa stops re-delivering it: logs
    /// `reason` at error with the requestId, counts it in
    /// `alexa_endpoint_messages_unprocessable_total`, returns the ack.
    /// `reason` must not contain a token.
    pub fn reject_message(&self, reason: &str) -> Response {
        tracing::error!(
            request_id = self.request_id(),
            reason,
            "message can never be processed: acknowledged so that Alexa stops re-delivering it"
        );
        self.metrics.unprocessable();
        Response::ack()
    }

    /// The shared Alexa API state (HTTP client, endpoint allowlist).
    pub fn api(&self) -> &AlexaApi {
        &self.api
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_type", &self.request_type())
            .field("request_id", &self.request_id())
            .field("skill_id", &self.skill_id())
            .field("user_id", &self.user_id())
            .finish_non_exhaustive()
    }
}
