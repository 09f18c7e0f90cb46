//! Built-in handlers of the binary, chosen by `handler.kind`, so that an
//! operator needs no Rust code:
//!
//! - [`log`]: log the message (no tokens) and acknowledge;
//! - [`webhook`]: forward to a backend over HTTP, acknowledge after its 2xx;
//! - [`list_sync`]: apply list changes through the List Management API.

pub mod list_sync;
pub mod log;
pub mod webhook;

use crate::config::{Config, HandlerKind};
use crate::dispatch::Skill;

/// A built-in handler could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("handler: `{key}`: {reason}")]
pub struct HandlerSetupError {
    /// Config key at fault.
    pub key: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The skill the binary serves: the built-in handler named by `handler.kind`
/// registered for `Messaging.MessageReceived`.
pub fn skill_from_config(config: &Config) -> Result<Skill, HandlerSetupError> {
    let builder = Skill::builder();
    let builder = match config.handler.kind {
        HandlerKind::Log => builder.on_message(log::handle),
        HandlerKind::Webhook => {
            let cfg = config.handler.webhook.as_ref().ok_or(HandlerSetupError {
                key: "handler.webhook.url",
                reason: "is required when handler.kind = \"webhook\"".into(),
            })?;
            let webhook = webhook::Webhook::new(cfg, config.handler_deadline())?;
            builder.on_message(move |ctx, msg| {
                let webhook = webhook.clone();
                async move { webhook.deliver(&ctx, &msg).await }
            })
        }
        HandlerKind::ListSync => builder.on_message(list_sync::handle),
    };
    Ok(builder.build())
}
