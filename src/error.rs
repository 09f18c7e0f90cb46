//! The one place where everything that can go wrong with a request becomes an
//! HTTP answer to Alexa (the README's status table).
//!
//! Internal causes are logged once, where the answer is written
//! ([`crate::server`]); the JSON body carries only a machine-readable reason
//! and a short message that never contains a token.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::dedup::StoreError;
use crate::dispatch::{HandlerError, Outcome};
use crate::envelope::{ParseError, RequestKind, ResponseTooLarge};
use crate::verify::VerifyError;

/// Every non-200 answer of the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Signature, cert chain, timestamp or skill id check failed.
    #[error("verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// The body is not a valid request envelope.
    #[error("invalid request: {0}")]
    Parse(#[from] ParseError),
    /// The body is larger than `server.body_limit_bytes`.
    #[error("request body is larger than the configured limit")]
    BodyTooLarge,
    /// The body could not be read.
    #[error("request body could not be read")]
    BodyUnreadable,
    /// The whole body did not arrive within `server.body_read_timeout_ms`.
    #[error("request body was not received in time")]
    BodyTimeout,
    /// `server.max_in_flight` requests are being handled: try again shortly.
    #[error("the endpoint is at capacity; retry shortly")]
    Overloaded,
    /// Another request is handling the same `requestId` right now.
    #[error("this requestId is being handled by another request")]
    InProgress,
    /// The dedup store failed and `dedup.on_store_error = "reject"`.
    #[error("dedup store unavailable: {0}")]
    DedupStore(#[from] StoreError),
    /// The handler returned an error.
    #[error("handler failed: {0}")]
    Handler(HandlerError),
    /// The handler panicked.
    #[error("handler panicked")]
    HandlerPanicked,
    /// The handler ran past `handler.deadline_ms`.
    #[error("handler ran past its deadline")]
    DeadlineExceeded,
    /// No handler is registered for a request type that needs one.
    #[error("no handler registered for {0}")]
    NoHandler(RequestKind),
    /// The handler's response exceeds Alexa's 24 KB limit.
    #[error("{0}")]
    ResponseTooLarge(#[from] ResponseTooLarge),
    /// The server is shutting down and takes no new requests.
    #[error("the endpoint is shutting down")]
    ShuttingDown,
    /// No route at this path.
    #[error("no route")]
    NotFound,
    /// The path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl EndpointError {
    /// The HTTP status Alexa gets.
    pub fn status(&self) -> StatusCode {
        match self {
            EndpointError::Verify(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::Verify(_) | EndpointError::Parse(_) => StatusCode::BAD_REQUEST,
            EndpointError::BodyUnreadable => StatusCode::BAD_REQUEST,
            EndpointError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EndpointError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            EndpointError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::InProgress => StatusCode::CONFLICT,
            EndpointError::DedupStore(_) => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::Handler(e) if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::Handler(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EndpointError::HandlerPanicked => StatusCode::INTERNAL_SERVER_ERROR,
            EndpointError::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::NoHandler(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EndpointError::ResponseTooLarge(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EndpointError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            EndpointError::NotFound => StatusCode::NOT_FOUND,
            EndpointError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// What became of the request; its label is [`EndpointError::reason`].
    pub fn outcome(&self) -> Outcome {
        match self {
            EndpointError::Verify(e) => Outcome::Unverified(e.reason()),
            EndpointError::Parse(e) => Outcome::Invalid(e.kind()),
            EndpointError::BodyTooLarge => Outcome::BodyTooLarge,
            EndpointError::BodyUnreadable => Outcome::BodyUnreadable,
            EndpointError::BodyTimeout => Outcome::BodyTimeout,
            EndpointError::Overloaded => Outcome::Overloaded,
            EndpointError::InProgress => Outcome::InProgress,
            EndpointError::DedupStore(_) => Outcome::DedupStoreUnavailable,
            EndpointError::Handler(e) if e.is_transient() => Outcome::HandlerUnavailable,
            EndpointError::Handler(_) => Outcome::HandlerError,
            EndpointError::HandlerPanicked => Outcome::HandlerPanicked,
            EndpointError::DeadlineExceeded => Outcome::HandlerDeadlineExceeded,
            EndpointError::NoHandler(_) => Outcome::NoHandler,
            EndpointError::ResponseTooLarge(_) => Outcome::ResponseTooLarge,
            EndpointError::ShuttingDown => Outcome::ShuttingDown,
            EndpointError::NotFound => Outcome::NotFound,
            EndpointError::MethodNotAllowed => Outcome::MethodNotAllowed,
        }
    }

    /// Machine-readable reason: the `error` field of the body, the access
    /// log's `outcome` and a metrics label ([`Outcome::as_str`]).
    pub fn reason(&self) -> &'static str {
        self.outcome().as_str()
    }

    /// The level of this answer's access log line: error for a 5xx, warn for
    /// a 4xx, except a shed request (`overloaded`), which is debug only:
    /// shedding is the endpoint protecting itself, and a line per shed
    /// request would cost CPU exactly when there is none to spare (and let a
    /// flood fill the disk). Sheds are counted in the metrics and summarised
    /// by a rate-limited warning where they are decided.
    pub fn log_level(&self) -> tracing::Level {
        match self {
            EndpointError::Overloaded => tracing::Level::DEBUG,
            e if e.status().is_server_error() => tracing::Level::ERROR,
            _ => tracing::Level::WARN,
        }
    }

    /// Seconds the caller should wait before retrying (`Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            EndpointError::Overloaded => Some(1),
            _ => None,
        }
    }

    /// The message shown to the caller. Handler errors are the user's code:
    /// their text may contain anything (even a token), and store or download
    /// failures carry internal addresses and upstream error text: all of it
    /// stays in the log only.
    fn public_message(&self) -> String {
        match self {
            EndpointError::Handler(_) => "the handler failed; see the endpoint's log".to_owned(),
            EndpointError::DedupStore(_) => {
                "the dedup store is unavailable; see the endpoint's log".to_owned()
            }
            EndpointError::Verify(e) if e.is_transient() => {
                "request verification is temporarily unavailable; see the endpoint's log".to_owned()
            }
            other => other.to_string(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl IntoResponse for EndpointError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.reason(),
            message: self.public_message(),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
