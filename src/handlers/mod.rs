//! Built-in handlers of the binary, chosen by `handler.kind`, so that an
//! operator needs no Rust code:
//!
//! - [`log`]: log the message (no tokens) and acknowledge;
//! - `webhook` (feature `webhook`): forward to a backend over HTTP,
//!   acknowledge after its 2xx;
//! - `list_sync` (feature `list-sync`): apply list changes through the List
//!   Management API;
//! - `queue` (feature `queue`): publish to a broker, acknowledge after its
//!   confirmation.
//!
//! A `handler.kind` whose feature is off fails at start-up, naming the
//! feature.

mod config;
#[cfg(feature = "list-sync")]
pub mod list_sync;
pub mod log;
#[cfg(feature = "queue")]
pub mod queue;
/// Without the `queue` feature: only the `[handler.queue]` section, so that a
/// config naming it still parses (and `handler.kind = "queue"` is refused at
/// start-up, naming the feature).
#[cfg(not(feature = "queue"))]
pub mod queue {
    #[path = "config.rs"]
    mod config;
    pub use config::{
        AmqpQueueConfig, NatsQueueConfig, QueueBackend, QueueConfig, RedisStreamQueueConfig,
    };
}
// Always compiled: the message body and the secret format are shared with the
// `queue` handler and the config check; only delivery is feature-gated.
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
    #[cfg(feature = "queue")]
    {
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
    #[cfg(not(feature = "queue"))]
    {
        let _ = cfg;
        Err(feature_off("queue"))
    }
}

/// `handler.kind` names a built-in handler this build leaves out.
#[allow(dead_code)] // unused when every handler feature is on
fn feature_off(feature: &'static str) -> HandlerSetupError {
    HandlerSetupError {
        key: "handler.kind",
        reason: format!(
            "this build leaves out the `{feature}` handler (cargo feature `{feature}`)"
        ),
    }
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
            #[cfg(feature = "webhook")]
            {
                let webhook = webhook::Webhook::new(cfg, config.handler.deadline)?;
                builder.on_message(move |ctx, msg| {
                    let webhook = webhook.clone();
                    async move { webhook.deliver(&ctx, &msg).await }
                })
            }
            #[cfg(not(feature = "webhook"))]
            {
                let _ = (cfg, builder);
                return Err(feature_off("webhook"));
            }
        }
        #[cfg(feature = "list-sync")]
        HandlerKind::ListSync => builder.on_message(list_sync::handle),
        #[cfg(not(feature = "list-sync"))]
        HandlerKind::ListSync => return Err(feature_off("list-sync")),
        HandlerKind::Queue => {
            return Err(HandlerSetupError {
                key: "handler.kind",
                reason: "\"queue\" connects to its broker at start-up: build it with connect_skill_from_config".into(),
            })
        }
    };
    Ok(builder.build())
}
