//! Dispatching a verified request to the user's handler.
//!
//! - [`Skill`] / [`SkillBuilder`]: the handler registry and routing by type;
//! - [`Handler`], [`HandlerError`]: what a handler is and how it fails;
//! - [`RequestContext`]: what a handler gets besides its typed request;
//! - [`Endpoint`]: the request path — verify, parse, route, de-duplicate,
//!   run under a deadline with panics caught, answer.

mod context;
mod handler;
mod pipeline;
mod readiness;
mod skill;

pub use context::RequestContext;
pub use handler::{BoxError, Handler, HandlerError, HandlerResult};
pub use pipeline::{Endpoint, Handled, StartupError};
pub use readiness::Readiness;
pub use skill::{Skill, SkillBuilder};
