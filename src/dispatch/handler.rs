//! What a handler is: an async function from a [`RequestContext`] and a typed
//! request to a [`Response`], and the error it may return.

use std::fmt;
use std::future::Future;

use futures_util::future::BoxFuture;

use crate::api::ApiError;
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
/// Any `std::error::Error` converts into it with `?`. An [`ApiError`]
/// converts by its [`ApiError::is_transient`]: a transient one (429, 5xx,
/// timeout, unreachable) is [`HandlerError::unavailable`] (503, Alexa retries
/// soon), any other a plain failure (500).
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

/// `?` in a handler: an [`ApiError`] keeps its transient/permanent nature
/// (503 / 500), any other error is a failure (500).
impl<E: Into<BoxError>> From<E> for HandlerError {
    fn from(e: E) -> Self {
        let source = e.into();
        // A blanket `From` cannot be specialised for `ApiError`, so it is
        // recognised here, once, instead of at every call site.
        let transient = source
            .downcast_ref::<ApiError>()
            .is_some_and(ApiError::is_transient);
        Self { transient, source }
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

/// A handler of requests of type `R`, for a skill with shared state `S`
/// (`()` without [`SkillBuilder::with_state`](crate::SkillBuilder::with_state)).
///
/// Implemented for every `Fn(RequestContext<S>, R) -> impl Future<Output =
/// HandlerResult>`, so closures and `async fn`s register directly. The typed
/// request is moved into the handler.
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
pub trait Handler<R, S = ()>: Send + Sync + 'static {
    /// Handle one request.
    fn call(&self, ctx: RequestContext<S>, request: R) -> BoxFuture<'static, HandlerResult>;
}

impl<F, Fut, R, S> Handler<R, S> for F
where
    F: Fn(RequestContext<S>, R) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, ctx: RequestContext<S>, request: R) -> BoxFuture<'static, HandlerResult> {
        Box::pin(self(ctx, request))
    }
}

/// A handler registered with state `S`, seen by the dispatcher as a
/// stateless one: each call gets a clone of the state.
pub(crate) struct WithState<H, S> {
    pub(crate) handler: H,
    pub(crate) state: S,
}

impl<R, S, H> Handler<R> for WithState<H, S>
where
    H: Handler<R, S>,
    S: Clone + Send + Sync + 'static,
{
    fn call(&self, ctx: RequestContext, request: R) -> BoxFuture<'static, HandlerResult> {
        self.handler
            .call(ctx.with_state(self.state.clone()), request)
    }
}
