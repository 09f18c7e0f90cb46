//! `[handler]`: the built-in handler of the binary and the handler deadline.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::queue::QueueConfig;
use super::webhook::WebhookConfig;
use crate::config::units::{self, millis};
use crate::config::Problem;

/// Built-in handler of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandlerKind {
    /// Log the message (no tokens) and acknowledge.
    Log,
    /// POST the message to `handler.webhook.url`, acknowledge after a 2xx.
    Webhook,
    /// Apply list changes through the List Management API, then acknowledge.
    ListSync,
    /// Publish the message to a broker (`handler.queue`), acknowledge after
    /// the broker confirmed it.
    Queue,
}

/// `[handler]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerConfig {
    /// Which built-in handler the binary uses.
    pub kind: HandlerKind,
    /// `deadline_ms`: a handler running longer than this answers 503.
    #[serde(rename = "deadline_ms", with = "millis")]
    pub deadline: Duration,
    /// Settings of the `webhook` handler.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// Settings of the `queue` handler.
    #[serde(default)]
    pub queue: Option<QueueConfig>,
}

impl HandlerConfig {
    /// Check what serde cannot: `kind` is compiled into this build, the
    /// section it needs is there, bounds.
    pub(crate) fn validate(&self) -> Result<(), Problem> {
        // Before the section checks: a build without the handler is told so.
        if let Some(feature) = super::missing_feature(self.kind) {
            return Err(Problem::new(
                "handler.kind",
                super::feature_off_reason(feature),
            ));
        }
        units::millis_range("handler.deadline_ms", self.deadline, 1, 60_000)?;
        if self.kind == HandlerKind::Webhook && self.webhook.is_none() {
            return Err(Problem::new(
                "handler.webhook.url",
                "is required when handler.kind = \"webhook\"",
            ));
        }
        if self.kind == HandlerKind::Queue && self.queue.is_none() {
            return Err(Problem::new(
                "handler.queue.backend",
                "is required when handler.kind = \"queue\" (\"nats\", \"amqp\" or \"redis-stream\")",
            ));
        }
        if let Some(webhook) = &self.webhook {
            if !matches!(webhook.url.scheme(), "http" | "https") {
                return Err(Problem::new(
                    "handler.webhook.url",
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if let Some(queue) = &self.queue {
            queue.validate()?;
        }
        Ok(())
    }
}
