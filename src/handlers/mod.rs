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
    #[cfg(feature = "queue")]
    {
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
    #[cfg(not(feature = "queue"))]
    Err(feature_off("queue"))
}

/// The cargo feature that would add the built-in handler `kind`, when this
/// build leaves it out.
pub(crate) fn missing_feature(kind: HandlerKind) -> Option<&'static str> {
    match kind {
        HandlerKind::Log => None,
        HandlerKind::Webhook => (!cfg!(feature = "webhook")).then_some("webhook"),
        HandlerKind::ListSync => (!cfg!(feature = "list-sync")).then_some("list-sync"),
        HandlerKind::Queue => (!cfg!(feature = "queue")).then_some("queue"),
    }
}

/// What is wrong with a `handler.kind` whose cargo feature is off.
pub(crate) fn feature_off_reason(feature: &str) -> String {
    format!("this build leaves out the `{feature}` handler (cargo feature `{feature}`)")
}

/// `handler.kind` names a built-in handler this build leaves out.
#[allow(dead_code)] // unused when every handler feature is on
fn feature_off(feature: &'static str) -> HandlerSetupError {
    HandlerSetupError {
        key: "handler.kind",
        reason: feature_off_reason(feature),
    }
}

/// The skill the binary serves: the built-in handler named by `handler.kind`
/// registered for `Messaging.MessageReceived`. `queue` needs a connection
/// made at start-up: use [`connect_skill_from_config`] for it.
pub fn skill_from_config(config: &Config) -> Result<Skill, HandlerSetupError> {
    let builder = Skill::builder();
    let builder = match config.handler.kind {
        HandlerKind::Log => builder.on_message(log::handle),
        #[cfg(feature = "webhook")]
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
        #[cfg(not(feature = "webhook"))]
        HandlerKind::Webhook => return Err(feature_off("webhook")),
        #[cfg(feature = "list-sync")]
        HandlerKind::ListSync => builder.on_message(list_sync::handle),
        #[cfg(not(feature = "list-sync"))]
        HandlerKind::ListSync => return Err(feature_off("list-sync")),
        #[cfg(not(feature = "queue"))]
        HandlerKind::Queue => return Err(feature_off("queue")),
        #[cfg(feature = "queue")]
        HandlerKind::Queue => {
            return Err(HandlerSetupError {
                key: "handler.kind",
                reason: "\"queue\" connects to its broker at start-up: build it with connect_skill_from_config".into(),
            })
        }
    };
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config selecting `kind`, otherwise loadable (verification off).
    fn toml_selecting(kind: &str, section: &str) -> String {
        format!("[verification]\nenabled = false\n\n[handler]\nkind = \"{kind}\"\n\n{section}")
    }

    /// With `kind`'s feature off, loading a config that selects it fails
    /// naming `handler.kind` and the feature (also when its section is
    /// there), and so does building the skill from a config changed in code.
    #[allow(dead_code)] // unused when every handler feature is on
    async fn refused_naming_the_feature(kind: HandlerKind, name: &str, section: &str) {
        let feature = format!("cargo feature `{}`", missing_feature(kind).unwrap());
        for section in ["", section] {
            let err = Config::from_toml(&toml_selecting(name, section)).unwrap_err();
            assert_eq!(err.key(), Some("handler.kind"), "{err}");
            assert!(err.to_string().contains(&feature), "{err}");
        }
        let mut config = Config::default();
        config.handler.kind = kind;
        let err = skill_from_config(&config).err().expect("refused");
        assert_eq!(err.key, "handler.kind");
        assert!(err.to_string().contains(&feature), "{err}");
        let err = connect_skill_from_config(&config)
            .await
            .err()
            .expect("refused");
        assert_eq!(err.key, "handler.kind");
        assert!(err.to_string().contains(&feature), "{err}");
    }

    #[cfg(not(feature = "queue"))]
    #[tokio::test]
    async fn queue_without_its_feature_is_refused_naming_it() {
        let section = "[handler.queue]\nbackend = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"alexa.messages\"\n";
        refused_naming_the_feature(HandlerKind::Queue, "queue", section).await;
    }

    #[cfg(not(feature = "webhook"))]
    #[tokio::test]
    async fn webhook_without_its_feature_is_refused_naming_it() {
        let section = "[handler.webhook]\nurl = \"http://127.0.0.1:9/hook\"\n";
        refused_naming_the_feature(HandlerKind::Webhook, "webhook", section).await;
    }

    #[cfg(not(feature = "list-sync"))]
    #[tokio::test]
    async fn list_sync_without_its_feature_is_refused_naming_it() {
        refused_naming_the_feature(HandlerKind::ListSync, "list-sync", "").await;
    }

    #[tokio::test]
    async fn log_is_always_built_in() {
        assert_eq!(missing_feature(HandlerKind::Log), None);
        let config = Config::from_toml(&toml_selecting("log", "")).unwrap();
        skill_from_config(&config).unwrap();
        connect_skill_from_config(&config).await.unwrap();
    }
}
