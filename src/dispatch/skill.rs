//! [`Skill`]: the handlers a user registered, and routing by request type.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

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
/// [`Skill::into_router`] in an existing axum app.
///
/// Routing: the specific handler, else the [`SkillBuilder::fallback`], else
/// the default answer of DESIGN's status table — 500 for request types that
/// need an answer (`Messaging.MessageReceived`, `LaunchRequest`,
/// `IntentRequest`, `CanFulfillIntentRequest`), an empty 200 for
/// notifications (`SessionEndedRequest`, `AlexaSkillEvent.*`,
/// `AlexaHouseholdListEvent.*`, `System.ExceptionEncountered`,
/// `Connections.Response`, unknown types).
#[derive(Clone)]
pub struct Skill {
    handlers: Arc<Handlers>,
}

/// Registers handlers; see [`Skill::builder`].
#[derive(Default)]
pub struct SkillBuilder {
    handlers: Handlers,
}

/// A handler call, not made yet: the dispatcher makes it only after the
/// dedup claim, so not even a handler's synchronous prologue runs for a
/// duplicate.
pub(crate) type Call = Box<dyn FnOnce() -> BoxFuture<'static, HandlerResult> + Send>;

fn call<R: Clone + Send + 'static>(
    handler: &Arc<dyn Handler<R>>,
    ctx: RequestContext,
    pick: fn(&Request) -> Option<&R>,
) -> Call {
    let handler = handler.clone();
    // The request is cloned out of the envelope only when the call is made,
    // so a duplicate (refused by the dedup claim) costs no copy of it.
    Box::new(move || {
        let request = pick(&ctx.envelope().request)
            .expect("routed by this request's variant")
            .clone();
        handler.call(ctx, request)
    })
}

fn message(r: &Request) -> Option<&MessageReceivedRequest> {
    match r {
        Request::MessageReceived(r) => Some(r),
        _ => None,
    }
}
fn launch(r: &Request) -> Option<&LaunchRequest> {
    match r {
        Request::Launch(r) => Some(r),
        _ => None,
    }
}
fn intent(r: &Request) -> Option<&IntentRequest> {
    match r {
        Request::Intent(r) => Some(r),
        _ => None,
    }
}
fn can_fulfill(r: &Request) -> Option<&CanFulfillIntentRequest> {
    match r {
        Request::CanFulfillIntent(r) => Some(r),
        _ => None,
    }
}
fn session_ended(r: &Request) -> Option<&SessionEndedRequest> {
    match r {
        Request::SessionEnded(r) => Some(r),
        _ => None,
    }
}
fn skill_event(r: &Request) -> Option<&SkillEventRequest> {
    match r {
        Request::SkillEvent(r) => Some(r),
        _ => None,
    }
}
fn list_event(r: &Request) -> Option<&ListEventRequest> {
    match r {
        Request::ListEvent(r) => Some(r),
        _ => None,
    }
}
fn any(r: &Request) -> Option<&Request> {
    Some(r)
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
        SkillBuilder::default()
    }

    /// Whether a `Messaging.MessageReceived` handler (or a fallback) is registered.
    pub fn handles_messages(&self) -> bool {
        self.handlers.message.is_some() || self.handlers.fallback.is_some()
    }

    /// The readiness check of what the handlers depend on, if one was set.
    pub fn readiness(&self) -> Option<&Readiness> {
        self.handlers.readiness.as_ref()
    }

    pub(crate) fn route(&self, ctx: RequestContext, request: &Request) -> Route {
        let h = &*self.handlers;
        let specific = match request {
            Request::MessageReceived(_) => {
                h.message.as_ref().map(|f| call(f, ctx.clone(), message))
            }
            Request::Launch(_) => h.launch.as_ref().map(|f| call(f, ctx.clone(), launch)),
            Request::Intent(r) => h
                .intents
                .get(&r.intent.name)
                .map(|f| call(f, ctx.clone(), intent)),
            Request::CanFulfillIntent(_) => h
                .can_fulfill
                .as_ref()
                .map(|f| call(f, ctx.clone(), can_fulfill)),
            Request::SessionEnded(_) => h
                .session_ended
                .as_ref()
                .map(|f| call(f, ctx.clone(), session_ended)),
            Request::SkillEvent(_) => h
                .skill_event
                .as_ref()
                .map(|f| call(f, ctx.clone(), skill_event)),
            Request::ListEvent(_) => h
                .list_event
                .as_ref()
                .map(|f| call(f, ctx.clone(), list_event)),
            Request::ExceptionEncountered(_)
            | Request::ConnectionsResponse(_)
            | Request::Unknown(_) => None,
        };
        if let Some(fut) = specific {
            return Route::Run(fut);
        }
        if let Some(fallback) = &h.fallback {
            return Route::Run(call(fallback, ctx, any));
        }
        match request {
            Request::MessageReceived(_)
            | Request::Launch(_)
            | Request::Intent(_)
            | Request::CanFulfillIntent(_) => Route::Missing,
            _ => Route::Ack,
        }
    }
}

impl SkillBuilder {
    /// Handle `Messaging.MessageReceived`. Return [`crate::Response::ack`]
    /// once the message is safely processed: the 200 is the acknowledgement.
    pub fn on_message(mut self, handler: impl Handler<MessageReceivedRequest>) -> Self {
        self.handlers.message = Some(Arc::new(handler));
        self
    }

    /// Handle `LaunchRequest`.
    pub fn on_launch(mut self, handler: impl Handler<LaunchRequest>) -> Self {
        self.handlers.launch = Some(Arc::new(handler));
        self
    }

    /// Handle `IntentRequest`s for the intent `name` (e.g. `AMAZON.HelpIntent`).
    pub fn on_intent(
        mut self,
        name: impl Into<String>,
        handler: impl Handler<IntentRequest>,
    ) -> Self {
        self.handlers.intents.insert(name.into(), Arc::new(handler));
        self
    }

    /// Handle `CanFulfillIntentRequest`.
    pub fn on_can_fulfill_intent(mut self, handler: impl Handler<CanFulfillIntentRequest>) -> Self {
        self.handlers.can_fulfill = Some(Arc::new(handler));
        self
    }

    /// Handle `SessionEndedRequest`.
    pub fn on_session_ended(mut self, handler: impl Handler<SessionEndedRequest>) -> Self {
        self.handlers.session_ended = Some(Arc::new(handler));
        self
    }

    /// Handle the five `AlexaSkillEvent.*` requests.
    pub fn on_skill_event(mut self, handler: impl Handler<SkillEventRequest>) -> Self {
        self.handlers.skill_event = Some(Arc::new(handler));
        self
    }

    /// Handle `AlexaHouseholdListEvent.*` requests.
    pub fn on_list_event(mut self, handler: impl Handler<ListEventRequest>) -> Self {
        self.handlers.list_event = Some(Arc::new(handler));
        self
    }

    /// Handle everything no specific handler took, including unknown types.
    pub fn fallback(mut self, handler: impl Handler<Request>) -> Self {
        self.handlers.fallback = Some(Arc::new(handler));
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
