//! Built-in handlers of the binary, chosen by `handler.kind`, so that an
//! operator needs no Rust code:
//!
//! - [`log`]: log the message (no tokens) and acknowledge;
//! - [`webhook`]: forward to a backend over HTTP, acknowledge after its 2xx;
//! - [`list_sync`]: apply list changes through the List Management API;
//! - [`queue`]: publish to a broker, acknowledge after its confirmation.

mod config;
pub mod list_sync;
pub mod log;
pub mod queue;
pub mod webhook;

pub use config::{HandlerConfig, HandlerKind};

use crate::config::Config;
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

/// Like [`skill_from_config`], for every `handler.kind` including those
/// that connect to a broker at start-up (`queue`): the binary uses this one.
pub async fn connect_skill_from_config(config: &Config) -> Result<Skill, HandlerSetupError> {
    if config.handler.kind != HandlerKind::Queue {
        return skill_from_config(config);
    }
    let cfg = config.handler.queue.as_ref().ok_or(HandlerSetupError {
        key: "handler.queue.backend",
        reason: "is required when handler.kind = \"queue\"".into(),
    })?;
    let queue = queue::Queue::connect(cfg, config.handler.deadline).await?;
    let readiness = queue.readiness();
    Ok(Skill::builder()
        .on_message(move |ctx, msg| {
            let queue = queue.clone();
            async move { queue.deliver(&ctx, &msg).await }
        })
        .readiness(readiness)
        .build())
}

/// The skill the binary serves: the built-in handler named by `handler.kind`
/// registered for `Messaging.MessageReceived`. `queue` needs a connection
/// made at start-up: use [`connect_skill_from_config`] for it.
pub fn skill_from_config(config: &Config) -> Result<Skill, HandlerSetupError> {
    let builder = Skill::builder();
    let builder = match config.handler.kind {
        HandlerKind::Log => builder.on_message(log::handle),
        HandlerKind::Webhook => {
            let cfg = config.handler.webhook.as_ref().ok_or(HandlerSetupError {
                key: "handler.webhook.url",
                reason: "is required when handler.kind = \"webhook\"".into(),
            })?;
            let webhook = webhook::Webhook::new(cfg, config.handler.deadline)?;
            builder.on_message(move |ctx, msg| {
                let webhook = webhook.clone();
                async move { webhook.deliver(&ctx, &msg).await }
            })
        }
        HandlerKind::ListSync => builder.on_message(list_sync::handle),
        HandlerKind::Queue => {
            return Err(HandlerSetupError {
                key: "handler.kind",
                reason: "\"queue\" connects to its broker at start-up: build it with connect_skill_from_config".into(),
            })
        }
    };
    Ok(builder.build())
}
