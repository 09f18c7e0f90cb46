//! `backend = "nats"`: publish to a JetStream stream and wait for its PubAck.
//!
//! The message carries `Nats-Msg-Id: <requestId>`, so JetStream itself drops
//! a second copy within the stream's duplicate window (a publish that timed
//! out here but reached the stream later, then Alexa's re-delivery).

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use async_trait::async_trait;

use super::NatsQueueConfig;
use super::{PublishError, Publisher, Redactor, STARTUP_TIMEOUT};
use crate::handlers::HandlerSetupError;
use crate::telemetry::spans;

/// A JetStream publisher on one long-lived NATS connection (the client
/// reconnects by itself, without limit).
pub struct NatsPublisher {
    client: async_nats::Client,
    jetstream: Context,
    subject: String,
    redactor: Redactor,
}

impl std::fmt::Debug for NatsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsPublisher")
            .field("url", &self.redactor.url())
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl NatsPublisher {
    /// Connect and check that a stream listens on the subject; `timeout`
    /// bounds each PubAck wait.
    pub async fn connect(
        cfg: &NatsQueueConfig,
        timeout: Duration,
    ) -> Result<Self, HandlerSetupError> {
        let redactor = Redactor::new(&cfg.url);
        let mut options = async_nats::ConnectOptions::new()
            .name("alexa-endpoint")
            .connection_timeout(STARTUP_TIMEOUT)
            .request_timeout(Some(timeout))
            .max_reconnects(None);
        // The client logs its server URLs at debug level: credentials go in
        // the options, the URL it sees has none.
        let mut url = cfg.url.expose_url().clone();
        let user = crate::config::redact::percent_decode(url.username()).unwrap_or_default();
        match url.password().map(crate::config::redact::percent_decode) {
            Some(password) => {
                options = options.user_and_password(user, password.unwrap_or_default());
            }
            None if !user.is_empty() => options = options.token(user),
            None => {}
        }
        let _ = url.set_password(None);
        let _ = url.set_username("");
        let connect = options.connect(url.as_str());
        let client = match tokio::time::timeout(STARTUP_TIMEOUT, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(redactor
                    .setup_error("handler.queue.url", format!("cannot connect to NATS: {e}")))
            }
            Err(_) => {
                return Err(redactor.setup_error("handler.queue.url", "NATS did not answer in time"))
            }
        };
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(timeout)
            .build(client.clone());
        let lookup = jetstream.stream_by_subject(cfg.subject.as_str());
        match tokio::time::timeout(STARTUP_TIMEOUT, lookup).await {
            Ok(Ok(stream)) => {
                tracing::info!(url = redactor.url(), subject = %cfg.subject, %stream, "queue: publishing to NATS JetStream");
            }
            Ok(Err(e)) => {
                return Err(HandlerSetupError {
                    key: "handler.queue.subject",
                    reason: redactor.clean(format!(
                        "no JetStream stream listens on subject {:?} at {}: create one (e.g. `nats stream add --subjects {}`) ({e})",
                        cfg.subject,
                        redactor.url(),
                        cfg.subject
                    )),
                })
            }
            Err(_) => {
                return Err(redactor.setup_error("handler.queue.url", "JetStream did not answer in time"))
            }
        }
        Ok(Self {
            client,
            jetstream,
            subject: cfg.subject.clone(),
            redactor,
        })
    }
}

#[async_trait]
impl Publisher for NatsPublisher {
    async fn publish(&self, request_id: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        // While disconnected the client would buffer the message and send it
        // after reconnecting, long after our 503: refuse it now instead.
        if self.client.connection_state() != State::Connected {
            return Err(PublishError::NotConnected);
        }
        let mut message = PublishMessage::build()
            .payload(payload.into())
            .message_id(request_id);
        if let Some(traceparent) = spans::current_traceparent() {
            message = message.header("traceparent", traceparent.as_str());
        }
        let ack = self
            .jetstream
            .send_publish(self.subject.clone(), message)
            .await
            .map_err(|e| self.error(e.kind(), &e))?;
        ack.await.map_err(|e| self.error(e.kind(), &e))?;
        Ok(())
    }

    async fn ready(&self) -> Result<(), PublishError> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            _ => Err(PublishError::NotConnected),
        }
    }
}

impl NatsPublisher {
    fn error(&self, kind: PublishErrorKind, e: &dyn std::fmt::Display) -> PublishError {
        match kind {
            PublishErrorKind::StreamNotFound => PublishError::Refused(format!(
                "no JetStream stream listens on subject {:?}",
                self.subject
            )),
            PublishErrorKind::TimedOut => PublishError::Timeout,
            PublishErrorKind::BrokenPipe => PublishError::NotConnected,
            PublishErrorKind::MaxAckPending => PublishError::Saturated,
            _ => PublishError::Broker(self.redactor.clean(e)),
        }
    }
}
