//! What a handler is: an async function from a [`RequestContext`] and a typed
//! request to a [`Response`], and the error it may return.

use std::fmt;
use std::future::Future;

use futures_util::future::BoxFuture;

use crate::dispatch::RequestContext;
use crate::envelope::Response;

/// Any error a handler can return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a handler returns.
pub type HandlerResult = Result<Response, HandlerError>;

/// A handler failed. The endpoint answers 500 (or 503 for
/// [`HandlerError::unavailable`]) and does **not** acknowledge, so Alexa
/// re-delivers a `Messaging.MessageReceived` later.
///
/// Any `std::error::Error` converts into it with `?`.
pub struct HandlerError {
    transient: bool,
    source: BoxError,
}

impl HandlerError {
    /// A failure: answers 500.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            transient: false,
            source: source.into(),
        }
    }

    /// A transient failure (a dependency is down): answers 503.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self {
            transient: true,
            source: source.into(),
        }
    }

    /// Whether this answers 503 rather than 500.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl<E: Into<BoxError>> From<E> for HandlerError {
    fn from(e: E) -> Self {
        Self::new(e)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("transient", &self.transient)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

/// A handler of requests of type `R`.
///
/// Implemented for every `Fn(RequestContext, R) -> impl Future<Output =
/// HandlerResult>`, so closures and `async fn`s register directly:
///
/// ```
/// use alexa_endpoint::{RequestContext, Response, HandlerResult};
/// use alexa_endpoint::envelope::MessageReceivedRequest;
///
/// async fn on_message(ctx: RequestContext, msg: MessageReceivedRequest) -> HandlerResult {
///     println!("{} says {}", ctx.request_id(), msg.message);
///     Ok(Response::ack())
/// }
/// let skill = alexa_endpoint::Skill::builder().on_message(on_message).build();
/// ```
pub trait Handler<R>: Send + Sync + 'static {
    /// Handle one request.
    fn call(&self, ctx: RequestContext, request: R) -> BoxFuture<'static, HandlerResult>;
}

impl<F, Fut, R> Handler<R> for F
where
    F: Fn(RequestContext, R) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, ctx: RequestContext, request: R) -> BoxFuture<'static, HandlerResult> {
        Box::pin(self(ctx, request))
    }
}
