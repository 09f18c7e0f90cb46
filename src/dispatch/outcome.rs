//! [`Outcome`]: what became of one request, in one vocabulary shared by the
//! access log (`outcome` field), the metrics (`outcome` / `kind` labels) and
//! the error body (`error` field).

use crate::envelope::ParseErrorKind;

/// What became of one request. [`Outcome::as_str`] is its label everywhere:
/// the access log's `outcome`, the metrics' labels and, for a non-200, the
/// `error` field of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The handler ran and answered (`handled`).
    Handled,
    /// The handler acknowledged a message that can never be processed with
    /// [`Response::reject_message`](crate::Response::reject_message)
    /// (`unprocessable`).
    Unprocessable,
    /// A `Messaging.MessageReceived` handled before: acknowledged without
    /// running the handler (`duplicate`).
    Duplicate,
    /// No handler, and the type needs no answer: the empty 200 (`ack_default`).
    AckDefault,
    /// The same `requestId` is being handled by another request: 409 (`in_progress`).
    InProgress,
    /// The dedup store failed and `dedup.on_store_error = "reject"`: 503
    /// (`dedup_store_unavailable`).
    DedupStoreUnavailable,
    /// The handler returned an error: 500 (`handler_error`).
    HandlerError,
    /// The handler returned a transient error: 503 (`handler_unavailable`).
    HandlerUnavailable,
    /// The handler panicked: 500 (`handler_panicked`).
    HandlerPanicked,
    /// The handler ran past its deadline: 503 (`handler_deadline_exceeded`).
    HandlerDeadlineExceeded,
    /// No handler for a type that needs an answer: 500 (`no_handler`).
    NoHandler,
    /// The handler's response is over Alexa's 24 KB: 500 (`response_too_large`).
    ResponseTooLarge,
    /// The body is over `server.body_limit_bytes`: 413 (`body_too_large`).
    BodyTooLarge,
    /// The body could not be read: 400 (`body_unreadable`).
    BodyUnreadable,
    /// The whole body did not arrive within `server.body_read_timeout_ms`:
    /// 408 (`body_timeout`).
    BodyTimeout,
    /// `server.max_in_flight` requests are being handled: 503 with
    /// `Retry-After` (`overloaded`).
    Overloaded,
    /// The endpoint is shutting down: 503 (`shutting_down`).
    ShuttingDown,
    /// No route: 404 (`not_found`).
    NotFound,
    /// Wrong method: 405 (`method_not_allowed`).
    MethodNotAllowed,
    /// The body is not a valid envelope: 400, labelled by the parse error
    /// kind (`malformed_json`, `missing_field`, ...).
    Invalid(ParseErrorKind),
    /// Verification failed: 400 (503 for a cert download failure), labelled
    /// by the verification reason (`signature_mismatch`, ...).
    Unverified(&'static str),
}

impl Outcome {
    /// The label: the access log's `outcome`, the metrics' label value and
    /// the error body's `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Unprocessable => "unprocessable",
            Outcome::Duplicate => "duplicate",
            Outcome::AckDefault => "ack_default",
            Outcome::InProgress => "in_progress",
            Outcome::DedupStoreUnavailable => "dedup_store_unavailable",
            Outcome::HandlerError => "handler_error",
            Outcome::HandlerUnavailable => "handler_unavailable",
            Outcome::HandlerPanicked => "handler_panicked",
            Outcome::HandlerDeadlineExceeded => "handler_deadline_exceeded",
            Outcome::NoHandler => "no_handler",
            Outcome::ResponseTooLarge => "response_too_large",
            Outcome::BodyTooLarge => "body_too_large",
            Outcome::BodyUnreadable => "body_unreadable",
            Outcome::BodyTimeout => "body_timeout",
            Outcome::Overloaded => "overloaded",
            Outcome::ShuttingDown => "shutting_down",
            Outcome::NotFound => "not_found",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::Invalid(kind) => kind.as_str(),
            Outcome::Unverified(reason) => reason,
        }
    }

    /// Whether the answer is a 200 (the handler's, or an acknowledgement).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Handled | Outcome::Unprocessable | Outcome::Duplicate | Outcome::AckDefault
        )
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
