//! The `queue` handler: a durable hand-off. Each message is published to a
//! broker and Alexa gets its 200 only after the broker confirmed it; an
//! unreachable, slow, refusing broker answers 503 and Alexa re-delivers.
//!
//! - [`nats`]: NATS JetStream, `Nats-Msg-Id = requestId`, waits for the PubAck;
//! - [`amqp`]: RabbitMQ, persistent, mandatory, publisher confirms,
//!   `message_id = requestId`;
//! - [`redis_stream`]: `XADD stream * requestId <id> payload <json>`.
//!
//! The payload is the webhook handler's JSON body ([`message_body`]). Each
//! backend keeps one long-lived connection that reconnects by itself; the
//! publishes awaiting a confirmation are capped (`max_in_flight`): one more
//! answers 503 at once.

pub mod amqp;
mod config;
pub mod nats;
pub mod redis_stream;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::config::redact;
use crate::config::SecretUrl;
use crate::dispatch::{HandlerError, HandlerResult, Readiness, RequestContext};
use crate::envelope::{MessageReceivedRequest, Response};
use crate::handlers::webhook::message_body;
use crate::handlers::HandlerSetupError;
use crate::telemetry::spans;
pub use config::{
    AmqpQueueConfig, NatsQueueConfig, QueueBackend, QueueConfig, RedisStreamQueueConfig,
};

/// How long start-up waits for the broker (connect plus the stream or
/// exchange check) before giving up with an error.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a publish was not confirmed. The text never carries a credential or
/// the token; it goes to the log, never into an answer body.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The connection to the broker is down (it is being re-made).
    #[error("not connected to the broker")]
    NotConnected,
    /// No confirmation within the handler deadline.
    #[error("the broker did not confirm in time")]
    Timeout,
    /// `max_in_flight` publishes are already awaiting their confirmation.
    #[error("too many publishes awaiting confirmation (handler.queue.max_in_flight)")]
    Saturated,
    /// The broker answered but did not take the message (nack, unroutable,
    /// no stream for the subject).
    #[error("the broker refused the message: {0}")]
    Refused(String),
    /// Any other broker or transport error.
    #[error("broker error: {0}")]
    Broker(String),
}

/// One broker connection that publishes a message and reports when the
/// broker has it.
#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Publish `payload` under `request_id`; `Ok` only once the broker
    /// confirmed it.
    async fn publish(&self, request_id: &str, payload: Vec<u8>) -> Result<(), PublishError>;

    /// Whether the connection is up (for `/readyz`).
    async fn ready(&self) -> Result<(), PublishError>;
}

/// The configured `queue` handler. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    publisher: Box<dyn Publisher>,
    backend: &'static str,
    /// `messaging.system` of the publish span (`nats`, `rabbitmq`, `redis`).
    system: &'static str,
    include_token: bool,
    permits: Semaphore,
    timeout: Duration,
    /// Subject, exchange or stream, for the publish span.
    destination: String,
}

impl Queue {
    /// Connect to the broker of `[handler.queue]` and check that messages
    /// can go where they should (the stream or exchange exists); a broker
    /// that cannot be reached within [`STARTUP_TIMEOUT`] is a start-up error.
    /// Each publish waits at most nine tenths of `deadline` for its
    /// confirmation, so that the 503 is ours, not the dispatcher's.
    pub async fn connect(cfg: &QueueConfig, deadline: Duration) -> Result<Self, HandlerSetupError> {
        let timeout = (deadline / 10 * 9).max(Duration::from_millis(1));
        let publisher: Box<dyn Publisher> = match &cfg.backend {
            QueueBackend::Nats(n) => Box::new(nats::NatsPublisher::connect(n, timeout).await?),
            QueueBackend::Amqp(a) => Box::new(amqp::AmqpPublisher::connect(a, timeout).await?),
            QueueBackend::RedisStream(r) => {
                Box::new(redis_stream::RedisStreamPublisher::connect(r, timeout).await?)
            }
        };
        let destination = match &cfg.backend {
            QueueBackend::Nats(n) => n.subject.clone(),
            QueueBackend::Amqp(a) => a.exchange.clone(),
            QueueBackend::RedisStream(r) => r.stream.clone(),
        };
        Ok(Self::build(
            publisher,
            cfg.backend.name(),
            destination,
            cfg.include_token,
            cfg.max_in_flight,
            timeout,
        ))
    }

    /// A handler over any [`Publisher`].
    pub fn with_publisher(
        publisher: Box<dyn Publisher>,
        backend: &'static str,
        include_token: bool,
        max_in_flight: usize,
        timeout: Duration,
    ) -> Self {
        let destination = backend.to_owned();
        Self::build(
            publisher,
            backend,
            destination,
            include_token,
            max_in_flight,
            timeout,
        )
    }

    fn build(
        publisher: Box<dyn Publisher>,
        backend: &'static str,
        destination: String,
        include_token: bool,
        max_in_flight: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                publisher,
                backend,
                system: match backend {
                    "amqp" => "rabbitmq",
                    "redis-stream" => "redis",
                    other => other,
                },
                include_token,
                permits: Semaphore::new(max_in_flight),
                timeout,
                destination,
            }),
        }
    }

    /// Publish the message; `Ok(ack)` only after the broker confirmed it,
    /// every failure is a 503 ([`HandlerError::unavailable`]).
    pub async fn deliver(
        &self,
        ctx: &RequestContext,
        msg: &MessageReceivedRequest,
    ) -> HandlerResult {
        let inner = &*self.inner;
        let result = match inner.permits.try_acquire() {
            Err(_) => Err(PublishError::Saturated),
            Ok(_permit) => {
                let body = message_body(ctx, msg, inner.include_token)?;
                // Publishers add this span's `traceparent` to the message.
                let span = spans::publish_span(inner.system, &inner.destination);
                let publish = inner.publisher.publish(ctx.request_id(), body);
                let result = match tokio::time::timeout(inner.timeout, publish)
                    .instrument(span.clone())
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(PublishError::Timeout),
                };
                if let Err(e) = &result {
                    spans::record_error(
                        &span,
                        match e {
                            PublishError::NotConnected => "not_connected",
                            PublishError::Timeout => "timeout",
                            PublishError::Saturated => "saturated",
                            PublishError::Refused(_) => "refused",
                            PublishError::Broker(_) => "broker",
                        },
                    );
                }
                result
            }
        };
        if let Some(metrics) = ctx.metrics() {
            metrics.queue_publish(inner.backend, result.is_ok());
        }
        match result {
            Ok(()) => Ok(Response::ack()),
            Err(e) => {
                tracing::warn!(backend = inner.backend, error = %e, "queue: message not confirmed by the broker");
                Err(HandlerError::unavailable(e))
            }
        }
    }

    /// The `/readyz` check: the broker connection is up.
    pub fn readiness(&self) -> Readiness {
        let queue = self.clone();
        Readiness::new(self.inner.backend, move || {
            let queue = queue.clone();
            Box::pin(async move {
                let check = queue.inner.publisher.ready();
                match tokio::time::timeout(queue.inner.timeout, check).await {
                    Ok(result) => result.map_err(Into::into),
                    Err(_) => Err(PublishError::Timeout.into()),
                }
            })
        })
    }
}

/// Strips credentials from broker error texts and URLs, for logs and
/// errors, with the one redaction of [`crate::config::redact`].
#[derive(Clone)]
pub(crate) struct Redactor {
    /// The URL through [`redact::redact_url`], for messages.
    shown: String,
    /// Every credential spelling to blank out (raw and percent-decoded).
    secrets: Vec<String>,
}

impl Redactor {
    /// From a broker URL that may carry `user:password@` or secret query
    /// parameters.
    pub(crate) fn new(url: &SecretUrl) -> Self {
        Self {
            shown: url.redacted(),
            secrets: redact::url_secrets(url.expose_str()),
        }
    }

    /// The URL without credentials.
    pub(crate) fn url(&self) -> &str {
        &self.shown
    }

    /// `text` with every credential replaced.
    pub(crate) fn clean(&self, text: impl std::fmt::Display) -> String {
        redact::clean(&text.to_string(), &self.secrets)
    }

    /// A start-up error for `[handler.queue]`, credentials removed.
    pub(crate) fn setup_error(
        &self,
        key: &'static str,
        what: impl std::fmt::Display,
    ) -> HandlerSetupError {
        HandlerSetupError {
            key,
            reason: self.clean(format!("{} ({})", what, self.shown)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactor_hides_user_and_password_in_urls_and_texts() {
        let r = Redactor::new(&SecretUrl::parse("amqp://bob:s%40cret@broker:5672/vh?x=1").unwrap());
        assert_eq!(r.url(), "amqp://[redacted]@broker:5672/vh?x=1");
        assert_eq!(
            r.clean("auth failed for bob with s@cret / s%40cret"),
            "auth failed for bob with [redacted] / [redacted]"
        );
    }

    #[test]
    fn redactor_hides_a_nats_token_in_the_user_part() {
        let r = Redactor::new(&SecretUrl::parse("nats://tok3n@127.0.0.1:4222").unwrap());
        assert_eq!(r.url(), "nats://[redacted]@127.0.0.1:4222");
        assert!(!r.clean("bad token tok3n").contains("tok3n"));
    }
}
