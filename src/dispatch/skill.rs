//! [`Skill`]: the handlers a user registered, and routing by request type.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::dispatch::handler::WithState;
use crate::dispatch::{Handler, HandlerResult, Readiness, RequestContext};
use crate::envelope::{
    CanFulfillIntentRequest, IntentRequest, LaunchRequest, ListEventRequest,
    MessageReceivedRequest, Request, SessionEndedRequest, SkillEventRequest,
};

type Slot<R> = Option<Arc<dyn Handler<R>>>;

#[derive(Default)]
struct Handlers {
    message: Slot<MessageReceivedRequest>,
    launch: Slot<LaunchRequest>,
    intents: HashMap<String, Arc<dyn Handler<IntentRequest>>>,
    can_fulfill: Slot<CanFulfillIntentRequest>,
    session_ended: Slot<SessionEndedRequest>,
    skill_event: Slot<SkillEventRequest>,
    list_event: Slot<ListEventRequest>,
    fallback: Slot<Request>,
    readiness: Option<Readiness>,
}

/// A skill: the set of handlers, by request type. Build one with
/// [`Skill::builder`], then serve it with [`crate::serve`] or mount
/// [`crate::Endpoint::router`] in an existing axum app.
///
/// Routing: the specific handler, else the [`SkillBuilder::fallback`], else
/// the default answer of README's status table, decided by
/// [`RequestKind::needs_answer`](crate::envelope::RequestKind::needs_answer):
/// 500 for request types that need an answer (`Messaging.MessageReceived`,
/// `LaunchRequest`, `IntentRequest`, `CanFulfillIntentRequest`), an empty 200
/// for notifications (`SessionEndedRequest`, `AlexaSkillEvent.*`,
/// `AlexaHouseholdListEvent.*`, `System.ExceptionEncountered`,
/// `Connections.Response`, unknown types).
#[derive(Clone)]
pub struct Skill {
    handlers: Arc<Handlers>,
}

/// Registers handlers; see [`Skill::builder`]. `S` is the shared state every
/// handler registered after [`SkillBuilder::with_state`] receives.
pub struct SkillBuilder<S = ()> {
    handlers: Handlers,
    state: S,
}

/// A handler call, not made yet: the dispatcher makes it only after the
/// dedup claim, so not even a handler's synchronous prologue runs for a
/// duplicate.
pub(crate) type Call = Box<dyn FnOnce() -> BoxFuture<'static, HandlerResult> + Send>;

/// Bind `request` to `handler` (moved in, not copied), or hand both back
/// when there is no handler.
// The large `Err` is moved once per request and never stored.
#[allow(clippy::result_large_err)]
fn bind<R: Send + 'static>(
    handler: Option<&Arc<dyn Handler<R>>>,
    ctx: RequestContext,
    request: R,
    wrap: fn(R) -> Request,
) -> Result<Call, (RequestContext, Request)> {
    match handler {
        Some(handler) => {
            let handler = handler.clone();
            Ok(Box::new(move || handler.call(ctx, request)))
        }
        None => Err((ctx, wrap(request))),
    }
}

/// What the dispatcher does with one request.
pub(crate) enum Route {
    /// Call this handler.
    Run(Call),
    /// Nobody handles it and it needs no answer: acknowledge.
    Ack,
    /// Nobody handles it but it needs an answer: 500.
    Missing,
}

impl Skill {
    /// Start registering handlers.
    pub fn builder() -> SkillBuilder {
        SkillBuilder {
            handlers: Handlers::default(),
            state: (),
        }
    }

    /// The readiness check of what the handlers depend on, if one was set.
    pub(crate) fn readiness(&self) -> Option<&Readiness> {
        self.handlers.readiness.as_ref()
    }

    pub(crate) fn route(&self, ctx: RequestContext, request: Request) -> Route {
        let h = &*self.handlers;
        let kind = request.kind();
        let specific = match request {
            Request::MessageReceived(r) => {
                bind(h.message.as_ref(), ctx, r, Request::MessageReceived)
            }
            Request::Launch(r) => bind(h.launch.as_ref(), ctx, r, Request::Launch),
            Request::Intent(r) => {
                let handler = h.intents.get(&r.intent.name);
                bind(handler, ctx, r, Request::Intent)
            }
            Request::CanFulfillIntent(r) => {
                bind(h.can_fulfill.as_ref(), ctx, r, Request::CanFulfillIntent)
            }
            Request::SessionEnded(r) => {
                bind(h.session_ended.as_ref(), ctx, r, Request::SessionEnded)
            }
            Request::SkillEvent(r) => bind(h.skill_event.as_ref(), ctx, r, Request::SkillEvent),
            Request::ListEvent(r) => bind(h.list_event.as_ref(), ctx, r, Request::ListEvent),
            // Every other type (including one added to the table later)
            // reaches the fallback.
            other => Err((ctx, other)),
        };
        match specific {
            Ok(call) => Route::Run(call),
            Err((ctx, request)) => match bind(h.fallback.as_ref(), ctx, request, |r| r) {
                Ok(call) => Route::Run(call),
                Err(_) if kind.needs_answer() => Route::Missing,
                Err(_) => Route::Ack,
            },
        }
    }
}

impl SkillBuilder<()> {
    /// Give every handler registered from now on a clone of `state` (wrap
    /// what is not cheap to clone in an `Arc`), read in a handler with
    /// [`RequestContext::state`]:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use alexa_endpoint::envelope::MessageReceivedRequest;
    /// use alexa_endpoint::{HandlerResult, RequestContext, Response, Skill};
    ///
    /// #[derive(Clone)]
    /// struct App { greeting: Arc<str> }
    ///
    /// async fn on_message(ctx: RequestContext<App>, msg: MessageReceivedRequest) -> HandlerResult {
    ///     println!("{}: {}", ctx.state().greeting, msg.message);
    ///     Ok(Response::ack())
    /// }
    ///
    /// let skill = Skill::builder()
    ///     .with_state(App { greeting: "hello".into() })
    ///     .on_message(on_message)
    ///     .build();
    /// ```
    pub fn with_state<S: Clone + Send + Sync + 'static>(self, state: S) -> SkillBuilder<S> {
        SkillBuilder {
            handlers: self.handlers,
            state,
        }
    }
}

impl<S: Clone + Send + Sync + 'static> SkillBuilder<S> {
    fn erase<R: Send + 'static>(&self, handler: impl Handler<R, S>) -> Arc<dyn Handler<R>> {
        Arc::new(WithState {
            handler,
            state: self.state.clone(),
        })
    }

    /// Handle `Messaging.MessageReceived`. Return [`crate::Response::ack`]
    /// once the message is safely processed: the 200 is the acknowledgement.
    pub fn on_message(mut self, handler: impl Handler<MessageReceivedRequest, S>) -> Self {
        self.handlers.message = Some(self.erase(handler));
        self
    }

    /// Handle `LaunchRequest`.
    pub fn on_launch(mut self, handler: impl Handler<LaunchRequest, S>) -> Self {
        self.handlers.launch = Some(self.erase(handler));
        self
    }

    /// Handle `IntentRequest`s for the intent `name` (e.g. `AMAZON.HelpIntent`).
    pub fn on_intent(
        mut self,
        name: impl Into<String>,
        handler: impl Handler<IntentRequest, S>,
    ) -> Self {
        let handler = self.erase(handler);
        self.handlers.intents.insert(name.into(), handler);
        self
    }

    /// Handle `CanFulfillIntentRequest`.
    pub fn on_can_fulfill_intent(
        mut self,
        handler: impl Handler<CanFulfillIntentRequest, S>,
    ) -> Self {
        self.handlers.can_fulfill = Some(self.erase(handler));
        self
    }

    /// Handle `SessionEndedRequest`.
    pub fn on_session_ended(mut self, handler: impl Handler<SessionEndedRequest, S>) -> Self {
        self.handlers.session_ended = Some(self.erase(handler));
        self
    }

    /// Handle the five `AlexaSkillEvent.*` requests.
    pub fn on_skill_event(mut self, handler: impl Handler<SkillEventRequest, S>) -> Self {
        self.handlers.skill_event = Some(self.erase(handler));
        self
    }

    /// Handle `AlexaHouseholdListEvent.*` requests.
    pub fn on_list_event(mut self, handler: impl Handler<ListEventRequest, S>) -> Self {
        self.handlers.list_event = Some(self.erase(handler));
        self
    }

    /// Handle everything no specific handler took, including unknown types.
    pub fn fallback(mut self, handler: impl Handler<Request, S>) -> Self {
        self.handlers.fallback = Some(self.erase(handler));
        self
    }

    /// Make `GET /readyz` also run `check` (e.g. "is the broker connected").
    pub fn readiness(mut self, check: Readiness) -> Self {
        self.handlers.readiness = Some(check);
        self
    }

    /// Finish registration.
    pub fn build(self) -> Skill {
        Skill {
            handlers: Arc::new(self.handlers),
        }
    }
}
