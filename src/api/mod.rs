//! Clients for Alexa's REST APIs: List Management and Reminders (with the
//! request's `apiAccessToken`), Login with Amazon tokens, Skill Messaging and
//! Proactive Events.
//!
//! - [`AlexaApi`]: built once from `[alexa_api]`; one shared HTTP client and
//!   the endpoint allowlist. [`AlexaApi::lists`] and [`AlexaApi::reminders`]
//!   hand out clients for one request's endpoint and token — only for an
//!   allowed endpoint.
//! - [`LwaClient`] + [`SkillMessagingClient`] / [`ProactiveEventsClient`]:
//!   the sender side (what a third-party app or the skill's back end runs;
//!   the `send` and `notify` subcommands).
//!
//! Every client retries 429, 5xx and transport failures in one place, within
//! the caller's deadline and only where a retry cannot do the work twice:
//! see [`retry`].
//!
//! Tokens are [`SecretString`]s; no `Debug` or error message shows one.

mod app_api;
mod config;
mod error;
mod guard;
mod http;
mod lists;
mod lwa;
mod messaging;
mod proactive;
mod reminders;
pub mod retry;

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

pub use config::AlexaApiConfig;
pub use error::ApiError;
pub use guard::EndpointAllowlist;
pub use http::{build_http_client, ApiObserver, RetryObserver, MAX_IN_FLIGHT_CALLS};
pub use lists::{
    DefaultList, ItemStatus, Links, List, ListItem, ListMetadata, ListState, ListsClient,
    StatusLink,
};
pub use lwa::{
    LwaClient, DEFAULT_TOKEN_URL, PROACTIVE_EVENTS_SCOPE, REFRESH_MARGIN, SKILL_MESSAGING_SCOPE,
};
pub use messaging::{
    validate_message, Region, SkillMessagingClient, DEFAULT_EXPIRES_AFTER_SECS, MAX_DATA_BYTES,
    MAX_EXPIRES_AFTER_SECS, MIN_EXPIRES_AFTER_SECS,
};
pub use proactive::{
    Audience, EventBody, ProactiveEvent, ProactiveEventsClient, Stage, DEFAULT_EVENT_EXPIRY,
    MAX_EVENT_EXPIRY, MIN_EVENT_EXPIRY,
};
pub use reminders::{
    AlertInfo, PushNotification, PushNotificationStatus, Recurrence, Reminder, ReminderLinks,
    ReminderRequest, ReminderStatus, Reminders, RemindersClient, SpokenInfo, SpokenText, Trigger,
    REMINDERS_PERMISSION,
};

/// Shared state of all Alexa API clients: one HTTP client (timeout
/// `alexa_api.timeout_ms`), the endpoint allowlist and the call observer.
/// Cheap to clone.
#[derive(Clone)]
pub struct AlexaApi {
    http: http::Http,
    allowlist: EndpointAllowlist,
}

impl fmt::Debug for AlexaApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlexaApi")
            .field("allowed_endpoints", &self.allowlist.endpoints())
            .field("observer", &self.http.observer.is_some())
            .field("retry_observer", &self.http.on_retry.is_some())
            .finish()
    }
}

impl AlexaApi {
    /// Build from `[alexa_api]`.
    pub fn new(cfg: &AlexaApiConfig) -> Result<Self, ApiError> {
        let client = build_http_client(cfg.timeout)?;
        Ok(Self {
            http: http::Http::new(client),
            allowlist: EndpointAllowlist::new(&cfg.allowed_endpoints),
        })
    }

    /// Report every call made through this value (and the clients it hands
    /// out afterwards) to `observer`: `(api, status)`, status `0` when no
    /// answer came (timeout, transport).
    pub fn with_observer(mut self, observer: ApiObserver) -> Self {
        self.http.observer = Some(observer);
        self
    }

    /// Report every retry of a call made through this value (and the clients
    /// it hands out afterwards) to `observer`, with the API's name.
    pub fn with_retry_observer(mut self, observer: RetryObserver) -> Self {
        self.http.on_retry = Some(observer);
        self
    }

    /// The endpoint without trailing slash, once it passed the allowlist and
    /// the token is not empty.
    fn checked(&self, api_endpoint: &str, token: &SecretString) -> Result<String, ApiError> {
        let base = self.allowlist.check(api_endpoint)?;
        if token.expose_secret().is_empty() {
            return Err(ApiError::NoToken);
        }
        Ok(base)
    }

    /// A List Management client for one request's endpoint and token.
    ///
    /// Fails, sending nothing, unless `api_endpoint` exactly equals one of
    /// `alexa_api.allowed_endpoints` (a trailing slash aside), or when the
    /// token is empty.
    pub fn lists(&self, api_endpoint: &str, token: SecretString) -> Result<ListsClient, ApiError> {
        let base = self.checked(api_endpoint, &token)?;
        Ok(ListsClient::new(self.http.clone(), base, token))
    }

    /// A Reminders client for one request's endpoint and token, with the
    /// same guard as [`AlexaApi::lists`].
    pub fn reminders(
        &self,
        api_endpoint: &str,
        token: SecretString,
    ) -> Result<RemindersClient, ApiError> {
        let base = self.checked(api_endpoint, &token)?;
        Ok(RemindersClient::new(self.http.clone(), base, token))
    }
}
