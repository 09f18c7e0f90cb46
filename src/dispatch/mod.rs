//! Dispatching a verified request to the user's handler.
//!
//! - [`Skill`] / [`SkillBuilder`]: the handler registry, shared state and
//!   routing by type;
//! - [`Handler`], [`HandlerError`]: what a handler is and how it fails;
//! - [`RequestContext`]: what a handler gets besides its typed request;
//! - [`Pipeline`]: the request path — verify, parse, route, de-duplicate
//!   (through [`DedupGuard`](crate::dedup::DedupGuard)), run under a deadline
//!   with panics caught, answer;
//! - [`Outcome`]: what became of a request, one label set for logs, metrics
//!   and error bodies; [`observe`]: log + count + answer, in one call.

mod context;
mod detach;
mod handler;
mod observe;
mod outcome;
mod pipeline;
mod readiness;
mod skill;

pub use context::RequestContext;
pub use handler::{BoxError, Handler, HandlerError, HandlerResult};
pub use observe::observe;
pub use outcome::Outcome;
pub use pipeline::{Handled, Pipeline, StartupError};
pub use readiness::Readiness;
pub use skill::{Skill, SkillBuilder};
