//! [`ApiError`]: every way a call to an Alexa API can fail.
//!
//! Messages carry the API's own explanation (its body's `message` or
//! `Message` field) but never a token: tokens only ever travel in headers that
//! this module builds, and no variant stores a request.

use std::time::Duration;

/// Errors of every Alexa API call (List Management, Reminders, Skill
/// Messaging, Proactive Events, Login with Amazon).
///
/// [`ApiError::is_transient`] tells a retry-worthy failure (429, 5xx, timeout,
/// transport) from one that will fail again the same way.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `apiEndpoint` is not in `alexa_api.allowed_endpoints`: nothing was sent.
    #[error("apiEndpoint {0:?} is not in alexa_api.allowed_endpoints; the token was not sent")]
    EndpointNotAllowed(String),
    /// The request carried no `context.System.apiEndpoint`: nothing was sent.
    #[error("the request carries no apiEndpoint")]
    NoEndpoint,
    /// The request carried no (or an empty) `apiAccessToken`.
    #[error("the request carries no apiAccessToken")]
    NoToken,
    /// 401: the token is missing, invalid or expired (for the Reminders API
    /// this is also how a missing reminders permission is answered; see
    /// [`ApiError::is_permission_denied`]).
    #[error("unauthorized (401): {message}")]
    Unauthorized {
        /// The API's own message.
        message: String,
    },
    /// 403: the token is valid but not allowed to do this.
    #[error(
        "forbidden (403): {message} (this usually means the user has not granted the skill the \
         permission the call needs: list or reminders read/write)"
    )]
    Forbidden {
        /// The API's own message.
        message: String,
    },
    /// 404: the list, item or user does not exist.
    #[error("not found (404): {message}")]
    NotFound {
        /// The API's own message.
        message: String,
    },
    /// 409: the list or item changed since it was read (stale `version`), or
    /// a list with that name already exists.
    #[error("conflict (409): {message}")]
    Conflict {
        /// The API's own message.
        message: String,
    },
    /// 429: too many requests.
    #[error("rate limited (429){}: {message}", fmt_retry_after(*.retry_after))]
    RateLimited {
        /// The `Retry-After` header, when the API sent one.
        retry_after: Option<Duration>,
        /// The API's own message.
        message: String,
    },
    /// 5xx: the API failed.
    #[error("server error ({status}): {message}")]
    Server {
        /// The HTTP status (500..=599).
        status: u16,
        /// The API's own message.
        message: String,
    },
    /// Any other non-success status (400, 3xx, ...).
    #[error("unexpected status {status}: {message}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The API's own message.
        message: String,
    },
    /// No answer within `alexa_api.timeout_ms`.
    #[error("the API did not answer in time")]
    Timeout,
    /// Too many Alexa API calls were in flight: no slot came free before the
    /// deadline. Nothing was sent.
    #[error("too many Alexa API calls in flight; nothing was sent")]
    Saturated,
    /// The API could not be reached (DNS, connect, TLS, connection reset).
    #[error("could not reach the API: {0}")]
    Transport(String),
    /// A success answer whose body is not what the API documents.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// An argument was rejected before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn fmt_retry_after(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {} s", d.as_secs()),
        None => String::new(),
    }
}

impl ApiError {
    /// Whether trying again later may succeed: 429, 5xx, timeout, transport,
    /// no call slot free.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout
                | Self::Transport(_)
                | Self::Saturated
        )
    }

    /// The HTTP status the API answered, if it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } => Some(409),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. } | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 401 or 403: the user has not granted the permission this call needs
    /// (or the token is not valid for it). In session a handler can answer
    /// with a permissions consent card; out of session there is no one to
    /// ask, so a re-delivery will fail the same way.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Forbidden { .. })
    }

    /// 404: what the call named (list, item, reminder, user) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// The API's own message, if it answered with an error status.
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::Conflict { message }
            | Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::UnexpectedStatus { message, .. } => Some(message),
            _ => None,
        }
    }
}
